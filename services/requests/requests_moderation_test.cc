// Moderation, response templates and the reporter's edit and withdraw (issue #14 B), over real
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
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const Who kAnna = {"01JANNA0000000000000000000", {"citizen"}, {}, true};
const Who kBen = {"01JBEN00000000000000000000", {"citizen"}, {}, true};
const Who kLights = {
    "01JLIGHTS00000000000000000", {"citizen", "operator"}, {"street-lighting"}, true};
// An account id that is a valid ULID, for the privacy export.
const Who kStaff = {
    "01JSTAFF000000000000000000", {"citizen", "operator"}, {"street-lighting"}, true};
const Who kParks = {"01JPARKS000000000000000000", {"citizen", "operator"}, {"parks"}, true};
const Who kAdmin = {"01JADMIN000000000000000000", {"citizen", "admin"}, {}, true};
const Who kNobody = {};

constexpr char kSecret[] = "Anna Musterfrau, Tel. 0521 998877, wohnt nebenan";

class ModerationTest : public RequestsServiceTest {
 protected:
  std::string Upload(const Who& who, int size) {
    v1::UploadMediaRequest upload;
    upload.mutable_file()->set_data(cityhub::testing::TestPng(size, size, false));
    v1::Media media;
    EXPECT_TRUE(stub_->UploadMedia(Ctx(who).get(), upload, &media).ok());
    return media.media_id();
  }
  grpc::Status ReadMedia(const Who& who, const std::string& id) {
    v1::GetMediaRequest get;
    get.set_media_id(id);
    auto ctx = Ctx(who);
    auto reader = stub_->GetMedia(ctx.get(), get);
    cityhub::api::HttpBody piece;
    while (reader->Read(&piece)) {
    }
    return reader->Finish();
  }
  v1::ServiceRequest Get(const Who& who, const std::string& id) {
    v1::GetRequestRequest get;
    get.set_request_id(id);
    v1::ServiceRequest out;
    EXPECT_TRUE(stub_->GetRequest(Ctx(who).get(), get, &out).ok());
    return out;
  }
  // Every value Redis holds (strings, lists, sets, hashes, sorted sets, streams), concatenated:
  // to show that a text is stored nowhere.
  std::string EverythingStored() {
    std::string all;
    auto keys = client().Command({"KEYS", "*"});
    EXPECT_TRUE(keys.ok());
    for (const auto& k : keys->elements()) {
      auto type = client().Command({"TYPE", k.str()});
      const std::string t = type->str();
      infra::redis::Args read;
      if (t == "string") read = {"GET", k.str()};
      if (t == "list") read = {"LRANGE", k.str(), "0", "-1"};
      if (t == "set") read = {"SMEMBERS", k.str()};
      if (t == "hash") read = {"HGETALL", k.str()};
      if (t == "zset") read = {"ZRANGE", k.str(), "0", "-1"};
      if (t == "stream") read = {"XRANGE", k.str(), "-", "+"};
      if (read.empty()) continue;
      auto v = client().Command(read);
      EXPECT_TRUE(v.ok());
      std::function<void(const infra::redis::Reply&)> walk = [&](const infra::redis::Reply& r) {
        if (r.is_array()) {
          for (const auto& e : r.elements()) walk(e);
        } else if (!r.is_nil() && !r.is_integer()) {
          all += r.str();
          all += '\n';
        }
      };
      walk(*v);
    }
    return all;
  }
};

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

// --- response templates ------------------------------------------------------------------------

TEST_F(ModerationTest, TemplatesAreKeptPerDepartmentWithLimits) {
  auto create = [&](const Who& who, const std::string& department, const std::string& title,
                    v1::ResponseTemplate* out) {
    v1::CreateResponseTemplateRequest t;
    t.mutable_template_()->set_department(department);
    t.mutable_template_()->set_title(title);
    t.mutable_template_()->set_text_de("Wir kümmern uns.\nIhr Team");
    t.mutable_template_()->set_text_en("We are on it.");
    return stub_->CreateResponseTemplate(Ctx(who).get(), t, out);
  };
  v1::ResponseTemplate lights, parks;
  ASSERT_TRUE(create(kLights, "street-lighting", "Ersatzteil", &lights).ok());
  ASSERT_TRUE(create(kParks, "parks", "Baumschnitt", &parks).ok());
  EXPECT_EQ(lights.author_account_id(), kLights.account_id);
  EXPECT_EQ(create(kLights, "parks", "fremd", &parks).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Operators list their departments' templates only; admins all.
  v1::ListResponseTemplatesRequest list;
  v1::ListResponseTemplatesResponse page;
  ASSERT_TRUE(stub_->ListResponseTemplates(Ctx(kLights).get(), list, &page).ok());
  ASSERT_EQ(page.templates_size(), 1);
  EXPECT_EQ(page.templates(0).template_id(), lights.template_id());
  ASSERT_TRUE(stub_->ListResponseTemplates(Ctx(kAdmin).get(), list, &page).ok());
  EXPECT_EQ(page.templates_size(), 2);
  list.set_department("parks");
  EXPECT_EQ(stub_->ListResponseTemplates(Ctx(kLights).get(), list, &page).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Bad input names the field.
  auto bad = [&](const grpc::Status& s, const std::string& field) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(s.error_message(), StartsWith(field + ":"));
  };
  v1::ResponseTemplate out;
  bad(create(kLights, "", "t", &out), "department");
  bad(create(kLights, "street-lighting", "", &out), "title");
  bad(create(kLights, "street-lighting", std::string(121, 'x'), &out), "title");
  bad(create(kLights, "street-lighting", "zwei\nZeilen", &out), "title");
  v1::UpdateResponseTemplateRequest u;
  u.set_template_id(lights.template_id());
  u.set_text_de(std::string(2001, 'x'));
  bad(stub_->UpdateResponseTemplate(Ctx(kLights).get(), u, &out), "text_de");
  u.clear_text_de();
  u.set_text_en(std::string(2001, 'x'));
  bad(stub_->UpdateResponseTemplate(Ctx(kLights).get(), u, &out), "text_en");
  u.clear_text_en();
  u.set_template_id("nope");
  bad(stub_->UpdateResponseTemplate(Ctx(kLights).get(), u, &out), "template_id");
  // Unknown ids are 404.
  u.set_template_id("01JAAAAAAAAAAAAAAAAAAAAAAA");
  u.set_title("x");
  EXPECT_EQ(stub_->UpdateResponseTemplate(Ctx(kLights).get(), u, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::DeleteResponseTemplateRequest d;
  d.set_template_id(u.template_id());
  v1::DeleteResponseTemplateResponse gone;
  EXPECT_EQ(stub_->DeleteResponseTemplate(Ctx(kLights).get(), d, &gone).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Fields present change; the others stay.
  u.set_template_id(lights.template_id());
  u.set_title("Ersatzteil bestellt");
  ASSERT_TRUE(stub_->UpdateResponseTemplate(Ctx(kLights).get(), u, &out).ok());
  EXPECT_EQ(out.title(), "Ersatzteil bestellt");
  EXPECT_EQ(out.text_en(), "We are on it.");

  // At most 200 per department: the 201st is FAILED_PRECONDITION (409) naming the department.
  for (int i = 1; i < ResponseTemplateStore::kMaxPerDepartment; ++i) {
    ASSERT_TRUE(create(kLights, "street-lighting", "t" + std::to_string(i), &out).ok()) << i;
  }
  const grpc::Status full = create(kLights, "street-lighting", "one too many", &out);
  EXPECT_EQ(full.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(full.error_message(), StartsWith("department:"));
  // Paged, 20 by default.
  list.set_department("street-lighting");
  std::set<std::string> seen;
  do {
    ASSERT_TRUE(stub_->ListResponseTemplates(Ctx(kLights).get(), list, &page).ok());
    for (const auto& t : page.templates()) seen.insert(t.template_id());
    list.set_page_token(page.next_page_token());
  } while (!page.next_page_token().empty());
  EXPECT_EQ(seen.size(), 200u);
}

TEST_F(ModerationTest, TheExportHoldsTheTemplatesAStaffMemberWroteAndErasureDropsTheAuthor) {
  v1::CreateResponseTemplateRequest t;
  t.mutable_template_()->set_department("street-lighting");
  t.mutable_template_()->set_title("Ersatzteil");
  t.mutable_template_()->set_text_de("Bestellt.");
  v1::ResponseTemplate created;
  ASSERT_TRUE(stub_->CreateResponseTemplate(Ctx(kStaff).get(), t, &created).ok());
  v1::ExportUserDataRequest ask;
  ask.set_account_id(kStaff.account_id);
  v1::UserDataExport exported;
  ASSERT_TRUE(stub_->ExportUserData(Internal().get(), ask, &exported).ok());
  ASSERT_EQ(exported.response_templates_size(), 1);
  EXPECT_EQ(exported.response_templates(0).template_id(), created.template_id());

  cityhub::events::v1::Event deleted;
  deleted.mutable_account_deleted()->set_account_id(kStaff.account_id);
  ASSERT_TRUE(service_->OnAccountEvent(deleted.SerializeAsString()).ok());
  ASSERT_TRUE(stub_->ExportUserData(Internal().get(), ask, &exported).ok());
  EXPECT_EQ(exported.response_templates_size(), 0);
  v1::ListResponseTemplatesRequest list;
  v1::ListResponseTemplatesResponse page;
  ASSERT_TRUE(stub_->ListResponseTemplates(Ctx(kAdmin).get(), list, &page).ok());
  ASSERT_EQ(page.templates_size(), 1);  // the department keeps it
  EXPECT_EQ(page.templates(0).author_account_id(), "");
  EXPECT_THAT(EverythingStored(), Not(HasSubstr(kStaff.account_id)));
}

// --- the reporter's edit and withdraw ------------------------------------------------------------

TEST_F(ModerationTest, TheReporterEditsWhatIsPresentWhileSubmitted) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight", 52.0211, 8.5325));
  const size_t events_before = Events().size();
  v1::EditRequestRequest e;
  e.set_request_id(r.request_id());
  e.set_description("Die Laterne flackert nur.");
  e.set_lat(52.0300);
  e.set_long_(8.5400);
  v1::ServiceRequest edited;
  ASSERT_TRUE(stub_->EditRequest(Ctx(kAnna).get(), e, &edited).ok());
  EXPECT_EQ(edited.description(), "Die Laterne flackert nur.");
  EXPECT_DOUBLE_EQ(edited.lat(), 52.0300);
  EXPECT_EQ(edited.address(), r.address());  // absent: unchanged
  EXPECT_EQ(edited.attributes().SerializeAsString(), r.attributes().SerializeAsString());

  // The geo indexes moved with it.
  v1::ListRequestsRequest near;
  near.set_lat(52.0300);
  near.set_long_(8.5400);
  near.set_radius_m(100);
  v1::ListRequestsResponse page;
  ASSERT_TRUE(stub_->ListRequests(Ctx().get(), near, &page).ok());
  EXPECT_EQ(page.requests_size(), 1);
  near.set_lat(52.0211);
  near.set_long_(8.5325);
  ASSERT_TRUE(stub_->ListRequests(Ctx().get(), near, &page).ok());
  EXPECT_EQ(page.requests_size(), 0);

  const auto events = Events();
  ASSERT_EQ(events.size(), events_before + 1);
  EXPECT_THAT(events.back().request_edited().fields(),
              ::testing::ElementsAre("description", "position"));
  EXPECT_THAT(events.back().SerializeAsString(), Not(HasSubstr("flackert")));

  auto bad = [&](v1::EditRequestRequest e, const std::string& field) {
    v1::ServiceRequest out;
    const grpc::Status s = stub_->EditRequest(Ctx(kAnna).get(), e, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(s.error_message(), StartsWith(field)) << s.error_message();
  };
  v1::EditRequestRequest b;
  b.set_request_id(r.request_id());
  bad(b, "description");  // nothing to change
  b.set_lat(48.1);
  b.set_long_(11.5);
  bad(b, "lat");  // outside the city
  b.clear_long_();
  bad(b, "long");
  b.clear_lat();
  b.set_address(std::string(251, 'x'));
  bad(b, "address");
  b.clear_address();
  b.set_description(std::string(4001, 'x'));
  bad(b, "description");
  b.clear_description();
  (*b.mutable_attributes()->mutable_fields())["no_such_question"].set_string_value("x");
  bad(b, "attributes");

  // Once the city took it up: 409.
  v1::TransitionRequestRequest t;
  t.set_request_id(r.request_id());
  t.set_status(v1::ACKNOWLEDGED);
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(kLights).get(), t, &edited).ok());
  const grpc::Status late = stub_->EditRequest(Ctx(kAnna).get(), e, &edited);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(late.error_message(), HasSubstr("only while SUBMITTED"));
  v1::WithdrawRequestRequest w;
  w.set_request_id(r.request_id());
  EXPECT_EQ(stub_->WithdrawRequest(Ctx(kAnna).get(), w, &edited).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ModerationTest, AWithdrawnRequestIsClosedWithAPublicNoteAndAStatusEvent) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  v1::WithdrawRequestRequest w;
  w.set_request_id(r.request_id());
  v1::ServiceRequest out;
  ASSERT_TRUE(stub_->WithdrawRequest(Ctx(kAnna).get(), w, &out).ok());
  EXPECT_EQ(out.status(), v1::CLOSED);
  const v1::ServiceRequest seen = Get(kNobody, r.request_id());
  EXPECT_EQ(seen.status(), v1::CLOSED);
  EXPECT_EQ(seen.status_notes(), "withdrawn by the reporter");
  ASSERT_EQ(seen.history_size(), 1);
  EXPECT_EQ(seen.history(0).public_note(), "withdrawn by the reporter");
  const auto events = Events();
  const auto& changed = events.back().request_status_changed();
  EXPECT_EQ(changed.request_id(), r.request_id());
  EXPECT_EQ(changed.from_status(), v1::SUBMITTED);
  EXPECT_EQ(changed.to_status(), v1::CLOSED);
  EXPECT_EQ(changed.public_note(), "withdrawn by the reporter");
  const grpc::Status twice = stub_->WithdrawRequest(Ctx(kAnna).get(), w, &out);
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  w.set_request_id("bad");
  const grpc::Status bad = stub_->WithdrawRequest(Ctx(kAnna).get(), w, &out);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), StartsWith("request_id:"));
  w.set_request_id("01JAAAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(stub_->WithdrawRequest(Ctx(kAnna).get(), w, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace cityhub::requests
