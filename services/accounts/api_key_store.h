#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/redis/client.h"

// Partner API keys for Open311 POST, stored by the SHA-256 of the key only.
//
//   keys::ApiKey(id)                HASH name, hash, created_ms
//   keys::ApiKeyByHash(hash)        STRING id
//   keys::kApiKeys                  SET ids
namespace cityhub::accounts {

struct StoredApiKey {
  std::string id;
  std::string name;
  int64_t created_ms = 0;
};

class ApiKeyStore final {
 public:
  explicit ApiKeyStore(infra::redis::Client& redis);

  absl::Status Create(const StoredApiKey& key, std::string_view key_hash);
  absl::StatusOr<std::vector<StoredApiKey>> List();
  // NOT_FOUND when absent.
  absl::Status Delete(std::string_view id);
  // NOT_FOUND for unknown or revoked keys.
  absl::StatusOr<StoredApiKey> FindByHash(std::string_view key_hash);

 private:
  infra::redis::Client& redis_;
};

}  // namespace cityhub::accounts
