// Requests with a body are admitted from their headers: the filters (authentication, access
// policy, rate limit) run before the body is read; and the refund of a refused create's unit.
#include <any>

#include "gateway/gateway.h"
#include "infra/strings.h"

namespace cityhub::gateway {

void Gateway::Admit(HttpRequest& head, std::shared_ptr<Responder> exchange, Admitted done) {
  auto match = routes_.Find(head.method, head.path);
  if (!match) return done(std::nullopt);  // 404 and 405 come from Handle as usual
  RequestContext ctx;
  ctx.route_label = infra::StrCat(match->route->http_method, " ", match->route->path.text);
  ctx.policy = &match->route->policy;
  ctx.streaming = match->route->server_streaming;
  ctx.before_body = true;
  AdmitFilter(head, std::move(ctx), std::move(exchange), std::move(done));
}

void Gateway::AdmitFilter(HttpRequest& head, RequestContext ctx,
                          std::shared_ptr<Responder> exchange, Admitted done) {
  // Who may send this body, and whether they have budget left, is known now: a refused client
  // uploads nothing.
  auto refusal = chain_.Decode(head, ctx);
  if (ctx.pending) {
    // `head` stays with the connection until `done`.
    struct Held {
      RequestContext ctx;
      Admitted done;
      std::shared_ptr<Responder> exchange;
    };
    auto pending = std::exchange(ctx.pending, nullptr);
    auto held = std::make_shared<Held>(Held{std::move(ctx), std::move(done), exchange});
    Wait(std::move(pending), std::move(exchange),
         [this, &head, held](const RequestContext::Decided& decided) {
           if (auto refused = decided(held->ctx)) {
             held->done(Finish(head, held->ctx, *std::move(refused)));
             return;
           }
           AdmitFilter(head, std::move(held->ctx), held->exchange, std::move(held->done));
         });
    return;
  }
  if (refusal) return done(Finish(head, ctx, *std::move(refusal)));
  head.admission = std::move(ctx);
  done(std::nullopt);
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
