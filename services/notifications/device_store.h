#pragma once

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cityhub/storage/notifications.pb.h"
#include "infra/redis/client.h"

// The push devices of an account (keys.h).
namespace cityhub::notifications {

using cityhub::storage::notifications::StoredDevice;

class DeviceStore final {
 public:
  explicit DeviceStore(infra::redis::Client& redis) : redis_(redis) {}

  static constexpr int kMaxDevices = 20;
  // RESOURCE_EXHAUSTED beyond kMaxDevices; a token registered again replaces its old entry;
  // PERMISSION_DENIED when the account was deleted meanwhile.
  absl::Status AddDevice(std::string_view account, const StoredDevice& device);
  // Ordered by id.
  absl::StatusOr<std::vector<StoredDevice>> Devices(std::string_view account);
  // NOT_FOUND when absent.
  absl::Status RemoveDevice(std::string_view account, std::string_view device_id);
  absl::StatusOr<bool> HasDevice(std::string_view account, std::string_view device_id);

  // The devices in an HVALS reply, ordered by id (damaged entries left out).
  static std::vector<StoredDevice> Parse(const infra::redis::Reply& values);

 private:
  infra::redis::Client& redis_;
};

}  // namespace cityhub::notifications
