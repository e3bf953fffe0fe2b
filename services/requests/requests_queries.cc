// The read side of the requests service: lists, "near me", "my requests" and duplicate
// suggestions. Pages are planned and read by ListPlanner (list_planner.h).
#include <algorithm>

#include "infra/ids.h"
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

absl::StatusOr<RequestsService::ListCall> RequestsService::CheckListCall(
    grpc::ServerContextBase* ctx, const v1::ListRequestsRequest& req) {
  ListCall call;
  ASSIGN_OR_RETURN(call.caller, deps_.authorizer.Authorize(*ctx, "ListRequests"));
  ASSIGN_OR_RETURN(call.jurisdiction, Jurisdiction(req.jurisdiction_id()));
  ASSIGN_OR_RETURN(call.language, Language(req.language()));
  ASSIGN_OR_RETURN(call.page_size, PageSize(req.page_size()));
  ASSIGN_OR_RETURN(call.filter, ParseListFilter(req));
  if (call.filter.staff_only()) {
    // The work queue: staff only, and an operator only for departments they work for.
    if (!call.caller.is_staff()) {
      return absl::PermissionDeniedError("department, assignee and overdue are for staff only");
    }
    if (!call.filter.department.empty() && !call.caller.WorksFor(call.filter.department)) {
      return absl::PermissionDeniedError("department: you do not work for this department");
    }
    if (call.filter.assignee == "me") call.filter.assignee = call.caller.account_id;
    call.filter.now_ms = infra::UnixMillis(deps_.clock.Now());
  }
  return call;
}

grpc::ServerUnaryReactor* RequestsService::ListRequests(grpc::CallbackServerContext* ctx,
                                                        const v1::ListRequestsRequest* req,
                                                        v1::ListRequestsResponse* response) {
  if (!IsAreaList(*req)) return Run(ctx, req, response, &RequestsService::DoListRequests);
  return StartWithoutBlocking(ctx, [=, this](grpc::ServerUnaryReactor* reactor) {
    StartAreaList(ctx, req, response, reactor);
  });
}

absl::Status RequestsService::DoListRequests(grpc::ServerContextBase* ctx,
                                             const v1::ListRequestsRequest* req,
                                             v1::ListRequestsResponse* response) {
  ASSIGN_OR_RETURN(const ListCall call, CheckListCall(ctx, *req));
  const ListPlanner::Viewer view = ListViewer(call.caller, call.language);
  // Exact ids: a small set, fetched whole.
  if (req->request_ids_size() > 0) {
    std::vector<std::string> ids(req->request_ids().begin(), req->request_ids().end());
    ASSIGN_OR_RETURN(auto requests, deps_.requests.GetMany(ids));
    std::vector<StoredRequest> matches;
    for (auto& r : requests) {
      if (r && r->jurisdiction_id() == call.jurisdiction && call.filter.Matches(*r))
        matches.push_back(std::move(*r));
    }
    ListPlanner::Page(std::move(matches), call.page_size, view, response);
    return FillFollowStates(call.caller, response->mutable_requests());
  }
  // From a time index. (Lists near a point or in a box never come here: ListRequests starts
  // them through StartAreaList.)
  RETURN_IF_ERROR(
      planner_.ScanPage(call.jurisdiction, call.filter, call.page_size, view, response));
  return FillFollowStates(call.caller, response->mutable_requests());
}

void RequestsService::StartAreaList(grpc::CallbackServerContext* ctx,
                                    const v1::ListRequestsRequest* req,
                                    v1::ListRequestsResponse* response,
                                    grpc::ServerUnaryReactor* reactor) {
  auto checked = CheckListCall(ctx, *req);
  if (!checked.ok()) return reactor->Finish(Done(ctx, checked.status()));
  auto call = std::make_shared<ListCall>(std::move(*checked));
  // The replies arrive on the async client's reader thread, which must not block.
  planner_.GeoPage(call->jurisdiction, call->filter, call->page_size,
                   [this, ctx, call, response, reactor](auto page) {
                     if (!page.ok()) return reactor->Finish(Done(ctx, page.status()));
                     FinishAreaList(ctx, call, std::move(*page), response, reactor);
                   });
}

void RequestsService::FinishAreaList(grpc::CallbackServerContext* ctx,
                                     std::shared_ptr<ListCall> call,
                                     ListPlanner::GeoPageResult page,
                                     v1::ListRequestsResponse* response,
                                     grpc::ServerUnaryReactor* reactor) {
  // The category of each request on the page, as long as the catalogue has them cached.
  std::vector<std::shared_ptr<const StoredService>> services;
  services.reserve(page.requests.size());
  bool blocks = page.scan_rest.has_value();
  for (const StoredRequest& r : page.requests) {
    if (blocks) break;
    auto cached = deps_.catalogue.Cached(r.jurisdiction_id(), r.service_code());
    if (!cached) blocks = true;
    if (cached) services.push_back(*std::move(cached));
  }
  auto read = std::make_shared<ListPlanner::GeoPageResult>(std::move(page));
  FinishWithoutBlocking(
      blocks, reactor, [this, ctx, call, read, services = std::move(services), response, reactor] {
        for (size_t i = 0; i < read->requests.size(); ++i) {
          v1::ServiceRequest* out = response->add_requests();
          if (i < services.size()) {
            StoredRequest& r = read->requests[i];
            View(call->caller, r, services[i].get(), call->language, out, &r);
          } else {
            View(call->caller, read->requests[i], call->language, out);  // reloads the catalogue
          }
        }
        absl::Status status;
        if (read->scan_rest) {
          status = planner_.ScanPage(call->jurisdiction, *read->scan_rest, call->page_size,
                                     ListViewer(call->caller, call->language), response);
        } else {
          response->set_next_page_token(std::move(read->next_page_token));
        }
        if (!status.ok()) return reactor->Finish(Done(ctx, status));
        // The page's follower counts in one pipelined round trip, without blocking: the
        // reply finishes the call on the async client's thread.
        std::vector<std::string> ids;
        for (const auto& r : response->requests()) ids.push_back(r.request_id());
        deps_.requests.FollowStatesAsync(
            ids, call->caller.account_id,
            [ctx, reactor, response](absl::StatusOr<std::vector<FollowState>> states) {
              if (!states.ok()) return reactor->Finish(Done(ctx, states.status()));
              for (int i = 0; i < response->requests_size() && i < static_cast<int>(states->size());
                   ++i) {
                response->mutable_requests(i)->set_follower_count(
                    static_cast<int32_t>((*states)[i].followers));
                response->mutable_requests(i)->set_following((*states)[i].following);
              }
              reactor->Finish(grpc::Status::OK);
            });
      });
}

void RequestsService::StartListMyRequests(grpc::CallbackServerContext* ctx,
                                          const v1::ListMyRequestsRequest* req,
                                          v1::ListRequestsResponse* response,
                                          grpc::ServerUnaryReactor* reactor) {
  auto caller = deps_.authorizer.Authorize(*ctx, "ListMyRequests");
  if (!caller.ok()) return reactor->Finish(Done(ctx, caller.status()));
  auto language = Language(req->language());
  if (!language.ok()) return reactor->Finish(Done(ctx, language.status()));
  auto page_size = PageSize(req->page_size());
  if (!page_size.ok()) return reactor->Finish(Done(ctx, page_size.status()));
  if (auto s = CheckPageToken(req->page_token()); !s.ok()) return reactor->Finish(Done(ctx, s));
  const std::string account = caller->account_id;
  // The replies arrive on the async client's reader thread, which must not block.
  deps_.requests.NewestOfOwnerAsync(
      account, req->page_token(), *page_size + 1,
      [this, ctx, reactor, response, page_size = *page_size, caller = std::move(*caller),
       language =
           std::move(*language)](absl::StatusOr<std::vector<RequestStore::OwnedRequest>> found) {
        if (!found.ok()) return reactor->Finish(Done(ctx, found.status()));
        auto page = std::make_shared<std::vector<RequestStore::OwnedRequest>>();
        for (auto& owned : *found) {
          if (owned.request.account_id() == caller.account_id) page->push_back(std::move(owned));
        }
        std::string next_page_token;  // taken before the views move the texts out
        if (static_cast<int>(page->size()) > page_size) {
          page->resize(page_size);
          next_page_token = page->back().request.id();
        }
        // The category of each, as long as the catalogue has them cached.
        std::vector<std::shared_ptr<const StoredService>> services;
        services.reserve(page->size());
        bool blocks = false;
        for (const auto& owned : *page) {
          auto cached =
              deps_.catalogue.Cached(owned.request.jurisdiction_id(), owned.request.service_code());
          if (!cached) {
            blocks = true;
            break;
          }
          services.push_back(*std::move(cached));
        }
        FinishWithoutBlocking(
            blocks, reactor,
            [this, reactor, response, page, next_page_token, caller, language,
             services = std::move(services)] {
              for (size_t i = 0; i < page->size(); ++i) {
                StoredRequest& r = (*page)[i].request;
                v1::ServiceRequest* out = response->add_requests();
                if (i < services.size()) {
                  View(caller, r, services[i].get(), language, out, &r);
                } else {
                  View(caller, r, language, out);  // reloads the catalogue
                }
                out->set_follower_count(static_cast<int32_t>((*page)[i].follow.followers));
                out->set_following((*page)[i].follow.following);
              }
              response->set_next_page_token(next_page_token);
              reactor->Finish(grpc::Status::OK);
            });
      });
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
  return FillFollowStates(caller, response->mutable_requests());
}

}  // namespace cityhub::requests
