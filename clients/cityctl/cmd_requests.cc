// requests list | get | transition | reroute | assign | comment: the city's side of reports.
#include <iostream>

#include "clients/cityctl/cli.h"
#include "clients/cityctl/errors.h"
#include "clients/cityctl/http_client.h"

namespace cityhub::cityctl {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxAllItems = 10'000;

const std::vector<Column>& RequestColumns() {
  static const auto* columns = new std::vector<Column>{{"request_id", "/request_id"},
                                                       {"status", "/status"},
                                                       {"service_code", "/service_code"},
                                                       {"department", "/department"},
                                                       {"requested_at", "/requested_at"},
                                                       {"assignee", "/assignee_name"},
                                                       {"address", "/address"}};
  return *columns;
}

struct ListArgs {
  std::vector<std::string> service_codes, statuses;
  std::string since, until, department, assignee, district, language, page_token;
  std::string lat, lon, radius_m;
  bool overdue = false;
  bool all = false;
  int page_size = 0;
};

std::string ListQuery(const ListArgs& a) {
  std::string q;
  auto add = [&q](const std::string& name, const std::string& value) {
    q += (q.empty() ? "?" : "&") + name + "=" + UrlEncode(value);
  };
  for (const auto& s : a.service_codes) add("service_code", s);
  for (const auto& s : a.statuses) add("status", s);
  if (!a.since.empty()) add("since", a.since);
  if (!a.until.empty()) add("until", a.until);
  if (!a.department.empty()) add("department", a.department);
  if (!a.assignee.empty()) add("assignee", a.assignee);
  if (!a.district.empty()) add("district", a.district);
  if (!a.language.empty()) add("language", a.language);
  if (!a.lat.empty()) add("lat", a.lat);
  if (!a.lon.empty()) add("long", a.lon);
  if (!a.radius_m.empty()) add("radius_m", a.radius_m);
  if (a.overdue) add("overdue", "true");
  if (a.page_size > 0) add("page_size", std::to_string(a.page_size));
  return q;
}

void AddList(Cli& cli, CLI::App* requests) {
  auto a = std::make_shared<ListArgs>();
  auto* list = requests->add_subcommand("list", "List requests, newest first, with filters");
  list->add_option("--service-code", a->service_codes, "Of this category (repeat for several)")
      ->type_name("CODE");
  list->add_option("--status", a->statuses,
                   "In this status (repeat): SUBMITTED, ACKNOWLEDGED, IN_PROGRESS, RESOLVED, "
                   "REJECTED, DUPLICATE, CLOSED")
      ->type_name("STATUS");
  list->add_option("--since", a->since, "Filed at or after (RFC 3339)")->type_name("TIME");
  list->add_option("--until", a->until, "Filed before (RFC 3339)")->type_name("TIME");
  list->add_option("--department", a->department, "Staff: of this department")->type_name("DEPT");
  list->add_option("--assignee", a->assignee, "Staff: assigned to this account id, or me")
      ->type_name("ID|me");
  list->add_flag("--overdue", a->overdue, "Staff: past the expected date and still open");
  list->add_option("--district", a->district, "In this district")->type_name("ID");
  list->add_option("--lat", a->lat, "Near this point (with --long and --radius-m)")
      ->check(CLI::Number);
  list->add_option("--long", a->lon, "Near this point (with --lat and --radius-m)")
      ->check(CLI::Number);
  list->add_option("--radius-m", a->radius_m, "Metres around --lat, --long (at most 20000)")
      ->check(CLI::Number);
  list->add_option("--language", a->language, "Texts in de or en")
      ->check(CLI::IsMember({"de", "en"}));
  list->add_option("--page-size", a->page_size, "Requests per page (1-100)")
      ->check(CLI::Range(1, 100));
  list->add_option("--page-token", a->page_token, "Continue after the page that gave this token")
      ->type_name("TOKEN");
  list->add_flag("--all", a->all, "Follow the pages to the end (at most 10000 requests)");
  list->callback([&cli, a] {
    cli.Then([&cli, a] {
      ApiClient client = cli.Client();
      const std::string query = ListQuery(*a);
      std::string token = a->page_token;
      json requests = json::array();
      json answer;
      do {
        const std::string page = token.empty() ? ""
                                               : std::string(query.empty() ? "?" : "&") +
                                                     "page_token=" + UrlEncode(token);
        answer = client.Call("GET", "/v1/requests" + query + page);
        for (const json& r : answer.value("requests", json::array())) requests.push_back(r);
        token = answer.value("next_page_token", "");
      } while (a->all && !token.empty() && requests.size() < kMaxAllItems);
      const json document = {{"requests", requests}, {"next_page_token", token}};
      cli.Print(document, requests, RequestColumns());
      if (cli.format() == Format::kTable && !token.empty()) {
        cli.io().err << "More: --page-token " << token << " (or --all)\n";
      }
    });
  });
}

// A subcommand taking a request id; `body` builds the POST body of `verb` from its options.
CLI::App* AddAction(Cli& cli, CLI::App* requests, const std::string& name, const std::string& help,
                    std::shared_ptr<std::string> id) {
  auto* sub = requests->add_subcommand(name, help);
  sub->add_option("request_id", *id, "The request's id")->required()->type_name("REQUEST_ID");
  return sub;
}

void PrintRequest(Cli& cli, const json& answer) { cli.Print(answer, answer, RequestColumns()); }

void AddActions(Cli& cli, CLI::App* requests) {
  auto id = std::make_shared<std::string>();
  auto get = AddAction(cli, requests, "get", "Show one request (staff see every field)", id);
  get->callback([&cli, id] {
    cli.Then([&cli, id] {
      PrintRequest(cli, cli.Client().Call("GET", "/v1/requests/" + Segment("request_id", *id)));
    });
  });

  struct Notes {
    std::string status, public_note, internal_note, duplicate_of, service_code, assignee, text;
    bool unassign = false;
  };
  auto n = std::make_shared<Notes>();
  auto* transition =
      AddAction(cli, requests, "transition", "Move a request to another status, with notes", id);
  transition->add_option("--status", n->status, "The new status, e.g. ACKNOWLEDGED")
      ->required()
      ->type_name("STATUS");
  transition->add_option("--public-note", n->public_note, "Shown to the reporter and the public");
  transition->add_option("--internal-note", n->internal_note, "Seen by staff only");
  transition->add_option("--duplicate-of", n->duplicate_of, "With DUPLICATE: the original")
      ->type_name("REQUEST_ID");
  transition->callback([&cli, id, n] {
    cli.Then([&cli, id, n] {
      json body = {{"status", n->status},
                   {"public_note", n->public_note},
                   {"internal_note", n->internal_note}};
      if (!n->duplicate_of.empty()) body["duplicate_of"] = n->duplicate_of;
      PrintRequest(cli,
                   cli.Client().Call(
                       "POST", "/v1/requests/" + Segment("request_id", *id) + ":transition", body));
    });
  });

  auto* reroute = AddAction(cli, requests, "reroute",
                            "Move an open request to another category and its department", id);
  reroute->add_option("--service-code", n->service_code, "The new category")
      ->required()
      ->type_name("CODE");
  reroute->add_option("--public-note", n->public_note, "Shown to the reporter and the public");
  reroute->add_option("--internal-note", n->internal_note, "Seen by staff only");
  reroute->callback([&cli, id, n] {
    cli.Then([&cli, id, n] {
      PrintRequest(
          cli, cli.Client().Call("POST", "/v1/requests/" + Segment("request_id", *id) + ":reroute",
                                 {{"service_code", n->service_code},
                                  {"public_note", n->public_note},
                                  {"internal_note", n->internal_note}}));
    });
  });

  auto* assign =
      AddAction(cli, requests, "assign", "Assign a request to an operator of its department", id);
  auto* to =
      assign->add_option("--to", n->assignee, "The operator's account id")->type_name("ACCOUNT_ID");
  auto* unassign = assign->add_flag("--unassign", n->unassign, "Remove the assignee");
  to->excludes(unassign);
  assign->callback([&cli, id, n] {
    cli.Then([&cli, id, n] {
      if (n->assignee.empty() && !n->unassign) throw UsageError("assign: --to or --unassign");
      PrintRequest(
          cli, cli.Client().Call("POST", "/v1/requests/" + Segment("request_id", *id) + ":assign",
                                 {{"assignee_account_id", n->assignee}}));
    });
  });

  auto* comment = AddAction(cli, requests, "comment", "Add a comment to a request", id);
  comment->add_option("--text", n->text, "The comment")->required();
  comment->callback([&cli, id, n] {
    cli.Then([&cli, id, n] {
      const json answer = cli.Client().Call(
          "POST", "/v1/requests/" + Segment("request_id", *id) + "/comments", {{"text", n->text}});
      cli.Print(answer, answer,
                {{"comment_id", "/comment_id"}, {"created_at", "/created_at"}, {"text", "/text"}});
    });
  });
}

}  // namespace

void AddRequestsCommands(Cli& cli) {
  auto* requests = cli.app().add_subcommand("requests", "Service requests (reports)");
  requests->require_subcommand(1);
  AddList(cli, requests);
  AddActions(cli, requests);
}

}  // namespace cityhub::cityctl
