#pragma once

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
//   requests:media:{sha256 hex}   STRING StoredMedia
namespace cityhub::requests {

using cityhub::storage::requests::StoredMedia;

struct MediaFile {
  StoredMedia meta;
  std::string data;
};

class MediaStore final {
 public:
  MediaStore(infra::redis::Client& redis, std::string directory);

  // Stores `data` and returns its id (the SHA-256 hex). Storing the same bytes twice gives the
  // same id and one file.
  absl::StatusOr<std::string> Put(std::string_view data, const StoredMedia& meta);
  // NOT_FOUND for unknown ids.
  absl::StatusOr<MediaFile> Get(std::string_view id);
  // Which of `ids` exist.
  absl::StatusOr<std::vector<bool>> Exist(const std::vector<std::string>& ids);

 private:
  std::string PathOf(std::string_view id) const;

  infra::redis::Client& redis_;
  std::string directory_;
};

// Whether `id` has the form of a media id (64 lower-case hex digits).
bool IsMediaId(std::string_view id);

}  // namespace cityhub::requests
