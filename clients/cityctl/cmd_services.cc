// services list | get | apply: the category catalogue, declaratively.
#include <iostream>
#include <iterator>

#include "clients/cityctl/catalogue.h"
#include "clients/cityctl/cli.h"
#include "clients/cityctl/credentials.h"
#include "clients/cityctl/errors.h"

namespace cityhub::cityctl {
namespace {

using json = nlohmann::json;

const std::vector<Column>& ServiceColumns() {
  static const auto* columns = new std::vector<Column>{
      {"service_code", "/service_code"}, {"name", "/name"},           {"group", "/group"},
      {"department", "/department"},     {"sla_hours", "/sla_hours"}, {"active", "/active"}};
  return *columns;
}

// The catalogue file's text: `-` is stdin. At most kMaxCatalogueBytes.
std::string ReadCatalogue(Io& io, const std::string& file) {
  std::string text;
  if (file == "-") {
    char buffer[65536];
    while (io.in.read(buffer, sizeof(buffer)) || io.in.gcount() > 0) {
      text.append(buffer, static_cast<size_t>(io.in.gcount()));
      if (text.size() > kMaxCatalogueBytes) throw UsageError("-f: stdin is larger than 4 MiB");
    }
    return text;
  }
  std::string error;
  if (!ReadSmallFile(file, kMaxCatalogueBytes, &text, &error)) throw UsageError("-f: " + error);
  return text;
}

std::vector<json> ParseCatalogue(const std::string& file, const std::string& text) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::exception&) {
    try {
      document = YamlToJson(text);
    } catch (const std::exception& e) {
      throw UsageError(file + ": neither JSON nor YAML: " + e.what());
    }
  }
  try {
    return CatalogueServices(document);
  } catch (const std::exception& e) {
    throw UsageError(file + ": " + e.what());
  }
}

std::string Join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

void Apply(Cli& cli, ApiClient& client, const Change& change) {
  const std::string path = "/v1/services/" + Segment("service_code", change.service_code) +
                           "?update_mask=" + Join(change.fields, ",");
  switch (change.kind) {
    case Change::Kind::kCreate: {
      json body = change.body;
      // A category is for residents to use: active unless the file says otherwise.
      if (!body.contains("active")) body["active"] = true;
      client.Call("POST", "/v1/services", body);
      break;
    }
    case Change::Kind::kUpdate:
    case Change::Kind::kDeactivate:
      client.Call("PATCH", path, change.body);
      break;
  }
}

json Summary(const std::vector<Change>& plan, bool dry_run) {
  json changes = json::array();
  for (const Change& c : plan) {
    const char* action = c.kind == Change::Kind::kCreate   ? "create"
                         : c.kind == Change::Kind::kUpdate ? "update"
                                                           : "deactivate";
    changes.push_back({{"action", action}, {"service_code", c.service_code}, {"fields", c.fields}});
  }
  return {{"dry_run", dry_run}, {"changes", changes}};
}

void AddApply(Cli& cli, CLI::App* services) {
  struct Args {
    std::string file;
    bool dry_run = false;
    bool prune = false;
  };
  auto args = std::make_shared<Args>();
  auto* apply = services->add_subcommand(
      "apply",
      "Make the catalogue match a file (YAML or JSON: a list of services, or {services: [...]} "
      "as 'services list -o yaml' prints it). Creates missing categories (active unless the "
      "file says otherwise), updates the fields the file names; a second run changes nothing");
  apply->add_option("-f,--file", args->file, "The catalogue file (- for stdin; at most 4 MiB)")
      ->required()
      ->type_name("FILE");
  apply->add_flag("--dry-run", args->dry_run, "Print the changes and make none");
  apply->add_flag("--prune", args->prune,
                  "Also deactivate active categories the file does not list (nothing is deleted)");
  apply->callback([&cli, args] {
    cli.Then([&cli, args] {
      const std::vector<json> desired =
          ParseCatalogue(args->file, ReadCatalogue(cli.io(), args->file));
      ApiClient client = cli.Client();
      const json current = client.Call("GET", "/v1/services?language=de");
      const std::vector<Change> plan =
          PlanCatalogue(desired, current.value("services", json::array()), args->prune);
      if (cli.format() != Format::kTable) {
        if (!args->dry_run) {
          for (const Change& change : plan) Apply(cli, client, change);
        }
        cli.Print(Summary(plan, args->dry_run), json::array(), {});
        return;
      }
      std::ostream& out = cli.io().out;
      if (plan.empty()) {
        out << "No changes: the catalogue matches " << args->file << ".\n";
        return;
      }
      for (const Change& change : plan) {
        for (const std::string& line : change.diff) out << line << "\n";
      }
      if (args->dry_run) {
        out << "Dry run: " << plan.size() << " change(s) not made.\n";
        return;
      }
      for (const Change& change : plan) {
        Apply(cli, client, change);
        out << "service/" << change.service_code << " "
            << (change.kind == Change::Kind::kCreate   ? "created"
                : change.kind == Change::Kind::kUpdate ? "updated"
                                                       : "deactivated")
            << "\n";
      }
    });
  });
}

}  // namespace

void AddServicesCommands(Cli& cli) {
  auto* services = cli.app().add_subcommand("services", "The service catalogue (categories)");
  services->require_subcommand(1);
  auto language = std::make_shared<std::string>("de");
  auto* list =
      services->add_subcommand("list", "List the categories (admins also see inactive ones)");
  list->add_option("--language", *language, "Texts in de or en")
      ->check(CLI::IsMember({"de", "en"}));
  list->callback([&cli, language] {
    cli.Then([&cli, language] {
      const json answer = cli.Client().Call("GET", "/v1/services?language=" + *language);
      cli.Print(answer, answer.value("services", json::array()), ServiceColumns());
    });
  });
  auto code = std::make_shared<std::string>();
  auto* get = services->add_subcommand("get", "Show one category with its attributes");
  get->add_option("service_code", *code, "The category's code")->required()->type_name("CODE");
  get->add_option("--language", *language, "Texts in de or en")->check(CLI::IsMember({"de", "en"}));
  get->callback([&cli, code, language] {
    cli.Then([&cli, code, language] {
      const json answer = cli.Client().Call(
          "GET", "/v1/services/" + Segment("service_code", *code) + "?language=" + *language);
      cli.Print(answer, answer, ServiceColumns());
    });
  });
  AddApply(cli, services);
}

}  // namespace cityhub::cityctl
