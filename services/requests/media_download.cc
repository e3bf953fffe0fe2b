#include "services/requests/media_download.h"

#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include "infra/grpc/unary.h"

namespace cityhub::requests {

namespace {

using cityhub::api::HttpBody;

class MediaDownload final : public grpc::ServerWriteReactor<HttpBody> {
 public:
  MediaDownload(infra::BoundedExecutor& executor, grpc::CallbackServerContext* ctx,
                std::atomic<int>* open_count, std::string etag, MediaOpener open)
      : executor_(executor),
        ctx_(ctx),
        open_count_(open_count),
        etag_(std::move(etag)),
        open_(std::move(open)) {
    Step([this] { return First(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(infra::CancelledStatus());  // the caller went away
    if (offset_ >= file_->size()) return Finish(grpc::Status::OK);
    message_.Clear();
    Step([this] { return Next(); });
  }

  void OnDone() override {
    if (open_count_ != nullptr) open_count_->fetch_sub(1);
    delete this;
  }

 private:
  // Runs `step` (the blocking part: opening or reading) on the executor; it returns the status
  // to finish with, or nullopt once it started a write.
  template <typename Fn>
  void Step(Fn step) {
    const bool queued = executor_.TryPost([this, step]() mutable {
      if (ctx_->IsCancelled()) return Finish(infra::CancelledStatus());
      if (ctx_->deadline() <= std::chrono::system_clock::now())
        return Finish(infra::DeadlinePassedStatus());
      std::optional<grpc::Status> done;
      try {
        done = step();
      } catch (const std::exception& e) {
        done = infra::ThrownStatus(ctx_, e.what());
      }
      if (done) Finish(*done);
    });
    if (!queued) Finish(infra::BusyStatus());
  }

  std::optional<grpc::Status> First() {
    auto file = open_();
    if (!file.ok()) return infra::Done(ctx_, file.status());
    file_.emplace(*std::move(file));
    message_.set_content_type(file_->meta().content_type());
    message_.set_content_length(file_->size());
    message_.set_etag(etag_);
    return Next();
  }

  std::optional<grpc::Status> Next() {
    auto piece = file_->Read(offset_, kMediaChunkBytes);
    if (!piece.ok()) return infra::Done(ctx_, piece.status());
    offset_ += static_cast<int64_t>(piece->size());
    *message_.mutable_data() = *std::move(piece);
    StartWrite(&message_);
    return std::nullopt;
  }

  infra::BoundedExecutor& executor_;
  grpc::CallbackServerContext* ctx_;
  std::atomic<int>* open_count_;
  std::string etag_;
  MediaOpener open_;
  std::optional<MediaFile> file_;
  int64_t offset_ = 0;
  // Written by one step, kept until its OnWriteDone (only the first carries the head fields).
  HttpBody message_;
};

// Answers at once (over the cap).
class Refusal final : public grpc::ServerWriteReactor<HttpBody> {
 public:
  explicit Refusal(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<HttpBody>* StartMediaDownload(infra::BoundedExecutor& executor,
                                                       grpc::CallbackServerContext* ctx,
                                                       MediaDownloadLimits limits, std::string etag,
                                                       MediaOpener open) {
  if (limits.open != nullptr && limits.open->fetch_add(1) >= limits.max_open) {
    limits.open->fetch_sub(1);
    ctx->AddTrailingMetadata("retry-after", "1");
    return new Refusal(infra::BusyStatus());
  }
  return new MediaDownload(executor, ctx, limits.open, std::move(etag), std::move(open));
}

}  // namespace cityhub::requests
