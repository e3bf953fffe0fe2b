#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/statusor.h"

// Structured logging: one JSON object per line on stdout, e.g.
//   {"ts":"2026-11-25T04:06:25.123Z","level":"info","service":"accounts","event":"rpc",
//    "request_id":"01J...","method":"/cityhub.accounts.v1.AccountsService/SignIn","code":0}
// Never log passwords, tokens, e-mail addresses or other personal data; count inside loops.
namespace cityhub::infra::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, absl::string_view v)
      : key(k), value(std::string_view(v.data(), v.size())) {}
  Field(std::string_view k, int v) : key(k), value(int64_t{v}) {}
  Field(std::string_view k, long v) : key(k), value(int64_t{v}) {}
  Field(std::string_view k, long long v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, unsigned v) : key(k), value(int64_t{v}) {}
  Field(std::string_view k, unsigned long v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}

  std::string_view key;
  std::variant<std::string_view, int64_t, double, bool> value;
};

// Sets the service name and minimum level. Call once from main before threads start; until
// then lines go out with service "unknown" at level info.
void Init(std::string_view service, Level level);

absl::StatusOr<Level> ParseLevel(std::string_view name);

bool Enabled(Level level);

// Writes one line. `event` is a short stable name ("rpc", "redis_reconnect", "started").
void Write(Level level, std::string_view event, std::initializer_list<Field> fields = {});

// The line Write would print, without the trailing newline (for tests).
std::string Format(Level level, std::string_view event, std::initializer_list<Field> fields);

inline void Debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, event, fields);
}
inline void Info(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, event, fields);
}
inline void Warn(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarn, event, fields);
}
inline void Error(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, event, fields);
}

// Flushes buffered lines (before exit).
void Flush();

}  // namespace cityhub::infra::log
