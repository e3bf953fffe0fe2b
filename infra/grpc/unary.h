#pragma once

#include <chrono>
#include <exception>
#include <utility>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "infra/executor.h"

// How a unary call of a callback service is answered (the concurrency model of
// docs/design.md): either the handler completes through the async Redis client, or its body
// runs on the service's BoundedExecutor through RunOnExecutor below. A gRPC callback thread
// never runs a blocking call.
namespace cityhub::infra {

// The one error policy of every service, applied where an absl::Status becomes the call's
// grpc::Status: INTERNAL, UNKNOWN and DATA_LOSS are logged with the request id (the caller
// sees a generic text for INTERNAL and UNKNOWN, see ToGrpcStatus); other codes are the
// caller's business and are only counted by the server interceptor.
grpc::Status Done(const grpc::ServerContextBase* ctx, const absl::Status& status);

// The answers of RunOnExecutor that the body never sees.
grpc::Status BusyStatus();            // RESOURCE_EXHAUSTED "server busy"
grpc::Status DeadlinePassedStatus();  // DEADLINE_EXCEEDED: the call waited past its deadline
grpc::Status CancelledStatus();       // CANCELLED: the caller gave up while the call waited
// INTERNAL for a body that threw (logged with the request id; nothing escapes a worker).
grpc::Status ThrownStatus(const grpc::ServerContextBase* ctx, const char* what);

// Runs `body` (callable as grpc::Status(), copyable) on `executor` and finishes the call's
// default reactor with its result from the worker. When the executor's queue is full the call
// is answered RESOURCE_EXHAUSTED at once, without running `body`; a call that was cancelled or
// whose deadline passed while it waited is answered CANCELLED / DEADLINE_EXCEEDED, also
// without running `body`. The request and response of the call stay valid until the reactor
// finishes, so `body` may use them.
template <typename Body>
grpc::ServerUnaryReactor* RunOnExecutor(BoundedExecutor& executor, grpc::CallbackServerContext* ctx,
                                        Body body) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool queued = executor.TryPost([ctx, reactor, body = std::move(body)]() mutable {
    if (ctx->IsCancelled()) {
      reactor->Finish(CancelledStatus());
      return;
    }
    if (ctx->deadline() <= std::chrono::system_clock::now()) {
      reactor->Finish(DeadlinePassedStatus());
      return;
    }
    grpc::Status status;
    try {
      status = body();
    } catch (const std::exception& e) {
      status = ThrownStatus(ctx, e.what());
    } catch (...) {
      status = ThrownStatus(ctx, "unknown exception");
    }
    reactor->Finish(status);
  });
  if (!queued) reactor->Finish(BusyStatus());
  return reactor;
}

// The usual shape, shared by every service (CRTP): a unary method whose body is a member
// function `absl::Status Service::DoX(grpc::ServerContextBase*, const Request*, Response*)` is
// one line, `return Run(ctx, request, response, &Service::DoX);`. The body runs on the
// service's executor (RunOnExecutor) and its status becomes the answer through Done, the one
// error policy. `Service` derives from UnaryMethods<Service> and gives it the executor through
// a member `BoundedExecutor& unary_executor()` (private, with UnaryMethods<Service> a friend):
// the service owns the executor as its last member, so that the executor is stopped (running
// what is queued) before anything its tasks use is destroyed; a base class would be destroyed
// too late for that.
template <typename Service>
class UnaryMethods {
 protected:
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* ctx, const Request* request,
                                Response* response,
                                absl::Status (Service::*body)(grpc::ServerContextBase*,
                                                              const Request*, Response*)) {
    Service* service = static_cast<Service*>(this);
    return RunOnExecutor(service->unary_executor(), ctx,
                         [=] { return Done(ctx, (service->*body)(ctx, request, response)); });
  }
};

// For the calls that complete through the async client: runs `start` with the call's reactor
// on this (callback) thread, or on `executor` when authorizing the call may block (`may_block`,
// from Authorizer::MayBlock: a token naming a key not known yet, whose fetch is an outbound call
// the callback thread must not wait for); a full executor answers RESOURCE_EXHAUSTED. (A
// template, so that the usual path calls `start` without wrapping it.)
template <typename Start>
grpc::ServerUnaryReactor* StartWithoutBlocking(BoundedExecutor& executor,
                                               grpc::CallbackServerContext* ctx, bool may_block,
                                               Start start) {
  auto* reactor = ctx->DefaultReactor();
  if (!may_block) {
    start(reactor);
  } else if (!executor.TryPost([reactor, start = std::move(start)] { start(reactor); })) {
    reactor->Finish(BusyStatus());
  }
  return reactor;
}

// Finishes a call at once with `status` (for answers known before any blocking work).
inline grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx,
                                           const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace cityhub::infra
