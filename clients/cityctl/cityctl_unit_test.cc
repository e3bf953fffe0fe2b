// cityctl without a server: parsing, usage errors, the catalogue diff, output formats and the
// credentials file.
#include <sys/stat.h>

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "clients/cityctl/api_client.h"
#include "clients/cityctl/catalogue.h"
#include "clients/cityctl/cli.h"
#include "clients/cityctl/credentials.h"
#include "clients/cityctl/output.h"

namespace cityhub::cityctl {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

struct Ran {
  int code;
  std::string out, err;
};

Ran RunCli(const std::vector<std::string>& args) {
  std::istringstream in;
  std::ostringstream out, err;
  Io io{in, out, err, [] { return int64_t{1'000'000}; }, false};
  const int code = Cli(io).Run(args);
  return {code, out.str(), err.str()};
}

TEST(CityctlArgs, HelpExitsZeroAndListsCommands) {
  const Ran r = RunCli({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* command : {"login", "logout", "config", "services", "requests", "accounts",
                              "roles", "apikeys", "webhooks", "export", "completion"}) {
    EXPECT_THAT(r.out, HasSubstr(command));
  }
}

TEST(CityctlArgs, EverySubcommandHasHelp) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"services", "apply", "--help"},
                                             {"requests", "list", "--help"},
                                             {"roles", "set", "--help"},
                                             {"config", "use-context", "--help"}}) {
    const Ran r = RunCli(args);
    EXPECT_EQ(r.code, 0) << args[1];
    EXPECT_THAT(r.out, HasSubstr("Usage")) << args[1];
  }
}

TEST(CityctlArgs, UnknownCommandIsUsageError) {
  const Ran r = RunCli({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("cityctl: "));
}

TEST(CityctlArgs, MissingRequiredOptionIsUsageError) {
  EXPECT_EQ(RunCli({"services", "apply"}).code, 2);
  EXPECT_EQ(RunCli({"requests", "transition", "01J0000000000000000000000A"}).code, 2);
  EXPECT_EQ(RunCli({"services"}).code, 2);
}

TEST(CityctlArgs, BadOutputFormatIsUsageError) {
  EXPECT_EQ(RunCli({"services", "list", "-o", "xml"}).code, 2);
}

TEST(CityctlArgs, CompletionNamesCommandsAndOptions) {
  const Ran r = RunCli({"completion", "bash"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("complete -F _cityctl cityctl"));
  EXPECT_THAT(r.out, HasSubstr("[\"services\"]=\"list get apply\""));
  EXPECT_THAT(r.out, HasSubstr("--dry-run"));
}

TEST(CityctlCatalogue, YamlScalarsGetTheirTypes) {
  const json v = YamlToJson("a: 12\nb: true\nc: '12'\nd: x y\ne: 1.5\nf: ~\n");
  EXPECT_EQ(v["a"], 12);
  EXPECT_EQ(v["b"], true);
  EXPECT_EQ(v["c"], "12");
  EXPECT_EQ(v["d"], "x y");
  EXPECT_EQ(v["e"], 1.5);
  EXPECT_TRUE(v["f"].is_null());
}

TEST(CityctlCatalogue, UnknownFieldIsNamed) {
  try {
    CatalogueServices(json::parse(R"([{"service_code": "a", "colour": "red"}])"));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("services[0].colour"));
  }
}

TEST(CityctlCatalogue, DuplicateCodeIsRefused) {
  EXPECT_THROW(CatalogueServices(json::parse(R"([{"service_code": "a"}, {"service_code": "a"}])")),
               std::runtime_error);
}

TEST(CityctlCatalogue, PlanCreatesUpdatesAndLeavesMatchesAlone) {
  const auto desired = CatalogueServices(json::parse(R"({"services": [
    {"service_code": "new", "sla_hours": 5},
    {"service_code": "same", "sla_hours": 5, "attributes": [{"code": "x", "required": false}]},
    {"service_code": "changed", "sla_hours": 7, "group": "G"}]})"));
  const json current = json::parse(R"([
    {"service_code": "same", "sla_hours": 5, "name": "S", "active": true,
     "attributes": [{"code": "x", "required": false, "description": "d", "values": []}]},
    {"service_code": "changed", "sla_hours": 5, "group": "G", "active": true},
    {"service_code": "other", "active": true}])");
  const auto plan = PlanCatalogue(desired, current, false);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].kind, Change::Kind::kCreate);
  EXPECT_EQ(plan[1].kind, Change::Kind::kUpdate);
  EXPECT_EQ(plan[1].fields, std::vector<std::string>{"sla_hours"});
  EXPECT_EQ(plan[1].body, json({{"sla_hours", 7}}));
  const auto pruned = PlanCatalogue(desired, current, true);
  ASSERT_EQ(pruned.size(), 3u);
  EXPECT_EQ(pruned[2].kind, Change::Kind::kDeactivate);
  EXPECT_EQ(pruned[2].service_code, "other");
}

TEST(CityctlOutput, TableAlignsColumns) {
  std::ostringstream out;
  PrintTable(json::parse(R"([{"a": "x", "b": ["p", "q"]}, {"a": "longer", "b": 3}])"),
             {{"a", "/a"}, {"bee", "/b"}}, out);
  EXPECT_EQ(out.str(), "A       BEE\nx       p,q\nlonger  3\n");
}

TEST(CityctlOutput, YamlQuotesStringsThatLookLikeOtherTypes) {
  const std::string yaml = ToYaml(json::parse(R"({"a": "true", "b": true, "c": [1, "x"]})"));
  EXPECT_EQ(YamlToJson(yaml), json::parse(R"({"a": "true", "b": true, "c": [1, "x"]})"));
}

TEST(CityctlOutput, ApiErrorsReadAsCodeAndMessage) {
  EXPECT_EQ(DescribeError(401, R"({"code": 16, "message": "wrong e-mail or password"})", "r"),
            "401 unauthenticated: wrong e-mail or password");
}

TEST(CityctlCredentials, SavedWithMode0600AndReadBack) {
  char dir[] = "/tmp/cityctl-unit-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/sub/credentials";
  Credentials c;
  c.current_context = "x";
  c.contexts["x"] = Context{"http://h", "a@b.de", "acc", "ref", 42};
  std::string error;
  ASSERT_TRUE(SaveCredentials(path, c, &error)) << error;
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto back = LoadCredentials(path, &error);
  ASSERT_TRUE(back.has_value()) << error;
  EXPECT_EQ(back->contexts.at("x").refresh_token, "ref");
  EXPECT_EQ(back->contexts.at("x").expires_at_ms, 42);
  std::remove(path.c_str());
  rmdir((std::string(dir) + "/sub").c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace cityhub::cityctl
