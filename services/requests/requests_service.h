#pragma once

#include <chrono>
#include <map>
#include <string>

#include "cityhub/requests/v1/requests.grpc.pb.h"
#include "infra/auth/authorizer.h"
#include "infra/clock.h"
#include "services/requests/catalogue.h"
#include "services/requests/geo.h"
#include "services/requests/media_store.h"
#include "services/requests/request_store.h"
#include "services/requests/request_view.h"

namespace cityhub::requests {

struct RequestsSettings {
  std::string default_jurisdiction = "bielefeld.de";
  // Every served jurisdiction with the area its requests must lie in.
  std::map<std::string, Bounds, std::less<>> jurisdictions = {
      {"bielefeld.de", Bounds{51.90, 8.37, 52.12, 8.67}}};
  // Base of media URLs in answers, e.g. "https://api.bielefeld.de".
  std::string public_base_url = "http://127.0.0.1:8080";
  std::chrono::seconds idempotency_ttl{86400};
  // Duplicate suggestions: open requests of the category this close and this recent.
  double duplicate_radius_m = 50;
  std::chrono::hours duplicate_window{24 * 30};
  // Near and box lists sort up to this many geo hits in memory; an area holding more is read
  // from the time index instead, filtered by position (complete either way).
  int max_geo_candidates = 5000;
};

struct RequestsDeps {
  RequestStore& requests;
  CatalogueStore& catalogue_store;
  Catalogue& catalogue;
  MediaStore& media;
  const infra::auth::Authorizer& authorizer;
  const infra::Clock& clock;
};

// The requests gRPC service on gRPC's callback API. GetRequest, the hottest call, never blocks:
// it reads through the pipelining AsyncClient and finishes from the reply. The other methods
// run inline on the callback thread with short blocking Redis round trips (and file access
// for media); nothing here waits on another gRPC call, so the callback threads cannot deadlock.
// CreateRequest receives its message raw and parses it itself (see there).
class RequestsService final
    : public cityhub::requests::v1::RequestsService::WithRawCallbackMethod_CreateRequest<
          cityhub::requests::v1::RequestsService::CallbackService> {
 public:
  RequestsService(RequestsDeps deps, RequestsSettings settings);

  // Loads categories from a JSON array of Service objects into `jurisdiction` when it has
  // none yet (the default catalogue of the local stack). Returns how many were created.
  absl::StatusOr<int> SeedCatalogue(const std::string& json, const std::string& jurisdiction);

  // Handles a domain event of the accounts service (AccountDeleted: forget the account).
  absl::Status OnAccountEvent(const std::string& payload);

#define CITYHUB_RPC(Name, Request, Response)                                                  \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* ctx,                            \
                                 const cityhub::requests::v1::Request* request,               \
                                 cityhub::requests::v1::Response* response) override {       \
    return Reply(ctx, Do##Name(ctx, request, response));                                      \
  }                                                                                           \
  grpc::Status Do##Name(grpc::ServerContextBase* ctx, const cityhub::requests::v1::Request* request, \
                        cityhub::requests::v1::Response* response)
  CITYHUB_RPC(ListServices, ListServicesRequest, ListServicesResponse);
  CITYHUB_RPC(GetService, GetServiceRequest, Service);
  CITYHUB_RPC(CreateService, CreateServiceRequest, Service);
  CITYHUB_RPC(UpdateService, UpdateServiceRequest, Service);
  CITYHUB_RPC(UploadMedia, UploadMediaRequest, Media);
  CITYHUB_RPC(ListRequests, ListRequestsRequest, ListRequestsResponse);
  CITYHUB_RPC(ListMyRequests, ListMyRequestsRequest, ListRequestsResponse);
  CITYHUB_RPC(SuggestDuplicates, SuggestDuplicatesRequest, ListRequestsResponse);
  CITYHUB_RPC(AddMedia, AddMediaRequest, ServiceRequest);
  CITYHUB_RPC(TransitionRequest, TransitionRequestRequest, ServiceRequest);
  CITYHUB_RPC(AddComment, AddCommentRequest, Comment);
  CITYHUB_RPC(ListComments, ListCommentsRequest, ListCommentsResponse);
  CITYHUB_RPC(FollowRequest, FollowRequestRequest, FollowResponse);
  CITYHUB_RPC(UnfollowRequest, UnfollowRequestRequest, FollowResponse);
  CITYHUB_RPC(ExportUserData, ExportUserDataRequest, UserDataExport);
#undef CITYHUB_RPC
  grpc::ServerUnaryReactor* GetMedia(grpc::CallbackServerContext* ctx,
                                     const cityhub::requests::v1::GetMediaRequest* request,
                                     cityhub::api::HttpBody* response) override {
    return Reply(ctx, DoGetMedia(ctx, request, response));
  }
  grpc::Status DoGetMedia(grpc::ServerContextBase* ctx,
                          const cityhub::requests::v1::GetMediaRequest* request,
                          cityhub::api::HttpBody* response);
  // Free text comes from residents' phones and partners' systems: text that is not UTF-8 is
  // INVALID_ARGUMENT naming the field, where protobuf's parser would refuse the whole message
  // and gRPC answer UNIMPLEMENTED without a word.
  grpc::ServerUnaryReactor* CreateRequest(grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::Status DoCreateRequest(grpc::ServerContextBase* ctx,
                               const cityhub::requests::v1::CreateRequestRequest* request,
                               cityhub::requests::v1::ServiceRequest* response);
  grpc::ServerUnaryReactor* GetRequest(grpc::CallbackServerContext* ctx,
                                       const cityhub::requests::v1::GetRequestRequest* request,
                                       cityhub::requests::v1::ServiceRequest* response) override;

 public:
  // The filters of a list call (requests_queries.cc).
  struct Filter;

 private:
  absl::StatusOr<std::string> Jurisdiction(std::string_view requested) const;
  absl::Status GeoPage(const infra::auth::Caller& caller, const std::string& jurisdiction,
                       const Filter& filter, int page_size, std::string_view language,
                       cityhub::requests::v1::ListRequestsResponse* out);
  // One page from a time index, newest first, filtered as it is read.
  absl::Status ScanPage(const infra::auth::Caller& caller, const std::string& jurisdiction,
                        const Filter& filter, int page_size, std::string_view language,
                        cityhub::requests::v1::ListRequestsResponse* out);
  // The API form of `r` as `caller` may see it.
  void View(const infra::auth::Caller& caller, const StoredRequest& r, std::string_view language,
            cityhub::requests::v1::ServiceRequest* out);
  // Fills a list answer from candidate requests (already filtered), newest first, one page.
  absl::Status Page(const infra::auth::Caller& caller, std::vector<StoredRequest> matches,
                    int page_size, std::string_view language,
                    cityhub::requests::v1::ListRequestsResponse* out);
  absl::Status Transition(const infra::auth::Caller& caller,
                          const cityhub::requests::v1::TransitionRequestRequest& req,
                          const std::string& trace_id, StoredRequest* result);
  cityhub::events::v1::Event NewEvent(grpc::ServerContextBase* ctx) const;
  grpc::Status Done(grpc::ServerContextBase* ctx, const absl::Status& status) const;
  static grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* ctx, const grpc::Status& s) {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(s);
    return reactor;
  }

  RequestsDeps deps_;
  RequestsSettings settings_;
};

}  // namespace cityhub::requests
