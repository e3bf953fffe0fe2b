#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "clients/cityctl/api_client.h"
#include "clients/cityctl/output.h"

namespace cityhub::cityctl {

// What a command may touch: the streams, the clock, and the options every command shares.
struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  std::function<int64_t()> now;  // ms since the epoch
  bool stdin_is_tty = false;
};

// The parsed command line and the command to run.
class Cli final {
 public:
  explicit Cli(Io io);

  // Parses `args` (without the program name) and runs the command; returns the exit code
  // (0 ok, 1 API or system error, 2 usage) after printing any error to `err`.
  int Run(const std::vector<std::string>& args);

  CLI::App& app() { return app_; }
  Io& io() { return io_; }
  // Sets what runs after a successful parse (called from a subcommand's callback).
  void Then(std::function<void()> action) { action_ = std::move(action); }

  // A client for the chosen context (--context, else the current one).
  ApiClient Client();
  // The credentials file's path; a usage error when no location is known.
  std::string CredentialsFile() const;
  const std::string& context_flag() const { return context_; }
  Format format() const;
  // Prints an API document in the chosen format (see output.h).
  void Print(const nlohmann::json& document, const nlohmann::json& items,
             const std::vector<Column>& columns);

 private:
  Io io_;
  CLI::App app_;
  std::string context_;
  std::string output_ = "table";
  std::function<void()> action_;
};

// Registers the command groups (each in its own file).
void AddSessionCommands(Cli& cli);
void AddServicesCommands(Cli& cli);
void AddRequestsCommands(Cli& cli);
void AddAdminCommands(Cli& cli);

// The bash completion script for `app`'s command tree.
std::string BashCompletion(CLI::App& app);

// A percent-encoded path segment; a usage error when it is empty or over 256 bytes.
std::string Segment(const std::string& name, const std::string& value);

}  // namespace cityhub::cityctl
