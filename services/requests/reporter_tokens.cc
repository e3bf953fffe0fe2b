#include "services/requests/reporter_tokens.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

#include "infra/ids.h"
#include "infra/strings.h"

namespace cityhub::requests {

namespace {

constexpr size_t kMacBytes = 24;

int64_t UnixSeconds(infra::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string ReporterTokens::Mac(std::string_view payload) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const std::string data = infra::StrCat("cityhub-reporter-token-v1|", payload);
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return infra::Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(out), std::min<size_t>(len, kMacBytes)));
}

std::string ReporterTokens::Issue(std::string_view request_id, TokenPurpose purpose,
                                  infra::Clock::time_point expires) const {
  const std::string payload = infra::StrCat(
      request_id, ".", std::string(1, static_cast<char>(purpose)), UnixSeconds(expires));
  return infra::StrCat(payload, ".", Mac(payload));
}

absl::StatusOr<std::string> ReporterTokens::Check(std::string_view token, TokenPurpose purpose,
                                                  infra::Clock::time_point now) const {
  const absl::Status refused = absl::NotFoundError(kRefused);
  const size_t first = token.find('.');
  const size_t last = token.rfind('.');
  if (first == std::string_view::npos || last == first || last + 1 >= token.size()) return refused;
  const std::string_view id = token.substr(0, first);
  const std::string_view middle = token.substr(first + 1, last - first - 1);
  if (!infra::IsUlid(id) || middle.size() < 2 || middle[0] != static_cast<char>(purpose)) {
    return refused;
  }
  int64_t expires = 0;
  const auto [end, ec] = std::from_chars(middle.data() + 1, middle.data() + middle.size(), expires);
  if (ec != std::errc() || end != middle.data() + middle.size()) return refused;
  if (!infra::ConstantTimeEquals(Mac(token.substr(0, last)), token.substr(last + 1))) {
    return refused;
  }
  if (expires <= UnixSeconds(now)) return refused;
  return std::string(id);
}

}  // namespace cityhub::requests
