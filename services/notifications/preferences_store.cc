#include "services/notifications/preferences_store.h"

#include "infra/redis/transaction.h"
#include "infra/status.h"
#include "services/notifications/keys.h"

namespace cityhub::notifications {

using infra::redis::Reply;

absl::StatusOr<std::optional<StoredPreferences>> PreferencesStore::Parse(const Reply& data) {
  if (data.is_nil()) return std::optional<StoredPreferences>();
  StoredPreferences p;
  if (!p.ParseFromString(data.str())) return absl::DataLossError("stored preferences damaged");
  return std::optional<StoredPreferences>(std::move(p));
}

absl::StatusOr<std::optional<StoredPreferences>> PreferencesStore::Preferences(
    std::string_view account) {
  ASSIGN_OR_RETURN(const Reply data, redis_.Command({"GET", keys::Preferences(account)}));
  return Parse(data);
}

absl::Status PreferencesStore::SetPreferences(std::string_view account,
                                              const StoredPreferences& prefs) {
  // Refused, as by keys::kRefuseGoneLua, once the account's deletion marker is set: a write that
  // lost the race with the erasure must not survive it.
  infra::redis::Transaction tx;
  tx.RequireEqual({"EXISTS", keys::Gone(account)}, "0",
                  "PERMISSION_DENIED this account was deleted")
      .Then({"SET", keys::Preferences(account), prefs.SerializeAsString()});
  return tx.Run(redis_).status();
}

}  // namespace cityhub::notifications
