// Issue 14, part A: the operator's moves (reroute, assign) over real gRPC, a real Redis and,
// for assignees, the real accounts service.
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

TEST_F(MovesTest, AClosedRequestIsNotAssignedButCanBeUnassigned) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  v1::ServiceRequest out;
  ASSERT_TRUE(Assign(lights_, r.request_id(), lights_.account_id, &out).ok());
  v1::TransitionRequestRequest t;
  t.set_request_id(r.request_id());
  t.set_status(v1::REJECTED);
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(lights_).get(), t, &out).ok());
  ASSERT_TRUE(Assign(lights_, r.request_id(), "", &out).ok());
  const grpc::Status s = Assign(lights_, r.request_id(), lights_.account_id, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("status: a REJECTED request is not assigned"));
  EXPECT_EQ(Get(lights_, r.request_id()).assignee_account_id(), "");
}

}  // namespace
}  // namespace cityhub::requests
