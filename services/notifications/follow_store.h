#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "infra/redis/client.h"

// Who hears of what: the followers of requests and the operators of departments (keys.h).
namespace cityhub::notifications {

// Who an event may concern: followers or operators, and the webhook subscriptions.
struct Audience {
  std::vector<std::string> accounts;
  std::vector<std::string> webhook_ids;
};

class FollowStore final {
 public:
  explicit FollowStore(infra::redis::Client& redis) : redis_(redis) {}

  // The followers of a request and/or the operators of a department (either may be empty), and
  // every webhook id: one round trip.
  absl::StatusOr<Audience> AudienceOf(std::string_view followers_of, std::string_view operators_of);

  absl::StatusOr<std::vector<std::string>> Followers(std::string_view request_id);
  absl::StatusOr<std::vector<std::string>> Operators(std::string_view department);
  // Whether the request's anonymous reporter is to hear of its changes by mail (#14), and the
  // command (for EventEffects::extra) that records it or ends it.
  absl::StatusOr<bool> HasReporter(std::string_view request_id);
  static infra::redis::Args ReporterCommand(std::string_view request_id, bool on);

  // Makes `departments` the operator's departments (empty: none); a deleted account gets none.
  absl::Status SetDepartments(std::string_view account,
                              const std::vector<std::string>& departments);

  // A command for EventEffects::extra (event_store.h), which also indexes the account's side.
  static infra::redis::Args FollowCommand(std::string_view request, std::string_view account,
                                          bool follow);

 private:
  absl::StatusOr<std::vector<std::string>> Members(const std::string& key);

  infra::redis::Client& redis_;
};

}  // namespace cityhub::notifications
