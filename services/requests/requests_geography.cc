// The city's geography (#15): boundary, districts and routing rules as documents, where a
// request belongs, and the background reassignment of open requests after the districts change.
#include <charconv>

#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/lifecycle.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

using infra::InvalidField;
using infra::StrCat;

namespace {

constexpr char kJson[] = "application/json";
constexpr char kNoDistricts[] = R"({"type":"FeatureCollection","features":[]})";

void Answer(const std::string& json, cityhub::api::HttpBody* response) {
  response->set_content_type(kJson);
  response->set_data(json);
}

}  // namespace

cityhub::events::v1::Event RequestsService::RoutedEvent(grpc::ServerContextBase* ctx,
                                                        const StoredRequest& before,
                                                        const StoredRequest& after) const {
  auto event = NewEvent(ctx);
  auto* moved = event.mutable_request_rerouted();
  moved->set_request_id(after.id());
  moved->set_jurisdiction_id(after.jurisdiction_id());
  moved->set_owner_account_id(after.account_id());
  moved->set_from_service_code(before.service_code());
  moved->set_to_service_code(after.service_code());
  moved->set_from_department(before.department());
  moved->set_to_department(after.department());
  moved->set_status(static_cast<v1::Status>(after.status()));
  if (after.has_location()) {
    moved->set_lat(after.lat());
    moved->set_long_(after.long_());
  }
  moved->set_address(after.address());
  auto category = deps_.catalogue.Find(after.jurisdiction_id(), after.service_code());
  if (category.ok()) FillEventNames(category->get(), moved);
  return event;
}

absl::Status RequestsService::PlaceRequest(StoredRequest& r,
                                           const std::string& category_department) {
  ASSIGN_OR_RETURN(auto geography, deps_.geography.Current(r.jurisdiction_id()));
  if (r.has_location()) {
    if (geography->boundary && !geography->boundary->Contains(r.lat(), r.long_())) {
      return InvalidField("lat", "the location lies outside the city");
    }
    r.set_district(geography->DistrictOf(r.lat(), r.long_()));
  } else {
    r.clear_district();
  }
  r.set_department(geography->DepartmentFor(r.service_code(), r.district(), category_department));
  return absl::OkStatus();
}

absl::Status RequestsService::DoGetBoundary(grpc::ServerContextBase* ctx,
                                            const v1::GetGeographyRequest* req,
                                            cityhub::api::HttpBody* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "GetBoundary"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->jurisdiction_id()));
  ASSIGN_OR_RETURN(auto geography, deps_.geography.Current(jurisdiction));
  if (geography->boundary_json.empty()) return absl::NotFoundError("no boundary is set");
  Answer(geography->boundary_json, response);
  return absl::OkStatus();
}

absl::Status RequestsService::DoPutBoundary(grpc::ServerContextBase* ctx,
                                            const v1::PutGeographyRequest* req,
                                            cityhub::api::HttpBody* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "PutBoundary"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->jurisdiction_id()));
  ASSIGN_OR_RETURN(const Area area, Area::Parse(req->document().data(), "boundary"));
  const std::string json = area.ToJsonText();
  RETURN_IF_ERROR(deps_.geography.store().SetBoundary(jurisdiction, json, false).status());
  RETURN_IF_ERROR(deps_.geography.Reload(jurisdiction).status());
  infra::log::Info("boundary_set", {{"vertices", static_cast<int64_t>(area.vertex_count())}});
  Answer(json, response);
  return absl::OkStatus();
}

absl::Status RequestsService::DoGetDistricts(grpc::ServerContextBase* ctx,
                                             const v1::GetGeographyRequest* req,
                                             cityhub::api::HttpBody* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "GetDistricts"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->jurisdiction_id()));
  ASSIGN_OR_RETURN(auto geography, deps_.geography.Current(jurisdiction));
  Answer(geography->districts_json.empty() ? kNoDistricts : geography->districts_json, response);
  return absl::OkStatus();
}

absl::Status RequestsService::DoPutDistricts(grpc::ServerContextBase* ctx,
                                             const v1::PutGeographyRequest* req,
                                             cityhub::api::HttpBody* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "PutDistricts"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->jurisdiction_id()));
  ASSIGN_OR_RETURN(const auto districts, ParseDistricts(req->document().data()));
  const std::string json = DistrictsToJson(districts);
  const std::string job = infra::NewUlid(deps_.clock.Now());
  RETURN_IF_ERROR(deps_.geography.store().SetDistricts(jurisdiction, json, job, false).status());
  RETURN_IF_ERROR(deps_.geography.Reload(jurisdiction).status());
  infra::log::Info("districts_set", {{"districts", static_cast<int64_t>(districts.size())}});
  Answer(json, response);
  return absl::OkStatus();
}

absl::Status RequestsService::DoGetRoutingRules(grpc::ServerContextBase* ctx,
                                                const v1::GetGeographyRequest* req,
                                                cityhub::api::HttpBody* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "GetRoutingRules"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->jurisdiction_id()));
  ASSIGN_OR_RETURN(auto geography, deps_.geography.Current(jurisdiction));
  Answer(geography->rules_json.empty() ? "[]" : geography->rules_json, response);
  return absl::OkStatus();
}

absl::Status RequestsService::DoPutRoutingRules(grpc::ServerContextBase* ctx,
                                                const v1::PutGeographyRequest* req,
                                                cityhub::api::HttpBody* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "PutRoutingRules"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->jurisdiction_id()));
  ASSIGN_OR_RETURN(const auto rules, ParseRoutingRules(req->document().data()));
  const std::string json = RoutingRulesToJson(rules);
  RETURN_IF_ERROR(deps_.geography.store().SetRoutingRules(jurisdiction, json).status());
  RETURN_IF_ERROR(deps_.geography.Reload(jurisdiction).status());
  Answer(json, response);
  return absl::OkStatus();
}

absl::StatusOr<int> RequestsService::SeedGeography(const std::string& boundary,
                                                   const std::string& districts,
                                                   const std::string& jurisdiction) {
  int stored = 0;
  if (!boundary.empty()) {
    ASSIGN_OR_RETURN(const Area area, Area::Parse(boundary, "boundary seed"));
    ASSIGN_OR_RETURN(auto version,
                     deps_.geography.store().SetBoundary(jurisdiction, area.ToJsonText(), true));
    stored += version.has_value();
  }
  if (!districts.empty()) {
    auto parsed = ParseDistricts(districts);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(StrCat("districts seed: ", parsed.status().message()));
    }
    ASSIGN_OR_RETURN(auto version,
                     deps_.geography.store().SetDistricts(jurisdiction, DistrictsToJson(*parsed),
                                                          infra::NewUlid(deps_.clock.Now()), true));
    stored += version.has_value();
  }
  if (stored > 0) RETURN_IF_ERROR(deps_.geography.Reload(jurisdiction).status());
  return stored;
}

absl::StatusOr<int> RequestsService::ReassignDistricts(const std::string& jurisdiction, int limit) {
  GeographyStore& store = deps_.geography.store();
  ASSIGN_OR_RETURN(const auto job, store.Job(jurisdiction));
  if (!job) return 0;
  // Oldest first by position in the time index (requests filed meanwhile get their district
  // from the new districts, and are visited too, harmlessly).
  int64_t offset = 0;
  if (!job->cursor.empty() &&
      std::from_chars(job->cursor.data(), job->cursor.data() + job->cursor.size(), offset).ec !=
          std::errc()) {
    return absl::DataLossError("district reassignment cursor damaged");
  }
  ASSIGN_OR_RETURN(const auto ids, store.RequestsFrom(jurisdiction, offset, limit));
  // The districts as stored now (the cache may be a second behind another replica's change).
  ASSIGN_OR_RETURN(auto geography, deps_.geography.Current(jurisdiction));
  ASSIGN_OR_RETURN(const int64_t version, store.Version(jurisdiction));
  if (version != geography->version) {
    ASSIGN_OR_RETURN(geography, deps_.geography.Reload(jurisdiction));
  }
  int moved = 0;
  for (const auto& id : ids) {
    for (int attempt = 0;; ++attempt) {
      auto current = deps_.requests.Get(id);
      if (absl::IsNotFound(current.status())) break;
      if (!current.ok()) return current.status();
      const StoredRequest& before = current->request;
      if (!IsOpen(static_cast<v1::Status>(before.status())) || !before.has_location()) break;
      StoredRequest after = before;
      after.set_district(geography->DistrictOf(before.lat(), before.long_()));
      if (after.district() == before.district()) break;
      // A request that moves re-applies the routing rules over its category's department.
      auto category = deps_.catalogue.Find(jurisdiction, before.service_code());
      const std::string category_department =
          category.ok() ? (*category)->department() : before.department();
      after.set_department(
          geography->DepartmentFor(after.service_code(), after.district(), category_department));
      Events events;
      if (after.department() != before.department()) {
        // An assignee works for the old department (as with a reroute).
        after.clear_assignee_account_id();
        after.clear_assignee_name();
        events.push_back(RoutedEvent(nullptr, before, after));
      }
      const absl::Status s = deps_.requests.Update(*current, after, events);
      if (s.ok()) {
        ++moved;
        break;
      }
      if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
    }
  }
  const bool done = static_cast<int>(ids.size()) < limit;
  const absl::Status advanced = store.AdvanceJob(
      jurisdiction, *job, std::to_string(offset + static_cast<int64_t>(ids.size())), done);
  // Replaced by a newer change of the districts: that job starts over, nothing is lost.
  if (!advanced.ok() && advanced.code() != absl::StatusCode::kAborted) return advanced;
  if (moved > 0) infra::log::Info("districts_reassigned", {{"requests", moved}});
  return static_cast<int>(ids.size());
}

}  // namespace cityhub::requests
