// Issue 14, part A: the staff queue filters, the partner name, and the defects fixed with
// them, over real gRPC and a real Redis (requests_moves_fixture.h).
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "services/requests/requests_moves_fixture.h"

namespace cityhub::requests {
namespace {

using namespace moves_testing;
namespace ev = cityhub::events::v1;
using ::testing::HasSubstr;
using ::testing::Not;

// --- the staff queue ------------------------------------------------------------------------

TEST_F(MovesTest, QueueFiltersAccessMatrix) {
  File(kAnna, NewRequest("streetlight"));
  struct Row {
    std::string name;
    Who who;
    grpc::StatusCode code;
  };
  for (const Row& row : std::vector<Row>{
           {"anonymous", kNobody, grpc::StatusCode::PERMISSION_DENIED},
           {"owner", kAnna, grpc::StatusCode::PERMISSION_DENIED},
           {"other citizen", kBen, grpc::StatusCode::PERMISSION_DENIED},
           {"operator of the department", lights_, grpc::StatusCode::OK},
           {"operator of another department", roads_, grpc::StatusCode::PERMISSION_DENIED},
           {"admin", admin_, grpc::StatusCode::OK}}) {
    SCOPED_TRACE(row.name);
    v1::ListRequestsRequest by_department;
    by_department.set_department("street-lighting");
    grpc::Status s;
    ListIds(row.who, by_department, &s);
    EXPECT_EQ(s.error_code(), row.code) << s.error_message();
    // assignee and overdue: any staff member; citizens and anonymous callers never.
    const bool staff = row.who.roles.size() > 1;
    v1::ListRequestsRequest mine;
    mine.set_assignee("me");
    ListIds(row.who, mine, &s);
    EXPECT_EQ(s.ok(), staff) << s.error_message();
    v1::ListRequestsRequest overdue;
    overdue.set_overdue(true);
    ListIds(row.who, overdue, &s);
    EXPECT_EQ(s.ok(), staff) << s.error_message();
    if (!staff) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    }
  }
}

TEST_F(MovesTest, QueueFiltersByDepartmentAssigneeOverdueAndSeveralStatusesTogether) {
  const std::string a = File(kAnna, NewRequest("streetlight")).request_id();
  const std::string b = File(kAnna, NewRequest("streetlight")).request_id();
  const std::string c = File(kAnna, NewRequest("streetlight")).request_id();
  const std::string d = File(kAnna, NewRequest("pothole")).request_id();
  v1::ServiceRequest out;
  ASSERT_TRUE(Assign(lights_, a, lights2_.account_id, &out).ok());
  ASSERT_TRUE(Assign(lights_, b, lights2_.account_id, &out).ok());
  v1::TransitionRequestRequest t;
  t.set_request_id(b);
  t.set_status(v1::ACKNOWLEDGED);
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(lights_).get(), t, &out).ok());
  t.set_request_id(c);
  t.set_status(v1::REJECTED);
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(lights_).get(), t, &out).ok());

  v1::ListRequestsRequest q;
  q.set_department("street-lighting");
  EXPECT_EQ(ListIds(lights_, q), (std::vector<std::string>{c, b, a}));
  q.add_status(v1::SUBMITTED);
  q.add_status(v1::ACKNOWLEDGED);
  EXPECT_EQ(ListIds(lights_, q), (std::vector<std::string>{b, a}));
  q.set_assignee("me");
  EXPECT_EQ(ListIds(lights2_, q), (std::vector<std::string>{b, a}));
  EXPECT_TRUE(ListIds(lights_, q).empty());
  q.set_assignee(lights2_.account_id);
  q.clear_status();
  q.add_status(v1::ACKNOWLEDGED);
  EXPECT_EQ(ListIds(lights_, q), (std::vector<std::string>{b}));
  // Paged through the assignee index.
  v1::ListRequestsRequest paged;
  paged.set_assignee(lights2_.account_id);
  paged.set_page_size(1);
  v1::ListRequestsResponse page;
  ASSERT_TRUE(stub_->ListRequests(Ctx(lights_).get(), paged, &page).ok());
  ASSERT_EQ(page.requests_size(), 1);
  EXPECT_EQ(page.requests(0).request_id(), b);
  paged.set_page_token(page.next_page_token());
  EXPECT_EQ(ListIds(lights_, paged), (std::vector<std::string>{a}));
  // Nothing is overdue yet; past expected_at (48 h for street lights), the open ones are.
  v1::ListRequestsRequest overdue;
  overdue.set_overdue(true);
  EXPECT_TRUE(ListIds(admin_, overdue).empty());
  clock_->Advance(24h * 30);
  EXPECT_EQ(ListIds(admin_, overdue), (std::vector<std::string>{d, b, a}));
  overdue.set_department("roads");
  EXPECT_EQ(ListIds(roads_, overdue), (std::vector<std::string>{d}));
  // A citizen combining public filters with a staff one is refused, not filtered silently.
  v1::ListRequestsRequest mixed;
  mixed.add_service_code("streetlight");
  mixed.set_overdue(true);
  grpc::Status s;
  ListIds(kAnna, mixed, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(MovesTest, RequestsFiledBeforeTheDepartmentIndexAreBackfilledIntoIt) {
  const std::string a = File(kAnna, NewRequest("streetlight")).request_id();
  const std::string b = File(kAnna, NewRequest("pothole")).request_id();
  const std::string j = "bielefeld.de";
  // As data of the version before: no department index, no cursor.
  ASSERT_TRUE(client()
                  .Command({"DEL", keys::ByDepartment(j, "street-lighting"),
                            keys::ByDepartment(j, "roads")})
                  .ok());
  v1::ListRequestsRequest q;
  q.set_department("street-lighting");
  EXPECT_TRUE(ListIds(lights_, q).empty());
  auto read = requests_->BackfillDepartmentIndex(j, 1);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, 2);  // a batch is read whole
  EXPECT_EQ(ListIds(lights_, q), (std::vector<std::string>{a}));
  EXPECT_TRUE(InIndex(keys::ByDepartment(j, "roads"), b));
  read = requests_->BackfillDepartmentIndex(j, 10'000);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, 0);
  EXPECT_EQ(client().Command({"GET", keys::DepartmentBackfill(j)})->str(), "done");
}

// --- partner name ---------------------------------------------------------------------------

TEST_F(MovesTest, StaffSeeWhichPartnerFiledAnOpen311Request) {
  auto ctx = Internal();
  ctx->AddMetadata("x-cityhub-partner", "01JKEY0000000000000000000K");
  ctx->AddMetadata("x-cityhub-partner-name-bin", "Bürger-App Bielefeld");
  v1::ServiceRequest created;
  ASSERT_TRUE(stub_->CreateRequest(ctx.get(), NewRequest("streetlight"), &created).ok());
  EXPECT_EQ(Get(lights_, created.request_id()).partner_name(), "Bürger-App Bielefeld");
  for (const Who& who : {kNobody, kBen, roads_}) {
    EXPECT_TRUE(Get(who, created.request_id()).partner_name().empty());
  }
  // Filed through the app: no partner.
  EXPECT_TRUE(
      Get(lights_, File(kAnna, NewRequest("streetlight")).request_id()).partner_name().empty());
}

// --- defects --------------------------------------------------------------------------------

// follower_count and following were right only on the single GET.
TEST_F(MovesTest, FollowerCountsAreRightInListsMyRequestsTransitionsAndTheExport) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  v1::FollowRequestRequest follow;
  follow.set_request_id(r.request_id());
  v1::FollowResponse followed;
  ASSERT_TRUE(stub_->FollowRequest(Ctx(kBen).get(), follow, &followed).ok());
  ASSERT_TRUE(stub_->FollowRequest(Ctx(kAnna).get(), follow, &followed).ok());
  const auto check = [](const v1::ServiceRequest& seen, bool following) {
    EXPECT_EQ(seen.follower_count(), 2);
    EXPECT_EQ(seen.following(), following);
  };
  v1::ListRequestsRequest list;
  v1::ListRequestsResponse page;
  ASSERT_TRUE(stub_->ListRequests(Ctx(kBen).get(), list, &page).ok());
  ASSERT_EQ(page.requests_size(), 1);
  check(page.requests(0), true);
  page.Clear();
  ASSERT_TRUE(stub_->ListRequests(Ctx().get(), list, &page).ok());
  check(page.requests(0), false);
  // Near a point (the non-blocking path).
  list.set_lat(r.lat());
  list.set_long_(r.long_());
  list.set_radius_m(100);
  page.Clear();
  ASSERT_TRUE(stub_->ListRequests(Ctx(kBen).get(), list, &page).ok());
  ASSERT_EQ(page.requests_size(), 1);
  check(page.requests(0), true);
  v1::ListMyRequestsRequest my;
  page.Clear();
  ASSERT_TRUE(stub_->ListMyRequests(Ctx(kAnna).get(), my, &page).ok());
  ASSERT_EQ(page.requests_size(), 1);
  check(page.requests(0), true);
  v1::TransitionRequestRequest t;
  t.set_request_id(r.request_id());
  t.set_status(v1::ACKNOWLEDGED);
  v1::ServiceRequest moved;
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(lights_).get(), t, &moved).ok());
  check(moved, false);
  v1::ExportUserDataRequest req;
  req.set_account_id(kAnna.account_id);
  v1::UserDataExport exported;
  ASSERT_TRUE(stub_->ExportUserData(Internal().get(), req, &exported).ok());
  ASSERT_EQ(exported.requests_size(), 1);
  check(exported.requests(0), true);
}

// Operators whose address is not verified could transition and comment (and moderate and write
// templates).
TEST_F(MovesTest, AnOperatorWithAnUnverifiedAddressNeitherTransitionsNorComments) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  const Who unverified =
      Account("Uwe Ungeprueft", {"citizen", "operator"}, {"street-lighting"}, false);
  v1::TransitionRequestRequest t;
  t.set_request_id(r.request_id());
  t.set_status(v1::ACKNOWLEDGED);
  v1::ServiceRequest out;
  const grpc::Status moved = stub_->TransitionRequest(Ctx(unverified).get(), t, &out);
  EXPECT_EQ(moved.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(moved.error_message(), HasSubstr("verify your e-mail address"));
  v1::AddCommentRequest comment;
  comment.set_request_id(r.request_id());
  comment.set_text("Wir kümmern uns.");
  v1::Comment added;
  const grpc::Status commented = stub_->AddComment(Ctx(unverified).get(), comment, &added);
  EXPECT_EQ(commented.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(commented.error_message(), HasSubstr("verify your e-mail address"));
  // Nor moderates, hides comments or writes response templates.
  v1::ModerateRequestRequest m;
  m.set_request_id(r.request_id());
  m.set_description("Lampe defekt.");
  m.set_reason("Name im Text");
  v1::ServiceRequest moderated;
  EXPECT_EQ(stub_->ModerateRequest(Ctx(unverified).get(), m, &moderated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::CreateResponseTemplateRequest tpl;
  tpl.mutable_template_()->set_department("street-lighting");
  tpl.mutable_template_()->set_title("Defekt");
  tpl.mutable_template_()->set_text_de("Wir reparieren die Leuchte.");
  v1::ResponseTemplate written;
  EXPECT_EQ(stub_->CreateResponseTemplate(Ctx(unverified).get(), tpl, &written).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get(lights_, r.request_id()).status(), v1::SUBMITTED);
  EXPECT_EQ(Events().size(), 1u);
}

}  // namespace
}  // namespace cityhub::requests
