#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "cityhub/requests/v1/requests.grpc.pb.h"
#include "infra/auth/authorizer.h"
#include "infra/clock.h"
#include "infra/executor.h"
#include "infra/grpc/unary.h"
#include "services/requests/catalogue.h"
#include "services/requests/geo.h"
#include "services/requests/geography.h"
#include "services/requests/list_planner.h"
#include "services/requests/media_store.h"
#include "services/requests/metrics.h"
#include "services/requests/reporter_tokens.h"
#include "services/requests/request_store.h"
#include "services/requests/request_view.h"
#include "services/requests/requests_export.h"
#include "services/requests/response_template_store.h"
#include "services/requests/staff_directory.h"
#include "services/requests/stats_store.h"

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
  // Photo downloads open at once; more are answered RESOURCE_EXHAUSTED with retry-after.
  int max_media_reads = 256;
  // Anonymous reporters (#14, part C). The key of the mailed link tokens (reporter_tokens.h);
  // empty: a random one per process, so links die with it (tests, a local stack).
  std::string reporter_token_secret;
  // How long a reporter's contact details stay after the request reached a final state
  // (CITYHUB_CONTACT_RETENTION), and how long the mailed links work.
  std::chrono::milliseconds contact_retention{std::chrono::hours(24 * 30)};
  std::chrono::hours confirm_token_ttl{24 * 7};
  std::chrono::hours feedback_token_ttl{24 * 60};
  std::chrono::hours unsubscribe_token_ttl{24 * 400};
  // Open data (#15): the licence of the exports (CITYHUB_OPEN_DATA_LICENSE), per jurisdiction
  // where one is named, and the exports open at once (CITYHUB_OPEN_DATA_MAX_EXPORTS).
  std::string open_data_license;
  std::map<std::string, std::string, std::less<>> open_data_licenses;
  int max_exports = 4;
};

struct RequestsDeps {
  RequestStore& requests;
  CatalogueStore& catalogue_store;
  Catalogue& catalogue;
  MediaStore& media;
  ResponseTemplateStore& templates;
  const infra::auth::Authorizer& authorizer;
  const infra::Clock& clock;
  RequestsMetrics& metrics;
  // Who an account is now (assign checks the assignee); blocking, executor only.
  const StaffDirectory& staff;
  StatsStore& stats;  // GET /v1/stats (#15)
  // The boundary, districts and routing rules (#15); blocking reads, executor only.
  Geography& geography;
};

// The requests gRPC service on gRPC's callback API (the concurrency model of docs/design.md).
// GetRequest, the hottest call, and the lists near a point or in a box never block: they read
// through the pipelining AsyncClient and finish from the reply (hopping to the executor only
// when the catalogue must be reloaded, or a large area read from the time index, which block).
// Every other method runs its body on the service's bounded executor, with short blocking
// Redis round trips and file access for media; a full executor answers RESOURCE_EXHAUSTED.
// CreateRequest receives its message raw and parses it itself (see there).
class RequestsService final
    : public cityhub::requests::v1::RequestsService::WithRawCallbackMethod_CreateRequest<
          cityhub::requests::v1::RequestsService::CallbackService>,
      public infra::UnaryMethods<RequestsService> {
 public:
  // `executor` runs the blocking handler bodies (see above); it is stopped (draining its
  // queue) when the service is destroyed, which must happen after the server has shut down.
  // `media_executor` (null: `executor`) reads photos for GetMedia, so that many downloads
  // cannot fill the queue the other calls wait in.
  RequestsService(RequestsDeps deps, RequestsSettings settings,
                  std::unique_ptr<infra::BoundedExecutor> executor,
                  std::unique_ptr<infra::BoundedExecutor> media_executor = nullptr);

  // Loads categories from a JSON array of Service objects into `jurisdiction` when it has
  // none yet (the default catalogue of the local stack). Returns how many were created.
  absl::StatusOr<int> SeedCatalogue(const std::string& json, const std::string& jurisdiction);

  // Handles a domain event of the accounts service (AccountDeleted: forget the account).
  // In requests_erasure.cc.
  absl::Status OnAccountEvent(const std::string& payload);

  // The unary methods below run their bodies (Do...) on the service's executor, except
  // GetRequest and ListRequests near a point or in a box, which complete through the async
  // Redis client.
  grpc::ServerUnaryReactor* ListServices(grpc::CallbackServerContext* ctx,
                                         const v1::ListServicesRequest* request,
                                         v1::ListServicesResponse* response) override {
    return Run(ctx, request, response, &RequestsService::DoListServices);
  }
  grpc::ServerUnaryReactor* GetService(grpc::CallbackServerContext* ctx,
                                       const v1::GetServiceRequest* request,
                                       v1::Service* response) override {
    return Run(ctx, request, response, &RequestsService::DoGetService);
  }
  grpc::ServerUnaryReactor* CreateService(grpc::CallbackServerContext* ctx,
                                          const v1::CreateServiceRequest* request,
                                          v1::Service* response) override {
    return Run(ctx, request, response, &RequestsService::DoCreateService);
  }
  grpc::ServerUnaryReactor* UpdateService(grpc::CallbackServerContext* ctx,
                                          const v1::UpdateServiceRequest* request,
                                          v1::Service* response) override {
    return Run(ctx, request, response, &RequestsService::DoUpdateService);
  }
  grpc::ServerUnaryReactor* UploadMedia(grpc::CallbackServerContext* ctx,
                                        const v1::UploadMediaRequest* request,
                                        v1::Media* response) override {
    return Run(ctx, request, response, &RequestsService::DoUploadMedia);
  }
  // Lists near a point or in a box complete through the async client, as GetRequest does;
  // the others run on the executor (requests_queries.cc).
  grpc::ServerUnaryReactor* ListRequests(grpc::CallbackServerContext* ctx,
                                         const v1::ListRequestsRequest* request,
                                         v1::ListRequestsResponse* response) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* ctx,
                                     const v1::GetStatsRequest* request,
                                     v1::Stats* response) override {
    return Run(ctx, request, response, &RequestsService::DoGetStats);
  }
  grpc::ServerUnaryReactor* ListMyRequests(grpc::CallbackServerContext* ctx,
                                           const v1::ListMyRequestsRequest* request,
                                           v1::ListRequestsResponse* response) override {
    return StartWithoutBlocking(ctx, [=, this](grpc::ServerUnaryReactor* reactor) {
      StartListMyRequests(ctx, request, response, reactor);
    });
  }
  grpc::ServerUnaryReactor* SuggestDuplicates(grpc::CallbackServerContext* ctx,
                                              const v1::SuggestDuplicatesRequest* request,
                                              v1::ListRequestsResponse* response) override {
    return Run(ctx, request, response, &RequestsService::DoSuggestDuplicates);
  }
  grpc::ServerUnaryReactor* AddMedia(grpc::CallbackServerContext* ctx,
                                     const v1::AddMediaRequest* request,
                                     v1::ServiceRequest* response) override {
    return Run(ctx, request, response, &RequestsService::DoAddMedia);
  }
  grpc::ServerUnaryReactor* TransitionRequest(grpc::CallbackServerContext* ctx,
                                              const v1::TransitionRequestRequest* request,
                                              v1::ServiceRequest* response) override {
    return Run(ctx, request, response, &RequestsService::DoTransitionRequest);
  }
  // Issue 14, part A (requests_moves.cc).
  grpc::ServerUnaryReactor* RerouteRequest(grpc::CallbackServerContext* ctx,
                                           const v1::RerouteRequestRequest* request,
                                           v1::ServiceRequest* response) override {
    return Run(ctx, request, response, &RequestsService::DoRerouteRequest);
  }
  grpc::ServerUnaryReactor* AssignRequest(grpc::CallbackServerContext* ctx,
                                          const v1::AssignRequestRequest* request,
                                          v1::ServiceRequest* response) override {
    return Run(ctx, request, response, &RequestsService::DoAssignRequest);
  }
  grpc::ServerUnaryReactor* AddComment(grpc::CallbackServerContext* ctx,
                                       const v1::AddCommentRequest* request,
                                       v1::Comment* response) override {
    return Run(ctx, request, response, &RequestsService::DoAddComment);
  }
  grpc::ServerUnaryReactor* ListComments(grpc::CallbackServerContext* ctx,
                                         const v1::ListCommentsRequest* request,
                                         v1::ListCommentsResponse* response) override {
    return Run(ctx, request, response, &RequestsService::DoListComments);
  }
  grpc::ServerUnaryReactor* FollowRequest(grpc::CallbackServerContext* ctx,
                                          const v1::FollowRequestRequest* request,
                                          v1::FollowResponse* response) override {
    return Run(ctx, request, response, &RequestsService::DoFollowRequest);
  }
  grpc::ServerUnaryReactor* UnfollowRequest(grpc::CallbackServerContext* ctx,
                                            const v1::UnfollowRequestRequest* request,
                                            v1::FollowResponse* response) override {
    return Run(ctx, request, response, &RequestsService::DoUnfollowRequest);
  }
  grpc::ServerUnaryReactor* ExportUserData(grpc::CallbackServerContext* ctx,
                                           const v1::ExportUserDataRequest* request,
                                           v1::UserDataExport* response) override {
    return Run(ctx, request, response, &RequestsService::DoExportUserData);
  }
  // Moderation, response templates, the reporter's edit and withdraw (issue #14 B):
  // requests_moderation.cc, requests_templates.cc, requests_reporter.cc.
  grpc::ServerUnaryReactor* ModerateRequest(grpc::CallbackServerContext* ctx,
                                            const v1::ModerateRequestRequest* request,
                                            v1::ServiceRequest* response) override {
    return Run(ctx, request, response, &RequestsService::DoModerateRequest);
  }
  grpc::ServerUnaryReactor* HideComment(grpc::CallbackServerContext* ctx,
                                        const v1::HideCommentRequest* request,
                                        v1::Comment* response) override {
    return Run(ctx, request, response, &RequestsService::DoHideComment);
  }
  grpc::ServerUnaryReactor* ListResponseTemplates(
      grpc::CallbackServerContext* ctx, const v1::ListResponseTemplatesRequest* request,
      v1::ListResponseTemplatesResponse* response) override {
    return Run(ctx, request, response, &RequestsService::DoListResponseTemplates);
  }
  grpc::ServerUnaryReactor* CreateResponseTemplate(grpc::CallbackServerContext* ctx,
                                                   const v1::CreateResponseTemplateRequest* request,
                                                   v1::ResponseTemplate* response) override {
    return Run(ctx, request, response, &RequestsService::DoCreateResponseTemplate);
  }
  grpc::ServerUnaryReactor* UpdateResponseTemplate(grpc::CallbackServerContext* ctx,
                                                   const v1::UpdateResponseTemplateRequest* request,
                                                   v1::ResponseTemplate* response) override {
    return Run(ctx, request, response, &RequestsService::DoUpdateResponseTemplate);
  }
  grpc::ServerUnaryReactor* DeleteResponseTemplate(
      grpc::CallbackServerContext* ctx, const v1::DeleteResponseTemplateRequest* request,
      v1::DeleteResponseTemplateResponse* response) override {
    return Run(ctx, request, response, &RequestsService::DoDeleteResponseTemplate);
  }
  grpc::ServerUnaryReactor* EditRequest(grpc::CallbackServerContext* ctx,
                                        const v1::EditRequestRequest* request,
                                        v1::ServiceRequest* response) override {
    return Run(ctx, request, response, &RequestsService::DoEditRequest);
  }
  grpc::ServerUnaryReactor* WithdrawRequest(grpc::CallbackServerContext* ctx,
                                            const v1::WithdrawRequestRequest* request,
                                            v1::ServiceRequest* response) override {
    return Run(ctx, request, response, &RequestsService::DoWithdrawRequest);
  }
  // Feedback and anonymous reporters (#14, part C): requests_reporters.cc.
  grpc::ServerUnaryReactor* GiveFeedback(grpc::CallbackServerContext* ctx,
                                         const v1::GiveFeedbackRequest* request,
                                         v1::RequestFeedback* response) override {
    return Run(ctx, request, response, &RequestsService::DoGiveFeedback);
  }
  grpc::ServerUnaryReactor* ConfirmContact(grpc::CallbackServerContext* ctx,
                                           const v1::ConfirmContactRequest* request,
                                           v1::ReporterContactResponse* response) override {
    return Run(ctx, request, response, &RequestsService::DoConfirmContact);
  }
  grpc::ServerUnaryReactor* UnsubscribeContact(grpc::CallbackServerContext* ctx,
                                               const v1::UnsubscribeContactRequest* request,
                                               v1::ReporterContactResponse* response) override {
    return Run(ctx, request, response, &RequestsService::DoUnsubscribeContact);
  }
  grpc::ServerUnaryReactor* UnsubscribeContactOneClick(
      grpc::CallbackServerContext* ctx, const v1::UnsubscribeContactRequest* request,
      v1::ReporterContactResponse* response) override {
    return Run(ctx, request, response, &RequestsService::DoUnsubscribeContact);
  }
  grpc::ServerUnaryReactor* GetReporterMail(grpc::CallbackServerContext* ctx,
                                            const v1::GetReporterMailRequest* request,
                                            v1::ReporterMail* response) override {
    return Run(ctx, request, response, &RequestsService::DoGetReporterMail);
  }
  // Geography (#15): requests_geography.cc.
  grpc::ServerUnaryReactor* GetBoundary(grpc::CallbackServerContext* ctx,
                                        const v1::GetGeographyRequest* request,
                                        cityhub::api::HttpBody* response) override {
    return Run(ctx, request, response, &RequestsService::DoGetBoundary);
  }
  grpc::ServerUnaryReactor* PutBoundary(grpc::CallbackServerContext* ctx,
                                        const v1::PutGeographyRequest* request,
                                        cityhub::api::HttpBody* response) override {
    return Run(ctx, request, response, &RequestsService::DoPutBoundary);
  }
  grpc::ServerUnaryReactor* GetDistricts(grpc::CallbackServerContext* ctx,
                                         const v1::GetGeographyRequest* request,
                                         cityhub::api::HttpBody* response) override {
    return Run(ctx, request, response, &RequestsService::DoGetDistricts);
  }
  grpc::ServerUnaryReactor* PutDistricts(grpc::CallbackServerContext* ctx,
                                         const v1::PutGeographyRequest* request,
                                         cityhub::api::HttpBody* response) override {
    return Run(ctx, request, response, &RequestsService::DoPutDistricts);
  }
  grpc::ServerUnaryReactor* GetRoutingRules(grpc::CallbackServerContext* ctx,
                                            const v1::GetGeographyRequest* request,
                                            cityhub::api::HttpBody* response) override {
    return Run(ctx, request, response, &RequestsService::DoGetRoutingRules);
  }
  grpc::ServerUnaryReactor* PutRoutingRules(grpc::CallbackServerContext* ctx,
                                            const v1::PutGeographyRequest* request,
                                            cityhub::api::HttpBody* response) override {
    return Run(ctx, request, response, &RequestsService::DoPutRoutingRules);
  }
  // Stores the boundary and districts documents (GeoJSON text) into `jurisdiction` when it
  // has none yet (the seeds of the local stack); empty texts are skipped. Returns how many
  // documents it stored.
  absl::StatusOr<int> SeedGeography(const std::string& boundary, const std::string& districts,
                                    const std::string& jurisdiction);
  // Gives up to `limit` requests of the district reassignment job under way (after a change
  // of districts) their district, and their department by the routing rules; open requests
  // only. Returns how many requests it read (0: no job, or the job is done).
  absl::StatusOr<int> ReassignDistricts(const std::string& jurisdiction, int limit);

  // Erases the contact details of up to `limit` requests whose retention ended
  // (keys::ContactErasures); returns how many it handled. The background loop
  // "contact_erasure" calls it (requests_reporters.cc).
  absl::StatusOr<int> SweepContactErasures(int limit = 100);

  // Streams the photo in pieces (media_download.h), on the media executor.
  grpc::ServerWriteReactor<cityhub::api::HttpBody>* GetMedia(
      grpc::CallbackServerContext* ctx, const v1::GetMediaRequest* request) override;
  // Open data (#15): a page of public fields as GeoJSON or CSV, streamed (requests_export.cc).
  grpc::ServerWriteReactor<cityhub::api::HttpBody>* ExportRequests(
      grpc::CallbackServerContext* ctx, const v1::ExportRequestsRequest* request) override;
  // Free text comes from residents' phones and partners' systems: text that is not UTF-8 is
  // INVALID_ARGUMENT naming the field, where protobuf's parser would refuse the whole message
  // and gRPC answer UNIMPLEMENTED without a word.
  grpc::ServerUnaryReactor* CreateRequest(grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetRequest(grpc::CallbackServerContext* ctx,
                                       const cityhub::requests::v1::GetRequestRequest* request,
                                       cityhub::requests::v1::ServiceRequest* response) override;

 private:
  // Run (infra::UnaryMethods) posts the bodies here.
  friend class infra::UnaryMethods<RequestsService>;
  infra::BoundedExecutor& unary_executor() { return *executor_; }

  // The bodies of the unary methods; each runs on a worker of executor_.
  absl::Status DoListServices(grpc::ServerContextBase* ctx, const v1::ListServicesRequest* request,
                              v1::ListServicesResponse* response);
  absl::Status DoGetService(grpc::ServerContextBase* ctx, const v1::GetServiceRequest* request,
                            v1::Service* response);
  absl::Status DoCreateService(grpc::ServerContextBase* ctx,
                               const v1::CreateServiceRequest* request, v1::Service* response);
  absl::Status DoUpdateService(grpc::ServerContextBase* ctx,
                               const v1::UpdateServiceRequest* request, v1::Service* response);
  absl::Status DoUploadMedia(grpc::ServerContextBase* ctx, const v1::UploadMediaRequest* request,
                             v1::Media* response);
  absl::Status DoListRequests(grpc::ServerContextBase* ctx, const v1::ListRequestsRequest* request,
                              v1::ListRequestsResponse* response);
  absl::Status DoSuggestDuplicates(grpc::ServerContextBase* ctx,
                                   const v1::SuggestDuplicatesRequest* request,
                                   v1::ListRequestsResponse* response);
  absl::Status DoAddMedia(grpc::ServerContextBase* ctx, const v1::AddMediaRequest* request,
                          v1::ServiceRequest* response);
  absl::Status DoTransitionRequest(grpc::ServerContextBase* ctx,
                                   const v1::TransitionRequestRequest* request,
                                   v1::ServiceRequest* response);
  absl::Status DoRerouteRequest(grpc::ServerContextBase* ctx,
                                const v1::RerouteRequestRequest* request,
                                v1::ServiceRequest* response);
  absl::Status DoAssignRequest(grpc::ServerContextBase* ctx,
                               const v1::AssignRequestRequest* request,
                               v1::ServiceRequest* response);
  // Sets follower_count and following of every request in `requests` (the page of a list, or
  // one answer) as `caller` sees them, in one round trip (blocks: executor only).
  absl::Status FillFollowStates(
      const infra::auth::Caller& caller,
      google::protobuf::RepeatedPtrField<cityhub::requests::v1::ServiceRequest>* requests);
  absl::Status FillFollowState(const infra::auth::Caller& caller,
                               cityhub::requests::v1::ServiceRequest* out);
  absl::Status DoAddComment(grpc::ServerContextBase* ctx, const v1::AddCommentRequest* request,
                            v1::Comment* response);
  absl::Status DoListComments(grpc::ServerContextBase* ctx, const v1::ListCommentsRequest* request,
                              v1::ListCommentsResponse* response);
  absl::Status DoFollowRequest(grpc::ServerContextBase* ctx,
                               const v1::FollowRequestRequest* request,
                               v1::FollowResponse* response);
  absl::Status DoUnfollowRequest(grpc::ServerContextBase* ctx,
                                 const v1::UnfollowRequestRequest* request,
                                 v1::FollowResponse* response);
  absl::Status DoExportUserData(grpc::ServerContextBase* ctx,
                                const v1::ExportUserDataRequest* request,
                                v1::UserDataExport* response);
  absl::Status DoModerateRequest(grpc::ServerContextBase* ctx,
                                 const v1::ModerateRequestRequest* request,
                                 v1::ServiceRequest* response);
  absl::Status DoHideComment(grpc::ServerContextBase* ctx, const v1::HideCommentRequest* request,
                             v1::Comment* response);
  absl::Status DoListResponseTemplates(grpc::ServerContextBase* ctx,
                                       const v1::ListResponseTemplatesRequest* request,
                                       v1::ListResponseTemplatesResponse* response);
  absl::Status DoCreateResponseTemplate(grpc::ServerContextBase* ctx,
                                        const v1::CreateResponseTemplateRequest* request,
                                        v1::ResponseTemplate* response);
  absl::Status DoUpdateResponseTemplate(grpc::ServerContextBase* ctx,
                                        const v1::UpdateResponseTemplateRequest* request,
                                        v1::ResponseTemplate* response);
  absl::Status DoDeleteResponseTemplate(grpc::ServerContextBase* ctx,
                                        const v1::DeleteResponseTemplateRequest* request,
                                        v1::DeleteResponseTemplateResponse* response);
  absl::Status DoEditRequest(grpc::ServerContextBase* ctx, const v1::EditRequestRequest* request,
                             v1::ServiceRequest* response);
  absl::Status DoWithdrawRequest(grpc::ServerContextBase* ctx,
                                 const v1::WithdrawRequestRequest* request,
                                 v1::ServiceRequest* response);
  absl::Status DoCreateRequest(grpc::ServerContextBase* ctx,
                               const v1::CreateRequestRequest* request,
                               v1::ServiceRequest* response);
  absl::Status DoGiveFeedback(grpc::ServerContextBase* ctx, const v1::GiveFeedbackRequest* request,
                              v1::RequestFeedback* response);
  absl::Status DoConfirmContact(grpc::ServerContextBase* ctx,
                                const v1::ConfirmContactRequest* request,
                                v1::ReporterContactResponse* response);
  absl::Status DoUnsubscribeContact(grpc::ServerContextBase* ctx,
                                    const v1::UnsubscribeContactRequest* request,
                                    v1::ReporterContactResponse* response);
  absl::Status DoGetReporterMail(grpc::ServerContextBase* ctx,
                                 const v1::GetReporterMailRequest* request,
                                 v1::ReporterMail* response);
  // Statistics (#15), in requests_stats.cc.
  absl::Status DoGetStats(grpc::ServerContextBase* ctx, const v1::GetStatsRequest* request,
                          v1::Stats* response);
  // Moves the reporter's mail state of the request named by a `purpose` token from `from` to
  // `to`, with `event`; NOT_FOUND (ReporterTokens::kRefused) when the token or the state does
  // not fit (requests_reporters.cc).
  absl::Status ChangeContactState(grpc::ServerContextBase* ctx, std::string_view token,
                                  TokenPurpose purpose, int from, int to,
                                  v1::ReporterContactResponse* response);

  absl::Status DoGetBoundary(grpc::ServerContextBase* ctx, const v1::GetGeographyRequest* request,
                             cityhub::api::HttpBody* response);
  absl::Status DoPutBoundary(grpc::ServerContextBase* ctx, const v1::PutGeographyRequest* request,
                             cityhub::api::HttpBody* response);
  absl::Status DoGetDistricts(grpc::ServerContextBase* ctx, const v1::GetGeographyRequest* request,
                              cityhub::api::HttpBody* response);
  absl::Status DoPutDistricts(grpc::ServerContextBase* ctx, const v1::PutGeographyRequest* request,
                              cityhub::api::HttpBody* response);
  absl::Status DoGetRoutingRules(grpc::ServerContextBase* ctx,
                                 const v1::GetGeographyRequest* request,
                                 cityhub::api::HttpBody* response);
  absl::Status DoPutRoutingRules(grpc::ServerContextBase* ctx,
                                 const v1::PutGeographyRequest* request,
                                 cityhub::api::HttpBody* response);
  // Where a request at its (new) position belongs (#15): INVALID_ARGUMENT "lat: the location
  // lies outside the city" when a boundary is set and the position lies outside; then sets
  // `r`'s district and its department by the routing rules over `category_department`.
  // Blocks (the geography cache): executor only. In requests_geography.cc.
  absl::Status PlaceRequest(StoredRequest& r, const std::string& category_department);
  // RequestRerouted from `before` to `after` (a reroute, or a department that routing changed),
  // so the new department's operators hear of the request; `ctx` null outside a call. Reads the
  // catalogue (may block): executor only.
  cityhub::events::v1::Event RoutedEvent(grpc::ServerContextBase* ctx, const StoredRequest& before,
                                         const StoredRequest& after) const;

  // infra::StartWithoutBlocking with this service's executor and authorizer.
  template <typename Start>
  grpc::ServerUnaryReactor* StartWithoutBlocking(grpc::CallbackServerContext* ctx, Start start) {
    return infra::StartWithoutBlocking(*executor_, ctx, deps_.authorizer.MayBlock(*ctx),
                                       std::move(start));
  }
  // Runs `finish` at once when it does not block, else on the executor (a full executor
  // answers RESOURCE_EXHAUSTED on `reactor`). For async replies that may need the catalogue.
  template <typename Finish>
  void FinishWithoutBlocking(bool blocks, grpc::ServerUnaryReactor* reactor, Finish finish) {
    if (!blocks) {
      finish();
    } else if (!executor_->TryPost(std::move(finish))) {
      reactor->Finish(infra::BusyStatus());
    }
  }
  // ListMyRequests from authorization on: two round trips on the async client (the page's
  // ids, then their records and follow states), no executor unless the catalogue must load.
  void StartListMyRequests(grpc::CallbackServerContext* ctx, const v1::ListMyRequestsRequest* req,
                           v1::ListRequestsResponse* response, grpc::ServerUnaryReactor* reactor);
  // GetRequest from authorization on; finishes `reactor` from the async client's reply.
  void StartGetRequest(grpc::CallbackServerContext* ctx, const v1::GetRequestRequest* req,
                       v1::ServiceRequest* response, grpc::ServerUnaryReactor* reactor);

  // A ListRequests call, checked (requests_queries.cc).
  struct ListCall {
    infra::auth::Caller caller;
    std::string jurisdiction;
    std::string language;
    int page_size = 0;
    ListFilter filter;
  };
  absl::StatusOr<ListCall> CheckListCall(grpc::ServerContextBase* ctx,
                                         const v1::ListRequestsRequest& req);
  // ListRequests near a point or in a box from authorization on; finishes `reactor` from the
  // async client's replies.
  void StartAreaList(grpc::CallbackServerContext* ctx, const v1::ListRequestsRequest* req,
                     v1::ListRequestsResponse* response, grpc::ServerUnaryReactor* reactor);
  // Turns an area page into the answer: at once when every category it shows is cached, else
  // on the executor, which also reads the rest of a large area from the time index.
  void FinishAreaList(grpc::CallbackServerContext* ctx, std::shared_ptr<ListCall> call,
                      ListPlanner::GeoPageResult page, v1::ListRequestsResponse* response,
                      grpc::ServerUnaryReactor* reactor);

  absl::StatusOr<std::string> Jurisdiction(std::string_view requested) const;
  // An ExportRequests call, checked (requests_export.cc); blocks (authorization).
  absl::StatusOr<ExportPlan> CheckExport(grpc::ServerContextBase* ctx,
                                         const v1::ExportRequestsRequest& req);
  // The API form of `r` as `caller` may see it (reads the catalogue, which may block).
  void View(const infra::auth::Caller& caller, const StoredRequest& r, std::string_view language,
            cityhub::requests::v1::ServiceRequest* out);
  // The same with its category already looked up (null: not in the catalogue); with
  // `consumed` (`r` itself), the texts of `r` move into the answer (RequestToApi).
  void View(const infra::auth::Caller& caller, const StoredRequest& r, const StoredService* service,
            std::string_view language, cityhub::requests::v1::ServiceRequest* out,
            StoredRequest* consumed = nullptr);
  // View for the pages of one list call (requests_queries.cc); borrows `caller`.
  ListPlanner::Viewer ListViewer(const infra::auth::Caller& caller, std::string_view language);
  absl::Status Transition(const infra::auth::Caller& caller,
                          const cityhub::requests::v1::TransitionRequestRequest& req,
                          const std::string& trace_id, StoredRequest* result);
  cityhub::events::v1::Event NewEvent(grpc::ServerContextBase* ctx) const;
  // media_ids of a create or AddMedia: uploaded and not hidden by moderation.
  absl::Status CheckMediaUsable(const std::vector<std::string>& ids);
  // Called after a write that links data to `caller`'s account. A write that passed the
  // authorizer's deletion check just before the account's marker was set may have been stored
  // after the erasure; the marker is always set before the erasure, so either the erasure saw
  // the write or this check sees the marker: then it erases again and answers UNAUTHENTICATED.
  // In requests_erasure.cc.
  absl::Status EraseIfDeletedMeanwhile(const infra::auth::Caller& caller);

  RequestsDeps deps_;
  RequestsSettings settings_;
  ReporterTokens tokens_;
  ListPlanner planner_;
  std::atomic<int> open_media_reads_{0};
  std::atomic<int> open_exports_{0};
  // Last, so that they are stopped first: their queued calls still use everything above.
  std::unique_ptr<infra::BoundedExecutor> media_executor_;
  std::unique_ptr<infra::BoundedExecutor> executor_;
};

}  // namespace cityhub::requests
