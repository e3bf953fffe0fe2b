#include "infra/log.h"

#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cityhub::infra::log {
namespace {

TEST(Log, FormatsOneJsonObjectWithTheFields) {
  Init("accounts", Level::kInfo);
  const std::string line =
      Format(Level::kWarn, "rpc", {{"request_id", "abc"}, {"code", 5}, {"ok", false}, {"ms", 1.5}});
  const auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["level"], "warn");
  EXPECT_EQ(json["service"], "accounts");
  EXPECT_EQ(json["event"], "rpc");
  EXPECT_EQ(json["request_id"], "abc");
  EXPECT_EQ(json["code"], 5);
  EXPECT_EQ(json["ok"], false);
  EXPECT_EQ(json["ms"], 1.5);
  EXPECT_THAT(json["ts"].get<std::string>(),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z"));
}

TEST(Log, StaysValidJsonWhateverTheValues) {
  const std::string line = Format(Level::kInfo, "x", {{"v", "quote\" newline\n bad\xFF"}});
  EXPECT_NO_THROW(nlohmann::json::parse(line));
}

TEST(Log, NumbersJsonCannotHoldBecomeNull) {
  const std::string line = Format(
      Level::kInfo, "x",
      {{"nan", std::nan("")}, {"inf", std::numeric_limits<double>::infinity()}, {"ok", 2.5}});
  const auto json = nlohmann::json::parse(line);
  EXPECT_TRUE(json["nan"].is_null());
  EXPECT_TRUE(json["inf"].is_null());
  EXPECT_EQ(json["ok"], 2.5);
}

TEST(Log, LevelsFilter) {
  Init("t", Level::kWarn);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  Init("t", Level::kInfo);
  EXPECT_EQ(ParseLevel("debug").value(), Level::kDebug);
  EXPECT_FALSE(ParseLevel("loud").ok());
}

}  // namespace
}  // namespace cityhub::infra::log
