#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cityhub/storage/requests.pb.h"
#include "infra/redis/client.h"

// Photos, content-addressed: the bytes (after metadata stripping) live in a file named by
// their SHA-256 under the media directory (a volume in Kubernetes); the metadata in Redis.
//
//   <media dir>/<first two hex digits>/<sha256 hex>
// (the Redis key is in keys.h).
namespace cityhub::requests {

using cityhub::storage::requests::StoredMedia;

// The pieces a photo is read and sent in: what one download holds at a time.
inline constexpr size_t kMediaChunkBytes = 64 * 1024;

// An open photo, read piece by piece (a download holds one piece, never the whole photo).
// Move-only; closes its file.
class MediaFile final {
 public:
  MediaFile(StoredMedia meta, int fd, int64_t size)
      : meta_(std::move(meta)), fd_(fd), size_(size) {}
  MediaFile(MediaFile&& other) noexcept;
  MediaFile& operator=(MediaFile&&) = delete;
  MediaFile(const MediaFile&) = delete;
  ~MediaFile();

  const StoredMedia& meta() const { return meta_; }
  // The file's size in bytes.
  int64_t size() const { return size_; }
  // Up to `max` bytes from `offset` (fewer only at the end). Blocks on the file: run it on an
  // executor. DATA_LOSS when the file is shorter than it was when opened.
  absl::StatusOr<std::string> Read(int64_t offset, size_t max) const;

 private:
  StoredMedia meta_;
  int fd_ = -1;
  int64_t size_ = 0;
};

class MediaStore final {
 public:
  MediaStore(infra::redis::Client& redis, std::string directory);

  // Stores `data` and returns its id (the SHA-256 hex). Storing the same bytes twice gives the
  // same id and one file.
  absl::StatusOr<std::string> Put(std::string_view data, const StoredMedia& meta);
  // The photo's metadata and its open file; NOT_FOUND for unknown ids.
  absl::StatusOr<MediaFile> Open(std::string_view id);
  // Which of `ids` exist.
  absl::StatusOr<std::vector<bool>> Exist(const std::vector<std::string>& ids);
  // Which of `ids` staff hid (moderation): those are served to staff only. A hidden photo stays
  // hidden for every request that shows it, and uploading the same bytes again does not undo it.
  absl::StatusOr<std::vector<bool>> Hidden(const std::vector<std::string>& ids);
  // The command that hides photo `id`, for the transaction that records the moderation.
  static infra::redis::Args HideCommand(std::string_view id);

 private:
  std::string PathOf(std::string_view id) const;

  infra::redis::Client& redis_;
  std::string directory_;
};

// Whether `id` has the form of a media id (64 lower-case hex digits).
bool IsMediaId(std::string_view id);

}  // namespace cityhub::requests
