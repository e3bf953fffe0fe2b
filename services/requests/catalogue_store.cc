#include "services/requests/catalogue_store.h"

#include <algorithm>

#include "infra/redis/transaction.h"
#include "services/requests/keys.h"

namespace cityhub::requests {

namespace {

// Writes the service and indexes its code, once `exists` (EXISTS of the service's key, "0" or
// "1") has been checked with `error` as the answer when it does not hold.
absl::Status Put(infra::redis::Client& redis, const StoredService& service, std::string_view exists,
                 std::string error) {
  const std::string key = keys::Service(service.jurisdiction_id(), service.code());
  infra::redis::Transaction tx;
  tx.RequireEqual({"EXISTS", key}, std::string(exists), std::move(error))
      .Then({"SET", key, service.SerializeAsString()})
      .Then({"SADD", keys::Services(service.jurisdiction_id()), service.code()});
  return tx.Run(redis).status();
}

}  // namespace

CatalogueStore::CatalogueStore(infra::redis::Client& redis) : redis_(redis) {}

absl::StatusOr<std::vector<StoredService>> CatalogueStore::List(std::string_view jurisdiction) {
  auto codes = redis_.Command({"SMEMBERS", keys::Services(jurisdiction)});
  if (!codes.ok()) return codes.status();
  std::vector<infra::redis::Args> gets;
  for (const auto& c : codes->elements())
    gets.push_back({"GET", keys::Service(jurisdiction, c.str())});
  auto replies = redis_.Pipeline(gets);
  if (!replies.ok()) return replies.status();
  std::vector<StoredService> out;
  for (const auto& r : *replies) {
    if (r.is_nil() || r.is_error()) continue;
    StoredService s;
    if (s.ParseFromString(r.str())) out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const StoredService& a, const StoredService& b) {
    return std::tie(a.group(), a.name_de(), a.code()) < std::tie(b.group(), b.name_de(), b.code());
  });
  return out;
}

absl::StatusOr<StoredService> CatalogueStore::Get(std::string_view jurisdiction,
                                                  std::string_view code) {
  auto data = infra::redis::AsString(redis_.Command({"GET", keys::Service(jurisdiction, code)}));
  if (!data.ok()) {
    if (data.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError("service_code: not in the catalogue");
    }
    return data.status();
  }
  StoredService s;
  if (!s.ParseFromString(*data)) return absl::DataLossError("stored service is damaged");
  return s;
}

absl::Status CatalogueStore::Create(const StoredService& service) {
  return Put(redis_, service, "0", "ALREADY_EXISTS service_code: already in the catalogue");
}

absl::Status CatalogueStore::Update(const StoredService& service) {
  return Put(redis_, service, "1", "NOT_FOUND service_code: not in the catalogue");
}

}  // namespace cityhub::requests
