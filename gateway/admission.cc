// Who calls, and whether they may: the client's identity, authentication and access, rate limits
// (decided from the headers, before a body is read) and the refund of a refused create's unit.
#include <algorithm>
#include <any>

#include "gateway/errors.h"
#include "gateway/gateway.h"
#include "infra/auth/authorizer.h"
#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {

using infra::StrCat;

namespace {

bool HasRole(const std::vector<std::string>& roles, std::string_view role) {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

}  // namespace

std::string Gateway::ClientAddress(const HttpRequest& request) const {
  return ClientIdentity(ForwardedClient(request));
}

std::string Gateway::ForwardedClient(const HttpRequest& request) const {
  if (!options_.trust_forwarded_for) return request.client_address;
  // The list may come in several header lines (one per proxy); together they are one list, whose
  // right-most entry is what the trusted proxy saw. Empty entries are skipped.
  for (auto it = request.headers.rbegin(); it != request.headers.rend(); ++it) {
    if (it->first != "x-forwarded-for") continue;
    std::string_view list = it->second;
    while (!list.empty()) {
      const size_t comma = list.rfind(',');
      const std::string_view entry =
          infra::TrimAscii(comma == std::string_view::npos ? list : list.substr(comma + 1));
      if (!entry.empty()) return std::string(entry);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
    }
  }
  return request.client_address;
}

RequestContext Gateway::NewContext(const HttpRequest& request) const {
  RequestContext ctx;
  ctx.start = std::chrono::steady_clock::now();
  const std::string_view given_id = request.header("x-request-id");
  ctx.request_id =
      infra::IsValidRequestId(given_id) ? std::string(given_id) : infra::NewTraceId(clock_.Now());
  ctx.client_address = ClientAddress(request);
  return ctx;
}

std::optional<HttpResponse> Gateway::Authenticate(const HttpRequest& request, const Route& route,
                                                  RequestContext& ctx) {
  // Who is calling: a bad token is refused even on public routes.
  const std::string_view authorization = request.header("authorization");
  if (!authorization.empty()) {
    const std::string_view token = infra::auth::BearerToken(authorization);
    auto claims = token.empty() ? absl::StatusOr<infra::auth::AccessClaims>(
                                      absl::UnauthenticatedError("malformed Authorization header"))
                                : verifier_.Verify(token);
    if (!claims.ok() && !token.empty() && refresh_keys_ &&
        !verifier_.HasKey(infra::auth::TokenVerifier::PeekKid(token)) && refresh_keys_()) {
      claims = verifier_.Verify(token);
    }
    if (!claims.ok() && claims.status().code() == absl::StatusCode::kUnavailable) {
      HttpResponse r = ErrorResponse(503, grpc::StatusCode::UNAVAILABLE,
                                     infra::StdView(claims.status().message()));
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    if (!claims.ok()) {
      HttpResponse r = ErrorResponse(401, grpc::StatusCode::UNAUTHENTICATED,
                                     infra::StdView(claims.status().message()));
      r.headers.emplace_back("WWW-Authenticate", R"(Bearer error="invalid_token")");
      return r;
    }
    ctx.account_id = claims->subject;
    ctx.roles = claims->roles;
  }
  const auto access = route.policy.access();
  if (access != cityhub::api::ACCESS_PUBLIC && ctx.account_id.empty()) {
    HttpResponse r = ErrorResponse(401, grpc::StatusCode::UNAUTHENTICATED, "sign-in required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  const bool admin = HasRole(ctx.roles, "admin");
  if ((access == cityhub::api::ACCESS_OPERATOR && !admin && !HasRole(ctx.roles, "operator")) ||
      (access == cityhub::api::ACCESS_ADMIN && !admin)) {
    return ErrorResponse(
        403, grpc::StatusCode::PERMISSION_DENIED,
        access == cityhub::api::ACCESS_ADMIN ? "administrators only" : "city staff only");
  }
  return std::nullopt;
}

std::optional<HttpResponse> Gateway::AdmitRoute(const HttpRequest& request, const Route& route,
                                                RequestContext& ctx) {
  if (auto refusal = Authenticate(request, route, ctx)) return refusal;
  if (limiter_ != nullptr) {
    const Decision d =
        limiter_->Check(route.policy.rate_class(), ctx.client_address, ctx.account_id);
    if (!d.allowed) {
      HttpResponse r =
          ErrorResponse(429, grpc::StatusCode::RESOURCE_EXHAUSTED, "too many requests; slow down");
      r.headers.emplace_back("Retry-After", RetryAfterSeconds(d));
      return r;
    }
    ctx.charged = route.policy.rate_class();
  }
  ctx.admitted = true;
  return std::nullopt;
}

std::optional<HttpResponse> Gateway::Admit(HttpRequest& head) {
  auto match = routes_.Find(head.method, head.path);
  if (!match) return std::nullopt;  // 404 and 405 come from Handle as usual
  RequestContext ctx = NewContext(head);
  ctx.route_label = StrCat(match->route->http_method, " ", match->route->path.text);
  // Who may send this body, and whether they have budget left, is known now: a refused client
  // uploads nothing.
  if (auto refusal = AdmitRoute(head, *match->route, ctx)) return Finish(head, ctx, *refusal);
  head.admission = std::move(ctx);
  return std::nullopt;
}

void Gateway::SendCharged(const HttpRequest& request, const RequestContext& ctx,
                          std::shared_ptr<Responder> responder, HttpResponse response) {
  if (response.status != 400 || ctx.charged != cityhub::api::RATE_CLASS_CREATE ||
      limiter_ == nullptr) {
    Send(request, ctx, *responder, std::move(response));
    return;
  }
  // The answer leaves once the unit is back, so that the caller's next request finds it.
  auto kept = std::make_shared<HttpRequest>(request.Head());
  auto answer = std::make_shared<HttpResponse>(std::move(response));
  limiter_->RefundCreate(ctx.client_address, ctx.account_id, [this, kept, ctx, responder, answer] {
    Send(*kept, ctx, *responder, std::move(*answer));
  });
}

void Gateway::ConnectionRefused(bool per_address) {
  connections_refused_.WithLabels({per_address ? "per_address" : "server_full"}).Inc();
}

}  // namespace cityhub::gateway
