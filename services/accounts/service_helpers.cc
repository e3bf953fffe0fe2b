#include "services/accounts/service_helpers.h"

#include <google/protobuf/util/time_util.h>

#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::accounts {

using infra::InvalidField;
using infra::StrCat;

google::protobuf::Timestamp Millis(int64_t ms) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(ms);
}

std::string TokenHash(std::string_view token) { return infra::HexEncode(infra::Sha256(token)); }

void ToProto(const StoredAccount& a, v1::Account* out) {
  out->set_account_id(a.id);
  out->set_email(a.email);
  out->set_email_verified(a.verified);
  out->set_display_name(a.display_name);
  out->set_language(a.language);
  out->set_phone(a.phone);
  for (const auto& r : a.roles) out->add_roles(r);
  for (const auto& d : a.departments) out->add_departments(d);
  *out->mutable_created_at() = Millis(a.created_ms);
  *out->mutable_updated_at() = Millis(a.updated_ms);
}

std::string ClientIp(std::string_view address) {
  if (address.starts_with("ipv4:")) {
    address.remove_prefix(5);
    return std::string(address.substr(0, address.rfind(':')));
  }
  if (address.starts_with("ipv6:")) {
    address.remove_prefix(5);
    if (address.starts_with("[")) return std::string(address.substr(1, address.find(']') - 1));
  }
  return std::string(address);
}

std::string TruncatedAddress(const std::string& ip) {
  if (ip.find(':') == std::string::npos) {
    const size_t last = ip.rfind('.');
    return last == std::string::npos ? std::string("unknown") : ip.substr(0, last) + ".0/24";
  }
  size_t pos = 0;
  for (int groups = 0; groups < 3 && pos != std::string::npos; ++groups) {
    pos = ip.find(':', pos == 0 ? 0 : pos + 1);
  }
  return pos == std::string::npos ? ip + "/48" : ip.substr(0, pos) + "::/48";
}

absl::Status CheckMailToken(std::string_view token) {
  if (token.empty()) return InvalidField("token", "must not be empty");
  if (token.size() != kSecretLength || !infra::Base64UrlDecode(token)) {
    return absl::NotFoundError("token: unknown, used or expired");
  }
  return absl::OkStatus();
}

absl::Status CheckPasswordLength(std::string_view field, std::string_view password) {
  constexpr size_t kMaxCharacters = 128;
  constexpr std::string_view kTooLong = "longer than 128 characters";
  if (password.empty()) return InvalidField(field, "must not be empty");
  // More than 4 bytes a character cannot be within the limit: spares the scan.
  if (password.size() > 4 * kMaxCharacters) return InvalidField(field, kTooLong);
  if (!infra::IsValidUtf8(password)) return InvalidField(field, "not valid UTF-8");
  if (infra::Utf8Length(password) > kMaxCharacters) return InvalidField(field, kTooLong);
  return absl::OkStatus();
}

absl::Status Throttled(std::string_view what, int64_t wait_ms) {
  return absl::ResourceExhaustedError(
      StrCat(what, "; try again in ", (wait_ms + 999) / 1000, " s"));
}

void Release(ThrottleStore& throttle, const ThrottleReservation& attempt) {
  if (auto s = throttle.Release(attempt); !s.ok()) {
    infra::log::Warn("throttle_release_failed", {{"error", s.message()}});
  }
}

}  // namespace cityhub::accounts
