#include "services/notifications/device_store.h"

#include <algorithm>
#include <string>

#include "infra/status.h"
#include "infra/strings.h"
#include "services/notifications/keys.h"

namespace cityhub::notifications {

using infra::redis::Reply;
using infra::redis::Script;

std::vector<StoredDevice> DeviceStore::Parse(const Reply& values) {
  std::vector<StoredDevice> out;
  for (const Reply& r : values.elements()) {
    StoredDevice d;
    if (d.ParseFromString(r.str())) out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id() < b.id(); });
  return out;
}

absl::Status DeviceStore::AddDevice(std::string_view account, const StoredDevice& device) {
  // KEYS: devices, gone marker. ARGV: device id, data, token, max, prefix of the stored token
  // field.
  static const Script script(infra::StrCat(keys::kRefuseGoneLua, R"lua(
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
  return redis.error_reply('RESOURCE_EXHAUSTED push_token: at most ' .. ARGV[4] .. ' devices per account')
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
)lua"));
  // The same token again (an app reinstalled, a refresh) replaces the older entry.
  ASSIGN_OR_RETURN(const std::vector<StoredDevice> existing, Devices(account));
  for (const auto& d : existing) {
    if (d.token() == device.token() && d.id() != device.id()) (void)RemoveDevice(account, d.id());
  }
  return redis_
      .Eval(script, {keys::Devices(account), keys::Gone(account)},
            {device.id(), device.SerializeAsString(), device.token(), std::to_string(kMaxDevices),
             ""})
      .status();
}

absl::StatusOr<std::vector<StoredDevice>> DeviceStore::Devices(std::string_view account) {
  ASSIGN_OR_RETURN(const Reply reply, redis_.Command({"HVALS", keys::Devices(account)}));
  return Parse(reply);
}

absl::Status DeviceStore::RemoveDevice(std::string_view account, std::string_view device_id) {
  ASSIGN_OR_RETURN(const int64_t removed,
                   infra::redis::AsInteger(
                       redis_.Command({"HDEL", keys::Devices(account), std::string(device_id)})));
  if (removed == 0) return absl::NotFoundError("device not found");
  return absl::OkStatus();
}

absl::StatusOr<bool> DeviceStore::HasDevice(std::string_view account, std::string_view device_id) {
  ASSIGN_OR_RETURN(const int64_t exists,
                   infra::redis::AsInteger(redis_.Command(
                       {"HEXISTS", keys::Devices(account), std::string(device_id)})));
  return exists == 1;
}

}  // namespace cityhub::notifications
