#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "absl/status/status.h"

// What every fuzz target checks beyond "no crash": a broken invariant aborts with its reason,
// which libFuzzer reports as a finding and keeps the input.
namespace cityhub::fuzz {

inline void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

// Bad input is INVALID_ARGUMENT "<name>: <problem>": the error names what is wrong.
inline void CheckNamesField(const absl::Status& status) {
  // The last ": " (a name may hold one itself) ends a non-empty name.
  const size_t colon = status.message().rfind(": ");
  if (status.code() != absl::StatusCode::kInvalidArgument || colon == 0 ||
      colon == absl::string_view::npos) {
    std::fprintf(stderr, "status: %s\n", status.ToString().c_str());
  }
  Check(status.code() == absl::StatusCode::kInvalidArgument, "error is not INVALID_ARGUMENT");
  Check(colon != absl::string_view::npos && colon > 0, "error does not name a field");
}

}  // namespace cityhub::fuzz
