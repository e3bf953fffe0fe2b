#include "infra/config.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "infra/strings.h"

extern char** environ;

namespace cityhub::infra {
namespace {

bool ParseInt(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

EnvReader::EnvReader() {
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    values_.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
}

EnvReader::EnvReader(std::map<std::string, std::string> values)
    : values_(values.begin(), values.end()) {}

const std::string* EnvReader::Lookup(std::string_view name) {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return nullptr;
  return &it->second;
}

void EnvReader::AddError(std::string_view name, std::string_view problem) {
  errors_.push_back(StrCat(name, ": ", problem));
}

std::string EnvReader::String(std::string_view name, std::string_view fallback, size_t max_length) {
  const std::string* value = Lookup(name);
  if (value == nullptr) return std::string(fallback);
  if (value->size() > max_length) {
    AddError(name, StrCat("longer than ", max_length, " bytes"));
    return std::string(fallback);
  }
  return *value;
}

std::string EnvReader::OneOf(std::string_view name, std::string_view fallback,
                             std::initializer_list<std::string_view> allowed) {
  const std::string* value = Lookup(name);
  if (value == nullptr) return std::string(fallback);
  for (std::string_view a : allowed) {
    if (*value == a) return *value;
  }
  AddError(name, StrCat("'", *value, "' is not one of ", StrJoin(allowed, ", ")));
  return std::string(fallback);
}

int64_t EnvReader::Int(std::string_view name, int64_t fallback, int64_t min, int64_t max) {
  const std::string* value = Lookup(name);
  if (value == nullptr) return fallback;
  int64_t parsed = 0;
  if (!ParseInt(*value, &parsed)) {
    AddError(name, StrCat("'", *value, "' is not a whole number"));
    return fallback;
  }
  if (parsed < min || parsed > max) {
    AddError(name, StrCat(parsed, " is outside ", min, "..", max));
    return fallback;
  }
  return parsed;
}

bool EnvReader::Bool(std::string_view name, bool fallback) {
  const std::string* value = Lookup(name);
  if (value == nullptr) return fallback;
  if (*value == "1" || *value == "true" || *value == "yes" || *value == "on") return true;
  if (*value == "0" || *value == "false" || *value == "no" || *value == "off") return false;
  AddError(name, StrCat("'", *value, "' is not a boolean (true/false)"));
  return fallback;
}

std::chrono::milliseconds EnvReader::Duration(std::string_view name,
                                              std::chrono::milliseconds fallback,
                                              std::chrono::milliseconds min,
                                              std::chrono::milliseconds max) {
  const std::string* value = Lookup(name);
  if (value == nullptr) return fallback;
  std::string_view text(*value);
  int64_t scale = 1;
  if (text.ends_with("ms")) {
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    scale = 1000;
    text.remove_suffix(1);
  } else if (text.ends_with("m")) {
    scale = 60'000;
    text.remove_suffix(1);
  } else if (text.ends_with("h")) {
    scale = 3'600'000;
    text.remove_suffix(1);
  } else if (text.ends_with("d")) {
    scale = 86'400'000;
    text.remove_suffix(1);
  }
  int64_t amount = 0;
  if (!ParseInt(text, &amount) || amount < 0 || amount > INT64_MAX / scale) {
    AddError(name, StrCat("'", *value, "' is not a duration like 250ms, 10s, 5m, 1h or 30d"));
    return fallback;
  }
  const std::chrono::milliseconds parsed(amount * scale);
  if (parsed < min || parsed > max) {
    AddError(name, StrCat(*value, " is outside ", min.count(), "ms..", max.count(), "ms"));
    return fallback;
  }
  return parsed;
}

bool SplitHostPort(std::string_view address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view h = address.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
  } else if (h.find(':') != std::string_view::npos) {
    return false;  // IPv6 needs brackets
  }
  int64_t p = 0;
  if (!ParseInt(address.substr(colon + 1), &p) || p < 0 || p > 65535) return false;
  *host = std::string(h);
  *port = static_cast<int>(p);
  return true;
}

std::string EnvReader::Address(std::string_view name, std::string_view fallback) {
  const std::string* value = Lookup(name);
  if (value == nullptr) return std::string(fallback);
  std::string host;
  int port = 0;
  if (!SplitHostPort(*value, &host, &port)) {
    AddError(name, StrCat("'", *value, "' is not host:port with a port in 0..65535"));
    return std::string(fallback);
  }
  return *value;
}

std::string EnvReader::FileContents(std::string_view name, bool required, size_t max_length) {
  const std::string* path = Lookup(name);
  if (path == nullptr) {
    if (required) AddError(name, "must name a file");
    return "";
  }
  std::ifstream in(*path, std::ios::binary);
  if (!in) {
    AddError(name, StrCat("cannot read file '", *path, "'"));
    return "";
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string contents = buffer.str();
  if (contents.size() > max_length) {
    AddError(name, StrCat("file '", *path, "' is larger than ", max_length, " bytes"));
    return "";
  }
  while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r')) {
    contents.pop_back();
  }
  return contents;
}

std::string EnvReader::Pem(std::string_view name) {
  std::string pem = FileContents(name, false, 1 << 20);
  if (!pem.empty()) pem += '\n';
  return pem;
}

absl::Status EnvReader::Finish() const {
  if (errors_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(StrCat("bad configuration: ", StrJoin(errors_, "; ")));
}

}  // namespace cityhub::infra
