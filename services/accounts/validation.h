#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

// Input rules for account fields. Every failure is INVALID_ARGUMENT naming the field.
namespace cityhub::accounts {

struct NormalizedEmail {
  // Trimmed, domain lower-cased: what is stored and shown.
  std::string display;
  // Entirely lower-cased: the uniqueness key, so "Anna@X.de" and "anna@x.de" are one account.
  std::string key;
};

// At most 254 characters; a local part of 1..64 printable ASCII characters without spaces,
// quotes, angle brackets, commas or semicolons; a domain of dot-separated labels
// [A-Za-z0-9-] with at least one dot.
absl::StatusOr<NormalizedEmail> NormalizeEmail(std::string_view field, std::string_view email);

// 1..80 characters of valid UTF-8 without control characters; surrounding spaces trimmed.
absl::StatusOr<std::string> ValidateDisplayName(std::string_view name);

// "de" or "en"; empty gives "de".
absl::StatusOr<std::string> ValidateLanguage(std::string_view language);

// Empty (no phone), or "+" and/or digits with optional spaces, 5..20 digits.
absl::StatusOr<std::string> ValidatePhone(std::string_view phone);

// A department name: 1..64 characters of [a-z0-9_-].
bool IsValidDepartment(std::string_view department);

}  // namespace cityhub::accounts
