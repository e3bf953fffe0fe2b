#include "services/accounts/validation.h"

#include <algorithm>
#include <cctype>

#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::accounts {

using infra::InvalidField;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool ValidDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253 || domain.find('.') == std::string_view::npos) {
    return false;
  }
  size_t start = 0;
  while (start <= domain.size()) {
    size_t end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    const std::string_view label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

absl::StatusOr<NormalizedEmail> NormalizeEmail(std::string_view field, std::string_view email) {
  const std::string_view trimmed = infra::TrimAscii(email);
  if (trimmed.empty()) return InvalidField(field, "must not be empty");
  if (trimmed.size() > 254) return InvalidField(field, "longer than 254 characters");
  const size_t at = trimmed.rfind('@');
  if (at == std::string_view::npos) return InvalidField(field, "not an e-mail address");
  const std::string_view local = trimmed.substr(0, at);
  const std::string_view domain = trimmed.substr(at + 1);
  if (local.empty() || local.size() > 64) return InvalidField(field, "not an e-mail address");
  for (char c : local) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F ||
        std::string_view("\"(),:;<>@[\\]").find(c) != std::string_view::npos) {
      return InvalidField(field, "not an e-mail address");
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos ||
      !ValidDomain(domain)) {
    return InvalidField(field, "not an e-mail address");
  }
  NormalizedEmail out;
  out.display = infra::StrCat(local, "@", Lower(domain));
  out.key = Lower(out.display);
  return out;
}

absl::StatusOr<std::string> ValidateDisplayName(std::string_view name) {
  if (!infra::IsValidUtf8(name)) return InvalidField("display_name", "not valid UTF-8");
  const std::string_view trimmed = infra::TrimAscii(name);
  if (auto problem = infra::CheckText(trimmed, 1, 80, false)) {
    return InvalidField("display_name", *problem);
  }
  return std::string(trimmed);
}

absl::StatusOr<std::string> ValidateLanguage(std::string_view language) {
  if (language.empty()) return std::string("de");
  if (language == "de" || language == "en") return std::string(language);
  return InvalidField("language", "must be \"de\" or \"en\"");
}

absl::StatusOr<std::string> ValidatePhone(std::string_view phone) {
  const std::string_view trimmed = infra::TrimAscii(phone);
  if (trimmed.empty()) return std::string();
  if (trimmed.size() > 32) return InvalidField("phone", "longer than 32 characters");
  int digits = 0;
  for (size_t i = 0; i < trimmed.size(); ++i) {
    const char c = trimmed[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else if (!(c == ' ' || (c == '+' && i == 0))) {
      return InvalidField("phone", "only digits, spaces and a leading + are allowed");
    }
  }
  if (digits < 5 || digits > 20) return InvalidField("phone", "must have 5 to 20 digits");
  return std::string(trimmed);
}

bool IsValidDepartment(std::string_view department) { return infra::IsSlug(department, 64); }

}  // namespace cityhub::accounts
