#include "services/requests/catalogue_store.h"

#include <algorithm>

#include "infra/strings.h"
#include "services/requests/keys.h"

namespace cityhub::requests {

using infra::StrCat;
using infra::redis::Script;

namespace {

const Script& PutScript() {
  // KEYS: service, index. ARGV: data, code, mode ("create" or "update").
  static const Script script(R"lua(
local exists = redis.call('EXISTS', KEYS[1]) == 1
if ARGV[3] == 'create' and exists then
  return redis.error_reply('ALREADY_EXISTS service_code: already in the catalogue')
end
if ARGV[3] == 'update' and not exists then
  return redis.error_reply('NOT_FOUND service_code: not in the catalogue')
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
)lua");
  return script;
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
  return redis_
      .Eval(PutScript(),
            {keys::Service(service.jurisdiction_id(), service.code()),
             keys::Services(service.jurisdiction_id())},
            {service.SerializeAsString(), service.code(), "create"})
      .status();
}

absl::Status CatalogueStore::Update(const StoredService& service) {
  return redis_
      .Eval(PutScript(),
            {keys::Service(service.jurisdiction_id(), service.code()),
             keys::Services(service.jurisdiction_id())},
            {service.SerializeAsString(), service.code(), "update"})
      .status();
}

}  // namespace cityhub::requests
