// The read side of the requests service: lists, "near me", "my requests" and duplicate
// suggestions. Pages are planned and read by ListPlanner (list_planner.h).
#include <algorithm>

#include "infra/status.h"
#include "services/requests/lifecycle.h"
#include "services/requests/list_planner.h"
#include "services/requests/request_input.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

namespace v1 = cityhub::requests::v1;
using infra::Done;
using infra::InvalidField;
using infra::auth::Caller;

ListPlanner::Viewer RequestsService::ListViewer(const Caller& caller, std::string_view language) {
  return [this, &caller, language](const StoredRequest& r, v1::ServiceRequest* out) {
    View(caller, r, language, out);
  };
}

grpc::Status RequestsService::DoListRequests(grpc::ServerContextBase* ctx,
                                             const v1::ListRequestsRequest* req,
                                             v1::ListRequestsResponse* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "ListRequests");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto jurisdiction = Jurisdiction(req->jurisdiction_id());
  if (!jurisdiction.ok()) return Done(ctx, jurisdiction.status());
  auto language = Language(req->language());
  if (!language.ok()) return Done(ctx, language.status());
  auto page_size = PageSize(req->page_size());
  if (!page_size.ok()) return Done(ctx, page_size.status());
  auto filter = ParseListFilter(*req);
  if (!filter.ok()) return Done(ctx, filter.status());

  // Exact ids: a small set, fetched whole.
  if (req->request_ids_size() > 0) {
    std::vector<std::string> ids(req->request_ids().begin(), req->request_ids().end());
    auto requests = deps_.requests.GetMany(ids);
    if (!requests.ok()) return Done(ctx, requests.status());
    std::vector<StoredRequest> matches;
    for (auto& r : *requests) {
      if (r && r->jurisdiction_id() == *jurisdiction && filter->Matches(*r))
        matches.push_back(std::move(*r));
    }
    ListPlanner::Page(std::move(matches), *page_size, ListViewer(*caller, *language), response);
    return grpc::Status::OK;
  }
  if (filter->near || filter->box) {
    return Done(ctx, planner_.GeoPage(*jurisdiction, *filter, *page_size,
                                      ListViewer(*caller, *language), response));
  }
  return Done(ctx, planner_.ScanPage(*jurisdiction, *filter, *page_size,
                                     ListViewer(*caller, *language), response));
}

grpc::Status RequestsService::DoListMyRequests(grpc::ServerContextBase* ctx,
                                               const v1::ListMyRequestsRequest* req,
                                               v1::ListRequestsResponse* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "ListMyRequests");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto language = Language(req->language());
  if (!language.ok()) return Done(ctx, language.status());
  auto page_size = PageSize(req->page_size());
  if (!page_size.ok()) return Done(ctx, page_size.status());
  if (auto s = CheckPageToken(req->page_token()); !s.ok()) return Done(ctx, s);
  auto ids = deps_.requests.NewestOfOwner(caller->account_id, req->page_token(), *page_size + 1);
  if (!ids.ok()) return Done(ctx, ids.status());
  std::vector<std::string> keys;
  for (const auto& i : *ids) keys.push_back(i.id);
  auto requests = deps_.requests.GetMany(keys);
  if (!requests.ok()) return Done(ctx, requests.status());
  std::vector<StoredRequest> mine;
  for (auto& r : *requests) {
    if (r && r->account_id() == caller->account_id) mine.push_back(std::move(*r));
  }
  ListPlanner::Page(std::move(mine), *page_size, ListViewer(*caller, *language), response);
  return grpc::Status::OK;
}

grpc::Status RequestsService::DoSuggestDuplicates(grpc::ServerContextBase* ctx,
                                                  const v1::SuggestDuplicatesRequest* req,
                                                  v1::ListRequestsResponse* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "SuggestDuplicates");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto language = Language(req->language());
  if (!language.ok()) return Done(ctx, language.status());
  if (!IsServiceCode(req->service_code()))
    return Done(ctx, InvalidField("service_code", "is required"));
  if (auto s = CheckCoordinates(req->lat(), req->long_(), "lat", "long"); !s.ok())
    return Done(ctx, s);
  const std::string& jurisdiction = settings_.default_jurisdiction;
  auto service = deps_.catalogue.Find(jurisdiction, req->service_code());
  if (!service.ok()) return Done(ctx, service.status());
  auto nearby = deps_.requests.NearOpen(jurisdiction, req->service_code(), req->lat(), req->long_(),
                                        settings_.duplicate_radius_m + kGeoMarginM,
                                        RequestStore::GeoLimit{200, false});
  if (!nearby.ok()) return Done(ctx, nearby.status());
  std::vector<std::string> ids;
  for (const auto& h : *nearby) ids.push_back(h.id);
  auto requests = deps_.requests.GetMany(ids);
  if (!requests.ok()) return Done(ctx, requests.status());
  const int64_t oldest =
      infra::UnixMillis(deps_.clock.Now()) -
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.duplicate_window).count();
  struct Hit {
    double distance;
    StoredRequest request;
  };
  std::vector<Hit> hits;
  for (auto& r : *requests) {
    if (!r || !IsOpen(static_cast<Status>(r->status())) || r->requested_ms() < oldest) continue;
    const double d = DistanceM(req->lat(), req->long_(), r->lat(), r->long_());
    if (d <= settings_.duplicate_radius_m) hits.push_back({d, std::move(*r)});
  }
  std::sort(hits.begin(), hits.end(),
            [](const Hit& a, const Hit& b) { return a.distance < b.distance; });
  if (hits.size() > 10) hits.resize(10);
  for (const Hit& h : hits) View(*caller, h.request, *language, response->add_requests());
  return grpc::Status::OK;
}

}  // namespace cityhub::requests
