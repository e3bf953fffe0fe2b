// login, logout and the contexts of the credentials file.
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <regex>

#include "clients/cityctl/cli.h"
#include "clients/cityctl/credentials.h"
#include "clients/cityctl/errors.h"

namespace cityhub::cityctl {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxPasswordBytes = 1024;
constexpr size_t kMaxEmailBytes = 254;

void CheckContextName(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9_.-]{1,64}");
  if (!std::regex_match(name, kName)) {
    throw UsageError("--context: 1-64 of A-Z a-z 0-9 _ . -");
  }
}

std::string CheckServer(std::string server) {
  if (server.size() > 2048) throw UsageError("--server: longer than 2048 characters");
  if (server.rfind("http://", 0) != 0 && server.rfind("https://", 0) != 0) {
    throw UsageError("--server: must start with http:// or https://");
  }
  while (!server.empty() && server.back() == '/') server.pop_back();
  return server;
}

// Reads a line from the terminal with echo off (or a line from a pipe).
std::string Prompt(Io& io) {
  std::string line;
  if (!io.stdin_is_tty) {
    std::getline(io.in, line);
    return line;
  }
  io.err << "Password: " << std::flush;
  termios saved{};
  const bool can_hide = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (can_hide) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::getline(io.in, line);
  if (can_hide) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  io.err << "\n";
  return line;
}

std::string Password(Io& io, const std::string& password_file) {
  std::string password;
  if (!password_file.empty()) {
    std::string error;
    if (!ReadSmallFile(password_file, 4096, &password, &error)) {
      throw UsageError("--password-file: " + error);
    }
    const size_t end = password.find('\n');
    if (end != std::string::npos) password.resize(end);
    if (!password.empty() && password.back() == '\r') password.pop_back();
  } else if (const char* env = std::getenv("CITYHUB_PASSWORD"); env != nullptr && *env != 0) {
    password = env;
  } else {
    password = Prompt(io);
  }
  if (password.empty()) throw UsageError("password: empty");
  if (password.size() > kMaxPasswordBytes) throw UsageError("password: longer than 1024 bytes");
  return password;
}

Credentials Load(Cli& cli) {
  std::string error;
  auto credentials = LoadCredentials(cli.CredentialsFile(), &error);
  if (!credentials) throw Failure(error);
  return *credentials;
}

void AddLogin(Cli& cli) {
  struct Args {
    std::string server, email, password_file;
  };
  auto args = std::make_shared<Args>();
  auto* login = cli.app().add_subcommand(
      "login",
      "Sign in and keep the session's tokens in the credentials file (mode 0600). The password "
      "comes from --password-file, else $CITYHUB_PASSWORD, else a prompt without echo (or one "
      "line on stdin when it is not a terminal)");
  login
      ->add_option("--server", args->server,
                   "The gateway's URL, e.g. https://cityhub.bielefeld.de (default: the "
                   "context's)")
      ->type_name("URL");
  login->add_option("--email", args->email, "The account's e-mail address (default: the context's)")
      ->type_name("E");
  login
      ->add_option("--password-file", args->password_file,
                   "Read the password from the first line of this file")
      ->type_name("F");
  login->callback([&cli, args] {
    cli.Then([&cli, args] {
      const std::string name = cli.context_flag().empty() ? "" : cli.context_flag();
      if (!name.empty()) CheckContextName(name);
      Credentials credentials = Load(cli);
      const std::string chosen =
          name.empty()
              ? (credentials.current_context.empty() ? "default" : credentials.current_context)
              : name;
      const auto it = credentials.contexts.find(chosen);
      std::string server = args->server;
      std::string email = args->email;
      if (it != credentials.contexts.end()) {
        if (server.empty()) server = it->second.server;
        if (email.empty()) email = it->second.email;
      }
      if (server.empty()) throw UsageError("--server: required for a new context");
      if (email.empty()) throw UsageError("--email: required for a new context");
      if (email.size() > kMaxEmailBytes) throw UsageError("--email: longer than 254 characters");
      server = CheckServer(server);
      const std::string password = Password(cli.io(), args->password_file);
      ApiClient client(cli.CredentialsFile(), credentials, chosen, cli.io().now);
      client.Login(server, email, password);
      cli.io().out << "Logged in to " << server << " as " << email << " (context " << chosen
                   << ").\n";
    });
  });
}

void AddLogout(Cli& cli) {
  auto* logout = cli.app().add_subcommand(
      "logout", "Revoke the session on the server and remove the context's tokens");
  logout->callback([&cli] {
    cli.Then([&cli] {
      ApiClient client = cli.Client();
      client.Logout();
      cli.io().out << "Logged out of context " << client.context_name() << ".\n";
    });
  });
}

void AddConfig(Cli& cli) {
  auto* config = cli.app().add_subcommand("config", "Contexts: several servers and logins");
  config->require_subcommand(1);
  auto* get = config->add_subcommand("get-contexts", "List the contexts (never their tokens)");
  get->callback([&cli] {
    cli.Then([&cli] {
      const Credentials credentials = Load(cli);
      json items = json::array();
      for (const auto& [name, c] : credentials.contexts) {
        items.push_back({{"current", name == credentials.current_context ? "*" : ""},
                         {"name", name},
                         {"server", c.server},
                         {"email", c.email},
                         {"logged_in", !c.refresh_token.empty()}});
      }
      cli.Print({{"current_context", credentials.current_context}, {"contexts", items}}, items,
                {{"current", "/current"},
                 {"name", "/name"},
                 {"server", "/server"},
                 {"email", "/email"},
                 {"logged_in", "/logged_in"}});
    });
  });
  auto name = std::make_shared<std::string>();
  auto* use = config->add_subcommand("use-context", "Make NAME the context commands use");
  use->add_option("name", *name, "The context")->required()->type_name("NAME");
  use->callback([&cli, name] {
    cli.Then([&cli, name] {
      Credentials credentials = Load(cli);
      if (!credentials.contexts.count(*name)) {
        throw Failure("no context " + *name + " (cityctl config get-contexts lists them)");
      }
      credentials.current_context = *name;
      std::string error;
      if (!SaveCredentials(cli.CredentialsFile(), credentials, &error)) throw Failure(error);
      cli.io().out << "Switched to context " << *name << ".\n";
    });
  });
  auto* current = config->add_subcommand("current-context", "Print the current context's name");
  current->callback([&cli] {
    cli.Then([&cli] {
      const Credentials credentials = Load(cli);
      if (credentials.current_context.empty()) throw Failure("no current context");
      cli.io().out << credentials.current_context << "\n";
    });
  });
}

}  // namespace

void AddSessionCommands(Cli& cli) {
  AddLogin(cli);
  AddLogout(cli);
  AddConfig(cli);
}

}  // namespace cityhub::cityctl
