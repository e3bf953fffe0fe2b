#include "services/notifications/preferences_store.h"

#include "infra/status.h"
#include "infra/strings.h"
#include "services/notifications/keys.h"

namespace cityhub::notifications {

using infra::redis::Reply;
using infra::redis::Script;

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
  // KEYS: preferences, gone marker. ARGV: data.
  static const Script script(infra::StrCat(keys::kRefuseGoneLua, R"lua(
redis.call('SET', KEYS[1], ARGV[1])
return 1
)lua"));
  return redis_
      .Eval(script, {keys::Preferences(account), keys::Gone(account)}, {prefs.SerializeAsString()})
      .status();
}

}  // namespace cityhub::notifications
