#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cityhub/requests/v1/requests.pb.h"
#include "infra/clock.h"
#include "services/requests/catalogue_store.h"

namespace cityhub::requests {

// The API form of a category (names in `language`, "de" or "en") from its stored form.
cityhub::requests::v1::Service ServiceToApi(const StoredService& s, std::string_view language);

// The stored form of a category from its API form, validated: INVALID_ARGUMENT naming the
// field (service_code, names.de, attributes[2].values, ...).
absl::StatusOr<StoredService> ServiceFromApi(const cityhub::requests::v1::Service& s,
                                             std::string_view jurisdiction);

// Whether `code` is a valid service code: 1..64 characters of [A-Za-z0-9_.-].
bool IsServiceCode(std::string_view code);

// An in-process cache of the catalogue: request reads need a category's name and department
// on every call, and the catalogue changes rarely. Entries are re-read from Redis when older
// than `ttl` (so other replicas' changes arrive within it) or when invalidated here.
class Catalogue final {
 public:
  Catalogue(CatalogueStore& store, std::chrono::milliseconds ttl);

  // NOT_FOUND "service_code: ..." for unknown codes.
  absl::StatusOr<std::shared_ptr<const StoredService>> Find(std::string_view jurisdiction,
                                                            std::string_view code);
  absl::StatusOr<std::vector<std::shared_ptr<const StoredService>>> All(
      std::string_view jurisdiction);
  // Without touching Redis (for threads that must not block): the category when the
  // jurisdiction's entry is loaded and younger than the ttl (a null pointer when the code is
  // not in it), nullopt when only Find could tell.
  std::optional<std::shared_ptr<const StoredService>> Cached(std::string_view jurisdiction,
                                                             std::string_view code);
  void Invalidate(std::string_view jurisdiction);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point loaded;
    std::map<std::string, std::shared_ptr<const StoredService>, std::less<>> services;
  };
  absl::StatusOr<std::shared_ptr<const Entry>> Load(std::string_view jurisdiction);

  CatalogueStore& store_;
  std::chrono::milliseconds ttl_;
  std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const Entry>, std::less<>> entries_;
};

}  // namespace cityhub::requests
