#include "services/accounts/metrics.h"

#include <string>

#include <gtest/gtest.h>

namespace cityhub::accounts {
namespace {

TEST(AccountsMetricsTest, EachEventMovesItsOwnCounter) {
  infra::MetricsRegistry registry;
  AccountsMetrics metrics(registry);
  metrics.SignedUp();
  metrics.SignIn(SignInOutcome::kOk);
  metrics.SignIn(SignInOutcome::kBadCredentials);
  metrics.SignIn(SignInOutcome::kBadCredentials);
  metrics.SignIn(SignInOutcome::kThrottled);
  metrics.TokenIssued(TokenPurpose::kSignIn);
  metrics.TokenIssued(TokenPurpose::kRefresh);
  metrics.TokenIssued(TokenPurpose::kEmailVerification);
  metrics.TokenIssued(TokenPurpose::kPasswordReset);
  metrics.TokenIssued(TokenPurpose::kApiKey);
  metrics.TokenIssued(TokenPurpose::kApiKey);
  metrics.Deleted();

  EXPECT_EQ(registry.AddCounter("accounts_sign_ups_total", "").Get().Value(), 1);
  EXPECT_EQ(registry.AddCounter("accounts_deletions_total", "").Get().Value(), 1);
  auto& sign_ins = registry.AddCounter("accounts_sign_ins_total", "", {"outcome"});
  EXPECT_EQ(sign_ins.WithLabels({"ok"}).Value(), 1);
  EXPECT_EQ(sign_ins.WithLabels({"bad_credentials"}).Value(), 2);
  EXPECT_EQ(sign_ins.WithLabels({"throttled"}).Value(), 1);
  auto& tokens = registry.AddCounter("accounts_tokens_issued_total", "", {"purpose"});
  EXPECT_EQ(tokens.WithLabels({"sign_in"}).Value(), 1);
  EXPECT_EQ(tokens.WithLabels({"refresh"}).Value(), 1);
  EXPECT_EQ(tokens.WithLabels({"email_verification"}).Value(), 1);
  EXPECT_EQ(tokens.WithLabels({"password_reset"}).Value(), 1);
  EXPECT_EQ(tokens.WithLabels({"api_key"}).Value(), 2);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("accounts_sign_ins_total{outcome=\"bad_credentials\"} 2"), std::string::npos)
      << text;
}

TEST(AccountsMetricsTest, EveryLabelIsDeclaredAtStartWithZero) {
  infra::MetricsRegistry registry;
  AccountsMetrics metrics(registry);
  const std::string text = registry.Render();
  for (const char* line : {"accounts_sign_ins_total{outcome=\"throttled\"} 0",
                           "accounts_tokens_issued_total{purpose=\"api_key\"} 0",
                           "accounts_sign_ups_total 0", "accounts_deletions_total 0"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
}

}  // namespace
}  // namespace cityhub::accounts
