// Issue 14, part A: the operator's moves (reroute, assign), the staff queue filters, the partner
// name, and the defects fixed with them; over real gRPC, a real Redis and, for assignees, the
// real accounts service.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include "infra/ids.h"
#include "services/accounts/accounts_service.h"
#include "services/requests/keys.h"
#include "services/requests/requests_test_fixture.h"

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;
namespace ev = cityhub::events::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const Who kAnna = {"01JANNA0000000000000000000", {"citizen"}, {}, true};
const Who kBen = {"01JBEN00000000000000000000", {"citizen"}, {}, true};
const Who kNobody = {};

class MovesTest : public RequestsServiceTest {
 protected:
  // The accounts service, for real GetContact calls (who an assignee is).
  void StartPeers() override {
    account_store_ = std::make_unique<accounts::AccountStore>(client());
    sessions_ = std::make_unique<accounts::SessionStore>(client());
    throttle_ = std::make_unique<accounts::ThrottleStore>(client(), accounts::ThrottlePolicy{});
    api_keys_ = std::make_unique<accounts::ApiKeyStore>(client());
    hasher_ = std::make_unique<accounts::PasswordHasher>(accounts::Argon2Params{}, 1, 10s);
    accounts_authorizer_ = std::make_unique<infra::auth::Authorizer>(
        cityhub::accounts::v1::AccountsService::service_full_name(), *verifier_, kInternal);
    accounts_ = std::make_unique<accounts::AccountsService>(
        accounts::AccountsDeps{*account_store_, *sessions_, *throttle_, *api_keys_, *hasher_,
                               *signer_, jwks_, *accounts_authorizer_, *clock_, nullptr, nullptr,
                               accounts_metrics_},
        accounts::AccountsSettings{});
    infra::ServerOptions options;
    options.drain_delay = 0ms;
    options.grace = 1s;
    accounts_server_ = std::make_unique<infra::GrpcServer>(options, accounts_registry_);
    accounts_server_->AddService(accounts_.get());
    ASSERT_TRUE(accounts_server_->Start().ok());
    accounts_channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(accounts_server_->port()),
                                            grpc::InsecureChannelCredentials());
  }
  void SetUp() override {
    RequestsServiceTest::SetUp();
    lights_ = Account("Lina Licht", {"citizen", "operator"}, {"street-lighting"});
    lights2_ = Account("Lutz Lampe", {"citizen", "operator"}, {"street-lighting"});
    roads_ = Account("Rita Strasse", {"citizen", "operator"}, {"roads"});
    admin_ = Account("Ada Admin", {"citizen", "admin"}, {});
  }
  void TearDown() override {
    RequestsServiceTest::TearDown();
    accounts_server_.reset();
  }

  // An account in the accounts service, and the caller it is.
  Who Account(const std::string& name, std::vector<std::string> roles,
              std::vector<std::string> departments, bool verified = true) {
    accounts::StoredAccount a;
    a.id = infra::NewUlid(*clock_);
    a.email = infra::HexEncode(infra::RandomBytes(4)) + "@stadt.example";
    a.email_key = a.email;
    a.display_name = name;
    a.password_hash = "x";
    a.roles = roles;
    a.departments = departments;
    a.verified = verified;
    EXPECT_TRUE(account_store_
                    ->Create(a, infra::HexEncode(infra::RandomBytes(8)), 1h,
                             infra::UnixMillis(clock_->Now()), {})
                    .ok());
    return {a.id, std::move(roles), std::move(departments), verified};
  }

  grpc::Status Reroute(const Who& who, const std::string& id, const std::string& code,
                       v1::ServiceRequest* out, const std::string& internal_note = "") {
    v1::RerouteRequestRequest req;
    req.set_request_id(id);
    req.set_service_code(code);
    req.set_public_note("An das Tiefbauamt weitergegeben.");
    req.set_internal_note(internal_note);
    if (code == "damaged_sign") {
      (*req.mutable_attributes()->mutable_fields())["problem"].set_string_value("down");
    }
    return stub_->RerouteRequest(Ctx(who).get(), req, out);
  }
  grpc::Status Assign(const Who& who, const std::string& id, const std::string& assignee,
                      v1::ServiceRequest* out) {
    v1::AssignRequestRequest req;
    req.set_request_id(id);
    req.set_assignee_account_id(assignee);
    return stub_->AssignRequest(Ctx(who).get(), req, out);
  }
  v1::ServiceRequest Get(const Who& who, const std::string& id) {
    v1::GetRequestRequest get;
    get.set_request_id(id);
    v1::ServiceRequest out;
    EXPECT_TRUE(stub_->GetRequest(Ctx(who).get(), get, &out).ok());
    return out;
  }
  std::vector<std::string> ListIds(const Who& who, const v1::ListRequestsRequest& req,
                                   grpc::Status* status = nullptr) {
    v1::ListRequestsResponse res;
    const grpc::Status s = stub_->ListRequests(Ctx(who).get(), req, &res);
    if (status != nullptr) *status = s;
    if (status == nullptr) {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    std::vector<std::string> ids;
    for (const auto& r : res.requests()) ids.push_back(r.request_id());
    return ids;
  }
  bool InIndex(const std::string& key, const std::string& id) {
    auto score = client().Command({"ZSCORE", key, id});
    return score.ok() && !score->is_nil();
  }

  Who lights_, lights2_, roads_, admin_;
  infra::MetricsRegistry accounts_registry_;
  accounts::AccountsMetrics accounts_metrics_{accounts_registry_};
  cityhub::accounts::v1::Jwks jwks_;
  std::unique_ptr<accounts::AccountStore> account_store_;
  std::unique_ptr<accounts::SessionStore> sessions_;
  std::unique_ptr<accounts::ThrottleStore> throttle_;
  std::unique_ptr<accounts::ApiKeyStore> api_keys_;
  std::unique_ptr<accounts::PasswordHasher> hasher_;
  std::unique_ptr<infra::auth::Authorizer> accounts_authorizer_;
  std::unique_ptr<accounts::AccountsService> accounts_;
  std::unique_ptr<infra::GrpcServer> accounts_server_;
};

// --- reroute --------------------------------------------------------------------------------

TEST_F(MovesTest, RerouteMovesARequestToTheNewCategoryItsDepartmentAndItsIndexes) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  const std::string j = r.jurisdiction_id();
  v1::ServiceRequest out;
  ASSERT_TRUE(
      Reroute(lights_, r.request_id(), "damaged_sign", &out, "Mast 17 ist ein Schild").ok());
  EXPECT_EQ(out.service_code(), "damaged_sign");
  EXPECT_EQ(out.department(), "roads");
  EXPECT_EQ(out.status(), v1::SUBMITTED);
  // The new department's staff see it as theirs, with the move in its history.
  const v1::ServiceRequest staff = Get(roads_, r.request_id());
  ASSERT_GE(staff.history_size(), 1);
  const auto& change = staff.history(staff.history_size() - 1);
  EXPECT_EQ(change.kind(), "reroute");
  EXPECT_EQ(change.from_value(), "streetlight");
  EXPECT_EQ(change.to_value(), "damaged_sign");
  EXPECT_EQ(change.actor_account_id(), lights_.account_id);
  EXPECT_EQ(change.internal_note(), "Mast 17 ist ein Schild");
  EXPECT_EQ(staff.attributes().fields().at("problem").string_value(), "down");
  const v1::ServiceRequest seen = Get(kNobody, r.request_id());
  EXPECT_EQ(seen.history(seen.history_size() - 1).to_value(), "damaged_sign");
  EXPECT_THAT(seen.DebugString(), Not(HasSubstr("Mast 17")));
  // One event, written with the change, public fields only.
  const auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  ASSERT_TRUE(events[1].has_request_rerouted());
  const auto& e = events[1].request_rerouted();
  EXPECT_EQ(e.request_id(), r.request_id());
  EXPECT_EQ(e.from_service_code(), "streetlight");
  EXPECT_EQ(e.to_service_code(), "damaged_sign");
  EXPECT_EQ(e.from_department(), "street-lighting");
  EXPECT_EQ(e.to_department(), "roads");
  EXPECT_EQ(e.public_note(), "An das Tiefbauamt weitergegeben.");
  EXPECT_FALSE(e.service_name_de().empty());
  EXPECT_THAT(events[1].DebugString(), Not(HasSubstr("Mast 17")));
  // The indexes moved: category, department, and the open-per-category set of duplicates.
  EXPECT_FALSE(InIndex(keys::ByService(j, "streetlight"), r.request_id()));
  EXPECT_TRUE(InIndex(keys::ByService(j, "damaged_sign"), r.request_id()));
  EXPECT_FALSE(InIndex(keys::ByDepartment(j, "street-lighting"), r.request_id()));
  EXPECT_TRUE(InIndex(keys::ByDepartment(j, "roads"), r.request_id()));
  EXPECT_FALSE(InIndex(keys::GeoOpen(j, "streetlight"), r.request_id()));
  EXPECT_TRUE(InIndex(keys::GeoOpen(j, "damaged_sign"), r.request_id()));
  v1::SuggestDuplicatesRequest dup;
  dup.set_service_code("damaged_sign");
  dup.set_lat(r.lat());
  dup.set_long_(r.long_());
  v1::ListRequestsResponse dups;
  ASSERT_TRUE(stub_->SuggestDuplicates(Ctx().get(), dup, &dups).ok());
  ASSERT_EQ(dups.requests_size(), 1);
  EXPECT_EQ(dups.requests(0).request_id(), r.request_id());
  v1::ListRequestsRequest by_code;
  by_code.add_service_code("streetlight");
  EXPECT_TRUE(ListIds(kNobody, by_code).empty());
  // The old department's operator has no say any more.
  EXPECT_EQ(Reroute(lights_, r.request_id(), "streetlight", &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(MovesTest, RerouteRefusesTheSameAnUnknownOrAnInactiveCategoryAndMissingAnswers) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  v1::ServiceRequest out;
  const auto refused = [&](const std::string& code, const std::string& field) {
    v1::RerouteRequestRequest req;
    req.set_request_id(r.request_id());
    req.set_service_code(code);
    const grpc::Status s = stub_->RerouteRequest(Ctx(lights_).get(), req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << code;
    EXPECT_THAT(s.error_message(), HasSubstr(field + ":")) << code;
  };
  refused("streetlight", "service_code");
  refused("no_such_thing", "service_code");
  refused("", "service_code");
  // graffiti asks "offensive" (required), which a streetlight report never answered; the
  // answer "dark" to "problem" is not one damaged_sign allows.
  refused("graffiti", "attributes.offensive");
  refused("damaged_sign", "attributes.problem");
  v1::UpdateServiceRequest off;
  off.set_service_code("graffiti");
  off.mutable_service()->set_active(false);
  off.mutable_update_mask()->add_paths("active");
  v1::Service updated;
  ASSERT_TRUE(stub_->UpdateService(Ctx(admin_).get(), off, &updated).ok());
  refused("graffiti", "service_code");
  // Nothing changed, nothing was published.
  EXPECT_EQ(Get(lights_, r.request_id()).service_code(), "streetlight");
  EXPECT_EQ(Events().size(), 1u);
  // A closed request stays where it is.
  v1::TransitionRequestRequest t;
  t.set_request_id(r.request_id());
  t.set_status(v1::REJECTED);
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(lights_).get(), t, &out).ok());
  EXPECT_EQ(Reroute(lights_, r.request_id(), "damaged_sign", &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(MovesTest, RerouteAccessMatrix) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  struct Row {
    std::string name;
    Who who;
    grpc::StatusCode code;  // of a probe to the same category: INVALID_ARGUMENT when permitted
  };
  const Who unverified =
      Account("Uwe Ungeprueft", {"citizen", "operator"}, {"street-lighting"}, false);
  for (const Row& row : std::vector<Row>{
           {"anonymous", kNobody, grpc::StatusCode::UNAUTHENTICATED},
           {"owner", kAnna, grpc::StatusCode::PERMISSION_DENIED},
           {"other citizen", kBen, grpc::StatusCode::PERMISSION_DENIED},
           {"operator of the department", lights_, grpc::StatusCode::INVALID_ARGUMENT},
           {"operator of another department", roads_, grpc::StatusCode::PERMISSION_DENIED},
           {"operator with an unverified address", unverified, grpc::StatusCode::PERMISSION_DENIED},
           {"admin", admin_, grpc::StatusCode::INVALID_ARGUMENT}}) {
    SCOPED_TRACE(row.name);
    v1::ServiceRequest out;
    const grpc::Status s = Reroute(row.who, r.request_id(), "streetlight", &out);
    EXPECT_EQ(s.error_code(), row.code) << s.error_message();
  }
  v1::ServiceRequest out;
  EXPECT_TRUE(Reroute(admin_, r.request_id(), "damaged_sign", &out).ok());
}

// --- assign ---------------------------------------------------------------------------------

TEST_F(MovesTest, AssignGivesARequestToAnOperatorOfItsDepartmentSeenByStaffOnly) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  v1::ServiceRequest out;
  ASSERT_TRUE(Assign(lights_, r.request_id(), lights2_.account_id, &out).ok());
  EXPECT_EQ(out.assignee_account_id(), lights2_.account_id);
  EXPECT_EQ(out.assignee_name(), "Lutz Lampe");
  const v1::ServiceRequest staff = Get(lights2_, r.request_id());
  EXPECT_EQ(staff.assignee_account_id(), lights2_.account_id);
  const auto& change = staff.history(staff.history_size() - 1);
  EXPECT_EQ(change.kind(), "assign");
  EXPECT_EQ(change.to_value(), lights2_.account_id);
  EXPECT_EQ(change.actor_account_id(), lights_.account_id);
  for (const Who& who : {kNobody, kAnna, roads_}) {
    const v1::ServiceRequest seen = Get(who, r.request_id());
    EXPECT_TRUE(seen.assignee_account_id().empty());
    EXPECT_THAT(seen.DebugString(), Not(HasSubstr(lights2_.account_id)));
    EXPECT_THAT(seen.DebugString(), Not(HasSubstr("Lutz")));
  }
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  ASSERT_TRUE(events[1].has_request_assigned());
  EXPECT_EQ(events[1].request_assigned().to_assignee_account_id(), lights2_.account_id);
  EXPECT_EQ(events[1].request_assigned().actor_account_id(), lights_.account_id);
  EXPECT_EQ(events[1].request_assigned().department(), "street-lighting");
  EXPECT_TRUE(InIndex(keys::ByAssignee(lights2_.account_id), r.request_id()));
  // Again to the same: nothing changes, nothing is published.
  ASSERT_TRUE(Assign(lights_, r.request_id(), lights2_.account_id, &out).ok());
  EXPECT_EQ(Events().size(), 2u);
  // Unassign.
  ASSERT_TRUE(Assign(lights2_, r.request_id(), "", &out).ok());
  EXPECT_TRUE(out.assignee_account_id().empty());
  EXPECT_FALSE(InIndex(keys::ByAssignee(lights2_.account_id), r.request_id()));
  events = Events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].request_assigned().from_assignee_account_id(), lights2_.account_id);
  EXPECT_TRUE(events[2].request_assigned().to_assignee_account_id().empty());
}

TEST_F(MovesTest, AssignRefusesCitizensUnknownAccountsAndOtherDepartmentsNamingTheField) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  const Who citizen = Account("Carla Citoyenne", {"citizen"}, {});
  v1::ServiceRequest out;
  for (const std::string& assignee :
       {citizen.account_id, infra::NewUlid(*clock_), roads_.account_id, admin_.account_id,
        std::string("not-an-id")}) {
    SCOPED_TRACE(assignee);
    const grpc::Status s = Assign(lights_, r.request_id(), assignee, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("assignee_account_id:"));
  }
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(MovesTest, AssignAccessMatrix) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  const Who unverified =
      Account("Uwe Ungeprueft", {"citizen", "operator"}, {"street-lighting"}, false);
  struct Row {
    std::string name;
    Who who;
    grpc::StatusCode code;
  };
  for (const Row& row : std::vector<Row>{
           {"anonymous", kNobody, grpc::StatusCode::UNAUTHENTICATED},
           {"owner", kAnna, grpc::StatusCode::PERMISSION_DENIED},
           {"other citizen", kBen, grpc::StatusCode::PERMISSION_DENIED},
           {"operator of the department", lights_, grpc::StatusCode::OK},
           {"operator of another department", roads_, grpc::StatusCode::PERMISSION_DENIED},
           {"operator with an unverified address", unverified, grpc::StatusCode::PERMISSION_DENIED},
           {"admin", admin_, grpc::StatusCode::OK}}) {
    SCOPED_TRACE(row.name);
    v1::ServiceRequest out;
    const grpc::Status s = Assign(row.who, r.request_id(), lights2_.account_id, &out);
    EXPECT_EQ(s.error_code(), row.code) << s.error_message();
    if (s.ok()) {
      ASSERT_TRUE(Assign(row.who, r.request_id(), "", &out).ok());
    }
  }
}

TEST_F(MovesTest, TheExportOfStaffHoldsTheirAssignmentsAndDeletionUnassigns) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  v1::ServiceRequest out;
  ASSERT_TRUE(Assign(lights_, r.request_id(), lights2_.account_id, &out).ok());
  v1::ExportUserDataRequest req;
  req.set_account_id(lights_.account_id);
  v1::UserDataExport exported;
  ASSERT_TRUE(stub_->ExportUserData(Internal().get(), req, &exported).ok());
  ASSERT_EQ(exported.assignments_made_size(), 1);
  EXPECT_EQ(exported.assignments_made(0).request_id(), r.request_id());
  EXPECT_EQ(exported.assignments_made(0).assignee_account_id(), lights2_.account_id);
  // The assignee's account is deleted: the request goes back to nobody.
  ev::Event deleted;
  deleted.mutable_account_deleted()->set_account_id(lights2_.account_id);
  ASSERT_TRUE(service_->OnAccountEvent(deleted.SerializeAsString()).ok());
  const v1::ServiceRequest after = Get(lights_, r.request_id());
  EXPECT_TRUE(after.assignee_account_id().empty());
  EXPECT_TRUE(after.assignee_name().empty());
  EXPECT_FALSE(InIndex(keys::ByAssignee(lights2_.account_id), r.request_id()));
  // The assigner's account is deleted: its export index goes.
  deleted.mutable_account_deleted()->set_account_id(lights_.account_id);
  ASSERT_TRUE(service_->OnAccountEvent(deleted.SerializeAsString()).ok());
  EXPECT_EQ(client().Command({"EXISTS", keys::AssignedBy(lights_.account_id)})->integer(), 0);
}

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

// Operators whose address is not verified could transition and comment.
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
  EXPECT_EQ(Get(lights_, r.request_id()).status(), v1::SUBMITTED);
  EXPECT_EQ(Events().size(), 1u);
}

}  // namespace
}  // namespace cityhub::requests
