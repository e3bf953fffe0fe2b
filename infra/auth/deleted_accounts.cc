#include "infra/auth/deleted_accounts.h"

#include "infra/ids.h"
#include "infra/log.h"
#include "infra/strings.h"

namespace cityhub::infra::auth {

DeletedAccounts::DeletedAccounts(redis::Client& redis, std::string service)
    : redis_(redis), service_(std::move(service)) {}

std::string DeletedAccounts::Key(std::string_view service, std::string_view account) {
  return StrCat(service, ":gone:{", HexEncode(Sha256(account)).substr(0, 32), "}");
}

redis::Args DeletedAccounts::MarkArgs(std::string_view service, std::string_view account) {
  return {"SET", Key(service, account), "1", "EX", std::to_string(kTtlSeconds)};
}

absl::Status DeletedAccounts::CheckNotDeleted(std::string_view account) const {
  auto exists = redis::AsInteger(redis_.Command({"EXISTS", Key(service_, account)}));
  if (!exists.ok()) {
    log::Warn("deleted_check_failed", {{"error", std::string(exists.status().message())}});
    return absl::UnavailableError("cannot check the account now, try again");
  }
  if (*exists != 0) return absl::UnauthenticatedError("this account was deleted");
  return absl::OkStatus();
}

}  // namespace cityhub::infra::auth
