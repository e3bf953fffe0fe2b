#include "services/accounts/validation.h"

#include <gtest/gtest.h>

namespace cityhub::accounts {
namespace {

TEST(NormalizeEmail, TrimsAndLowerCasesTheDomainButKeysOnTheWholeAddress) {
  auto e = NormalizeEmail("email", "  Anna.Schmidt@Example.DE \n");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->display, "Anna.Schmidt@example.de");
  EXPECT_EQ(e->key, "anna.schmidt@example.de");
}

TEST(NormalizeEmail, AcceptsCommonForms) {
  for (const char* ok : {"a@b.de", "first.last+tag@sub.example.org", "x_y-z@mail-server.co.uk"}) {
    EXPECT_TRUE(NormalizeEmail("email", ok).ok()) << ok;
  }
}

TEST(NormalizeEmail, RejectsMalformedAddressesNamingTheField) {
  for (const std::string& bad : std::vector<std::string>{
           "", "   ", "plain", "@example.de", "a@", "a@b", "a@-b.de", "a@b..de", "a b@c.de",
           "a\"b@c.de", ".a@b.de", "a..b@c.de", "ä@b.de", std::string(65, 'a') + "@b.de",
           "a@" + std::string(250, 'b') + ".de", std::string("a\0b@c.de", 8)}) {
    auto e = NormalizeEmail("email", bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(std::string(e.status().message()).starts_with("email: ")) << e.status();
  }
}

TEST(ValidateDisplayName, TrimsAndLimits) {
  EXPECT_EQ(ValidateDisplayName("  Jürgen Müller ").value(), "Jürgen Müller");
  EXPECT_FALSE(ValidateDisplayName("").ok());
  EXPECT_FALSE(ValidateDisplayName(std::string(81, 'x')).ok());
  EXPECT_TRUE(ValidateDisplayName(std::string(80, 'x')).ok());
  EXPECT_FALSE(ValidateDisplayName("bad\xFF").ok());
  EXPECT_FALSE(ValidateDisplayName("new\nline").ok());
}

TEST(ValidateLanguage, AcceptsGermanAndEnglishOnly) {
  EXPECT_EQ(ValidateLanguage("").value(), "de");
  EXPECT_EQ(ValidateLanguage("en").value(), "en");
  auto fr = ValidateLanguage("fr");
  EXPECT_EQ(fr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::string(fr.status().message()).starts_with("language: "));
}

TEST(ValidatePhone, AcceptsDigitsWithOptionalPlus) {
  EXPECT_EQ(ValidatePhone("+49 521 51-0").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidatePhone("+49 521 510").value(), "+49 521 510");
  EXPECT_EQ(ValidatePhone("").value(), "");
  EXPECT_FALSE(ValidatePhone("1234").ok());
  EXPECT_FALSE(ValidatePhone("12+345678").ok());
  EXPECT_FALSE(ValidatePhone(std::string(21, '1')).ok());
}

TEST(IsValidDepartment, AllowsSlugsOnly) {
  EXPECT_TRUE(IsValidDepartment("streets"));
  EXPECT_TRUE(IsValidDepartment("parks-and-trees_2"));
  EXPECT_FALSE(IsValidDepartment(""));
  EXPECT_FALSE(IsValidDepartment("Streets"));
  EXPECT_FALSE(IsValidDepartment("a,b"));
  EXPECT_FALSE(IsValidDepartment(std::string(65, 'a')));
}

}  // namespace
}  // namespace cityhub::accounts
