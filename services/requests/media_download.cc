#include "services/requests/media_download.h"

#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include "infra/grpc/stream.h"
#include "infra/grpc/unary.h"

namespace cityhub::requests {

namespace {

using cityhub::api::HttpBody;

class MediaDownload final : public infra::ExecutorWriter<HttpBody> {
 public:
  MediaDownload(infra::BoundedExecutor& executor, grpc::CallbackServerContext* ctx,
                std::atomic<int>* open_count, std::string etag, MediaOpener open)
      : ExecutorWriter(executor, ctx, open_count), etag_(std::move(etag)), open_(std::move(open)) {
    Step([this] { return First(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(infra::CancelledStatus());  // the caller went away
    if (offset_ >= file_->size()) return Finish(grpc::Status::OK);
    message_.Clear();
    Step([this] { return Next(); });
  }

 private:
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

  std::string etag_;
  MediaOpener open_;
  std::optional<MediaFile> file_;
  int64_t offset_ = 0;
  // Written by one step, kept until its OnWriteDone (only the first carries the head fields).
  HttpBody message_;
};

}  // namespace

grpc::ServerWriteReactor<HttpBody>* StartMediaDownload(infra::BoundedExecutor& executor,
                                                       grpc::CallbackServerContext* ctx,
                                                       MediaDownloadLimits limits, std::string etag,
                                                       MediaOpener open) {
  return infra::StartCapped<HttpBody>(
      ctx, limits.open, limits.max_open, infra::BusyStatus(), "1", [&](std::atomic<int>* slot) {
        return new MediaDownload(executor, ctx, slot, std::move(etag), std::move(open));
      });
}

}  // namespace cityhub::requests
