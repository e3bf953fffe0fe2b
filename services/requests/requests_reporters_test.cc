// Feedback after a resolution and the mails to anonymous reporters (#14, part C), over real
// gRPC against a real Redis.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "infra/ids.h"
#include "services/requests/keys.h"
#include "services/requests/requests_test_fixture.h"
#include "tests/harness/images.h"

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;
namespace ev = cityhub::events::v1;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

constexpr char kMail[] = "anwohnerin@example.org";

class ReportersTest : public RequestsServiceTest {
 protected:
  void SetUp() override {
    settings_.contact_retention = 1h;
    RequestsServiceTest::SetUp();
  }

  // A streetlight report; anonymous with an address when `who` is nobody and `email` given.
  v1::ServiceRequest Report(const Who& who, const std::string& email = "") {
    auto req = NewRequest("streetlight");
    if (!email.empty()) {
      req.mutable_contact()->set_email(email);
      req.mutable_contact()->set_first_name("Erika");
    }
    req.set_language("en");
    return File(who, req);
  }
  grpc::Status Move(const std::string& id, v1::Status to, const Who& who = kLights) {
    v1::TransitionRequestRequest t;
    t.set_request_id(id);
    t.set_status(to);
    t.set_public_note(StrOf(to));
    t.set_internal_note("intern");
    v1::ServiceRequest out;
    return stub_->TransitionRequest(Ctx(who).get(), t, &out);
  }
  static std::string StrOf(v1::Status s) { return "now " + v1::Status_Name(s); }
  void Resolve(const std::string& id) {
    ASSERT_TRUE(Move(id, v1::ACKNOWLEDGED).ok());
    ASSERT_TRUE(Move(id, v1::RESOLVED).ok());
  }
  grpc::Status Feedback(const Who& who, const std::string& id, bool fixed, int rating,
                        const std::string& token = "", v1::RequestFeedback* out = nullptr,
                        const std::string& text = "Danke!") {
    v1::GiveFeedbackRequest req;
    req.set_request_id(id);
    req.set_fixed(fixed);
    req.set_rating(rating);
    req.set_text(text);
    req.set_token(token);
    v1::RequestFeedback ignored;
    return stub_->GiveFeedback(Ctx(who).get(), req, out ? out : &ignored);
  }
  absl::StatusOr<v1::ReporterMail> Mail(const std::string& id, v1::ReporterMailPurpose purpose) {
    v1::GetReporterMailRequest req;
    req.set_request_id(id);
    req.set_purpose(purpose);
    v1::ReporterMail out;
    const grpc::Status s = stub_->GetReporterMail(Internal().get(), req, &out);
    if (!s.ok())
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    return out;
  }
  grpc::Status Confirm(const std::string& token) {
    v1::ConfirmContactRequest req;
    req.set_token(token);
    v1::ReporterContactResponse out;
    return stub_->ConfirmContact(Ctx().get(), req, &out);
  }
  grpc::Status Unsubscribe(const std::string& token) {
    v1::UnsubscribeContactRequest req;
    req.set_token(token);
    v1::ReporterContactResponse out;
    return stub_->UnsubscribeContact(Ctx().get(), req, &out);
  }
  // An anonymous report whose reporter confirmed their address.
  v1::ServiceRequest ConfirmedReport() {
    const v1::ServiceRequest r = Report(kNobody, kMail);
    auto mail = Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_CONFIRM);
    EXPECT_TRUE(mail.ok()) << mail.status();
    if (mail.ok()) {
      EXPECT_TRUE(Confirm(mail->confirm_token()).ok());
    }
    return r;
  }
  std::vector<ev::Event> EventsOf(const std::string& id, ev::Event::PayloadCase kind) {
    std::vector<ev::Event> out;
    for (auto& e : Events()) {
      if (e.payload_case() != kind) continue;
      const std::string s = e.SerializeAsString();
      if (s.find(id) != std::string::npos) out.push_back(e);
    }
    return out;
  }
  static void Refused(const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
    EXPECT_EQ(s.error_message(), ReporterTokens::kRefused);
  }
};

// --- feedback ---------------------------------------------------------------------------------

TEST_F(ReportersTest, TheOwnersFeedbackIsKeptAndShownToOwnerAndStaffOnly) {
  const auto r = Report(kAnna);
  Resolve(r.request_id());
  v1::RequestFeedback given;
  ASSERT_TRUE(Feedback(kAnna, r.request_id(), true, 4, "", &given).ok());
  EXPECT_EQ(given.rating(), 4);
  EXPECT_TRUE(given.fixed());
  EXPECT_EQ(Get(kAnna, r.request_id()).feedback().text(), "Danke!");
  EXPECT_EQ(Get(kLights, r.request_id()).feedback().rating(), 4);
  EXPECT_EQ(Get(kAdmin, r.request_id()).feedback().rating(), 4);
  EXPECT_FALSE(Get(kBen, r.request_id()).has_feedback());
  EXPECT_FALSE(Get(kNobody, r.request_id()).has_feedback());
  EXPECT_FALSE(Get(kParks, r.request_id()).has_feedback());
  EXPECT_EQ(Get(kAnna, r.request_id()).status(), v1::RESOLVED);  // fixed: stays resolved
  // The event, written with the feedback, counts the rating and never carries the text.
  const auto given_events = EventsOf(r.request_id(), ev::Event::kFeedbackGiven);
  ASSERT_EQ(given_events.size(), 1u);
  EXPECT_EQ(given_events[0].feedback_given().rating(), 4);
  EXPECT_EQ(given_events[0].feedback_given().department(), "street-lighting");
  EXPECT_EQ(given_events[0].SerializeAsString().find("Danke"), std::string::npos);
}

TEST_F(ReportersTest, OnlyTheReporterGivesFeedback) {
  const auto r = Report(kAnna);
  Resolve(r.request_id());
  EXPECT_EQ(Feedback(kNobody, r.request_id(), true, 5).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Feedback(kBen, r.request_id(), true, 5).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Feedback(kLights, r.request_id(), true, 5).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Feedback(kParks, r.request_id(), true, 5).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Feedback(kAdmin, r.request_id(), true, 5).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(Get(kAnna, r.request_id()).has_feedback());
  EXPECT_TRUE(Feedback(kAnna, r.request_id(), true, 5).ok());
}

TEST_F(ReportersTest, FeedbackTwiceIsAlreadyExists) {
  const auto r = Report(kAnna);
  Resolve(r.request_id());
  ASSERT_TRUE(Feedback(kAnna, r.request_id(), true, 5).ok());
  const grpc::Status again = Feedback(kAnna, r.request_id(), false, 1);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Get(kAnna, r.request_id()).feedback().rating(), 5);
  EXPECT_EQ(Get(kAnna, r.request_id()).status(), v1::RESOLVED);
}

TEST_F(ReportersTest, FeedbackOnlyAfterAResolution) {
  const auto open = Report(kAnna);
  EXPECT_EQ(Feedback(kAnna, open.request_id(), true, 3).error_code(), grpc::StatusCode::ABORTED);
  const auto rejected = Report(kAnna);
  ASSERT_TRUE(Move(rejected.request_id(), v1::REJECTED).ok());
  ASSERT_TRUE(Move(rejected.request_id(), v1::CLOSED).ok());
  EXPECT_EQ(Feedback(kAnna, rejected.request_id(), true, 3).error_code(),
            grpc::StatusCode::ABORTED);
  // Closed right after its resolution: the mailed link still works, nothing reopens.
  const auto closed = Report(kAnna);
  Resolve(closed.request_id());
  ASSERT_TRUE(Move(closed.request_id(), v1::CLOSED).ok());
  ASSERT_TRUE(Feedback(kAnna, closed.request_id(), false, 2).ok());
  EXPECT_EQ(Get(kAnna, closed.request_id()).status(), v1::CLOSED);
}

TEST_F(ReportersTest, NotFixedReopensTheRequestWithHistoryAndEventInOneWrite) {
  const auto r = Report(kAnna);
  Resolve(r.request_id());
  ASSERT_TRUE(Feedback(kAnna, r.request_id(), false, 1).ok());
  const auto after = Get(kLights, r.request_id());
  EXPECT_EQ(after.status(), v1::IN_PROGRESS);
  ASSERT_GE(after.history_size(), 3);
  EXPECT_EQ(after.history(after.history_size() - 1).from_status(), v1::RESOLVED);
  EXPECT_EQ(after.history(after.history_size() - 1).to_status(), v1::IN_PROGRESS);
  EXPECT_EQ(after.history(after.history_size() - 1).actor_account_id(), kAnna.account_id);
  EXPECT_FALSE(after.feedback().fixed());
  // Outbox: the status change for the department and followers is in the stream.
  const auto changes = EventsOf(r.request_id(), ev::Event::kRequestStatusChanged);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes.back().request_status_changed().to_status(), v1::IN_PROGRESS);
  EXPECT_EQ(changes.back().request_status_changed().owner_account_id(), kAnna.account_id);
  EXPECT_EQ(changes.back().request_status_changed().department(), "street-lighting");
  EXPECT_EQ(EventsOf(r.request_id(), ev::Event::kFeedbackGiven).size(), 1u);
}

TEST_F(ReportersTest, BadFeedbackNamesTheField) {
  const auto r = Report(kAnna);
  Resolve(r.request_id());
  const auto field = [&](const grpc::Status& s, const std::string& name) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_THAT(s.error_message(), ::testing::StartsWith(name + ":"));
  };
  field(Feedback(kAnna, r.request_id(), true, 6), "rating");
  field(Feedback(kAnna, r.request_id(), true, 0), "rating");
  field(Feedback(kAnna, r.request_id(), true, 3, "", nullptr, std::string(1001, 'x')), "text");
  field(Feedback(kAnna, r.request_id(), true, 3, "a token with spaces"), "token");
  field(Feedback(kAnna, r.request_id(), true, 3, std::string(201, 'a')), "token");
  field(Feedback(kAnna, "not-an-id", true, 3), "request_id");
  EXPECT_FALSE(Get(kAnna, r.request_id()).has_feedback());
}

// --- anonymous reporters ----------------------------------------------------------------------

TEST_F(ReportersTest, AnAnonymousReportWithAnAddressAsksOnceForConfirmation) {
  const auto r = Report(kNobody, kMail);
  const auto added = EventsOf(r.request_id(), ev::Event::kReporterContactAdded);
  ASSERT_EQ(added.size(), 1u);
  // Events never carry the address; the mail is written from GetReporterMail.
  for (const auto& e : Events()) {
    EXPECT_EQ(e.SerializeAsString().find(kMail), std::string::npos);
  }
  auto confirm = Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_CONFIRM);
  ASSERT_TRUE(confirm.ok()) << confirm.status();
  EXPECT_EQ(confirm->email(), kMail);
  EXPECT_EQ(confirm->language(), "en");
  EXPECT_FALSE(confirm->confirm_token().empty());
  // Nothing else goes out before the confirmation.
  EXPECT_EQ(Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_UPDATE).status().code(),
            absl::StatusCode::kNotFound);
  // Signed-in reporters and anonymous ones without an address are not asked.
  const auto signed_in = Report(kAnna, kMail);
  const auto silent = Report(kNobody);
  EXPECT_THAT(EventsOf(signed_in.request_id(), ev::Event::kReporterContactAdded), IsEmpty());
  EXPECT_THAT(EventsOf(silent.request_id(), ev::Event::kReporterContactAdded), IsEmpty());
  EXPECT_EQ(Mail(signed_in.request_id(), v1::REPORTER_MAIL_PURPOSE_CONFIRM).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ReportersTest, TheConfirmTokenWorksOnceAndBadTokensSayNothing) {
  const auto r = Report(kNobody, kMail);
  auto mail = Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_CONFIRM);
  ASSERT_TRUE(mail.ok());
  std::string forged = mail->confirm_token();
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  Refused(Confirm(forged));
  Refused(Confirm(infra::NewUlid(*clock_) + ".c99999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  Refused(Confirm("unknown"));
  v1::ConfirmContactRequest req;
  req.set_token(mail->confirm_token());
  v1::ReporterContactResponse out;
  ASSERT_TRUE(stub_->ConfirmContact(Ctx().get(), req, &out).ok());
  EXPECT_EQ(out.request_id(), r.request_id());
  EXPECT_TRUE(out.subscribed());
  EXPECT_EQ(EventsOf(r.request_id(), ev::Event::kReporterContactConfirmed).size(), 1u);
  EXPECT_TRUE(Get(kLights, r.request_id()).contact_confirmed());
  EXPECT_FALSE(Get(kNobody, r.request_id()).contact_confirmed());
  Refused(Confirm(mail->confirm_token()));  // spent
  // A token of one purpose is no token of another.
  auto update = Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_UPDATE);
  ASSERT_TRUE(update.ok());
  Refused(Confirm(update->unsubscribe_token()));
  EXPECT_EQ(Confirm("").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(Confirm("bad token!").error_message(), HasSubstr("token:"));
}

TEST_F(ReportersTest, AnExpiredConfirmTokenIsRefused) {
  const auto r = Report(kNobody, kMail);
  auto mail = Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_CONFIRM);
  ASSERT_TRUE(mail.ok());
  clock_->Advance(24h * 7 + 1min);
  Refused(Confirm(mail->confirm_token()));
  EXPECT_FALSE(Get(kLights, r.request_id()).contact_confirmed());
}

TEST_F(ReportersTest, UnsubscribeEndsTheMailsOnce) {
  const auto r = ConfirmedReport();
  auto update = Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_UPDATE);
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_EQ(update->email(), kMail);
  EXPECT_TRUE(update->feedback_token().empty());  // not resolved yet
  Refused(Unsubscribe(update->confirm_token() + "x"));
  ASSERT_TRUE(Unsubscribe(update->unsubscribe_token()).ok());
  EXPECT_EQ(EventsOf(r.request_id(), ev::Event::kReporterContactEnded).size(), 1u);
  EXPECT_EQ(Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_UPDATE).status().code(),
            absl::StatusCode::kNotFound);
  Refused(Unsubscribe(update->unsubscribe_token()));  // spent
  EXPECT_EQ(Unsubscribe("").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(Unsubscribe("").error_message(), ::testing::StartsWith("token:"));
  EXPECT_THAT(Unsubscribe(std::string(201, 'a')).error_message(), ::testing::StartsWith("token:"));
}

TEST_F(ReportersTest, AnonymousFeedbackWithTheMailedTokenReopens) {
  const auto r = ConfirmedReport();
  const auto other = ConfirmedReport();
  Resolve(r.request_id());
  auto update = Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_UPDATE);
  ASSERT_TRUE(update.ok());
  EXPECT_EQ(update->status(), v1::RESOLVED);
  ASSERT_FALSE(update->feedback_token().empty());
  // The token names its request and purpose.
  Refused(Feedback(kNobody, other.request_id(), false, 1, update->feedback_token()));
  Refused(Feedback(kNobody, r.request_id(), false, 1, update->unsubscribe_token()));
  v1::RequestFeedback given;
  ASSERT_TRUE(Feedback(kNobody, r.request_id(), false, 1, update->feedback_token(), &given).ok());
  EXPECT_FALSE(given.fixed());
  EXPECT_EQ(Get(kLights, r.request_id()).status(), v1::IN_PROGRESS);
  EXPECT_EQ(Get(kLights, r.request_id()).feedback().rating(), 1);
  EXPECT_EQ(Feedback(kNobody, r.request_id(), true, 5, update->feedback_token()).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // Given: the next mails carry no feedback link.
  ASSERT_TRUE(Move(r.request_id(), v1::RESOLVED).ok());
  auto again = Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_UPDATE);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->feedback_token().empty());
  // Expired.
  Resolve(other.request_id());
  auto late = Mail(other.request_id(), v1::REPORTER_MAIL_PURPOSE_UPDATE);
  ASSERT_TRUE(late.ok());
  clock_->Advance(24h * 61);
  Refused(Feedback(kNobody, other.request_id(), true, 5, late->feedback_token()));
}

TEST_F(ReportersTest, GetReporterMailIsForServicesOnly) {
  const auto r = Report(kNobody, kMail);
  v1::GetReporterMailRequest req;
  req.set_request_id(r.request_id());
  req.set_purpose(v1::REPORTER_MAIL_PURPOSE_CONFIRM);
  v1::ReporterMail out;
  for (const Who& who : {kNobody, kAnna, kLights, kAdmin}) {
    const grpc::Status s = stub_->GetReporterMail(Ctx(who).get(), req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << who.account_id;
    EXPECT_TRUE(out.email().empty());
  }
}

// --- retention --------------------------------------------------------------------------------

TEST_F(ReportersTest, TheContactIsErasedOnceTheRetentionAfterAFinalStateEnds) {
  const auto r = ConfirmedReport();
  ASSERT_TRUE(Move(r.request_id(), v1::REJECTED).ok());
  // Without contact details there is nothing to schedule.
  const auto bare = Report(kAnna);
  ASSERT_TRUE(Move(bare.request_id(), v1::REJECTED).ok());
  auto scheduled = client().Command({"ZCARD", keys::ContactErasures()});
  ASSERT_TRUE(scheduled.ok());
  EXPECT_EQ(scheduled->integer(), 1);
  auto swept = service_->SweepContactErasures();
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 0);  // not due yet
  EXPECT_EQ(Get(kLights, r.request_id()).contact().email(), kMail);
  clock_->Advance(1h + 1s);
  swept = service_->SweepContactErasures();
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 1);
  const auto after = Get(kLights, r.request_id());
  EXPECT_FALSE(after.has_contact());
  EXPECT_FALSE(after.contact_confirmed());
  EXPECT_EQ(EventsOf(r.request_id(), ev::Event::kReporterContactEnded).size(), 1u);
  EXPECT_EQ(Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_UPDATE).status().code(),
            absl::StatusCode::kNotFound);
  auto left = client().Command({"ZCARD", keys::ContactErasures()});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->integer(), 0);
}

TEST_F(ReportersTest, AReopenedRequestKeepsItsContact) {
  const auto r = ConfirmedReport();
  Resolve(r.request_id());
  auto update = Mail(r.request_id(), v1::REPORTER_MAIL_PURPOSE_UPDATE);
  ASSERT_TRUE(update.ok());
  ASSERT_TRUE(Feedback(kNobody, r.request_id(), false, 2, update->feedback_token()).ok());
  clock_->Advance(2h);
  auto swept = service_->SweepContactErasures();
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 0);
  EXPECT_EQ(Get(kLights, r.request_id()).contact().email(), kMail);
  // Resolved again, the retention starts anew.
  ASSERT_TRUE(Move(r.request_id(), v1::RESOLVED).ok());
  clock_->Advance(1h + 1s);
  ASSERT_EQ(service_->SweepContactErasures().value_or(-1), 1);
  EXPECT_FALSE(Get(kLights, r.request_id()).has_contact());
}

// --- privacy ----------------------------------------------------------------------------------

TEST_F(ReportersTest, TheExportHoldsTheFeedbackAndErasureUnlinksIt) {
  const auto r = Report(kAnna);
  Resolve(r.request_id());
  ASSERT_TRUE(Feedback(kAnna, r.request_id(), true, 5).ok());
  v1::ExportUserDataRequest req;
  req.set_account_id(kAnna.account_id);
  v1::UserDataExport out;
  ASSERT_TRUE(stub_->ExportUserData(Internal().get(), req, &out).ok());
  ASSERT_EQ(out.feedback_size(), 1);
  EXPECT_EQ(out.feedback(0).request_id(), r.request_id());
  EXPECT_EQ(out.feedback(0).text(), "Danke!");

  ev::Event deleted;
  deleted.mutable_account_deleted()->set_account_id(kAnna.account_id);
  ASSERT_TRUE(service_->OnAccountEvent(deleted.SerializeAsString()).ok());
  auto stored = requests_->Get(r.request_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->request.has_feedback());  // the rating still counts
  EXPECT_TRUE(stored->request.feedback().account_id().empty());
  v1::UserDataExport empty;
  ASSERT_TRUE(stub_->ExportUserData(Internal().get(), req, &empty).ok());
  EXPECT_EQ(empty.feedback_size(), 0);
}

// --- photos -----------------------------------------------------------------------------------

TEST_F(ReportersTest, AnonymousReportersUploadPhotosUnverifiedResidentsDoNot) {
  v1::UploadMediaRequest upload;
  upload.mutable_file()->set_data(cityhub::testing::TestPng(8, 8));
  v1::Media media;
  ASSERT_TRUE(stub_->UploadMedia(Ctx().get(), upload, &media).ok());
  EXPECT_EQ(media.content_type(), "image/png");
  Who unverified = kBen;
  unverified.verified = false;
  upload.mutable_file()->set_data(cityhub::testing::TestPng(9, 9));
  EXPECT_EQ(stub_->UploadMedia(Ctx(unverified).get(), upload, &media).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The anonymous photo goes with an anonymous report.
  auto req = NewRequest("streetlight");
  upload.mutable_file()->set_data(cityhub::testing::TestPng(8, 8));
  ASSERT_TRUE(stub_->UploadMedia(Ctx().get(), upload, &media).ok());
  req.add_media_ids(media.media_id());
  EXPECT_EQ(File(kNobody, req).media_ids_size(), 1);
}

}  // namespace
}  // namespace cityhub::requests
