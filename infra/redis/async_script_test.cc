#include "infra/redis/async_script.h"

#include <future>

#include <gtest/gtest.h>

#include "tests/harness/redis_server.h"

namespace cityhub::infra::redis {
namespace {

class EvalAsyncTest : public cityhub::testing::RedisTest {
 protected:
  absl::StatusOr<Reply> Eval(const Script& script, const Args& keys, const Args& args) {
    std::promise<absl::StatusOr<Reply>> promise;
    EvalAsync(async_, script, keys, args,
              [&](absl::StatusOr<Reply> r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  }

  AsyncClient async_{redis().ClientOptions(), 1};
};

const Script& Incr() {
  static const Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  return script;
}

TEST_F(EvalAsyncTest, RunsAScriptAndRunsItAgainAfterRedisForgotIt) {
  auto first = Eval(Incr(), {"eval:async"}, {"2"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->integer(), 2);
  ASSERT_TRUE(client().Command({"SCRIPT", "FLUSH"}).ok());
  auto again = Eval(Incr(), {"eval:async"}, {"3"});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->integer(), 5) << "NOSCRIPT: loaded and run once, not twice or never";
}

TEST_F(EvalAsyncTest, AnErrorReplyIsAStatus) {
  static const Script refusing("return redis.error_reply('NOT_FOUND no such thing')");
  auto reply = Eval(refusing, {}, {});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kNotFound) << reply.status();
}

}  // namespace
}  // namespace cityhub::infra::redis
