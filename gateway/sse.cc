// Server-streaming RPCs as Server-Sent Events.
#include <atomic>

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include "gateway/errors.h"
#include "gateway/gateway.h"
#include "gateway/transcode.h"
#include "infra/log.h"
#include "infra/strings.h"

namespace cityhub::gateway {

using google::protobuf::Message;
using infra::StrAppend;
using infra::StrCat;

namespace {

// Initial metadata a service sends once it has checked the request and its stream has its place
// (services/notifications/live.h kStreamOpenKey). A refusal sends none, and since gRPC gives a
// call refused outright an empty initial metadata too, only this entry tells the two apart.
constexpr char kStreamOpenKey[] = "x-cityhub-stream";

}  // namespace

// One open stream: a generic bidi call on which the gateway writes the one request and reads
// the messages as they come, each sent on as an SSE event with `id:` from the route's
// stream_id_field. It deletes itself when the call is done.
class Gateway::SseStream final : public grpc::ClientBidiReactor<Message, Message>,
                                 public std::enable_shared_from_this<Gateway::SseStream> {
 public:
  SseStream(Gateway& gateway, HttpRequest request, RequestContext ctx, const Route& route,
            std::unique_ptr<Message> message, std::shared_ptr<Responder> responder)
      : gateway_(gateway),
        request_(std::move(request)),
        ctx_(std::move(ctx)),
        route_(route),
        message_(std::move(message)),
        responder_(std::move(responder)) {
    response_.reset(google::protobuf::MessageFactory::generated_factory()
                        ->GetPrototype(route.method->output_type())
                        ->New());
  }

  const std::string& account_id() const { return ctx_.account_id; }
  // Ends the stream from the gateway's side (the client reconnects when it wants to).
  void Close() {
    if (context_ != nullptr) context_->TryCancel();
  }

  void Start(GenericStub* stub) {
    context_ = gateway_.OutboundContext(request_, ctx_, route_);
    self_ = shared_from_this();  // alive until OnDone
    std::weak_ptr<SseStream> weak = self_;
    responder_->OnClientGone([weak] {
      if (auto s = weak.lock()) s->context_->TryCancel();
    });
    stub->PrepareBidiStreamingCall(context_.get(), route_.grpc_path, grpc::StubOptions(), this);
    StartWriteLast(message_.get(), grpc::WriteOptions());
    StartCall();
  }

  // The backend's response headers. With the open marker its stream has taken its place (a live
  // stream "from now on" has fixed where now is), and only then does the client get its answer
  // head, so that everything written after the client sees it reaches it. Without the marker the
  // backend refused the call (or is one from before the marker): the status (an ordinary error
  // answer, e.g. 400 naming the field) or a first message (then the stream opens) decides.
  void OnReadInitialMetadataDone(bool ok) override {
    if (!ok) return;  // OnDone answers
    const auto& metadata = context_->GetServerInitialMetadata();
    if (metadata.find(kStreamOpenKey) != metadata.end()) Open();
    StartRead(response_.get());  // after the head: no event can overtake it
  }

  void Heartbeat() {
    if (started_ && !responder_->Send(": heartbeat\n\n")) context_->TryCancel();
  }

  void OnWriteDone(bool) override {}

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone follows
    if (!started_) Open();
    std::string id;
    if (!route_.stream_id_field.empty()) {
      const auto* field = response_->GetDescriptor()->FindFieldByName(route_.stream_id_field);
      if (field != nullptr) id = response_->GetReflection()->GetString(*response_, field);
    }
    std::string event;
    if (!id.empty()) StrAppend(&event, "id: ", id, "\n");
    StrAppend(&event, "data: ", ToJson(*response_), "\n\n");
    ++events_;
    if (!responder_->Send(std::move(event))) context_->TryCancel();
    response_->Clear();
    StartRead(response_.get());
  }

  // The client's answer head; the stream is open from here on.
  void Open() {
    HttpResponse head;
    head.headers = {{"Content-Type", "text/event-stream; charset=utf-8"},
                    {"Cache-Control", "no-store"},
                    {"X-Accel-Buffering", "no"}};
    // The same filters as every answer (request id, security and CORS headers, metrics, access
    // log): a stream the backend refuses is counted by its error answer instead.
    responder_->StartStream(gateway_.Finish(request_, ctx_, std::move(head)));
    // Open the stream with a comment so that clients and proxies see it start at once.
    responder_->Send(": stream open\n\n");
    started_ = true;
  }

  void OnDone(const grpc::Status& status) override {
    if (!started_) {
      // Refused before the stream began: a plain error answer.
      gateway_.Send(request_, ctx_, *responder_,
                    status.ok() ? ErrorResponse(502, grpc::StatusCode::UNAVAILABLE,
                                                "the stream ended at once")
                                : ErrorResponse(status));
    } else {
      if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
        // The head is out already: the error travels as an event before the stream closes.
        const HttpResponse error = ErrorResponse(status);
        responder_->Send(StrCat("event: error\ndata: ", error.body, "\n\n"));
      }
      responder_->EndStream();
    }
    gateway_.streams_.Dec();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx_.start).count();
    infra::log::Info("http_stream", {{"request_id", ctx_.request_id},
                                     {"route", ctx_.route_label},
                                     {"code", static_cast<int>(status.error_code())},
                                     {"events", events_},
                                     {"duration_s", seconds}});
    gateway_.ForgetStream(this);  // the last use of the gateway: it may be waiting to go away
    self_.reset();                // may destroy this
  }

 private:
  Gateway& gateway_;
  HttpRequest request_;
  RequestContext ctx_;
  const Route& route_;
  std::unique_ptr<Message> message_;
  std::unique_ptr<Message> response_;
  std::shared_ptr<Responder> responder_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::shared_ptr<SseStream> self_;
  int64_t events_ = 0;
  // The answer head went out (set before a read starts or in a read's callback; the heartbeat
  // thread reads it).
  std::atomic<bool> started_{false};
};

void Gateway::StartStream(const HttpRequest& request, RequestContext ctx, const Route& route,
                          std::unique_ptr<Message> message, std::shared_ptr<Responder> responder) {
  GenericStub* stub = StubOrUnavailable(request, ctx, route, *responder);
  if (stub == nullptr) return;
  streams_.Inc();
  auto stream = std::make_shared<SseStream>(*this, request.Head(), std::move(ctx), route,
                                            std::move(message), std::move(responder));
  std::shared_ptr<SseStream> oldest;
  {
    std::lock_guard lock(streams_mu_);
    live_streams_.push_back(stream);
    ++open_streams_;
    if (!stream->account_id().empty() && options_.max_streams_per_account > 0) {
      auto& mine = streams_by_account_[stream->account_id()];
      mine.remove_if([](const std::weak_ptr<SseStream>& w) { return w.expired(); });
      mine.push_back(stream);
      if (mine.size() > options_.max_streams_per_account) {
        oldest = mine.front().lock();
        mine.pop_front();
      }
    }
  }
  if (oldest != nullptr) {
    streams_replaced_.Inc();
    oldest->Close();
  }
  stream->Start(stub);
}

void Gateway::CloseStream(SseStream& stream) { stream.Close(); }

void Gateway::ForgetStream(const SseStream* stream) {
  std::lock_guard lock(streams_mu_);
  if (auto it = streams_by_account_.find(stream->account_id()); it != streams_by_account_.end()) {
    it->second.remove_if([stream](const std::weak_ptr<SseStream>& w) {
      auto s = w.lock();
      return s == nullptr || s.get() == stream;
    });
    if (it->second.empty()) streams_by_account_.erase(it);
  }
  if (open_streams_ > 0 && --open_streams_ == 0) streams_done_cv_.notify_all();
}

void Gateway::Heartbeats() {
  std::unique_lock lock(streams_mu_);
  while (!stopping_) {
    heartbeat_cv_.wait_for(lock, options_.sse_heartbeat, [this] { return stopping_; });
    if (stopping_) return;
    std::vector<std::shared_ptr<SseStream>> alive;
    for (auto it = live_streams_.begin(); it != live_streams_.end();) {
      if (auto s = it->lock()) {
        alive.push_back(std::move(s));
        ++it;
      } else {
        it = live_streams_.erase(it);
      }
    }
    lock.unlock();
    for (auto& s : alive) s->Heartbeat();
    alive.clear();
    lock.lock();
  }
}

}  // namespace cityhub::gateway
