#include "clients/cityctl/cli.h"

#include <iostream>

#include "clients/cityctl/credentials.h"
#include "clients/cityctl/errors.h"
#include "clients/cityctl/http_client.h"

namespace cityhub::cityctl {
namespace {

// Help texts show the option groups and subcommands as kubectl users expect them.
void ConfigureHelp(CLI::App& app) { app.get_formatter()->column_width(34); }

// The name of the deepest subcommand given, for "Run 'cityctl services apply --help'".
std::string CommandPath(CLI::App* app) {
  std::string path = "cityctl";
  while (app != nullptr) {
    CLI::App* next = nullptr;
    for (CLI::App* sub : app->get_subcommands()) {
      path += " " + sub->get_name();
      next = sub;
      break;
    }
    app = next;
  }
  return path;
}

}  // namespace

Cli::Cli(Io io)
    : io_(io), app_("cityctl: the command-line client of cityhub's public API", "cityctl") {
  ConfigureHelp(app_);
  app_.fallthrough();  // global options are also accepted after a subcommand
  app_.require_subcommand(1);
  app_.add_option("--context", context_,
                  "Use this context (a server and its login) instead of the current one")
      ->type_name("NAME");
  app_.add_option("-o,--output", output_, "Output format: table, json or yaml")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"table", "json", "yaml"}));
  app_.footer(
      "Exit codes: 0 ok, 1 API or system error, 2 usage error.\n"
      "Credentials: $CITYHUB_CONFIG, else $XDG_CONFIG_HOME/cityhub/credentials, else "
      "~/.config/cityhub/credentials (mode 0600).");
  AddSessionCommands(*this);
  AddServicesCommands(*this);
  AddRequestsCommands(*this);
  AddAdminCommands(*this);
  auto* completion = app_.add_subcommand("completion", "Print a shell completion script");
  completion->require_subcommand(1);
  completion->add_subcommand("bash", "Bash: source <(cityctl completion bash)")->callback([this] {
    Then([this] { io_.out << BashCompletion(app_); });
  });
}

int Cli::Run(const std::vector<std::string>& args) {
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app_.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app_.exit(e, io_.out, io_.err);
  } catch (const CLI::CallForAllHelp& e) {
    return app_.exit(e, io_.out, io_.err);
  } catch (const CLI::ParseError& e) {
    io_.err << "cityctl: " << e.what() << "\nRun '" << CommandPath(&app_)
            << " --help' for usage.\n";
    return 2;
  }
  if (!action_) {
    io_.err << "cityctl: no command given\nRun 'cityctl --help' for usage.\n";
    return 2;
  }
  try {
    action_();
    io_.out.flush();
    return 0;
  } catch (const CliError& e) {
    io_.out.flush();
    io_.err << "cityctl: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    io_.err << "cityctl: " << e.what() << "\n";
    return 1;
  }
}

std::string Cli::CredentialsFile() const {
  const std::string path = CredentialsPath();
  if (path.empty()) {
    throw UsageError("no place for credentials: set HOME, XDG_CONFIG_HOME or CITYHUB_CONFIG");
  }
  return path;
}

ApiClient Cli::Client() {
  const std::string path = CredentialsFile();
  std::string error;
  auto credentials = LoadCredentials(path, &error);
  if (!credentials) throw Failure(error);
  return ApiClient(path, *credentials, context_, io_.now);
}

Format Cli::format() const { return *ParseFormat(output_); }

void Cli::Print(const nlohmann::json& document, const nlohmann::json& items,
                const std::vector<Column>& columns) {
  cityctl::Print(format(), document, items, columns, io_.out);
}

std::string Segment(const std::string& name, const std::string& value) {
  if (value.empty()) throw UsageError(name + ": must not be empty");
  if (value.size() > 256) throw UsageError(name + ": longer than 256 bytes");
  return UrlEncode(value);
}

}  // namespace cityhub::cityctl
