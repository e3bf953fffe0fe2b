#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cityhub/storage/notifications.pb.h"
#include "infra/redis/client.h"

// The delivery queue (keys.h): job ids by due time, the jobs, each account's jobs (for erasure)
// and the dead letters. A taken job is pushed a lease ahead, so a worker that dies holding it
// loses only its lease: the job comes due again.
namespace cityhub::notifications {

using cityhub::storage::notifications::StoredJob;

struct ClaimedJob {
  std::string id;
  std::string data;  // a StoredJob
};

class JobQueueStore final {
 public:
  explicit JobQueueStore(infra::redis::Client& redis) : redis_(redis) {}

  // The first job due at `now_ms`, pushed `lease` ahead; nullopt when none is due. A queue entry
  // whose job is gone (erased with its account) is dropped on the way.
  absl::StatusOr<std::optional<ClaimedJob>> Claim(int64_t now_ms, std::chrono::milliseconds lease);
  // Removes the job, and from `account`'s jobs unless nullopt (a job too damaged to name one).
  absl::Status Drop(std::string_view id, std::optional<std::string_view> account);
  // Writes the job back, due at `due_ms`, only if it is still there: a job erased during the
  // attempt must not bring its address or token back.
  absl::Status Retry(std::string_view id, const StoredJob& job, int64_t due_ms);
  // Moves the job to the dead letters with its reason (ids only, no personal data).
  absl::Status GiveUp(std::string_view id, const StoredJob& job, std::string_view channel,
                      std::string_view reason);

 private:
  infra::redis::Client& redis_;
};

}  // namespace cityhub::notifications
