#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/backends.h"
#include "gateway/connection_limits.h"
#include "gateway/filter.h"
#include "gateway/filters.h"
#include "gateway/http_server.h"
#include "gateway/rate_limit.h"
#include "gateway/routes.h"
#include "gateway/static_files.h"
#include "infra/auth/jwt.h"
#include "infra/clock.h"
#include "infra/metrics.h"

namespace cityhub::gateway {

struct GatewayOptions {
  std::chrono::milliseconds default_deadline{10'000};
  size_t default_body_limit = 1024 * 1024;
  // Origins allowed to call from browsers ("*" for any).
  std::vector<std::string> cors_origins;
  // Take the client address from the last X-Forwarded-For entry (behind a trusted proxy).
  bool trust_forwarded_for = false;
  // Sent to the services so that they trust x-client-address.
  std::string internal_token;
  // Public answers (Cache-Control: public, max-age) are kept this long, at most.
  std::chrono::milliseconds cache_ttl{5'000};
  size_t cache_max_entry_bytes = 256 * 1024;
  size_t cache_max_bytes = 64 * 1024 * 1024;
  std::chrono::seconds sse_heartbeat{15};
  // Event streams one account may hold open; a newer one closes its oldest (a phone that lost
  // its network leaves streams behind that the newest replaces), so one account cannot take
  // the connections everyone shares.
  size_t max_streams_per_account = 5;
  std::string public_url = "http://127.0.0.1:8080";
  // Downloads (raw streamed answers such as photos) open at once; more answer 503 + Retry-After.
  int max_downloads = 256;
  // How long a download may take in all (its pieces go as fast as its client reads).
  std::chrono::milliseconds download_deadline{600'000};
};

// A handler for paths under a prefix, outside the contracts (Open311). `classify` names the
// target before the filters run (ctx.route_label, and ctx.policy, ctx.identify, ctx.errors when
// the filters are to guard it); `handle` answers once they let it pass.
struct PrefixHandler {
  std::function<void(const HttpRequest& request, RequestContext& context)> classify;
  std::function<void(const HttpRequest& request, const RequestContext& context,
                     std::shared_ptr<Responder> responder)>
      handle;
};

// The public HTTP door: routes from the contracts, access policies, rate limits, transcoding,
// gRPC calls, error mapping, SSE, CORS, security headers, /healthz, /readyz, /metrics,
// /openapi.json, and an access log without personal data.
class Gateway final : public Handler {
 public:
  Gateway(const RouteTable& routes, Backends& backends, const infra::auth::TokenVerifier& verifier,
          AuthenticationFilter::RefreshKeys refresh_keys, RateLimiter* limiter,
          infra::MetricsRegistry& metrics, const infra::Clock& clock, GatewayOptions options);
  ~Gateway() override;

  void AddPrefixHandler(std::string prefix, PrefixHandler handler);
  // Ends every open event stream and waits until each has finished. Call it while the HTTP
  // server still exists: a stream's end is written through it. (The destructor calls it too.)
  void CloseStreams();
  // The web app answers GET and HEAD of paths no route or prefix claims (borrowed; may be null).
  void SetStaticFiles(const StaticFiles* files) { static_files_ = files; }

  size_t BodyLimit(const HttpRequest& head) override;
  void Admit(HttpRequest& head, std::shared_ptr<Responder> exchange, Admitted done) override;
  void ConnectionRefused(bool per_address) override;
  void Handle(HttpRequest request, std::shared_ptr<Responder> responder) override;
  HttpResponse ServerError(int status, std::string_view message, const HttpRequest* head) override;

  // Finishes an exchange: the encode side of the filters (X-Request-Id, security and CORS
  // headers, metrics, access log, the micro-cache), then the answer goes out.
  void Send(const HttpRequest& request, const RequestContext& ctx, Responder& responder,
            HttpResponse response);

  const GatewayOptions& options() const { return options_; }
  // A call to a service on behalf of `ctx`, with the gateway's outbound metadata and default
  // deadline (NewCallContext); for handlers outside the route table (Open311).
  std::unique_ptr<grpc::ClientContext> NewCall(const RequestContext& ctx) const;
  // The filters every exchange passes, in order (filters.h).
  const FilterChain& filters() const { return chain_; }
  // For handlers whose work costs more than one unit (Open311's deep pages, partners).
  RateLimitFilter& rate_limit() { return *rate_limit_; }

 private:
  class SseStream;
  class Download;
  // The filter chain in order, built once (the order is documented in filters.h).
  FilterChain BuildChain(AuthenticationFilter::RefreshKeys refresh_keys);
  // What a request asks for, named before the filters run (Classify); one of these is set,
  // or none (404).
  struct Routing {
    const PrefixHandler* prefix = nullptr;
    std::optional<RouteTable::Match> match;
    std::optional<HttpResponse> file;  // a file of the web app
    std::vector<std::string> allowed;  // the path's methods, for a 405
  };
  Routing Classify(const HttpRequest& request, RequestContext& ctx) const;
  // Runs the filters' decode side (again after one waited), then Dispatch.
  void RunFilters(HttpRequest request, RequestContext ctx, Routing routing,
                  std::shared_ptr<Responder> responder);
  void Dispatch(const HttpRequest& request, RequestContext ctx, const Routing& routing,
                std::shared_ptr<Responder> responder);
  // Admit's decode side (again after a filter waited).
  void AdmitFilter(HttpRequest& head, RequestContext ctx, std::shared_ptr<Responder> exchange,
                   Admitted done);
  // Calls a filter's `pending` (RequestContext::pending) and, once the filter resumes, `next`
  // with the rest of its work on the connection's thread (through `responder`).
  static void Wait(std::function<void(RequestContext::Resume)> pending,
                   std::shared_ptr<Responder> responder,
                   std::function<void(const RequestContext::Decided&)> next);
  // Sends an answer; a 400 to a request that spent a create unit first moves that unit to the
  // write budget (RateLimiter::RefundCreate), off this thread.
  void SendCharged(const HttpRequest& request, const RequestContext& ctx,
                   std::shared_ptr<Responder> responder, HttpResponse response);
  // Send's bookkeeping (the encode side of the filters), without the sending.
  HttpResponse Finish(const HttpRequest& request, const RequestContext& ctx, HttpResponse response);
  void HandleRoute(const HttpRequest& request, RequestContext ctx, const RouteTable::Match& match,
                   std::shared_ptr<Responder> responder);
  void CallUnary(const HttpRequest& request, RequestContext ctx, const Route& route,
                 std::shared_ptr<google::protobuf::Message> message,
                 std::shared_ptr<Responder> responder, int attempt);
  void StartStream(const HttpRequest& request, RequestContext ctx, const Route& route,
                   std::unique_ptr<google::protobuf::Message> message,
                   std::shared_ptr<Responder> responder);
  // A raw streamed answer (media_route.cc): sent with Content-Length as its pieces come.
  void StartDownload(const HttpRequest& request, RequestContext ctx, const Route& route,
                     std::shared_ptr<google::protobuf::Message> message,
                     std::shared_ptr<Responder> responder, int attempt);
  // The route's service stub, or null once a 503 went out (the service is not configured).
  GenericStub* StubOrUnavailable(const HttpRequest& request, const RequestContext& ctx,
                                 const Route& route, Responder& responder);
  // The answer to a failed backend call (logged when the backend was unreachable or slow).
  HttpResponse BackendError(const grpc::Status& status, const grpc::ClientContext& call,
                            const RequestContext& ctx) const;
  std::unique_ptr<grpc::ClientContext> OutboundContext(const HttpRequest& request,
                                                       const RequestContext& ctx,
                                                       const Route& route) const;
  void Builtin(const HttpRequest& request, const RequestContext& ctx, Responder& responder);
  void Heartbeats();
  void ForgetStream(const SseStream* stream);
  // Cancels the open downloads; after it their pieces no longer reach the HTTP server.
  void CloseDownloads();
  bool DownloadsClosed();
  void ForgetDownload(const Download* download);
  static void CloseStream(SseStream& stream);

  const RouteTable& routes_;
  Backends& backends_;
  const infra::auth::TokenVerifier& verifier_;
  RateLimiter* limiter_;
  infra::MetricsRegistry& metrics_;
  const infra::Clock& clock_;
  GatewayOptions options_;
  std::string openapi_;
  // Borrowed from chain_ (which owns them) for what lies outside one exchange's decode.
  CorsFilter* cors_ = nullptr;
  RateLimitFilter* rate_limit_ = nullptr;
  FilterChain chain_;
  infra::Gauge& streams_;
  infra::Counter& streams_replaced_;
  infra::Family<infra::Counter>& connections_refused_;
  std::vector<std::pair<std::string, PrefixHandler>> prefix_handlers_;
  const StaticFiles* static_files_ = nullptr;

  std::mutex streams_mu_;
  std::list<std::weak_ptr<SseStream>> live_streams_;
  std::unordered_map<std::string, std::list<std::weak_ptr<SseStream>>> streams_by_account_;
  bool stopping_ = false;
  size_t open_streams_ = 0;  // started and not yet done (guarded by streams_mu_)
  // Open downloads (media_route.cc) with their calls, to end them when the gateway stops.
  std::map<const Download*, std::shared_ptr<grpc::ClientContext>> downloads_;
  bool downloads_closed_ = false;
  std::condition_variable streams_done_cv_;
  std::condition_variable heartbeat_cv_;
  std::thread heartbeat_;
};

}  // namespace cityhub::gateway
