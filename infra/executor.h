#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "infra/metrics.h"

namespace cityhub::infra {

struct ExecutorOptions {
  // The `executor` label of the metrics (a fixed name per binary, e.g. "requests").
  std::string name = "default";
  // Threads that run tasks (at least 1).
  int workers = 4;
  // Tasks that may wait for a worker (at least 1); a post beyond that is refused.
  int queue_limit = 256;
};

// A fixed pool of threads with a bounded queue: where a service runs work that blocks (sync
// Redis round trips, files, Argon2id), so that gRPC's callback threads and the Redis client's
// reader thread never do. A full queue refuses the task instead of growing, so that overload
// turns into fast RESOURCE_EXHAUSTED answers rather than unbounded latency and memory.
//
// Metrics (label `executor`): executor_queue_depth (tasks waiting), executor_active (tasks
// running), executor_rejected_total (posts refused because the queue was full or stopped).
class BoundedExecutor final {
 public:
  BoundedExecutor(ExecutorOptions options, MetricsRegistry& metrics);
  // Stops (see Stop).
  ~BoundedExecutor();
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Queues `task` for a worker. False, without running or keeping `task`, when the queue
  // already holds queue_limit tasks or the executor is stopping. Thread-safe; never blocks
  // beyond a short lock. A task must not throw.
  bool TryPost(std::function<void()> task);

  // Refuses new posts, runs every task already queued (each may own a gRPC call that only it
  // can finish), then joins the workers. Idempotent; must not be called from a worker.
  void Stop();

  size_t queue_depth() const;
  const ExecutorOptions& options() const { return options_; }

 private:
  void Work();

  ExecutorOptions options_;
  Gauge& queue_depth_metric_;
  Gauge& active_metric_;
  Counter& rejected_metric_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace cityhub::infra
