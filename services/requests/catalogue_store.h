#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cityhub/storage/requests.pb.h"
#include "infra/redis/client.h"

// The service catalogue in Redis (a StoredService per category and a set of the codes of each
// jurisdiction; keys.h).
namespace cityhub::requests {

using cityhub::storage::requests::StoredService;

class CatalogueStore final {
 public:
  explicit CatalogueStore(infra::redis::Client& redis);

  absl::StatusOr<std::vector<StoredService>> List(std::string_view jurisdiction);
  // NOT_FOUND when absent.
  absl::StatusOr<StoredService> Get(std::string_view jurisdiction, std::string_view code);
  // ALREADY_EXISTS when the code is taken.
  absl::Status Create(const StoredService& service);
  // NOT_FOUND when absent.
  absl::Status Update(const StoredService& service);

 private:
  infra::redis::Client& redis_;
};

}  // namespace cityhub::requests
