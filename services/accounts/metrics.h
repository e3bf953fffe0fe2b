#pragma once

#include <array>
#include <cstddef>

#include "infra/metrics.h"

// The accounts service's domain metrics, declared together. Labels are bounded and carry no
// personal data: an outcome and a purpose are the enums below, nothing about who.
namespace cityhub::accounts {

enum class SignInOutcome : size_t { kOk, kBadCredentials, kThrottled };
// What a token was issued for: a new session's token pair (sign-in), the next pair of a
// session (refresh), a mailed e-mail verification or password reset token, a partner API key.
enum class TokenPurpose : size_t { kSignIn, kRefresh, kEmailVerification, kPasswordReset, kApiKey };

class AccountsMetrics final {
 public:
  explicit AccountsMetrics(infra::MetricsRegistry& registry)
      : sign_ups_(registry.AddCounter("accounts_sign_ups_total", "Accounts registered").Get()),
        deletions_(
            registry.AddCounter("accounts_deletions_total", "Accounts deleted by their holder")
                .Get()) {
    auto& sign_ins =
        registry.AddCounter("accounts_sign_ins_total", "Sign-in attempts by outcome", {"outcome"});
    sign_ins_ = {&sign_ins.WithLabels({"ok"}), &sign_ins.WithLabels({"bad_credentials"}),
                 &sign_ins.WithLabels({"throttled"})};
    auto& tokens = registry.AddCounter("accounts_tokens_issued_total", "Tokens issued by purpose",
                                       {"purpose"});
    tokens_ = {&tokens.WithLabels({"sign_in"}), &tokens.WithLabels({"refresh"}),
               &tokens.WithLabels({"email_verification"}), &tokens.WithLabels({"password_reset"}),
               &tokens.WithLabels({"api_key"})};
  }

  void SignedUp() { sign_ups_.Inc(); }
  void SignIn(SignInOutcome outcome) { sign_ins_[static_cast<size_t>(outcome)]->Inc(); }
  void TokenIssued(TokenPurpose purpose) { tokens_[static_cast<size_t>(purpose)]->Inc(); }
  void Deleted() { deletions_.Inc(); }

 private:
  infra::Counter& sign_ups_;
  infra::Counter& deletions_;
  std::array<infra::Counter*, 3> sign_ins_{};
  std::array<infra::Counter*, 5> tokens_{};
};

}  // namespace cityhub::accounts
