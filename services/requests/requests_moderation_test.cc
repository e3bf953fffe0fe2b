// Moderation (issue #14 B) and the access matrix of every new route of #14 B, over real gRPC
// against a real Redis.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "infra/ids.h"
#include "services/requests/keys.h"
#include "services/requests/moderation_test_fixture.h"

namespace cityhub::requests::moderation_testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// --- moderation ------------------------------------------------------------------------------

TEST_F(ModerationTest, StaffHideAPhotoAndReplaceTheDescriptionAndTheOldTextIsStoredNowhere) {
  const std::string keep = Upload(kAnna, 16), hide = Upload(kAnna, 24);
  v1::CreateRequestRequest req = NewRequest("streetlight");
  req.add_media_ids(keep);
  req.add_media_ids(hide);
  req.set_description(kSecret);
  const v1::ServiceRequest r = File(kAnna, req);
  ASSERT_THAT(EverythingStored(), HasSubstr(kSecret));  // the probe finds it while it is there
  const size_t events_before = Events().size();

  v1::ModerateRequestRequest m;
  m.set_request_id(r.request_id());
  m.add_hide_media_ids(hide);
  m.set_description("Laterne defekt (Text von der Redaktion gekürzt)");
  m.set_reason("personal data of a third person");
  v1::ServiceRequest moderated;
  ASSERT_TRUE(stub_->ModerateRequest(Ctx(kLights).get(), m, &moderated).ok());
  EXPECT_THAT(moderated.media_ids(), ::testing::ElementsAre(keep));

  for (const Who& who : {kNobody, kBen, kAnna, kLights}) {
    const v1::ServiceRequest seen = Get(who, r.request_id());
    EXPECT_EQ(seen.description(), m.description());
    EXPECT_THAT(seen.media_ids(), ::testing::ElementsAre(keep));
    for (const auto& url : seen.media_urls()) EXPECT_THAT(url, Not(HasSubstr(hide)));
    // The audit: staff only; who, when, why, never the content.
    EXPECT_EQ(seen.moderation_size(), who.account_id == kLights.account_id ? 1 : 0);
  }
  const v1::ServiceRequest staff = Get(kLights, r.request_id());
  EXPECT_EQ(staff.moderation(0).actor_account_id(), kLights.account_id);
  EXPECT_EQ(staff.moderation(0).reason(), m.reason());
  EXPECT_TRUE(staff.moderation(0).description_replaced());
  EXPECT_THAT(staff.moderation(0).hidden_media_ids(), ::testing::ElementsAre(hide));

  v1::ListRequestsRequest list;
  v1::ListRequestsResponse page;
  ASSERT_TRUE(stub_->ListRequests(Ctx().get(), list, &page).ok());
  ASSERT_EQ(page.requests_size(), 1);
  EXPECT_EQ(page.requests(0).description(), m.description());
  EXPECT_THAT(page.requests(0).media_ids(), ::testing::ElementsAre(keep));
  v1::ListMyRequestsRequest mine;
  ASSERT_TRUE(stub_->ListMyRequests(Ctx(kAnna).get(), mine, &page).ok());
  EXPECT_THAT(page.requests(0).media_ids(), ::testing::ElementsAre(keep));

  // The hidden photo is 404 for everyone but staff; the other one stays public.
  EXPECT_EQ(ReadMedia(kNobody, hide).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReadMedia(kAnna, hide).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(ReadMedia(kLights, hide).ok());
  EXPECT_TRUE(ReadMedia(kNobody, keep).ok());
  // Nor can it come back with the request or another one.
  v1::AddMediaRequest again;
  again.set_request_id(r.request_id());
  again.add_media_ids(hide);
  v1::ServiceRequest out;
  const grpc::Status readd = stub_->AddMedia(Ctx(kAnna).get(), again, &out);
  EXPECT_EQ(readd.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(readd.error_message(), StartsWith("media_ids:"));

  // One event, in the same script as the change, without content.
  const auto events = Events();
  ASSERT_EQ(events.size(), events_before + 1);
  const auto& e = events.back().request_moderated();
  EXPECT_EQ(e.request_id(), r.request_id());
  EXPECT_EQ(e.hidden_media_count(), 1);
  EXPECT_TRUE(e.description_replaced());
  EXPECT_THAT(events.back().SerializeAsString(), Not(HasSubstr(m.reason())));
  // The original text is gone from every key, streams and history included.
  EXPECT_THAT(EverythingStored(), Not(HasSubstr(kSecret)));
}

TEST_F(ModerationTest, ModerationInputIsCheckedNamingTheField) {
  const std::string photo = Upload(kAnna, 16);
  v1::CreateRequestRequest req = NewRequest("streetlight");
  req.add_media_ids(photo);
  const v1::ServiceRequest r = File(kAnna, req);
  auto refused = [&](v1::ModerateRequestRequest m, const std::string& field) {
    v1::ServiceRequest out;
    const grpc::Status s = stub_->ModerateRequest(Ctx(kLights).get(), m, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(s.error_message(), StartsWith(field + ":"));
  };
  v1::ModerateRequestRequest m;
  m.set_request_id(r.request_id());
  m.set_reason("spam");
  refused(m, "hide_media_ids");  // nothing to do
  m.add_hide_media_ids(Upload(kBen, 20));
  refused(m, "hide_media_ids");  // not one of the request's photos
  m.clear_hide_media_ids();
  m.add_hide_media_ids("not-a-photo");
  refused(m, "hide_media_ids");
  m.clear_hide_media_ids();
  m.add_hide_media_ids(photo);
  m.set_reason("");
  refused(m, "reason");
  m.set_reason(std::string(501, 'x'));
  refused(m, "reason");
  m.set_reason("ok");
  m.set_description(std::string(4001, 'x'));
  refused(m, "description");
  m.clear_description();
  m.set_request_id("01JAAAAAAAAAAAAAAAAAAAAAAA");
  v1::ServiceRequest out;
  EXPECT_EQ(stub_->ModerateRequest(Ctx(kLights).get(), m, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Events().size() == 1u);  // only the creation
}

TEST_F(ModerationTest, AHiddenCommentLeavesThePublicListAndLosesItsText) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  v1::AddCommentRequest c;
  c.set_request_id(r.request_id());
  c.set_text(kSecret);
  v1::Comment bad, good;
  ASSERT_TRUE(stub_->AddComment(Ctx(kAnna).get(), c, &bad).ok());
  c.set_text("Danke fürs Melden.");
  ASSERT_TRUE(stub_->AddComment(Ctx(kLights).get(), c, &good).ok());
  const size_t events_before = Events().size();

  v1::HideCommentRequest hide;
  hide.set_request_id(r.request_id());
  hide.set_comment_id(bad.comment_id());
  hide.set_reason("a third person's phone number");
  v1::Comment hidden;
  ASSERT_TRUE(stub_->HideComment(Ctx(kAdmin).get(), hide, &hidden).ok());
  EXPECT_TRUE(hidden.hidden());
  EXPECT_EQ(hidden.text(), "");

  v1::ListCommentsRequest list;
  list.set_request_id(r.request_id());
  for (const Who& who : {kNobody, kAnna, kBen, kParks}) {
    v1::ListCommentsResponse page;
    ASSERT_TRUE(stub_->ListComments(Ctx(who).get(), list, &page).ok());
    ASSERT_EQ(page.comments_size(), 1);
    EXPECT_EQ(page.comments(0).comment_id(), good.comment_id());
  }
  v1::ListCommentsResponse staff;
  ASSERT_TRUE(stub_->ListComments(Ctx(kLights).get(), list, &staff).ok());
  ASSERT_EQ(staff.comments_size(), 2);
  EXPECT_TRUE(staff.comments(0).hidden());
  EXPECT_EQ(staff.comments(0).text(), "");
  EXPECT_EQ(Get(kLights, r.request_id()).moderation(0).comment_id(), bad.comment_id());

  const auto events = Events();
  ASSERT_EQ(events.size(), events_before + 1);
  EXPECT_EQ(events.back().request_moderated().comment_id(), bad.comment_id());
  // The CommentAdded event carried the text before; the comment itself no longer does.
  auto stored = client().Command({"LRANGE", keys::Comments(r.request_id()), "0", "-1"});
  ASSERT_TRUE(stored.ok());
  for (const auto& e : stored->elements()) EXPECT_THAT(e.str(), Not(HasSubstr(kSecret)));

  hide.set_comment_id("01JAAAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(stub_->HideComment(Ctx(kLights).get(), hide, &hidden).error_code(),
            grpc::StatusCode::NOT_FOUND);
  hide.set_comment_id("nope");
  const grpc::Status s = stub_->HideComment(Ctx(kLights).get(), hide, &hidden);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("comment_id:"));
  hide.set_comment_id(good.comment_id());
  hide.set_reason("");
  const grpc::Status r2 = stub_->HideComment(Ctx(kLights).get(), hide, &hidden);
  EXPECT_EQ(r2.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r2.error_message(), StartsWith("reason:"));
}

// The outbox: where the event cannot be written, nothing of the change is (same script).
TEST_F(ModerationTest, AChangeWhoseEventCannotBeWrittenIsNotStored) {
  const std::string photo = Upload(kAnna, 16);
  v1::CreateRequestRequest req = NewRequest("streetlight");
  req.add_media_ids(photo);
  req.set_description(kSecret);
  const v1::ServiceRequest r = File(kAnna, req);
  v1::AddCommentRequest c;
  c.set_request_id(r.request_id());
  c.set_text(kSecret);
  v1::Comment comment;
  ASSERT_TRUE(stub_->AddComment(Ctx(kAnna).get(), c, &comment).ok());
  const std::string before = client().Command({"GET", keys::Request(r.request_id())})->str();
  const std::string comments_before =
      client().Command({"LINDEX", keys::Comments(r.request_id()), "0"})->str();
  ASSERT_TRUE(client().Command({"DEL", kEventsStream}).ok());
  ASSERT_TRUE(client().Command({"SET", kEventsStream, "not a stream"}).ok());

  v1::ModerateRequestRequest m;
  m.set_request_id(r.request_id());
  m.add_hide_media_ids(photo);
  m.set_description("");
  m.set_reason("r");
  v1::ServiceRequest out;
  EXPECT_FALSE(stub_->ModerateRequest(Ctx(kLights).get(), m, &out).ok());
  v1::HideCommentRequest h;
  h.set_request_id(r.request_id());
  h.set_comment_id(comment.comment_id());
  h.set_reason("r");
  v1::Comment hidden;
  EXPECT_FALSE(stub_->HideComment(Ctx(kLights).get(), h, &hidden).ok());
  v1::EditRequestRequest e;
  e.set_request_id(r.request_id());
  e.set_lat(52.03);
  e.set_long_(8.54);
  EXPECT_FALSE(stub_->EditRequest(Ctx(kAnna).get(), e, &out).ok());
  v1::WithdrawRequestRequest w;
  w.set_request_id(r.request_id());
  EXPECT_FALSE(stub_->WithdrawRequest(Ctx(kAnna).get(), w, &out).ok());

  EXPECT_EQ(client().Command({"GET", keys::Request(r.request_id())})->str(), before);
  EXPECT_EQ(client().Command({"LINDEX", keys::Comments(r.request_id()), "0"})->str(),
            comments_before);
  EXPECT_EQ(client().Command({"EXISTS", keys::MediaHidden(photo)})->integer(), 0);
  ASSERT_TRUE(client().Command({"DEL", kEventsStream}).ok());
  EXPECT_TRUE(ReadMedia(kNobody, photo).ok());
}

// --- the access matrix of every new route -----------------------------------------------------

TEST_F(ModerationTest, AccessMatrix) {
  struct Row {
    std::string name;
    Who who;
    bool moderate, edit, template_write;
  };
  const std::vector<Row> rows = {
      {"anonymous", kNobody, false, false, false},
      {"owner", kAnna, false, true, false},
      {"other citizen", kBen, false, false, false},
      {"operator of the department", kLights, true, false, true},
      {"operator of another department", kParks, false, false, false},
      {"admin", kAdmin, true, false, true},
  };
  auto denied = [](const grpc::Status& s, const Who& who) {
    EXPECT_EQ(s.error_code(), who.account_id.empty() ? grpc::StatusCode::UNAUTHENTICATED
                                                     : grpc::StatusCode::PERMISSION_DENIED)
        << s.error_message();
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
    v1::AddCommentRequest c;
    c.set_request_id(r.request_id());
    c.set_text("hm");
    v1::Comment comment;
    ASSERT_TRUE(stub_->AddComment(Ctx(kAnna).get(), c, &comment).ok());

    v1::ModerateRequestRequest m;
    m.set_request_id(r.request_id());
    m.set_description("");
    m.set_reason("r");
    v1::ServiceRequest out;
    grpc::Status s = stub_->ModerateRequest(Ctx(row.who).get(), m, &out);
    if (row.moderate)
      EXPECT_TRUE(s.ok()) << s.error_message();
    else
      denied(s, row.who);
    v1::HideCommentRequest h;
    h.set_request_id(r.request_id());
    h.set_comment_id(comment.comment_id());
    h.set_reason("r");
    v1::Comment hidden;
    s = stub_->HideComment(Ctx(row.who).get(), h, &hidden);
    if (row.moderate)
      EXPECT_TRUE(s.ok()) << s.error_message();
    else
      denied(s, row.who);

    v1::EditRequestRequest e;
    e.set_request_id(r.request_id());
    e.set_address("Niederwall 1");
    s = stub_->EditRequest(Ctx(row.who).get(), e, &out);
    if (row.edit)
      EXPECT_TRUE(s.ok()) << s.error_message();
    else
      denied(s, row.who);
    v1::WithdrawRequestRequest w;
    w.set_request_id(r.request_id());
    s = stub_->WithdrawRequest(Ctx(row.who).get(), w, &out);
    if (row.edit)
      EXPECT_TRUE(s.ok()) << s.error_message();
    else
      denied(s, row.who);

    v1::CreateResponseTemplateRequest t;
    t.mutable_template_()->set_department("street-lighting");
    t.mutable_template_()->set_title("Ersatzteil bestellt");
    t.mutable_template_()->set_text_de("Das Ersatzteil ist bestellt.");
    v1::ResponseTemplate created;
    s = stub_->CreateResponseTemplate(Ctx(row.who).get(), t, &created);
    if (row.template_write)
      EXPECT_TRUE(s.ok()) << s.error_message();
    else
      denied(s, row.who);
    v1::ListResponseTemplatesRequest list;
    list.set_department("street-lighting");
    v1::ListResponseTemplatesResponse templates;
    s = stub_->ListResponseTemplates(Ctx(row.who).get(), list, &templates);
    if (row.template_write)
      EXPECT_TRUE(s.ok()) << s.error_message();
    else
      denied(s, row.who);
    if (row.template_write) {
      v1::UpdateResponseTemplateRequest u;
      u.set_template_id(created.template_id());
      u.set_title("neu");
      v1::ResponseTemplate updated;
      EXPECT_TRUE(stub_->UpdateResponseTemplate(Ctx(kParks).get(), u, &updated).error_code() ==
                  grpc::StatusCode::PERMISSION_DENIED);
      v1::DeleteResponseTemplateRequest d;
      d.set_template_id(created.template_id());
      v1::DeleteResponseTemplateResponse gone;
      EXPECT_EQ(stub_->DeleteResponseTemplate(Ctx(kParks).get(), d, &gone).error_code(),
                grpc::StatusCode::PERMISSION_DENIED);
      EXPECT_TRUE(stub_->UpdateResponseTemplate(Ctx(row.who).get(), u, &updated).ok());
      EXPECT_TRUE(stub_->DeleteResponseTemplate(Ctx(row.who).get(), d, &gone).ok());
    }
  }
}

}  // namespace
}  // namespace cityhub::requests::moderation_testing
