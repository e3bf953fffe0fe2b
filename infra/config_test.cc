#include "infra/config.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "infra/service_config.h"

namespace cityhub::infra {
namespace {

using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(EnvReader, UnsetVariablesGiveTheDefaults) {
  EnvReader env(std::map<std::string, std::string>{});
  EXPECT_EQ(env.String("A", "x"), "x");
  EXPECT_EQ(env.Int("B", 7, 0, 10), 7);
  EXPECT_TRUE(env.Bool("C", true));
  EXPECT_EQ(env.Duration("D", milliseconds(5), milliseconds(0), milliseconds(10)), milliseconds(5));
  EXPECT_EQ(env.Address("E", "127.0.0.1:1"), "127.0.0.1:1");
  EXPECT_TRUE(env.Finish().ok());
}

TEST(EnvReader, ParsesEveryKind) {
  EnvReader env(std::map<std::string, std::string>{{"S", "hello"},
                                                   {"I", "42"},
                                                   {"B", "false"},
                                                   {"D1", "250ms"},
                                                   {"D2", "3s"},
                                                   {"D3", "2m"},
                                                   {"D4", "1h"},
                                                   {"D5", "17"},
                                                   {"A", "[::1]:8080"},
                                                   {"O", "warn"}});
  EXPECT_EQ(env.String("S", ""), "hello");
  EXPECT_EQ(env.Int("I", 0, 0, 100), 42);
  EXPECT_FALSE(env.Bool("B", true));
  const milliseconds big(10'000'000);
  EXPECT_EQ(env.Duration("D1", {}, {}, big), milliseconds(250));
  EXPECT_EQ(env.Duration("D2", {}, {}, big), milliseconds(3000));
  EXPECT_EQ(env.Duration("D3", {}, {}, big), milliseconds(120'000));
  EXPECT_EQ(env.Duration("D4", {}, {}, big), milliseconds(3'600'000));
  EXPECT_EQ(env.Duration("D5", {}, {}, big), milliseconds(17));
  EXPECT_EQ(env.Address("A", ""), "[::1]:8080");
  EXPECT_EQ(env.OneOf("O", "info", {"info", "warn"}), "warn");
  EXPECT_TRUE(env.Finish().ok()) << env.Finish();
}

TEST(EnvReader, OneErrorNamesEveryBadVariable) {
  EnvReader env(std::map<std::string, std::string>{{"CITYHUB_X_ADDR", "127.0.0.1:abc"},
                                                   {"CITYHUB_POOL", "lots"},
                                                   {"CITYHUB_FLAG", "maybe"},
                                                   {"CITYHUB_WAIT", "5 parsecs"},
                                                   {"CITYHUB_LEVEL", "loud"},
                                                   {"CITYHUB_SMALL", "1000"}});
  env.Address("CITYHUB_X_ADDR", "127.0.0.1:1");
  env.Int("CITYHUB_POOL", 1, 1, 10);
  env.Bool("CITYHUB_FLAG", false);
  env.Duration("CITYHUB_WAIT", milliseconds(1), milliseconds(0), milliseconds(10));
  env.OneOf("CITYHUB_LEVEL", "info", {"info", "warn"});
  env.Int("CITYHUB_SMALL", 1, 1, 10);
  const absl::Status status = env.Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("CITYHUB_X_ADDR: '127.0.0.1:abc' is not host:port"),
                    HasSubstr("CITYHUB_POOL: 'lots' is not a whole number"),
                    HasSubstr("CITYHUB_FLAG: 'maybe' is not a boolean"),
                    HasSubstr("CITYHUB_WAIT: '5 parsecs' is not a duration"),
                    HasSubstr("CITYHUB_LEVEL: 'loud' is not one of info, warn"),
                    HasSubstr("CITYHUB_SMALL: 1000 is outside 1..10")));
}

TEST(EnvReader, RejectsPortsOutOfRangeAndIpv6WithoutBrackets) {
  EnvReader env(
      std::map<std::string, std::string>{{"A", "127.0.0.1:65536"}, {"B", "::1:80"}, {"C", "host"}});
  env.Address("A", "");
  env.Address("B", "");
  env.Address("C", "");
  EXPECT_THAT(std::string(env.Finish().message()),
              AllOf(HasSubstr("A: "), HasSubstr("B: "), HasSubstr("C: ")));
}

TEST(EnvReader, ReadsSecretsFromFilesWithoutTrailingNewline) {
  const std::string path = ::testing::TempDir() + "/secret.txt";
  std::ofstream(path) << "s3cret\n";
  EnvReader env(std::map<std::string, std::string>{{"SECRET_FILE", path},
                                                   {"MISSING_FILE", "/nonexistent/file"}});
  EXPECT_EQ(env.FileContents("SECRET_FILE", true), "s3cret");
  EXPECT_EQ(env.FileContents("MISSING_FILE", false), "");
  EXPECT_EQ(env.FileContents("UNSET_FILE", true), "");
  const std::string message(env.Finish().message());
  EXPECT_THAT(message, HasSubstr("MISSING_FILE: cannot read file"));
  EXPECT_THAT(message, HasSubstr("UNSET_FILE: must name a file"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("s3cret")));
}

TEST(SplitHostPort, SplitsHostAndPort) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(SplitHostPort("localhost:0", &host, &port));
  EXPECT_EQ(host, "localhost");
  EXPECT_EQ(port, 0);
  EXPECT_FALSE(SplitHostPort(":80", &host, &port));
  EXPECT_FALSE(SplitHostPort("x:-1", &host, &port));
}

TEST(ServiceConfig, ListensWhereOthersDialUnlessToldOtherwise) {
  const ServiceDefaults defaults{"requests", "127.0.0.1:7002", "off"};
  EnvReader plain(std::map<std::string, std::string>{{"CITYHUB_REQUESTS_ADDR", "requests:7002"}});
  EXPECT_EQ(LoadCommonConfig(plain, defaults).server.listen_address, "requests:7002");
  EnvReader k8s(
      {{"CITYHUB_REQUESTS_ADDR", "requests:7002"}, {"CITYHUB_LISTEN_ADDR", "0.0.0.0:7002"}});
  EXPECT_EQ(LoadCommonConfig(k8s, defaults).server.listen_address, "0.0.0.0:7002");
  EnvReader bad(std::map<std::string, std::string>{{"CITYHUB_LISTEN_ADDR", "0.0.0.0:port"}});
  LoadCommonConfig(bad, defaults);
  EXPECT_THAT(std::string(bad.Finish().message()), HasSubstr("CITYHUB_LISTEN_ADDR"));
}

// An event stream's URL without credentials (the producer's stream in the same Redis) keeps the
// service's own ACL user along with its password.
TEST(ServiceConfig, StreamUrlKeepsTheUserOfThePassword) {
  redis::Options own;
  own.user = "notifications";
  own.password = "secret";
  EnvReader env(std::map<std::string, std::string>{
      {"CITYHUB_ACCOUNTS_EVENTS_REDIS_URL", "redis://accounts-redis:6379"}});
  redis::Options stream = RedisOptionsFrom(env, "CITYHUB_ACCOUNTS_EVENTS_REDIS_URL", own);
  EXPECT_EQ(stream.host, "accounts-redis");
  EXPECT_EQ(stream.user, "notifications");
  EXPECT_EQ(stream.password, "secret");
}

TEST(ServiceConfig, JurisdictionsListTheDefaultFirstThenTheExtraOnes) {
  EnvReader env(std::map<std::string, std::string>{
      {"CITYHUB_JURISDICTION", "bielefeld.de"},
      {"CITYHUB_EXTRA_JURISDICTIONS",
       "guetersloh.de=51.8,8.2,52.0,8.5;herford.de=52.0,8.5,52.2,8.8"}});
  const auto all = LoadJurisdictions(env);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, "bielefeld.de");
  EXPECT_EQ(all[0].bounds, "51.90,8.37,52.12,8.67");
  EXPECT_EQ(all[1].id, "guetersloh.de");
  EXPECT_EQ(all[1].bounds, "51.8,8.2,52.0,8.5");
  EXPECT_EQ(all[2].id, "herford.de");
  EXPECT_TRUE(env.Finish().ok());
}

TEST(ServiceConfig, AnExtraJurisdictionWithoutBoundsIsABadSetting) {
  EnvReader env(std::map<std::string, std::string>{{"CITYHUB_EXTRA_JURISDICTIONS", "herford.de"}});
  EXPECT_EQ(LoadJurisdictions(env).size(), 1u);
  EXPECT_THAT(std::string(env.Finish().message()),
              HasSubstr("CITYHUB_EXTRA_JURISDICTIONS: 'herford.de': missing '='"));
}

TEST(ServiceConfig, AnExtraJurisdictionWithoutAnIdIsABadSetting) {
  EnvReader env(
      std::map<std::string, std::string>{{"CITYHUB_EXTRA_JURISDICTIONS", "=52.0,8.5,52.2,8.8"}});
  EXPECT_EQ(LoadJurisdictions(env).size(), 1u);
  EXPECT_THAT(std::string(env.Finish().message()), HasSubstr("missing id"));
}

TEST(ServiceConfig, TheLogLevelIsOneOfFourNames) {
  EnvReader env(std::map<std::string, std::string>{{"CITYHUB_LOG_LEVEL", "warn"}});
  EXPECT_EQ(LoadLogLevel(env), log::Level::kWarn);
  EXPECT_TRUE(env.Finish().ok());
  EnvReader loud(std::map<std::string, std::string>{{"CITYHUB_LOG_LEVEL", "loud"}});
  EXPECT_EQ(LoadLogLevel(loud), log::Level::kInfo);
  EXPECT_THAT(std::string(loud.Finish().message()), HasSubstr("CITYHUB_LOG_LEVEL"));
}

}  // namespace
}  // namespace cityhub::infra
