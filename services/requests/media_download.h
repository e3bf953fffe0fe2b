#pragma once

#include <atomic>
#include <functional>
#include <string>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/status/statusor.h"
#include "cityhub/api/annotations.pb.h"
#include "infra/executor.h"
#include "services/requests/media_store.h"

// GetMedia as a stream: a photo leaves in pieces of kMediaChunkBytes, one piece read (on the
// executor: file reads block) only after gRPC took the previous one, so that a download holds
// one piece however large the photo and however slowly its client reads. A cap on the downloads
// open at once is the second line of defence: past it, RESOURCE_EXHAUSTED with retry-after.
namespace cityhub::requests {

// Opens the photo a call asks for (authorization and id checks included); runs on the executor.
using MediaOpener = std::function<absl::StatusOr<MediaFile>()>;

struct MediaDownloadLimits {
  // Downloads open at once in this process.
  int max_open = 256;
  // Their number now (shared by every call).
  std::atomic<int>* open = nullptr;
};

// Starts the download of the photo `open` returns, with `etag` as its validator. The first
// message carries content type, length and etag; the reactor deletes itself when done.
grpc::ServerWriteReactor<cityhub::api::HttpBody>* StartMediaDownload(
    infra::BoundedExecutor& executor, grpc::CallbackServerContext* ctx, MediaDownloadLimits limits,
    std::string etag, MediaOpener open);

}  // namespace cityhub::requests
