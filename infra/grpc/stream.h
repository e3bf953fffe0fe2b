#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include "infra/executor.h"
#include "infra/grpc/unary.h"

// Server-streaming calls of a callback service whose work blocks (a file, the store): each step
// runs on the service's BoundedExecutor, never on a gRPC callback thread, as RunOnExecutor does
// for unary calls; and a cap on such streams open at once per process.
namespace cityhub::infra {

// A server-streaming reactor of `Message` that deletes itself when done and gives back its slot
// of the cap (StartCapped). Derived classes start with Step(...) in their constructor and call
// Step again from OnWriteDone.
template <typename Message>
class ExecutorWriter : public grpc::ServerWriteReactor<Message> {
 public:
  void OnDone() override {
    if (open_ != nullptr) open_->fetch_sub(1);
    delete this;
  }

 protected:
  ExecutorWriter(BoundedExecutor& executor, grpc::CallbackServerContext* ctx,
                 std::atomic<int>* open)
      : executor_(executor), ctx_(ctx), open_(open) {}
  virtual ~ExecutorWriter() = default;

  // Runs `step` (callable as std::optional<grpc::Status>(), copyable) on the executor: it
  // returns the status to finish with, or nullopt once it started a write. A full queue
  // finishes RESOURCE_EXHAUSTED; a call cancelled or past its deadline while it waited finishes
  // without running `step`; a step that throws finishes INTERNAL.
  template <typename Fn>
  void Step(Fn step) {
    const bool queued = executor_.TryPost([this, step]() mutable {
      if (ctx_->IsCancelled()) return this->Finish(CancelledStatus());
      if (ctx_->deadline() <= std::chrono::system_clock::now())
        return this->Finish(DeadlinePassedStatus());
      std::optional<grpc::Status> done;
      try {
        done = step();
      } catch (const std::exception& e) {
        done = ThrownStatus(ctx_, e.what());
      }
      if (done) this->Finish(*done);
    });
    if (!queued) this->Finish(BusyStatus());
  }

  BoundedExecutor& executor_;
  grpc::CallbackServerContext* const ctx_;

 private:
  std::atomic<int>* const open_;  // null: no cap
};

// Starts the stream `start(open)` makes (an ExecutorWriter given `open`) when fewer than
// `max_open` are open, counted in `*open` (null: no cap); otherwise answers `refusal` at once with
// the trailing metadata `retry-after: <seconds>` (the gateway's Retry-After).
template <typename Message, typename Start>
grpc::ServerWriteReactor<Message>* StartCapped(grpc::CallbackServerContext* ctx,
                                               std::atomic<int>* open, int max_open,
                                               const grpc::Status& refusal,
                                               const std::string& retry_after_seconds,
                                               Start start) {
  if (open != nullptr && open->fetch_add(1) >= max_open) {
    open->fetch_sub(1);
    ctx->AddTrailingMetadata("retry-after", retry_after_seconds);
    class Refusal final : public grpc::ServerWriteReactor<Message> {
     public:
      explicit Refusal(const grpc::Status& status) { this->Finish(status); }
      void OnDone() override { delete this; }
    };
    return new Refusal(refusal);
  }
  return start(open);
}

}  // namespace cityhub::infra
