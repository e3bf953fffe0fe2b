#pragma once

// One exchange's Responder over a Session (http_session.h). Included by http_server.cc only.
#include <atomic>
#include <memory>

#include "gateway/http_session.h"

namespace cityhub::gateway::http_internal {

// One exchange's responder: hops onto the session's strand for everything.
template <typename Stream>
class Exchange final : public Responder {
 public:
  explicit Exchange(std::shared_ptr<Session<Stream>> session) : session_(std::move(session)) {}

  void Reply(HttpResponse response) override {
    if (replied_.exchange(true)) return;
    // On the connection's own thread (a cached or refused request) this writes at once;
    // from a gRPC thread it hops over.
    asio::dispatch(session_->executor(),
                   [s = session_, r = std::move(response)]() mutable { s->Write(std::move(r)); });
  }
  void StartStream(HttpResponse head) override {
    if (replied_.exchange(true)) return;
    // dispatch, not post: called on the connection's thread (the usual case) the head is queued
    // at once. A post from inside a handler goes to asio's thread-private queue, which a post
    // from a gRPC thread (the stream's first event) can overtake: the event found no stream
    // started yet and was dropped.
    asio::dispatch(session_->executor(),
                   [s = session_, h = std::move(head)]() mutable { s->StartStream(std::move(h)); });
  }
  bool Send(std::string data) override {
    if (session_->closed()) return false;
    asio::dispatch(session_->executor(),
                   [s = session_, d = std::move(data)]() mutable { s->Send(std::move(d)); });
    return true;
  }
  void EndStream() override {
    asio::post(session_->executor(), [s = session_] { s->EndStream(); });
  }
  void StartBody(HttpResponse head, uint64_t length, std::function<void(bool)> written) override {
    if (replied_.exchange(true)) return written(false);
    asio::dispatch(session_->executor(),
                   [s = session_, h = std::move(head), length, w = std::move(written)]() mutable {
                     s->StartBody(std::move(h), length, std::move(w));
                   });
  }
  void SendBody(std::string piece, std::function<void(bool)> written) override {
    asio::dispatch(session_->executor(),
                   [s = session_, p = std::move(piece), w = std::move(written)]() mutable {
                     s->SendBody(std::move(p), std::move(w));
                   });
  }
  void FinishBody() override {
    asio::dispatch(session_->executor(), [s = session_] { s->FinishBody(); });
  }
  void Post(std::function<void()> fn) override { asio::post(session_->executor(), std::move(fn)); }
  void OnClientGone(std::function<void()> fn) override {
    asio::post(session_->executor(),
               [s = session_, f = std::move(fn)]() mutable { s->OnGone(std::move(f)); });
  }

 private:
  std::shared_ptr<Session<Stream>> session_;
  std::atomic<bool> replied_{false};
};

template <typename Stream>
std::shared_ptr<Responder> Session<Stream>::MakeResponder() {
  return std::make_shared<Exchange<Stream>>(this->shared_from_this());
}

}  // namespace cityhub::gateway::http_internal
