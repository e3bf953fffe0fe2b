#include "infra/redis/connection.h"

#include <hiredis/hiredis.h>

#include <gtest/gtest.h>

namespace cityhub::infra::redis {
namespace {

// hiredis's own formatter is the reference for the bytes AppendCommand writes.
std::string Hiredis(const Args& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  char* cmd = nullptr;
  const long long n =
      redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), argv.data(), lengths.data());
  std::string out(cmd, static_cast<size_t>(n));
  redisFreeCommand(cmd);
  return out;
}

TEST(AppendCommandTest, WritesTheBytesHiredisWould) {
  const std::vector<Args> commands = {
      {"PING"},
      {"GET", "requests:request:01J0000000000000000000000"},
      {"SET", "k", ""},
      {"SET", std::string("bin\0ary\r\n", 9), std::string(100000, 'x')},
      {"HSET", "h", "f1", "1", "f2", "22", "f3", "333", "f4", "4444", "f5", "55555"},
      Args(1000, "a"),
  };
  for (const auto& c : commands) {
    std::string wire;
    AppendCommand(c, &wire);
    EXPECT_EQ(wire, Hiredis(c)) << c.front();
  }
}

TEST(AppendCommandTest, AppendsAfterWhatIsThere) {
  std::string wire = "*1\r\n$4\r\nPING\r\n";
  AppendCommand({"GET", "k"}, &wire);
  EXPECT_EQ(wire, "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
}

}  // namespace
}  // namespace cityhub::infra::redis
