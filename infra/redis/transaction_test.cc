#include "infra/redis/transaction.h"

#include <future>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "infra/redis/async_client.h"
#include "tests/harness/redis_server.h"

namespace cityhub::infra::redis {
namespace {

using cityhub::testing::RedisTest;

class TransactionTest : public RedisTest {};

TEST_F(TransactionTest, WritesOperationsAndEventsTogetherWhenGuardsHold) {
  Transaction tx;
  tx.RequireNil({"GET", "item:1"}, "ALREADY_EXISTS item exists")
      .Then({"SET", "item:1", "v1"})
      .Then({"SADD", "items", "1"})
      .Append({"XADD", "events", "*", "type", "ItemCreated"});
  auto replies = tx.Run(client());
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_EQ((*replies)[0].str(), "OK");
  EXPECT_EQ((*replies)[1].integer(), 1);
  EXPECT_THAT((*replies)[2].str(), ::testing::HasSubstr("-"));  // the stream entry id
  EXPECT_EQ(AsString(client().Command({"GET", "item:1"})).value(), "v1");
  EXPECT_EQ(AsInteger(client().Command({"XLEN", "events"})).value(), 1);
}

TEST_F(TransactionTest, AFailedGuardWritesNothingAndGivesItsStatus) {
  ASSERT_TRUE(client().Command({"SET", "item:1", "old"}).ok());
  Transaction tx;
  tx.RequireNotNil({"GET", "item:1"}, "NOT_FOUND item not found")
      .RequireNil({"GET", "item:1"}, "ALREADY_EXISTS item exists")
      .Then({"SET", "item:1", "new"})
      .Append({"XADD", "events", "*", "type", "ItemCreated"});
  auto replies = tx.Run(client());
  EXPECT_EQ(replies.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(replies.status().message(), "item exists");
  EXPECT_EQ(AsString(client().Command({"GET", "item:1"})).value(), "old");
  EXPECT_EQ(AsInteger(client().Command({"XLEN", "events"})).value(), 0);
}

TEST_F(TransactionTest, EqualGuardComparesTextAndIntegers) {
  ASSERT_TRUE(client().Command({"HSET", "h", "version", "7"}).ok());
  ASSERT_TRUE(client().Command({"SADD", "s", "a", "b"}).ok());
  Transaction ok;
  ok.RequireEqual({"HGET", "h", "version"}, "7", "ABORTED changed")
      .RequireEqual({"SCARD", "s"}, "2", "ABORTED changed")
      .RequireLess({"SCARD", "s"}, 3, "RESOURCE_EXHAUSTED too many")
      .Then({"HSET", "h", "version", "8"});
  ASSERT_TRUE(ok.Run(client()).ok());

  Transaction stale;
  stale.RequireEqual({"HGET", "h", "version"}, "7", "ABORTED changed meanwhile")
      .Then({"HSET", "h", "version", "9"});
  EXPECT_EQ(stale.Run(client()).status().code(), absl::StatusCode::kAborted);
  Transaction missing;
  missing.RequireEqual({"HGET", "h", "nothing"}, "7", "ABORTED changed").Then({"DEL", "h"});
  EXPECT_EQ(missing.Run(client()).status().code(), absl::StatusCode::kAborted);
  Transaction full;
  full.RequireLess({"SCARD", "s"}, 2, "RESOURCE_EXHAUSTED too many").Then({"SADD", "s", "c"});
  EXPECT_EQ(full.Run(client()).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(AsString(client().Command({"HGET", "h", "version"})).value(), "8");
  EXPECT_EQ(AsInteger(client().Command({"SCARD", "s"})).value(), 2);
}

TEST_F(TransactionTest, OperationRepliesKeepNilAndBinaryValues) {
  const std::string value("a\0b\xff", 4);
  Transaction tx;
  tx.Then({"GET", "missing"}).Then({"SET", "bin", value}).Then({"GET", "bin"});
  auto replies = tx.Run(client());
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_TRUE((*replies)[0].is_nil());
  EXPECT_EQ((*replies)[2].str(), value);
}

TEST_F(TransactionTest, AnEmptyTransactionDoesNothing) {
  auto replies = Transaction().Run(client());
  ASSERT_TRUE(replies.ok());
  EXPECT_TRUE(replies->empty());
}

TEST_F(TransactionTest, SurvivesAScriptFlush) {
  Transaction tx;
  tx.Then({"INCR", "n"});
  ASSERT_TRUE(tx.Run(client()).ok());
  ASSERT_TRUE(client().Command({"SCRIPT", "FLUSH"}).ok());
  auto again = tx.Run(client());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0].integer(), 2);
}

TEST_F(TransactionTest, DurableRunsWithoutReplicasConfigured) {
  Transaction tx;
  tx.Then({"SET", "d", "1"}).Durable();
  ASSERT_TRUE(tx.Run(client()).ok());
  EXPECT_EQ(AsString(client().Command({"GET", "d"})).value(), "1");
}

TEST_F(TransactionTest, RunsThroughTheAsyncClient) {
  AsyncClient async(redis().ClientOptions(), 1);
  auto run = [&](const Transaction& tx) {
    std::promise<absl::StatusOr<std::vector<Reply>>> promise;
    tx.Run(async, [&](absl::StatusOr<std::vector<Reply>> r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  };
  Transaction create;
  create.RequireNil({"GET", "a"}, "ALREADY_EXISTS a exists")
      .Then({"SET", "a", "1"})
      .Append({"XADD", "events", "*", "type", "A"});
  auto first = run(create);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->size(), 2u);
  EXPECT_EQ(run(create).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(AsInteger(client().Command({"XLEN", "events"})).value(), 1);
}

TEST_F(TransactionTest, AStreamThatRefusesTheEventLeavesTheDataUnchanged) {
  ASSERT_TRUE(client().Command({"SET", "events", "not a stream"}).ok());
  Transaction tx;
  tx.RequireNil({"GET", "item:1"}, "ALREADY_EXISTS item exists")
      .Then({"SET", "item:1", "v1"})
      .Append({"XADD", "events", "*", "type", "ItemCreated"});
  EXPECT_FALSE(tx.Run(client()).ok());
  EXPECT_TRUE(client().Command({"GET", "item:1"})->is_nil());
}

TEST_F(TransactionTest, AnOperationCanEndWithTheReplyOfAnEarlierOne) {
  ASSERT_TRUE(client().Command({"RPUSH", "list", "a"}).ok());
  Transaction tx;
  tx.RequireLess({"LLEN", "list"}, 5, "RESOURCE_EXHAUSTED list full")
      .Then({"RPUSH", "list", "b"})
      .Then({"SET", "plain", "v"})
      .ThenWithReply({"SADD", "index"}, 0, "item:", -1)
      .ThenWithReply({"HSET", "h", "at"}, 0, "", 10)
      .Append({"XADD", "events", "*", "type", "Pushed"});
  auto replies = tx.Run(client());
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 5u);
  EXPECT_EQ((*replies)[0].integer(), 2);
  EXPECT_EQ((*replies)[2].integer(), 1);
  auto index = client().Command({"SMEMBERS", "index"});
  ASSERT_EQ(index->elements().size(), 1u);
  EXPECT_EQ(index->elements()[0].str(), "item:1");  // the position RPUSH gave "b"
  EXPECT_EQ(AsString(client().Command({"HGET", "h", "at"})).value(), "12");
  EXPECT_EQ(AsString(client().Command({"GET", "plain"})).value(), "v");
}

// A reply index that names no earlier operation is a caller's mistake: every run fails with
// INVALID_ARGUMENT before anything is written, in release builds too.
TEST_F(TransactionTest, ThenWithReplyNamingNoEarlierOperationFailsWithoutWriting) {
  AsyncClient async(redis().ClientOptions(), 1);
  for (const int earlier : {-1, 1, 7}) {  // one operation (0) is given before it
    Transaction tx;
    tx.Then({"SET", "plain", "v"}).ThenWithReply({"SADD", "index"}, earlier, "item:", 0);
    const auto run = tx.Run(client());
    EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument) << earlier;
    EXPECT_THAT(run.status().message(), ::testing::HasSubstr("ThenWithReply")) << earlier;
    std::promise<absl::StatusOr<std::vector<Reply>>> done;
    tx.Run(async, [&](auto replies) { done.set_value(std::move(replies)); });
    EXPECT_EQ(done.get_future().get().status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(AsInteger(client().Command({"EXISTS", "plain", "index"})).value(), 0);
}

// The writes that stay scripts of their own append their events with Transaction's fragment.
TEST_F(TransactionTest, AScriptOfItsOwnAppendsEventsThroughTheSameFragment) {
  static const Script script(std::string(Transaction::kAppendEventsLua) + R"lua(
local after, replies = append_events(2)
return {ARGV[1], ARGV[after], #replies}
)lua");
  Args argv = {"before"};
  Transaction::EncodeEvents(
      {{"XADD", "events", "*", "type", "A", "event", "a"}, {"XADD", "other", "*", "type", "B"}},
      &argv);
  argv.push_back("after");
  auto reply = client().Eval(script, {}, argv);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->elements().size(), 3u);
  EXPECT_EQ(reply->elements()[0].str(), "before");
  EXPECT_EQ(reply->elements()[1].str(), "after");  // the index after the events
  EXPECT_EQ(reply->elements()[2].integer(), 2);
  auto entries = client().Command({"XRANGE", "events", "-", "+"});
  ASSERT_EQ(entries->elements().size(), 1u);
  const auto& fields = entries->elements()[0].elements()[1].elements();
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[1].str(), "A");
  EXPECT_EQ(fields[3].str(), "a");
  EXPECT_EQ(AsInteger(client().Command({"XLEN", "other"})).value(), 1);
  // No events: the index right after the count.
  argv = {"before"};
  Transaction::EncodeEvents({}, &argv);
  argv.push_back("after");
  reply = client().Eval(script, {}, argv);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->elements()[1].str(), "after");
  EXPECT_EQ(reply->elements()[2].integer(), 0);
}

TEST_F(TransactionTest, SkipIfSetEndsTheUnitWithoutWritingAndGivesWhatTheGuardRead) {
  ASSERT_TRUE(client().Command({"SET", "idem:k", "first-id"}).ok());
  Transaction tx;
  tx.RequireNil({"GET", "missing"}, "ALREADY_EXISTS never")
      .SkipIfSet({"GET", "idem:k"})
      .RequireNil({"GET", "idem:k"}, "ALREADY_EXISTS not reached")
      .Then({"SET", "item:2", "v"})
      .Append({"XADD", "events", "*", "type", "ItemCreated"});
  auto outcome = tx.Apply(client());
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_FALSE(outcome->applied);
  EXPECT_EQ(outcome->skipped_by, 1);
  EXPECT_EQ(outcome->skip_reply.str(), "first-id");
  EXPECT_TRUE(outcome->replies.empty());
  EXPECT_TRUE(client().Command({"GET", "item:2"})->is_nil());
  EXPECT_EQ(AsInteger(client().Command({"XLEN", "events"})).value(), 0);
}

TEST_F(TransactionTest, SkipIfSetLetsTheUnitRunWhenTheGuardReadsNil) {
  Transaction tx;
  tx.SkipIfSet({"GET", "idem:k"}).Then({"SET", "idem:k", "id-1"});
  auto outcome = tx.Apply(client());
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_TRUE(outcome->applied);
  EXPECT_EQ(outcome->skipped_by, -1);
  ASSERT_EQ(outcome->replies.size(), 1u);
  EXPECT_EQ(outcome->replies[0].str(), "OK");
  auto again = tx.Apply(client());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->applied);
  EXPECT_EQ(again->skip_reply.str(), "id-1");
}

TEST_F(TransactionTest, SkipIfEqualComparesTextAndIntegers) {
  Transaction seen;
  seen.SkipIfEqual({"EXISTS", "seen:e1"}, "1")
      .Then({"SET", "seen:e1", "1"})
      .Then({"INCR", "effects"});
  for (int i = 0; i < 3; ++i) {
    auto outcome = seen.Apply(client());
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_EQ(outcome->applied, i == 0);
    if (i > 0) {
      EXPECT_EQ(outcome->skip_reply.integer(), 1);
    }
  }
  EXPECT_EQ(AsString(client().Command({"GET", "effects"})).value(), "1");

  ASSERT_TRUE(client().Command({"HSET", "h", "state", "done"}).ok());
  Transaction text;
  text.SkipIfEqual({"HGET", "h", "state"}, "open").Then({"HSET", "h", "state", "open"});
  auto first = text.Apply(client());
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->applied);
  auto second = text.Apply(client());
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->applied);
  EXPECT_EQ(second->skipped_by, 0);
  EXPECT_EQ(second->skip_reply.str(), "open");
}

TEST_F(TransactionTest, ASkipGuardAfterAFailedRequireIsNotReached) {
  ASSERT_TRUE(client().Command({"SET", "idem:k", "id"}).ok());
  Transaction tx;
  tx.RequireNotNil({"GET", "missing"}, "NOT_FOUND gone")
      .SkipIfSet({"GET", "idem:k"})
      .Then({"SET", "x", "1"});
  EXPECT_EQ(tx.Apply(client()).status().code(), absl::StatusCode::kNotFound);
  // Run() of a skipped unit gives no replies and no error.
  Transaction skipped;
  skipped.SkipIfSet({"GET", "idem:k"}).Then({"SET", "x", "1"});
  auto replies = skipped.Run(client());
  ASSERT_TRUE(replies.ok()) << replies.status();
  EXPECT_TRUE(replies->empty());
  EXPECT_TRUE(client().Command({"GET", "x"})->is_nil());
}

TEST_F(TransactionTest, DurableSkipsAndAppliesLikeAnyOtherRun) {
  Transaction tx;
  tx.SkipIfSet({"GET", "idem:d"}).Then({"SET", "idem:d", "1"}).Durable();
  auto first = tx.Apply(client());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->applied);
  auto second = tx.Apply(client());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->applied);
}

TEST_F(TransactionTest, AppliesThroughTheAsyncClientWithItsOutcome) {
  AsyncClient async(redis().ClientOptions(), 1);
  auto apply = [&](const Transaction& tx) {
    std::promise<absl::StatusOr<Transaction::Outcome>> promise;
    tx.Apply(async,
             [&](absl::StatusOr<Transaction::Outcome> r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  };
  Transaction once;
  once.SkipIfSet({"GET", "seen"}).Then({"SET", "seen", "1"}).Append({"XADD", "ev", "*", "t", "A"});
  auto first = apply(once);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->applied);
  EXPECT_EQ(first->replies.size(), 2u);
  auto second = apply(once);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->applied);
  EXPECT_EQ(second->skip_reply.str(), "1");
  EXPECT_EQ(AsInteger(client().Command({"XLEN", "ev"})).value(), 1);
}

}  // namespace
}  // namespace cityhub::infra::redis
