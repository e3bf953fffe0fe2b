#include "services/accounts/passwords.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cityhub::accounts {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(PasswordHasher, HashesWithArgon2idAtTheConfiguredCost) {
  PasswordHasher hasher({}, 2, std::chrono::seconds(5));
  auto hash = hasher.Hash("correct horse battery");
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_THAT(*hash, StartsWith("$argon2id$v=19$m=19456,t=2,p=1$"));
  EXPECT_NE(*hasher.Hash("correct horse battery"), *hash);  // salted
  EXPECT_TRUE(hasher.Verify(*hash, "correct horse battery").value());
  EXPECT_FALSE(hasher.Verify(*hash, "correct horse batterY").value());
  EXPECT_FALSE(hasher.Verify("not a hash", "x").value());
}

TEST(PasswordHasher, ReportsOldParametersForRehashing) {
  PasswordHasher old_cost({}, 1, std::chrono::seconds(5));
  PasswordHasher new_cost({Argon2Params::kMinMemoryKib, 3}, 1, std::chrono::seconds(5));
  const std::string hash = old_cost.Hash("correct horse battery").value();
  bool needs_rehash = false;
  EXPECT_TRUE(new_cost.Verify(hash, "correct horse battery", &needs_rehash).value());
  EXPECT_TRUE(needs_rehash);
  EXPECT_TRUE(old_cost.Verify(hash, "correct horse battery", &needs_rehash).value());
  EXPECT_FALSE(needs_rehash);
}

TEST(PasswordPolicy, EnforcesLengthCommonnessAndContext) {
  const auto check = [](std::string_view pw) {
    return CheckPasswordPolicy("password", pw, "anna.schmidt@example.de", "Anna Schmidt");
  };
  EXPECT_TRUE(check("Laterne-am-Jahnplatz-7").ok());
  EXPECT_THAT(std::string(check("short").message()), HasSubstr("password: shorter than 8"));
  EXPECT_THAT(std::string(check(std::string(129, 'a') + "b").message()),
              HasSubstr("longer than 128"));
  EXPECT_TRUE(check(std::string(127, 'a') + "b").ok());
  EXPECT_THAT(std::string(check("Passwort123").message()), HasSubstr("too common"));
  EXPECT_THAT(std::string(check("12345678").message()), HasSubstr("too common"));
  EXPECT_THAT(std::string(check("zzzzzzzzzz").message()), HasSubstr("repeated"));
  EXPECT_THAT(std::string(check("anna.schmidt").message()), HasSubstr("e-mail address or name"));
  EXPECT_THAT(std::string(check("anna schmidt").message()), HasSubstr("e-mail address or name"));
  EXPECT_THAT(std::string(check("bad\xFF\xFE utf8 pw").message()), HasSubstr("UTF-8"));
  EXPECT_EQ(check("").code(), absl::StatusCode::kInvalidArgument);
}

// ASVS: at least the 3 000 most common passwords that fit the policy are refused, in any case.
TEST(PasswordPolicy, RefusesThousandsOfLeakedPasswords) {
  EXPECT_GE(CommonPasswordCount(), 3000u);
  for (const char* leaked :
       {"corvette", "Samantha", "australi", "spiderman", "redsox12", "masamune", "!qaz2wsx"}) {
    EXPECT_TRUE(IsCommonPassword(leaked)) << leaked;
    EXPECT_THAT(std::string(CheckPasswordPolicy("new_password", leaked, "", "").message()),
                HasSubstr("new_password: too common"))
        << leaked;
  }
  EXPECT_FALSE(IsCommonPassword("Laterne-am-Jahnplatz-7"));
}

TEST(PasswordPolicy, CountsCharactersNotBytes) {
  // 8 characters, 16 bytes.
  EXPECT_TRUE(CheckPasswordPolicy("password", "äöüßäöüX", "", "").ok());
}

}  // namespace
}  // namespace cityhub::accounts
