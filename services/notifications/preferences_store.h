#pragma once

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cityhub/storage/notifications.pb.h"
#include "infra/redis/client.h"

// An account's notification preferences (keys.h).
namespace cityhub::notifications {

using cityhub::storage::notifications::StoredPreferences;

class PreferencesStore final {
 public:
  explicit PreferencesStore(infra::redis::Client& redis) : redis_(redis) {}

  // nullopt when the account never set any; DATA_LOSS when the stored value is damaged.
  absl::StatusOr<std::optional<StoredPreferences>> Preferences(std::string_view account);
  // PERMISSION_DENIED when the account was deleted meanwhile.
  absl::Status SetPreferences(std::string_view account, const StoredPreferences& prefs);

  // The preferences in a GET reply (nil: never set).
  static absl::StatusOr<std::optional<StoredPreferences>> Parse(const infra::redis::Reply& data);

 private:
  infra::redis::Client& redis_;
};

}  // namespace cityhub::notifications
