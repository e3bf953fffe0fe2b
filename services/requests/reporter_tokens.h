#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "infra/clock.h"

// The tokens of the links mailed to a request's reporter (#14, part C): confirm the address,
// unsubscribe, give feedback. Each is bound by an HMAC-SHA256 under the service's secret to one
// request, one purpose and an expiry, and stored nowhere (docs/design.md "Reporter tokens"):
//
//   <request id>.<purpose letter><expiry, Unix seconds>.<base64url of the first 24 MAC bytes>
//
// "Single use" is the request's state: a confirm token does nothing once the address is
// confirmed, an unsubscribe token once mails have stopped, a feedback token once feedback is
// given. Rotating the secret invalidates every link mailed before.
namespace cityhub::requests {

enum class TokenPurpose : char { kConfirm = 'c', kUnsubscribe = 'u', kFeedback = 'f' };

class ReporterTokens final {
 public:
  // `secret` should be 32 random bytes or more (CITYHUB_REPORTER_TOKEN_SECRET_FILE).
  explicit ReporterTokens(std::string secret) : secret_(std::move(secret)) {}

  std::string Issue(std::string_view request_id, TokenPurpose purpose,
                    infra::Clock::time_point expires) const;
  // The request id the token was issued for; NOT_FOUND with one message for a malformed,
  // forged, expired or other-purpose token, so that the answer never tells which.
  absl::StatusOr<std::string> Check(std::string_view token, TokenPurpose purpose,
                                    infra::Clock::time_point now) const;

  // The one message of every refused token (also for tokens the request's state has spent).
  static constexpr char kRefused[] = "token: unknown, spent or expired";

 private:
  std::string Mac(std::string_view payload) const;
  std::string secret_;
};

}  // namespace cityhub::requests
