#include "infra/component.h"

#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "infra/status.h"

namespace cityhub::infra {
namespace {

using namespace std::chrono_literals;

struct Journal {
  std::vector<std::string> lines;
};

// A part with its own Start()/Stop(), like a stream consumer.
class Recorder {
 public:
  Recorder(Journal& journal, std::string name) : journal_(journal), name_(std::move(name)) {}
  ~Recorder() { journal_.lines.push_back("destroy " + name_); }
  void Start() { journal_.lines.push_back("start " + name_); }
  void Stop() { journal_.lines.push_back("stop " + name_); }

 private:
  Journal& journal_;
  std::string name_;
};

TEST(ComponentsTest, StartsInOrderStopsAndDestroysNewestFirst) {
  Journal journal;
  {
    Components parts;
    parts.Make<Recorder>(journal, "store");
    parts.MakeWorker<Recorder>("consumer", journal, "consumer");
    parts.MakeWorker<Recorder>("delivery", journal, "delivery");
    EXPECT_EQ(parts.WorkerNames(), (std::vector<std::string>{"consumer", "delivery"}));
    parts.StartWorkers();
    parts.StartWorkers();  // a second call starts nothing twice
  }
  EXPECT_EQ(journal.lines, (std::vector<std::string>{
                               "start consumer", "start delivery", "stop delivery", "stop consumer",
                               "destroy delivery", "destroy consumer", "destroy store"}));
}

TEST(ComponentsTest, WorkersNeverStartedAreNotStopped) {
  Journal journal;
  {
    Components parts;
    parts.MakeWorker<Recorder>("consumer", journal, "consumer");
    parts.StopWorkers();
  }
  EXPECT_EQ(journal.lines, (std::vector<std::string>{"destroy consumer"}));
}

TEST(LoopWorkerTest, RepeatsUntilDoneAndStopWakesAWaitingLoop) {
  std::atomic<int> steps = 0;
  LoopWorker finite("finite",
                    [&](const std::stop_token&) -> std::optional<std::chrono::milliseconds> {
                      if (++steps == 3) return std::nullopt;
                      return 1ms;
                    });
  finite.Start();
  for (int i = 0; i < 5000 && steps < 3; ++i) std::this_thread::sleep_for(1ms);
  finite.Stop();
  EXPECT_EQ(steps, 3);

  std::atomic<int> slow_steps = 0;
  LoopWorker slow("slow", [&](const std::stop_token&) -> std::optional<std::chrono::milliseconds> {
    ++slow_steps;
    return std::chrono::hours(1);
  });
  slow.Start();
  for (int i = 0; i < 5000 && slow_steps == 0; ++i) std::this_thread::sleep_for(1ms);
  const auto before = std::chrono::steady_clock::now();
  slow.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
  EXPECT_EQ(slow_steps, 1);
}

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError("n: odd");
  return n / 2;
}

absl::StatusOr<int> Quarter(int n) {
  ASSIGN_OR_RETURN(const int half, Half(n));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int n, int& calls) {
  ++calls;
  RETURN_IF_ERROR(Half(n));
  RETURN_IF_ERROR(n > 100 ? absl::OutOfRangeError("n: too large") : absl::OkStatus());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnTheFirstErrorAndEvaluateOnce) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status(), absl::InvalidArgumentError("n: odd"));
  int calls = 0;
  EXPECT_TRUE(CheckEven(4, calls).ok());
  EXPECT_EQ(CheckEven(3, calls), absl::InvalidArgumentError("n: odd"));
  EXPECT_EQ(CheckEven(200, calls), absl::OutOfRangeError("n: too large"));
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace cityhub::infra
