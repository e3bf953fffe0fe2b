// A matched route, once the filters let it pass: transcoding the request, the unary gRPC call
// (up to two retries of a GET whose backend was unreachable or restarting) and its answer or mapped
// error.
#include <algorithm>

#include <grpcpp/client_context.h>

#include "cityhub/api/annotations.pb.h"
#include "gateway/errors.h"
#include "gateway/gateway.h"
#include "gateway/outbound.h"
#include "gateway/transcode.h"
#include "infra/auth/authorizer.h"
#include "infra/grpc/context.h"
#include "infra/log.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {

using google::protobuf::Message;

void Gateway::HandleRoute(const HttpRequest& request, RequestContext ctx,
                          const RouteTable::Match& match, std::shared_ptr<Responder> responder) {
  // The filters let it pass (authentication, access, rate limit, micro-cache): Handle or Admit.
  const Route& route = *match.route;
  auto query = ParseQuery(request.query);
  if (!query.ok()) {
    SendCharged(request, ctx, std::move(responder),
                ErrorResponse(400, grpc::StatusCode::INVALID_ARGUMENT,
                              infra::StdView(query.status().message())));
    return;
  }
  auto message = BuildRequest(match, *query, request.body, request.header("content-type"));
  if (!message.ok()) {
    SendCharged(request, ctx, std::move(responder),
                ErrorResponse(400, grpc::StatusCode::INVALID_ARGUMENT,
                              infra::StdView(message.status().message())));
    return;
  }
  if (route.server_streaming && route.raw_response) {
    StartDownload(request, std::move(ctx), route, std::move(*message), std::move(responder), 0);
    return;
  }
  if (route.server_streaming) {
    const std::string_view last_event = request.header("last-event-id");
    if (!route.resume_field.empty() && !last_event.empty()) {
      if (auto s =
              SetFieldFromText(message->get(), route.resume_field, last_event, "Last-Event-ID");
          !s.ok()) {
        Send(request, ctx, *responder,
             ErrorResponse(400, grpc::StatusCode::INVALID_ARGUMENT, infra::StdView(s.message())));
        return;
      }
    }
    StartStream(request, std::move(ctx), route, std::move(*message), std::move(responder));
    return;
  }
  CallUnary(request, std::move(ctx), route, std::shared_ptr<Message>(std::move(*message)),
            std::move(responder), 0);
}

std::unique_ptr<grpc::ClientContext> Gateway::NewCall(const RequestContext& ctx) const {
  return NewCallContext(ctx, options_.default_deadline, options_.internal_token);
}

std::unique_ptr<grpc::ClientContext> Gateway::OutboundContext(const HttpRequest& request,
                                                              const RequestContext& ctx,
                                                              const Route& route) const {
  const auto deadline = route.policy.deadline_ms() > 0
                            ? std::chrono::milliseconds(route.policy.deadline_ms())
                            : options_.default_deadline;
  auto call = NewCallContext(ctx, deadline, options_.internal_token);
  const std::string_view authorization = request.header("authorization");
  if (!authorization.empty())
    call->AddMetadata(infra::kAuthorizationKey, std::string(authorization));
  const std::string_view idempotency = request.header("idempotency-key");
  if (route.policy.idempotent() && !idempotency.empty()) {
    call->AddMetadata(infra::kIdempotencyKey, std::string(idempotency));
  }
  return call;
}

void Gateway::CallUnary(const HttpRequest& request, RequestContext ctx, const Route& route,
                        std::shared_ptr<Message> message, std::shared_ptr<Responder> responder,
                        int attempt) {
  GenericStub* stub = StubOrUnavailable(request, ctx, route, *responder);
  if (stub == nullptr) return;
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<Message> response;
  };
  auto call = std::make_shared<Call>();
  call->context = OutboundContext(request, ctx, route);
  if (attempt > 0) {
    // The retry waits a little for the backend to accept connections again (a restart takes
    // about a second) instead of failing at once: nothing of the call has reached a backend.
    // A backend still gone after that is answered 503 below, not left to the deadline.
    constexpr auto kRetryWait = std::chrono::milliseconds(2500);
    call->context->set_wait_for_ready(true);
    call->context->set_deadline(
        std::min(call->context->deadline(), std::chrono::system_clock::now() + kRetryWait));
  }
  call->response.reset(google::protobuf::MessageFactory::generated_factory()
                           ->GetPrototype(route.method->output_type())
                           ->New());
  // The callback needs the request's headers and method after Handle returned.
  auto kept = std::make_shared<HttpRequest>(request.Head());
  stub->UnaryCall(
      call->context.get(), route.grpc_path, grpc::StubOptions(), message.get(),
      call->response.get(),
      [this, call, kept, ctx = std::move(ctx), &route, message, responder,
       attempt](grpc::Status status) mutable {
        if (!status.ok()) {
          // Safe calls are retried (twice at most) when the backend was unreachable or cut the
          // call by its shutdown (a restart): the first retry can still reach the draining
          // process on a connection that has not seen its GOAWAY yet; the second waits for the
          // new one. A GET changes nothing, so repeating it is harmless.
          constexpr int kSafeRetries = 2;
          if ((status.error_code() == grpc::StatusCode::UNAVAILABLE ||
               status.error_code() == grpc::StatusCode::CANCELLED) &&
              attempt < kSafeRetries && kept->method == "GET") {
            CallUnary(*kept, std::move(ctx), route, message, responder, attempt + 1);
            return;
          }
          if (attempt > 0 && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
            status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "backend did not come back");
          }
          // The client is still here (else nobody reads this answer): a call the backend
          // cancelled was cut by its shutdown (a restart). Temporary, so 503 and Retry-After,
          // which a client retries (with its Idempotency-Key), never 499.
          if (status.error_code() == grpc::StatusCode::CANCELLED) {
            status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "backend shut down mid-call");
          }
          SendCharged(*kept, ctx, std::move(responder), BackendError(status, *call->context, ctx));
          return;
        }
        HttpResponse r;
        r.status = route.success_status;
        if (route.raw_response) {
          // The generated class (the response came from the generated factory): the data is
          // moved, not copied, as nothing reads it after this (a boundary can be several MB).
          auto* body = google::protobuf::DynamicCastToGenerated<cityhub::api::HttpBody>(
              call->response.get());
          r.headers.emplace_back("Content-Type", body->content_type());
          r.body = std::move(*body->mutable_data());
        } else {
          r.headers.emplace_back("Content-Type", "application/json");
          r.body = ToJson(*call->response);
        }
        // A route's caching applies to anonymous answers, and to raw ones (images), which are
        // the same bytes whoever asks; other answers to a signed-in caller may hold private fields.
        if (!route.policy.cache_control().empty() &&
            (ctx.account_id.empty() || route.raw_response)) {
          r.headers.emplace_back("Cache-Control", route.policy.cache_control());
        }
        Send(*kept, ctx, *responder, std::move(r));  // the micro-cache keeps it, if it may
      });
}

GenericStub* Gateway::StubOrUnavailable(const HttpRequest& request, const RequestContext& ctx,
                                        const Route& route, Responder& responder) {
  GenericStub* stub = backends_.StubFor(route.method->service()->full_name());
  if (stub == nullptr) {
    Send(request, ctx, responder,
         ErrorResponse(503, grpc::StatusCode::UNAVAILABLE,
                       "this part of the service is not available"));
  }
  return stub;
}

HttpResponse Gateway::BackendError(const grpc::Status& status, const grpc::ClientContext& call,
                                   const RequestContext& ctx) const {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    // The caller gets a generic text; the detail (no personal data: transport errors) is here.
    infra::log::Warn("backend_error", {{"request_id", ctx.request_id},
                                       {"route", ctx.route_label},
                                       {"code", static_cast<int>(status.error_code())},
                                       {"error", status.error_message()}});
  }
  HttpResponse error = ErrorResponse(status);
  // Both are temporary: say when to come back (the backend's hint, else a second), so that
  // clients back off instead of hammering a service that is overloaded or has lost its Redis.
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
      status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    const auto& trailers = call.GetServerTrailingMetadata();
    auto it = trailers.find("retry-after");
    error.headers.emplace_back(
        "Retry-After", it == trailers.end() ? std::string("1")
                                            : std::string(it->second.data(), it->second.size()));
  }
  return error;
}

}  // namespace cityhub::gateway
