#pragma once

#include <stdexcept>
#include <string>

namespace cityhub::cityctl {

// What a command fails with; main prints "cityctl: <what>" and exits with `exit_code`:
// 1 for the API's and the system's errors, 2 for usage errors.
class CliError : public std::runtime_error {
 public:
  CliError(int exit_code, const std::string& what)
      : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

inline CliError UsageError(const std::string& what) { return CliError(2, what); }
inline CliError Failure(const std::string& what) { return CliError(1, what); }

}  // namespace cityhub::cityctl
