// Mails to anonymous reporters (#14, part C): the notifications service's fan-out against the
// real requests service (GetReporterMail over gRPC), real Redis and the project's SMTP sink.
// The events are the ones the requests service wrote to its stream.
#include <regex>

#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include "cityhub/notifications/v1/notifications.grpc.pb.h"
#include "services/notifications/components.h"
#include "services/notifications/keys.h"
#include "services/requests/requests_test_fixture.h"
#include "tests/harness/sinks.h"

namespace cityhub::notifications {
namespace {

namespace rv1 = cityhub::requests::v1;
namespace ev = cityhub::events::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const requests::Who kLights = {
    "01JLIGHTS00000000000000000", {"citizen", "operator"}, {"street-lighting"}, true};
constexpr char kMail[] = "erika@example.org";

class ReporterMailsTest : public requests::RequestsServiceTest {
 protected:
  void SetUp() override {
    RequestsServiceTest::SetUp();
    if (HasFatalFailure()) return;
    authorizer_n_ = std::make_unique<infra::auth::Authorizer>(
        cityhub::notifications::v1::NotificationsService::service_full_name(), *verifier_,
        kInternal);
    NotificationsSettings settings;
    settings.internal_token = kInternal;
    settings.fanout = FanOutSettings{"https://app.example"};
    settings.delivery.smtp_url = smtp_.url();
    settings.delivery.timeout = 2s;
    settings.delivery.workers = 0;
    settings.executor = {"notifications", 2, 64};
    settings.server.drain_delay = 0ms;
    settings.server.grace = 1s;
    const std::string requests_address = "127.0.0.1:" + std::to_string(server_->port());
    graph_n_ = std::make_unique<infra::Components>();
    // No account is involved: the accounts channel is never called.
    NotificationsParts parts = BuildNotifications(
        *graph_n_,
        {client(), graph_n_->Make<infra::redis::AsyncClient>(redis().ClientOptions(), 1),
         redis().ClientOptions(), *clock_, metrics_n_, *authorizer_n_,
         grpc::CreateChannel(requests_address, grpc::InsecureChannelCredentials()),
         grpc::CreateChannel(requests_address, grpc::InsecureChannelCredentials())},
        settings);
    fanout_ = &parts.fanout;
    delivery_ = &parts.delivery;
  }
  void TearDown() override {
    graph_n_.reset();
    RequestsServiceTest::TearDown();
  }

  // Hands every event of the requests stream not handled yet to the fan-out, then delivers.
  void Pump() {
    const auto events = Events();
    for (size_t i = handled_; i < events.size(); ++i) {
      const absl::Status s = fanout_->Handle(events[i].SerializeAsString());
      ASSERT_TRUE(s.ok()) << s;
    }
    handled_ = events.size();
    for (int i = 0; i < 100 && delivery_->RunOne(); ++i) {
    }
  }
  rv1::ServiceRequest Anonymous(const std::string& language) {
    auto req = NewRequest("streetlight");
    req.mutable_contact()->set_email(kMail);
    req.set_language(language);
    return File({}, req);
  }
  void Move(const std::string& id, rv1::Status to, const std::string& note) {
    rv1::TransitionRequestRequest t;
    t.set_request_id(id);
    t.set_status(to);
    t.set_public_note(note);
    t.set_internal_note("nur intern: Firma Meier");
    rv1::ServiceRequest out;
    ASSERT_TRUE(stub_->TransitionRequest(Ctx(kLights).get(), t, &out).ok());
  }
  static std::string TokenAfter(const std::string& text, const std::string& path) {
    std::smatch m;
    const std::regex re(path + "\\?token=([A-Za-z0-9._-]+)");
    return std::regex_search(text, m, re) ? m[1].str() : "";
  }
  void Confirm(const std::string& token) {
    rv1::ConfirmContactRequest req;
    req.set_token(token);
    rv1::ReporterContactResponse out;
    ASSERT_TRUE(stub_->ConfirmContact(Ctx().get(), req, &out).ok());
  }

  cityhub::testing::SmtpSink smtp_;
  infra::MetricsRegistry metrics_n_;
  std::unique_ptr<infra::auth::Authorizer> authorizer_n_;
  std::unique_ptr<infra::Components> graph_n_;
  FanOut* fanout_ = nullptr;
  Delivery* delivery_ = nullptr;
  size_t handled_ = 0;
};

TEST_F(ReporterMailsTest, OneConfirmationMailThenNothingUntilConfirmed) {
  const auto r = Anonymous("en");
  Pump();
  Pump();  // a redelivered event sends nothing twice
  auto mails = smtp_.Mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_THAT(mails[0], HasSubstr(std::string("X-Sink-Rcpt: ") + kMail));
  const std::string text = cityhub::testing::MailText(mails[0]);
  EXPECT_THAT(text, HasSubstr("keep me informed"));
  EXPECT_FALSE(TokenAfter(text, "https://app.example/confirm-contact").empty());
  // Unconfirmed: a status change mails nothing.
  Move(r.request_id(), rv1::ACKNOWLEDGED, "Angenommen.");
  Pump();
  EXPECT_EQ(smtp_.Mails().size(), 1u);
}

TEST_F(ReporterMailsTest, AConfirmedReporterHearsOfEachChangeWithUnsubscribeAndFeedbackLinks) {
  const auto r = Anonymous("de");
  Pump();
  Confirm(TokenAfter(cityhub::testing::MailText(smtp_.Mails().at(0)),
                     "https://app.example/confirm-contact"));
  Move(r.request_id(), rv1::ACKNOWLEDGED, "Wir schauen es uns an.");
  Pump();
  auto mails = smtp_.Mails();
  ASSERT_EQ(mails.size(), 2u);
  std::string text = cityhub::testing::MailText(mails[1]);
  EXPECT_THAT(text, HasSubstr("Wir schauen es uns an."));
  EXPECT_THAT(text, Not(HasSubstr("Firma Meier")));  // never the internal note
  EXPECT_THAT(text, HasSubstr("angenommen"));        // German, as filed
  EXPECT_FALSE(TokenAfter(text, "https://app.example/unsubscribe").empty());
  EXPECT_TRUE(TokenAfter(text, "https://app.example/feedback").empty());
  // RFC 8058: one click from the mail client.
  EXPECT_THAT(
      mails[1],
      HasSubstr("List-Unsubscribe: <https://app.example/v1/requests:unsubscribeOneClick?token="));
  EXPECT_THAT(mails[1], HasSubstr("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));

  Move(r.request_id(), rv1::RESOLVED, "Lampe getauscht.");
  Pump();
  mails = smtp_.Mails();
  ASSERT_EQ(mails.size(), 3u);
  text = cityhub::testing::MailText(mails[2]);
  const std::string feedback = TokenAfter(text, "https://app.example/feedback");
  ASSERT_FALSE(feedback.empty());
  // The link's token gives feedback without an account; not fixed reopens, and the reporter
  // hears of that too.
  rv1::GiveFeedbackRequest give;
  give.set_request_id(r.request_id());
  give.set_fixed(false);
  give.set_rating(2);
  give.set_token(feedback);
  rv1::RequestFeedback given;
  ASSERT_TRUE(stub_->GiveFeedback(Ctx().get(), give, &given).ok());
  Pump();
  mails = smtp_.Mails();
  ASSERT_EQ(mails.size(), 4u);
  EXPECT_THAT(cityhub::testing::MailText(mails[3]), HasSubstr("in Bearbeitung"));

  // Unsubscribed: no more mails.
  rv1::UnsubscribeContactRequest stop;
  stop.set_token(TokenAfter(text, "https://app.example/unsubscribe"));
  rv1::ReporterContactResponse out;
  ASSERT_TRUE(stub_->UnsubscribeContact(Ctx().get(), stop, &out).ok());
  EXPECT_FALSE(out.subscribed());
  Move(r.request_id(), rv1::RESOLVED, "Jetzt aber.");
  Pump();
  EXPECT_EQ(smtp_.Mails().size(), 4u);
  auto marker = client().Command({"EXISTS", keys::Reporter(r.request_id())});
  ASSERT_TRUE(marker.ok());
  EXPECT_EQ(marker->integer(), 0);
}

}  // namespace
}  // namespace cityhub::notifications
