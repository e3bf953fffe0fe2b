#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cityhub::infra {

// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// The offset of the first byte that is not part of valid UTF-8, or std::string_view::npos.
size_t FirstInvalidUtf8(std::string_view s);

// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0 if it is not valid.
size_t Utf8SequenceLength(std::string_view s, size_t i);

// Number of code points in valid UTF-8 `s`.
size_t Utf8Length(std::string_view s);

// Whether `s` holds control characters other than tab and, if `allow_newlines`, CR and LF.
bool HasControlCharacters(std::string_view s, bool allow_newlines);

// Checks a user-supplied text field: valid UTF-8, between `min` and `max` code points, no
// control characters (newlines only if allowed). Returns the problem, or nullopt when fine.
std::optional<std::string> CheckText(std::string_view s, size_t min_chars, size_t max_chars,
                                     bool allow_newlines);

// Appends `s` as a JSON string literal (with quotes). Bytes that are not valid UTF-8 become
// U+FFFD, so the output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view s);

// `text` escaped for HTML text and attribute values (& < > " ').
std::string EscapeHtml(std::string_view text);

// A machine name: 1..max_length characters of [a-z0-9_-] (departments, kinds).
bool IsSlug(std::string_view s, size_t max_length = 64);

// Leading and trailing ASCII whitespace removed.
std::string_view TrimAscii(std::string_view s);

// The items of a `sep`-separated list, trimmed of ASCII whitespace, empty ones dropped.
std::vector<std::string> SplitList(std::string_view text, char sep = ',');

}  // namespace cityhub::infra
