// Raw streamed answers (GET /v1/media/{media_id}): a server-streaming RPC of
// cityhub.api.HttpBody becomes one HTTP answer with Content-Length, each piece written to the
// client before the next is read from the backend. A download holds one piece, whatever the
// size of the photo, and a slow client slows its backend stream instead of filling memory.
#include <utility>

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include "cityhub/api/annotations.pb.h"
#include "gateway/errors.h"
#include "gateway/gateway.h"
#include "infra/log.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {

using google::protobuf::Message;

namespace {

// Whether an If-None-Match list names `etag` (or is "*"); weak forms compare equal.
bool NoneMatchHits(std::string_view list, std::string_view etag) {
  if (etag.empty()) return false;
  for (std::string_view entry : infra::SplitList(std::string(list), ',')) {
    entry = infra::TrimAscii(entry);
    if (entry.starts_with("W/")) entry.remove_prefix(2);
    if (entry == "*" || entry == etag) return true;
  }
  return false;
}

// `target` (path and query) with its page_token parameter set to `token` (a ULID: nothing to
// escape); the other parameters stay as the client wrote them.
std::string WithPageToken(std::string_view target, std::string_view token) {
  const size_t q = target.find('?');
  std::string out(target.substr(0, q));
  char sep = '?';
  if (q != std::string_view::npos) {
    for (std::string_view param : infra::SplitList(std::string(target.substr(q + 1)), '&')) {
      const std::string_view name = param.substr(0, param.find('='));
      if (name == "page_token" || name == "pageToken") continue;
      infra::StrAppend(&out, std::string_view(&sep, 1), param);
      sep = '&';
    }
  }
  infra::StrAppend(&out, std::string_view(&sep, 1), "page_token=", token);
  return out;
}

}  // namespace

// One download: a generic bidi call (the one request written, then the pieces read). It keeps
// itself alive until OnDone; a hold covers each piece on its way to the client, so that OnDone
// cannot come while a write's completion still has to read on.
class Gateway::Download final : public grpc::ClientBidiReactor<Message, Message> {
 public:
  Download(Gateway& gateway, HttpRequest request, RequestContext ctx, const Route& route,
           std::shared_ptr<Message> message, std::shared_ptr<Responder> responder, int attempt)
      : gateway_(gateway),
        request_(std::move(request)),
        ctx_(std::move(ctx)),
        route_(route),
        message_(std::move(message)),
        responder_(std::move(responder)),
        attempt_(attempt),
        context_(gateway_.OutboundContext(request_, ctx_, route_)) {
    context_->set_deadline(std::chrono::system_clock::now() + gateway_.options_.download_deadline);
  }

  const std::shared_ptr<grpc::ClientContext>& context() const { return context_; }

  void Start(GenericStub* stub) {
    // The responder may outlive this object: it cancels through a context it keeps alive.
    std::shared_ptr<grpc::ClientContext> context = context_;
    responder_->OnClientGone([context] { context->TryCancel(); });
    stub->PrepareBidiStreamingCall(context_.get(), route_.grpc_path, grpc::StubOptions(), this);
    StartWriteLast(message_.get(), grpc::WriteOptions());
    StartRead(&piece_);
    StartCall();
  }

  void OnWriteDone(bool) override {}

  void OnReadDone(bool ok) override {
    if (!ok || answered_) return;  // the stream ended (OnDone answers), or a 304 went out
    if (gateway_.DownloadsClosed()) return context_->TryCancel();  // the HTTP server is going
    std::string data = std::move(*piece_.mutable_data());
    if (!started_) {
      const int64_t length = piece_.content_length();
      chunked_ = length == -1;  // not known beforehand (an export): sent chunked
      if (!chunked_ && (length < 0 || static_cast<uint64_t>(length) < data.size())) {
        infra::log::Warn("backend_error",
                         {{"request_id", ctx_.request_id},
                          {"route", ctx_.route_label},
                          {"error", "a download's first piece has no or a wrong length"}});
        return Refuse(
            ErrorResponse(502, grpc::StatusCode::UNAVAILABLE, "the backend answered badly"));
      }
      if (NoneMatchHits(request_.header("if-none-match"), piece_.etag())) {
        HttpResponse r;
        r.status = 304;
        r.headers = {{"ETag", piece_.etag()}, {"Cache-Control", route_.policy.cache_control()}};
        return Refuse(std::move(r));
      }
      started_ = true;
      left_ = chunked_ ? Responder::kUnknownLength : static_cast<uint64_t>(length);
      HttpResponse head;
      head.headers = {{"Content-Type", piece_.content_type()}};
      if (!piece_.etag().empty()) head.headers.emplace_back("ETag", piece_.etag());
      AddPageHeaders(head);
      // An image is the same bytes whoever asks: the route's caching holds for everyone.
      if (!route_.policy.cache_control().empty())
        head.headers.emplace_back("Cache-Control", route_.policy.cache_control());
      head = gateway_.Finish(request_, ctx_, std::move(head));
      if (request_.method == "HEAD") {
        return responder_->StartBody(std::move(head), left_,
                                     [context = context_](bool) { context->TryCancel(); });
      }
      if (data.empty()) return responder_->StartBody(std::move(head), left_, Next());
      // The piece that follows at once reads on when it has left.
      responder_->StartBody(std::move(head), left_, [](bool) {});
    }
    if (data.empty()) return StartRead(&piece_);
    if (!chunked_ && data.size() > left_) {
      infra::log::Warn("backend_error", {{"request_id", ctx_.request_id},
                                         {"route", ctx_.route_label},
                                         {"error", "a download is longer than announced"}});
      context_->TryCancel();
      return;  // OnDone cuts the connection
    }
    if (!chunked_) left_ -= data.size();
    responder_->SendBody(std::move(data), Next());
  }

  void OnDone(const grpc::Status& status) override {
    std::unique_ptr<Download> self(this);  // gone when this returns
    // The last use of the gateway, which may be waiting to go away.
    struct Forget {
      Download* d;
      ~Forget() { d->gateway_.ForgetDownload(d); }
    } forget{this};
    if (answered_ || gateway_.DownloadsClosed()) return;
    if (!started_) {
      // One retry when the backend was unreachable (e.g. restarting), as for unary GETs.
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE && attempt_ == 0) {
        gateway_.StartDownload(request_, std::move(ctx_), route_, message_, responder_, 1);
        return;
      }
      gateway_.Send(request_, ctx_, *responder_,
                    status.ok() ? ErrorResponse(502, grpc::StatusCode::UNAVAILABLE,
                                                "the backend answered badly")
                                : gateway_.BackendError(status, *context_, ctx_));
      return;
    }
    if (request_.method == "HEAD") return;
    // A chunked body ends with the stream: complete (the last chunk) or cut.
    if (chunked_ && status.ok()) return responder_->FinishBody();
    // Only an incomplete body still owns the connection (a complete one has handed it to the
    // next request, which an EndStream now would cut).
    if (!chunked_ && left_ == 0) return;
    // The head is out: cut the connection, so that the client sees the answer incomplete (never
    // a short body taken for the whole photo).
    infra::log::Warn("download_cut", {{"request_id", ctx_.request_id},
                                      {"route", ctx_.route_label},
                                      {"code", static_cast<int>(status.error_code())},
                                      {"error", status.error_message()}});
    responder_->EndStream();
  }

 private:
  // The first piece's Content-Disposition and next page (Link to this URL with that token).
  void AddPageHeaders(HttpResponse& head) const {
    if (!piece_.content_disposition().empty())
      head.headers.emplace_back("Content-Disposition", piece_.content_disposition());
    if (piece_.next_page_token().empty()) return;
    head.headers.emplace_back("X-Next-Page-Token", piece_.next_page_token());
    head.headers.emplace_back(
        "Link", infra::StrCat("<", WithPageToken(request_.target, piece_.next_page_token()),
                              ">; rel=\"next\""));
  }

  // Answers without a body (304, 502) and ends the call.
  void Refuse(HttpResponse response) {
    answered_ = true;
    gateway_.Send(request_, ctx_, *responder_, std::move(response));
    context_->TryCancel();
  }

  // The hold on OnDone taken for a piece on its way to the client. Released when the piece left
  // (reading the next one), when the client has gone, or when the HTTP server dropped the piece
  // unwritten (stopping): then the call is cancelled.
  class PieceHold final {
   public:
    explicit PieceHold(Download* d) : d_(d) { d_->AddHold(); }
    PieceHold(const PieceHold&) = delete;
    ~PieceHold() {
      if (d_ != nullptr) Release(false);
    }
    // May end the download: nothing may use it after.
    void Release(bool written) {
      Download* d = std::exchange(d_, nullptr);
      if (written) {
        d->StartRead(&d->piece_);
      } else {
        d->context_->TryCancel();
      }
      d->RemoveHold();
    }

   private:
    Download* d_;
  };

  // Runs once a piece left: reads the next one, or ends the call when the client has gone.
  std::function<void(bool)> Next() {
    auto hold = std::make_shared<PieceHold>(this);
    return [hold](bool written) { hold->Release(written); };
  }

  Gateway& gateway_;
  HttpRequest request_;
  RequestContext ctx_;
  const Route& route_;
  std::shared_ptr<Message> message_;
  std::shared_ptr<Responder> responder_;
  int attempt_;
  std::shared_ptr<grpc::ClientContext> context_;
  cityhub::api::HttpBody piece_;
  bool started_ = false;
  bool answered_ = false;
  bool chunked_ = false;
  uint64_t left_ = 0;
};

void Gateway::StartDownload(const HttpRequest& request, RequestContext ctx, const Route& route,
                            std::shared_ptr<Message> message, std::shared_ptr<Responder> responder,
                            int attempt) {
  GenericStub* stub = StubOrUnavailable(request, ctx, route, *responder);
  if (stub == nullptr) return;
  // Kept past Handle: the headers and method (the body was the request message).
  HttpRequest kept = request.Head();
  auto download = std::make_unique<Download>(*this, std::move(kept), std::move(ctx), route,
                                             std::move(message), responder, attempt);
  {
    // Each download holds a piece or two: the cap bounds what all of them hold together.
    std::lock_guard lock(streams_mu_);
    if (!downloads_closed_ && downloads_.size() < static_cast<size_t>(options_.max_downloads)) {
      downloads_.emplace(download.get(), download->context());
      download.release()->Start(stub);
      return;
    }
  }
  HttpResponse busy =
      ErrorResponse(503, grpc::StatusCode::UNAVAILABLE, "too many downloads; try again soon");
  busy.headers.emplace_back("Retry-After", "1");
  Send(request, ctx, *responder, std::move(busy));
}

bool Gateway::DownloadsClosed() {
  std::lock_guard lock(streams_mu_);
  return downloads_closed_;
}

void Gateway::ForgetDownload(const Download* download) {
  std::lock_guard lock(streams_mu_);
  downloads_.erase(download);
  streams_done_cv_.notify_all();
}

void Gateway::CloseDownloads() {
  std::vector<std::shared_ptr<grpc::ClientContext>> calls;
  {
    std::lock_guard lock(streams_mu_);
    downloads_closed_ = true;
    for (const auto& [download, call] : downloads_) calls.push_back(call);
  }
  for (auto& call : calls) call->TryCancel();
}

}  // namespace cityhub::gateway
