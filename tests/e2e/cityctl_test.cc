// cityctl against the whole stack, run as a subprocess as an administrator would: login and
// contexts, the declarative catalogue (apply twice is a no-op, --dry-run changes nothing),
// requests, accounts and roles, API keys, webhooks, export, and the exit codes.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/harness/api.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

struct Ran {
  int code = -1;
  std::string out, err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class CityctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Stack::Options options;
    options.env = {{"CITYHUB_WEBHOOK_ALLOW_CIDRS", "127.0.0.1/32"},
                   {"CITYHUB_RATE_LIMIT_SIGN_IN", "500/min,burst=100"},
                   {"CITYHUB_RATE_LIMIT_CREATE", "500/min,burst=100"},
                   {"CITYHUB_RATE_LIMIT_WRITE", "5000/min,burst=1000"}};
    stack_ = new Stack(options);
    api_ = new Api(stack_->gateway_url());
    dir_ = MakeTempDir("cityctl-e2e");
  }
  static void TearDownTestSuite() {
    RemoveTree(dir_);
    delete api_;
    delete stack_;
  }

  // Runs cityctl with `args`, `input` on stdin and the test's credentials file.
  static Ran Cityctl(const std::vector<std::string>& args, const std::string& input = "",
                     const std::map<std::string, std::string>& env = {}) {
    static int n = 0;
    const std::string base = dir_ + "/run" + std::to_string(++n);
    { std::ofstream(base + ".in") << input; }
    const pid_t pid = fork();
    if (pid == 0) {
      const int in = open((base + ".in").c_str(), O_RDONLY);
      const int out = open((base + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = open((base + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(in, 0);
      dup2(out, 1);
      dup2(err, 2);
      setenv("CITYHUB_CONFIG", (dir_ + "/config/credentials").c_str(), 1);
      unsetenv("CITYHUB_PASSWORD");
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      std::vector<std::string> all = {BuildPath("clients/cityctl/cityctl")};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    Ran r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = ReadAll(base + ".out");
    r.err = ReadAll(base + ".err");
    return r;
  }
  static std::string Credentials() { return ReadAll(dir_ + "/config/credentials"); }
  static std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  static void LoginAdmin() {
    // Other tests add contexts and make them current: these use "default".
    const Ran r = Cityctl({"login", "--context", "default", "--server", stack_->gateway_url(),
                           "--email", stack_->admin_email()},
                          stack_->admin_password() + "\n");
    ASSERT_EQ(r.code, 0) << r.err;
  }

  static Stack* stack_;
  static Api* api_;
  static std::string dir_;
};

Stack* CityctlTest::stack_ = nullptr;
Api* CityctlTest::api_ = nullptr;
std::string CityctlTest::dir_;

TEST_F(CityctlTest, WrongPasswordExitsOneWithTheApiMessage) {
  const Ran r = Cityctl({"login", "--server", stack_->gateway_url(), "--email",
                         stack_->admin_email(), "--context", "wrong"},
                        "not-the-password\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("cityctl: 401 unauthenticated: "));
  EXPECT_THAT(r.err, Not(HasSubstr("not-the-password")));
}

TEST_F(CityctlTest, LoginKeepsTokensInAFileOnlyTheUserReads) {
  const std::string password_file = Write("password", stack_->admin_password() + "\n");
  const Ran r = Cityctl({"login", "--server", stack_->gateway_url() + "/", "--email",
                         stack_->admin_email(), "--password-file", password_file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr(stack_->admin_password())));
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/config/credentials").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const json file = json::parse(Credentials());
  EXPECT_EQ(file["current_context"], "default");
  EXPECT_FALSE(file["contexts"]["default"]["refresh_token"].get<std::string>().empty());
  EXPECT_THAT(Credentials(), Not(HasSubstr(stack_->admin_password())));
}

TEST_F(CityctlTest, PasswordFromTheEnvironment) {
  const Ran r = Cityctl({"login", "--server", stack_->gateway_url(), "--email",
                         stack_->admin_email(), "--context", "env"},
                        "", {{"CITYHUB_PASSWORD", stack_->admin_password()}});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("context env"));
}

TEST_F(CityctlTest, ContextsAreListedAndSwitched) {
  LoginAdmin();
  ASSERT_EQ(Cityctl({"login", "--context", "second", "--server", stack_->gateway_url(), "--email",
                     stack_->admin_email()},
                    stack_->admin_password() + "\n")
                .code,
            0);
  Ran r = Cityctl({"config", "get-contexts"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("second"));
  EXPECT_THAT(r.out, HasSubstr("default"));
  EXPECT_THAT(
      r.out,
      Not(HasSubstr(
          json::parse(Credentials())["contexts"]["second"]["access_token"].get<std::string>())));
  EXPECT_EQ(Cityctl({"config", "use-context", "default"}).code, 0);
  EXPECT_EQ(Cityctl({"config", "current-context"}).out, "default\n");
  EXPECT_EQ(Cityctl({"config", "use-context", "nowhere"}).code, 1);
  // --context picks another for one command.
  EXPECT_EQ(Cityctl({"--context", "second", "services", "list"}).code, 0);
}

TEST_F(CityctlTest, LogoutRevokesTheSessionOnTheServer) {
  ASSERT_EQ(Cityctl({"login", "--context", "gone", "--server", stack_->gateway_url(), "--email",
                     stack_->admin_email()},
                    stack_->admin_password() + "\n")
                .code,
            0);
  const std::string refresh =
      json::parse(Credentials())["contexts"]["gone"]["refresh_token"].get<std::string>();
  const Ran r = Cityctl({"--context", "gone", "logout"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(Credentials())["contexts"]["gone"]["refresh_token"], "");
  EXPECT_EQ(api_->Call("POST", "/v1/sessions:refresh", {{"refresh_token", refresh}}).status / 100,
            4);
  const Ran after = Cityctl({"--context", "gone", "services", "list"});
  EXPECT_EQ(after.code, 1);
  EXPECT_THAT(after.err, HasSubstr("login"));
}

TEST_F(CityctlTest, AnExpiredAccessTokenIsRefreshed) {
  LoginAdmin();
  json file = json::parse(Credentials());
  const std::string old_refresh = file["contexts"]["default"]["refresh_token"];
  file["contexts"]["default"]["expires_at_ms"] = 1;  // long expired
  Write("config/credentials", file.dump());
  Ran r = Cityctl({"services", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  file = json::parse(Credentials());
  EXPECT_NE(file["contexts"]["default"]["refresh_token"], old_refresh);
  // A token the server refuses (401) is refreshed once and the call repeated.
  file["contexts"]["default"]["access_token"] = "garbage";
  Write("config/credentials", file.dump());
  r = Cityctl({"services", "list"});
  EXPECT_EQ(r.code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/config/credentials").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CityctlTest, ApplyCreatesUpdatesAndIsANoOpTheSecondTime) {
  LoginAdmin();
  const std::string yaml = Write("catalogue.yaml", R"(services:
  - service_code: bench-broken
    names: {de: "Bank kaputt", en: "Bench broken"}
    descriptions: {de: "Eine Parkbank ist beschädigt.", en: "A bench is damaged."}
    group: Grünflächen
    keywords: [Bank, Park]
    department: parks
    sla_hours: 72
    details_public: true
    attributes:
      - code: kind
        datatype: singlevaluelist
        required: true
        variable: true
        order: 1
        descriptions: {de: "Was?", en: "What?"}
        values:
          - {key: slat, names: {de: Latte, en: Slat}}
          - {key: leg, names: {de: Bein, en: Leg}}
  - service_code: pothole
    sla_hours: 300
)");
  Ran dry = Cityctl({"services", "apply", "-f", yaml, "--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("+ bench-broken"));
  EXPECT_THAT(dry.out, HasSubstr("sla_hours: 336 -> 300"));
  EXPECT_EQ(api_->Call("GET", "/v1/services/bench-broken").status, 404);

  Ran first = Cityctl({"services", "apply", "-f", yaml});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("service/bench-broken created"));
  EXPECT_THAT(first.out, HasSubstr("service/pothole updated"));
  const auto bench = api_->Call("GET", "/v1/services/bench-broken?language=en");
  ASSERT_EQ(bench.status, 200);
  EXPECT_EQ(bench.json["name"], "Bench broken");
  EXPECT_EQ(bench.json["active"], true);
  EXPECT_EQ(bench.json["attributes"].size(), 1u);
  EXPECT_EQ(api_->Call("GET", "/v1/services/pothole").json["sla_hours"], 300);

  Ran second = Cityctl({"services", "apply", "-f", yaml});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_THAT(second.out, HasSubstr("No changes"));
  // What `services list -o yaml` prints applies as it is, and changes nothing either.
  Ran listed = Cityctl({"services", "list", "-o", "yaml"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  const std::string round = Write("listed.yaml", listed.out);
  Ran third = Cityctl({"services", "apply", "-f", round, "-o", "json"});
  ASSERT_EQ(third.code, 0) << third.err;
  EXPECT_EQ(json::parse(third.out)["changes"], json::array()) << third.out;
}

TEST_F(CityctlTest, ApplyPruneDeactivatesButNeverDeletes) {
  LoginAdmin();
  const std::string one = Write("one.json", R"([{"service_code": "graffiti-x", "names":
      {"de": "Graffiti", "en": "Graffiti"}, "department": "clean", "sla_hours": 48}])");
  ASSERT_EQ(Cityctl({"services", "apply", "-f", one}).code, 0);
  const std::string none = Write("none.json", R"([{"service_code": "pothole"}])");
  Ran r = Cityctl({"services", "apply", "-f", none, "--prune"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("service/graffiti-x deactivated"));
  const auto list = Cityctl({"services", "list", "-o", "json"});
  bool found = false;
  const json listed = json::parse(list.out);
  for (const json& s : listed["services"]) {
    if (s["service_code"] == "graffiti-x") {
      found = true;
      EXPECT_EQ(s["active"], false);
    }
  }
  EXPECT_TRUE(found) << list.out << list.err;
  // Back to the full catalogue for the other tests.
  const std::string all = Write("all.json", list.out);
  json doc = json::parse(list.out);
  for (json& s : doc["services"]) s["active"] = s["service_code"] != "graffiti-x";
  Write("all.json", doc.dump());
  EXPECT_EQ(Cityctl({"services", "apply", "-f", all}).code, 0);
}

TEST_F(CityctlTest, ApplyRefusesABadFileAsUsage) {
  LoginAdmin();
  const std::string bad = Write("bad.yaml", "services:\n  - service_code: x\n    colour: red\n");
  Ran r = Cityctl({"services", "apply", "-f", bad});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("services[0].colour"));
  EXPECT_EQ(Cityctl({"services", "apply", "-f", dir_ + "/missing.yaml"}).code, 2);
}

TEST_F(CityctlTest, ServicesGetInEveryFormat) {
  LoginAdmin();
  Ran table = Cityctl({"services", "get", "pothole"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("SERVICE_CODE"));
  EXPECT_THAT(table.out, HasSubstr("pothole"));
  Ran j = Cityctl({"services", "get", "pothole", "-o", "json"});
  EXPECT_EQ(json::parse(j.out)["service_code"], "pothole");
  Ran y = Cityctl({"services", "get", "pothole", "-o", "yaml"});
  EXPECT_THAT(y.out, HasSubstr("service_code: pothole"));
  Ran missing = Cityctl({"services", "get", "nothing-here"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("cityctl: 404 not_found"));
}

TEST_F(CityctlTest, RequestsAreTriagedFromTheCommandLine) {
  LoginAdmin();
  const std::string admin = api_->SignIn(stack_->admin_email(), stack_->admin_password());
  std::string operator_id;
  const std::string resident = api_->NewResident(stack_->smtp(), "cli-resident@example.org", "de");
  api_->NewResident(stack_->smtp(), "cli-operator@bielefeld.de", "de", nullptr, &operator_id);
  const auto created = api_->Call("POST", "/v1/requests",
                                  {{"service_code", "pothole"},
                                   {"lat", 52.0211},
                                   {"long", 8.5325},
                                   {"attributes", {{"surface", "road"}}},
                                   {"description", "Loch vor dem Rathaus"}},
                                  resident);
  ASSERT_EQ(created.status, 201) << created.raw.body;
  const std::string id = created.json["request_id"];

  // accounts find and roles set (by e-mail) make the operator.
  Ran found = Cityctl({"accounts", "find", "--email", "CLI-Operator@bielefeld.de", "-o", "json"});
  ASSERT_EQ(found.code, 0) << found.err;
  EXPECT_EQ(json::parse(found.out)["accounts"][0]["account_id"], operator_id);
  Ran roles = Cityctl({"roles", "set", "--email", "cli-operator@bielefeld.de", "--role",
                       "citizen,operator", "--department", "roads"});
  ASSERT_EQ(roles.code, 0) << roles.err;
  EXPECT_THAT(roles.out, HasSubstr("operator"));
  EXPECT_EQ(Cityctl({"accounts", "find", "--email", "nobody@example.org"}).code, 1);

  Ran list = Cityctl({"requests", "list", "--status", "SUBMITTED", "--department", "roads"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(id));
  Ran get = Cityctl({"requests", "get", id, "-o", "json"});
  ASSERT_EQ(get.code, 0) << get.err;
  EXPECT_EQ(json::parse(get.out)["request_id"], id);

  Ran ack = Cityctl({"requests", "transition", id, "--status", "ACKNOWLEDGED", "--public-note",
                     "Wir kümmern uns.", "--internal-note", "Kolonne 3"});
  ASSERT_EQ(ack.code, 0) << ack.err;
  EXPECT_THAT(ack.out, HasSubstr("ACKNOWLEDGED"));
  Ran assign = Cityctl({"requests", "assign", id, "--to", operator_id, "-o", "json"});
  ASSERT_EQ(assign.code, 0) << assign.err;
  EXPECT_EQ(json::parse(assign.out)["assignee_account_id"], operator_id);
  Ran comment = Cityctl({"requests", "comment", id, "--text", "Material ist bestellt."});
  ASSERT_EQ(comment.code, 0) << comment.err;
  EXPECT_THAT(comment.out, HasSubstr("Material ist bestellt."));
  Ran reroute = Cityctl({"requests", "reroute", id, "--service-code", "streetlight",
                         "--internal-note", "falsche Kategorie", "-o", "json"});
  ASSERT_EQ(reroute.code, 1);  // streetlight asks a required question the request lacks
  EXPECT_THAT(reroute.err, HasSubstr("400 invalid_argument: attributes."));
  const auto after = api_->Call("GET", "/v1/requests/" + id, nullptr, admin);
  EXPECT_EQ(after.json["status"], "ACKNOWLEDGED");
  EXPECT_EQ(after.json["assignee_account_id"], operator_id);

  Ran bad = Cityctl({"requests", "transition", id, "--status", "NONSENSE"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("400 invalid_argument: status"));
}

TEST_F(CityctlTest, ApiKeysAreShownOnceAndDeleted) {
  LoginAdmin();
  Ran created = Cityctl({"apikeys", "create", "--name", "Stadtwerke", "-o", "json"});
  ASSERT_EQ(created.code, 0) << created.err;
  const json key = json::parse(created.out);
  EXPECT_EQ(key["api_key"].get<std::string>().rfind("ck_", 0), 0u);
  Ran list = Cityctl({"apikeys", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("Stadtwerke"));
  EXPECT_THAT(list.out, Not(HasSubstr(key["api_key"].get<std::string>())));
  Ran del = Cityctl({"apikeys", "delete", key["api_key_id"]});
  ASSERT_EQ(del.code, 0) << del.err;
  EXPECT_THAT(Cityctl({"apikeys", "list"}).out, Not(HasSubstr("Stadtwerke")));
}

TEST_F(CityctlTest, WebhooksAreCreatedListedAndDeleted) {
  LoginAdmin();
  HttpSink partner;
  Ran created = Cityctl({"webhooks", "create", "--url", partner.url("/hook"), "--event-type",
                         "RequestCreated,CommentAdded", "-o", "json"});
  ASSERT_EQ(created.code, 0) << created.err;
  const json hook = json::parse(created.out);
  EXPECT_FALSE(hook["secret"].get<std::string>().empty());
  Ran list = Cityctl({"webhooks", "list", "-o", "yaml"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(hook["webhook_id"].get<std::string>()));
  EXPECT_THAT(list.out, Not(HasSubstr(hook["secret"].get<std::string>())));
  EXPECT_EQ(Cityctl({"webhooks", "delete", hook["webhook_id"]}).code, 0);
  EXPECT_THAT(Cityctl({"webhooks", "list"}).out,
              Not(HasSubstr(hook["webhook_id"].get<std::string>())));
  Ran refused = Cityctl(
      {"webhooks", "create", "--url", "http://10.0.0.1/x", "--event-type", "RequestCreated"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("400 invalid_argument: url"));
}

TEST_F(CityctlTest, ExportWritesOwnDataToStdoutOrAPrivateFile) {
  LoginAdmin();
  Ran out = Cityctl({"export"});
  ASSERT_EQ(out.code, 0) << out.err;
  EXPECT_EQ(json::parse(out.out)["accounts"]["account"]["email"], stack_->admin_email());
  const std::string file = dir_ + "/export.json";
  Ran to_file = Cityctl({"export", "-f", file});
  ASSERT_EQ(to_file.code, 0) << to_file.err;
  EXPECT_EQ(json::parse(ReadAll(file))["accounts"]["account"]["email"], stack_->admin_email());
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CityctlTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Cityctl({"services", "apply"}).code, 2);
  EXPECT_EQ(Cityctl({"requests", "assign"}).code, 2);
  EXPECT_EQ(Cityctl({"login", "--server", "ftp://x", "--email", "a@b.de"}, "pw\n").code, 2);
  EXPECT_EQ(Cityctl({"nonsense"}).code, 2);
  EXPECT_EQ(Cityctl({"--help"}).code, 0);
}

}  // namespace
}  // namespace cityhub::testing
