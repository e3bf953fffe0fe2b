// accounts find, roles set, apikeys, webhooks, export: an administrator's chores.
#include <iostream>

#include "clients/cityctl/cli.h"
#include "clients/cityctl/credentials.h"
#include "clients/cityctl/errors.h"
#include "clients/cityctl/http_client.h"

namespace cityhub::cityctl {
namespace {

using json = nlohmann::json;

const std::vector<Column>& AccountColumns() {
  static const auto* columns =
      new std::vector<Column>{{"account_id", "/account_id"},     {"email", "/email"},
                              {"display_name", "/display_name"}, {"roles", "/roles"},
                              {"departments", "/departments"},   {"verified", "/email_verified"}};
  return *columns;
}

std::string CheckEmail(const std::string& email) {
  if (email.empty() || email.size() > 254) throw UsageError("--email: 1-254 characters");
  return email;
}

json FindAccounts(ApiClient& client, const std::string& email) {
  return client.Call("GET", "/v1/accounts?email=" + UrlEncode(CheckEmail(email)));
}

void AddAccounts(Cli& cli) {
  auto* accounts = cli.app().add_subcommand("accounts", "Accounts (admins)");
  accounts->require_subcommand(1);
  auto email = std::make_shared<std::string>();
  auto* find = accounts->add_subcommand("find", "Find the account with an e-mail address");
  find->add_option("--email", *email, "The address (any case)")->required()->type_name("E");
  find->callback([&cli, email] {
    cli.Then([&cli, email] {
      ApiClient client = cli.Client();
      const json answer = FindAccounts(client, *email);
      const json items = answer.value("accounts", json::array());
      if (items.empty()) throw Failure("no account with that e-mail address");
      cli.Print(answer, items, AccountColumns());
    });
  });
}

void AddRoles(Cli& cli) {
  struct Args {
    std::string account_id, email;
    std::vector<std::string> roles, departments;
  };
  auto a = std::make_shared<Args>();
  auto* roles = cli.app().add_subcommand("roles", "Roles and departments of accounts (admins)");
  roles->require_subcommand(1);
  auto* set = roles->add_subcommand(
      "set",
      "Replace an account's roles and departments (citizen is always kept; an operator needs a "
      "department)");
  auto* id =
      set->add_option("account_id", a->account_id, "The account's id")->type_name("ACCOUNT_ID");
  auto* email = set->add_option("--email", a->email, "Or find the account by its e-mail address")
                    ->type_name("E");
  id->excludes(email);
  set->add_option("--role", a->roles, "citizen, operator or admin (repeat, or comma-separated)")
      ->delimiter(',')
      ->type_name("ROLE");
  set->add_option("--department", a->departments, "A department (repeat, or comma-separated)")
      ->delimiter(',')
      ->type_name("DEPT");
  set->callback([&cli, a] {
    cli.Then([&cli, a] {
      if (a->account_id.empty() && a->email.empty()) {
        throw UsageError("roles set: an ACCOUNT_ID or --email");
      }
      ApiClient client = cli.Client();
      std::string account_id = a->account_id;
      if (account_id.empty()) {
        const json found = FindAccounts(client, a->email).value("accounts", json::array());
        if (found.empty()) throw Failure("no account with that e-mail address");
        account_id = found[0].value("account_id", "");
      }
      const json answer =
          client.Call("POST", "/v1/accounts/" + Segment("account_id", account_id) + ":setRoles",
                      {{"roles", a->roles}, {"departments", a->departments}});
      cli.Print(answer, answer, AccountColumns());
    });
  });
}

void AddApiKeys(Cli& cli) {
  auto* keys = cli.app().add_subcommand("apikeys", "Open311 partner API keys (admins)");
  keys->require_subcommand(1);
  const std::vector<Column> columns = {
      {"api_key_id", "/api_key_id"}, {"name", "/name"}, {"created_at", "/created_at"}};
  auto name = std::make_shared<std::string>();
  auto* create = keys->add_subcommand("create", "Issue a key; it is printed this once");
  create->add_option("--name", *name, "Whose key it is (1-100 characters)")->required();
  create->callback([&cli, name, columns] {
    cli.Then([&cli, name, columns] {
      const json answer = cli.Client().Call("POST", "/v1/apiKeys", {{"name", *name}});
      auto with_key = columns;
      with_key.push_back({"api_key", "/api_key"});
      cli.Print(answer, answer, with_key);
      cli.io().err << "The key is shown this once: keep it now.\n";
    });
  });
  keys->add_subcommand("list", "List the keys (never the keys themselves)")
      ->callback([&cli, columns] {
        cli.Then([&cli, columns] {
          const json answer = cli.Client().Call("GET", "/v1/apiKeys");
          cli.Print(answer, answer.value("api_keys", json::array()), columns);
        });
      });
  auto id = std::make_shared<std::string>();
  auto* del = keys->add_subcommand("delete", "Revoke a key at once");
  del->add_option("api_key_id", *id, "The key's id")->required()->type_name("ID");
  del->callback([&cli, id] {
    cli.Then([&cli, id] {
      cli.Client().Call("DELETE", "/v1/apiKeys/" + Segment("api_key_id", *id));
      cli.io().out << "apikey/" << *id << " deleted\n";
    });
  });
}

void AddWebhooks(Cli& cli) {
  struct Args {
    std::string url;
    std::vector<std::string> event_types, service_codes;
  };
  auto a = std::make_shared<Args>();
  auto* hooks = cli.app().add_subcommand("webhooks", "Partner webhooks (admins)");
  hooks->require_subcommand(1);
  const std::vector<Column> columns = {{"webhook_id", "/webhook_id"},
                                       {"url", "/url"},
                                       {"event_types", "/event_types"},
                                       {"service_codes", "/service_codes"},
                                       {"created_at", "/created_at"}};
  auto* create = hooks->add_subcommand("create", "Register a webhook; its secret is printed once");
  create->add_option("--url", a->url, "Where to POST (http or https)")->required();
  create
      ->add_option("--event-type", a->event_types,
                   "RequestCreated, RequestStatusChanged, CommentAdded (repeat or comma)")
      ->delimiter(',')
      ->required()
      ->type_name("TYPE");
  create
      ->add_option("--service-code", a->service_codes,
                   "Only for these categories (repeat or comma; default all)")
      ->delimiter(',')
      ->type_name("CODE");
  create->callback([&cli, a, columns] {
    cli.Then([&cli, a, columns] {
      const json answer = cli.Client().Call(
          "POST", "/v1/webhooks",
          {{"url", a->url}, {"event_types", a->event_types}, {"service_codes", a->service_codes}});
      auto with_secret = columns;
      with_secret.push_back({"secret", "/secret"});
      cli.Print(answer, answer, with_secret);
      cli.io().err << "The secret is shown this once: keep it now.\n";
    });
  });
  hooks->add_subcommand("list", "List the webhooks (without secrets)")->callback([&cli, columns] {
    cli.Then([&cli, columns] {
      const json answer = cli.Client().Call("GET", "/v1/webhooks");
      cli.Print(answer, answer.value("webhooks", json::array()), columns);
    });
  });
  auto id = std::make_shared<std::string>();
  auto* del = hooks->add_subcommand("delete", "Remove a webhook");
  del->add_option("webhook_id", *id, "The webhook's id")->required()->type_name("ID");
  del->callback([&cli, id] {
    cli.Then([&cli, id] {
      cli.Client().Call("DELETE", "/v1/webhooks/" + Segment("webhook_id", *id));
      cli.io().out << "webhook/" << *id << " deleted\n";
    });
  });
}

void AddExport(Cli& cli) {
  auto file = std::make_shared<std::string>();
  auto* exp = cli.app().add_subcommand(
      "export", "Everything cityhub holds about you, as JSON (or YAML with -o yaml)");
  exp->add_option("-f,--file", *file, "Write it to this file (mode 0600) instead of stdout")
      ->type_name("FILE");
  exp->callback([&cli, file] {
    cli.Then([&cli, file] {
      const json answer = cli.Client().Call("GET", "/v1/me:export");
      const std::string text =
          cli.format() == Format::kYaml
              ? ToYaml(answer)
              : answer.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
      if (file->empty()) {
        cli.io().out << text;
        return;
      }
      std::string error;
      if (!WritePrivateFile(*file, text, &error)) throw Failure(error);
      cli.io().err << "Wrote your data to " << *file << ".\n";
    });
  });
}

}  // namespace

void AddAdminCommands(Cli& cli) {
  AddAccounts(cli);
  AddRoles(cli);
  AddApiKeys(cli);
  AddWebhooks(cli);
  AddExport(cli);
}

}  // namespace cityhub::cityctl
