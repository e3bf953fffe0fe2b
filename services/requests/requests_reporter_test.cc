// Response templates and the reporter's edit and withdraw (issue #14 B), over real gRPC against
// a real Redis.
#include <set>

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
  // Nothing present: the request as it is, no write, no event.
  v1::ServiceRequest same;
  ASSERT_TRUE(stub_->EditRequest(Ctx(kAnna).get(), b, &same).ok());
  EXPECT_EQ(same.description(), "Die Laterne flackert nur.");
  EXPECT_EQ(Events().size(), events_before + 1);
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
}  // namespace cityhub::requests::moderation_testing
