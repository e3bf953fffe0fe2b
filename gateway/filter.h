#pragma once

// The gateway's HTTP filters (after Envoy's): every request passes the same chain, built once
// at start (filters.h has the filters and their order). The decode side runs in chain order
// before the request is handled and may end it with an answer; the encode side runs in reverse
// order on every answer, for the filters whose decode side ran.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/status.h>

#include "cityhub/api/annotations.pb.h"
#include "gateway/http_server.h"

namespace cityhub::gateway {

// How a refusal is written: the JSON API's error body, or Open311's GeoReport errors (their
// format is fixed by the spec).
class ErrorFormat {
 public:
  virtual ~ErrorFormat() = default;
  virtual HttpResponse Error(int status, grpc::StatusCode code, std::string_view message) const = 0;
};

// A refusal written by `errors`, or as the JSON API's error when it is null.
HttpResponse ErrorIn(const ErrorFormat* errors, int status, grpc::StatusCode code,
                     std::string_view message);

// What the gateway knows about the caller of one request.
struct RequestContext {
  std::string request_id;
  std::string client_address;
  std::string route_label;
  std::chrono::steady_clock::time_point start;
  // What the filters guard, named by the dispatcher before they run: the route's policy (access,
  // rate class, caching), or null for built-in paths, static files and unknown paths, which get
  // only the request id, security and CORS headers, the access log and metrics.
  const cityhub::api::Policy* policy = nullptr;
  // Callers are identified by their bearer token. Open311 calls the services without the
  // caller's identity and counts callers by address: it sets this false.
  bool identify = true;
  // An event stream or a download: never answered from the micro-cache.
  bool streaming = false;
  // Decided from the headers, before the body is read (Handler::Admit).
  bool before_body = false;
  // Refusals are written in this format (null: the JSON API's).
  const ErrorFormat* errors = nullptr;
  // The verified access token's subject and roles (empty when anonymous).
  std::string account_id;
  std::vector<std::string> roles;
  // The rate class the request spent a unit of (UNSPECIFIED: none).
  cityhub::api::RateClass charged = cityhub::api::RATE_CLASS_UNSPECIFIED;
  // Where the micro-cache keeps the answer (empty: not kept).
  std::string cache_key;
  std::chrono::milliseconds cache_ttl{0};
  // How many filters' decode side ran: the encode side runs for these.
  size_t decoded = 0;

  // A decision that needs a wait elsewhere (the rate limiter asking Redis, the verifier fetching
  // new keys) is not waited for: the filter sets `pending` instead of answering, and the chain
  // stops after it (FilterChain::Decode). Whoever runs the chain calls pending(resume) and
  // returns. The filter calls `resume` once, from any thread, with the rest of its work; that
  // runs on the exchange's connection thread against this context and returns the filter's
  // answer (nullopt: go on with the next filter).
  using Decided = std::function<std::optional<HttpResponse>(RequestContext&)>;
  using Resume = std::function<void(Decided)>;
  std::function<void(Resume)> pending;

  // A refusal in the request's error format.
  HttpResponse Error(int status, grpc::StatusCode code, std::string_view message) const {
    return ErrorIn(errors, status, code, message);
  }
};

// One concern of every exchange. Implementations are final, stateless per request (all state of
// an exchange is in its RequestContext) and safe to call from any thread.
class Filter {
 public:
  virtual ~Filter() = default;
  virtual std::string_view name() const = 0;
  // Decode side: nullopt to go on, or the answer that ends the request here (later filters
  // do not see it). Runs on the HTTP thread: must not block (see RequestContext::pending).
  virtual std::optional<HttpResponse> OnRequest(const HttpRequest& request,
                                                RequestContext& ctx) = 0;
  // Encode side: adds to or records the answer; may run on a gRPC thread: must not block.
  virtual void OnResponse(const HttpRequest& request, const RequestContext& ctx,
                          HttpResponse& response) = 0;
};

// A fixed list of filters, built once at start; running it allocates nothing of its own.
class FilterChain final {
 public:
  explicit FilterChain(std::vector<std::unique_ptr<Filter>> filters);

  // Runs each filter's decode side in order, from the first not yet run (ctx.decoded), until
  // one answers or waits (ctx.pending); the answer is returned (its encode side still to run,
  // through Encode).
  std::optional<HttpResponse> Decode(const HttpRequest& request, RequestContext& ctx) const;
  // Runs the encode side of the filters whose decode side ran, last first.
  void Encode(const HttpRequest& request, const RequestContext& ctx, HttpResponse& response) const;

  size_t size() const { return filters_.size(); }
  const Filter& at(size_t i) const { return *filters_[i]; }

 private:
  std::vector<std::unique_ptr<Filter>> filters_;
};

}  // namespace cityhub::gateway
