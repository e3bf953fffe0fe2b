#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace cityhub::infra {

// Reads typed settings from environment variables. Every problem is remembered rather than
// reported at once, so that Finish() can name every bad variable in one message:
//
//   EnvReader env;
//   config.port = env.Port("CITYHUB_X_PORT", 8080);
//   config.name = env.String("CITYHUB_X_NAME", "x");
//   if (auto status = env.Finish(); !status.ok()) { /* print, exit 2 */ }
//
// Only a binary's main.cc (through its LoadConfig) reads the environment.
class EnvReader final {
 public:
  // The process environment.
  EnvReader();
  // Fixed values, for tests.
  explicit EnvReader(std::map<std::string, std::string> values);

  // Any text of at most `max_length` bytes.
  std::string String(std::string_view name, std::string_view fallback, size_t max_length = 1024);
  // One of `allowed`.
  std::string OneOf(std::string_view name, std::string_view fallback,
                    std::initializer_list<std::string_view> allowed);
  int64_t Int(std::string_view name, int64_t fallback, int64_t min, int64_t max);
  bool Bool(std::string_view name, bool fallback);
  // "250ms", "10s", "5m", "1h", "30d", or plain milliseconds.
  std::chrono::milliseconds Duration(std::string_view name, std::chrono::milliseconds fallback,
                                     std::chrono::milliseconds min, std::chrono::milliseconds max);
  // "host:port" or "[v6]:port" with a port in 0..65535 (0: any free port).
  std::string Address(std::string_view name, std::string_view fallback);
  // The contents of the file the variable names (secrets are passed as files, never as values),
  // without a trailing newline; empty when the variable is unset and not `required`.
  std::string FileContents(std::string_view name, bool required, size_t max_length = 65536);
  // The PEM file (certificates, keys; at most 1 MiB) the variable names, ending in a newline;
  // empty when unset.
  std::string Pem(std::string_view name);

  // Records a problem found by the caller's own validation.
  void AddError(std::string_view name, std::string_view problem);

  // OK, or INVALID_ARGUMENT naming every bad variable and why.
  absl::Status Finish() const;

 private:
  // The value, or nullptr when unset. An empty value counts as unset.
  const std::string* Lookup(std::string_view name);

  std::map<std::string, std::string, std::less<>> values_;
  std::vector<std::string> errors_;
};

// Splits "host:port"; false when malformed.
bool SplitHostPort(std::string_view address, std::string* host, int* port);

}  // namespace cityhub::infra
