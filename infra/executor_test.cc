#include "infra/executor.h"

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <thread>

#include <gtest/gtest.h>

namespace cityhub::infra {
namespace {

using namespace std::chrono_literals;

// Polls `done` until it holds or five seconds pass.
template <typename Fn>
bool Eventually(Fn done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

double ValueOf(MetricsRegistry& metrics, const char* counter) {
  return metrics.AddCounter(counter, "", {"executor"}).WithLabels({"test"}).Value();
}

TEST(BoundedExecutorTest, RunsPostedTasksOnItsWorkers) {
  MetricsRegistry metrics;
  BoundedExecutor executor({"test", 2, 8}, metrics);
  std::promise<std::thread::id> ran;
  ASSERT_TRUE(executor.TryPost([&] { ran.set_value(std::this_thread::get_id()); }));
  auto future = ran.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST(BoundedExecutorTest, FullQueueRefusesAPostAndCountsIt) {
  MetricsRegistry metrics;
  BoundedExecutor executor({"test", 1, 2}, metrics);
  std::latch release(1);
  std::atomic<bool> holding{false};
  ASSERT_TRUE(executor.TryPost([&] {
    holding = true;
    release.wait();
  }));
  ASSERT_TRUE(Eventually([&] { return holding.load(); }));
  std::atomic<int> ran{0};
  EXPECT_TRUE(executor.TryPost([&] { ++ran; }));
  EXPECT_TRUE(executor.TryPost([&] { ++ran; }));
  EXPECT_EQ(executor.queue_depth(), 2u);
  EXPECT_FALSE(executor.TryPost([&] { ran += 100; }));
  EXPECT_EQ(ValueOf(metrics, "executor_rejected_total"), 1);
  EXPECT_EQ(metrics.AddGauge("executor_queue_depth", "", {"executor"}).WithLabels({"test"}).Value(),
            2);
  release.count_down();
  ASSERT_TRUE(Eventually([&] { return ran.load() == 2; }));
  // Room again once the queue drained.
  EXPECT_TRUE(executor.TryPost([&] { ++ran; }));
  ASSERT_TRUE(Eventually([&] { return ran.load() == 3; }));
}

TEST(BoundedExecutorTest, StopRunsEveryQueuedTaskBeforeReturning) {
  MetricsRegistry metrics;
  BoundedExecutor executor({"test", 1, 10000}, metrics);
  std::latch release(1);
  std::atomic<bool> holding{false};
  ASSERT_TRUE(executor.TryPost([&] {
    holding = true;
    release.wait();
  }));
  ASSERT_TRUE(Eventually([&] { return holding.load(); }));
  std::atomic<int> ran{0};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(executor.TryPost([&] { ++ran; }));
  std::thread stopper([&] { executor.Stop(); });
  // Once posts are refused, Stop is waiting for the held task; the ten behind it still run.
  EXPECT_TRUE(Eventually([&] { return !executor.TryPost([] {}); }));
  EXPECT_EQ(ran.load(), 0);
  release.count_down();
  stopper.join();
  EXPECT_EQ(ran.load(), 10);
}

TEST(BoundedExecutorTest, PostAfterStopIsRefused) {
  MetricsRegistry metrics;
  BoundedExecutor executor({"test", 2, 16}, metrics);
  executor.Stop();
  EXPECT_FALSE(executor.TryPost([] {}));
  EXPECT_EQ(ValueOf(metrics, "executor_rejected_total"), 1);
  executor.Stop();  // idempotent
}

TEST(BoundedExecutorTest, WorkersRunTasksSideBySide) {
  MetricsRegistry metrics;
  BoundedExecutor executor({"test", 3, 16}, metrics);
  // Three tasks that each wait for all three to have started finish only if three workers
  // run them at the same time.
  std::latch all_started(3);
  std::atomic<int> finished{0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(executor.TryPost([&] {
      all_started.arrive_and_wait();
      ++finished;
    }));
  }
  EXPECT_TRUE(Eventually([&] { return finished.load() == 3; }));
}

TEST(BoundedExecutorTest, NonPositiveSizesBecomeOne) {
  MetricsRegistry metrics;
  BoundedExecutor executor({"test", 0, 0}, metrics);
  EXPECT_EQ(executor.options().workers, 1);
  EXPECT_EQ(executor.options().queue_limit, 1);
  std::atomic<bool> ran{false};
  ASSERT_TRUE(executor.TryPost([&] { ran = true; }));
  EXPECT_TRUE(Eventually([&] { return ran.load(); }));
}

}  // namespace
}  // namespace cityhub::infra
