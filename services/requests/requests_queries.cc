// The read side of the requests service: lists, "near me", "my requests" and duplicate
// suggestions. Pages are planned and read by ListPlanner (list_planner.h).
#include <algorithm>

#include "infra/status.h"
#include "services/requests/lifecycle.h"
#include "services/requests/list_planner.h"
#include "services/requests/request_input.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

using infra::Done;
using infra::InvalidField;
using infra::auth::Caller;

ListPlanner::Viewer RequestsService::ListViewer(const Caller& caller, std::string_view language) {
  return [this, &caller, language](const StoredRequest& r, v1::ServiceRequest* out) {
    View(caller, r, language, out);
  };
}

absl::Status RequestsService::DoListRequests(grpc::ServerContextBase* ctx,
                                             const v1::ListRequestsRequest* req,
                                             v1::ListRequestsResponse* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "ListRequests"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->jurisdiction_id()));
  ASSIGN_OR_RETURN(auto language, Language(req->language()));
  ASSIGN_OR_RETURN(auto page_size, PageSize(req->page_size()));
  ASSIGN_OR_RETURN(auto filter, ParseListFilter(*req));

  // Exact ids: a small set, fetched whole.
  if (req->request_ids_size() > 0) {
    std::vector<std::string> ids(req->request_ids().begin(), req->request_ids().end());
    ASSIGN_OR_RETURN(auto requests, deps_.requests.GetMany(ids));
    std::vector<StoredRequest> matches;
    for (auto& r : requests) {
      if (r && r->jurisdiction_id() == jurisdiction && filter.Matches(*r))
        matches.push_back(std::move(*r));
    }
    ListPlanner::Page(std::move(matches), page_size, ListViewer(caller, language), response);
    return absl::OkStatus();
  }
  if (filter.near || filter.box) {
    return planner_.GeoPage(jurisdiction, filter, page_size, ListViewer(caller, language),
                            response);
  }
  return planner_.ScanPage(jurisdiction, filter, page_size, ListViewer(caller, language), response);
}

absl::Status RequestsService::DoListMyRequests(grpc::ServerContextBase* ctx,
                                               const v1::ListMyRequestsRequest* req,
                                               v1::ListRequestsResponse* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "ListMyRequests"));
  ASSIGN_OR_RETURN(auto language, Language(req->language()));
  ASSIGN_OR_RETURN(auto page_size, PageSize(req->page_size()));
  RETURN_IF_ERROR(CheckPageToken(req->page_token()));
  ASSIGN_OR_RETURN(
      auto ids, deps_.requests.NewestOfOwner(caller.account_id, req->page_token(), page_size + 1));
  std::vector<std::string> keys;
  for (const auto& i : ids) keys.push_back(i.id);
  ASSIGN_OR_RETURN(auto requests, deps_.requests.GetMany(keys));
  std::vector<StoredRequest> mine;
  for (auto& r : requests) {
    if (r && r->account_id() == caller.account_id) mine.push_back(std::move(*r));
  }
  ListPlanner::Page(std::move(mine), page_size, ListViewer(caller, language), response);
  return absl::OkStatus();
}

absl::Status RequestsService::DoSuggestDuplicates(grpc::ServerContextBase* ctx,
                                                  const v1::SuggestDuplicatesRequest* req,
                                                  v1::ListRequestsResponse* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "SuggestDuplicates"));
  ASSIGN_OR_RETURN(auto language, Language(req->language()));
  if (!IsServiceCode(req->service_code())) return InvalidField("service_code", "is required");
  RETURN_IF_ERROR(CheckCoordinates(req->lat(), req->long_(), "lat", "long"));
  const std::string& jurisdiction = settings_.default_jurisdiction;
  ASSIGN_OR_RETURN(auto service, deps_.catalogue.Find(jurisdiction, req->service_code()));
  ASSIGN_OR_RETURN(auto nearby,
                   deps_.requests.NearOpen(jurisdiction, req->service_code(), req->lat(),
                                           req->long_(), settings_.duplicate_radius_m + kGeoMarginM,
                                           RequestStore::GeoLimit{200, false}));
  std::vector<std::string> ids;
  for (const auto& h : nearby) ids.push_back(h.id);
  ASSIGN_OR_RETURN(auto requests, deps_.requests.GetMany(ids));
  const int64_t oldest =
      infra::UnixMillis(deps_.clock.Now()) -
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.duplicate_window).count();
  struct Hit {
    double distance;
    StoredRequest request;
  };
  std::vector<Hit> hits;
  for (auto& r : requests) {
    if (!r || !IsOpen(static_cast<Status>(r->status())) || r->requested_ms() < oldest) continue;
    const double d = DistanceM(req->lat(), req->long_(), r->lat(), r->long_());
    if (d <= settings_.duplicate_radius_m) hits.push_back({d, std::move(*r)});
  }
  std::sort(hits.begin(), hits.end(),
            [](const Hit& a, const Hit& b) { return a.distance < b.distance; });
  if (hits.size() > 10) hits.resize(10);
  for (const Hit& h : hits) View(caller, h.request, language, response->add_requests());
  return absl::OkStatus();
}

}  // namespace cityhub::requests
