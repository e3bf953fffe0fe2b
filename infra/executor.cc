#include "infra/executor.h"

#include <algorithm>
#include <utility>

namespace cityhub::infra {

BoundedExecutor::BoundedExecutor(ExecutorOptions options, MetricsRegistry& metrics)
    : options_(std::move(options)),
      queue_depth_metric_(metrics
                              .AddGauge("executor_queue_depth",
                                        "Tasks waiting for a worker of the executor", {"executor"})
                              .WithLabels({options_.name})),
      active_metric_(
          metrics
              .AddGauge("executor_active", "Tasks running on the executor's workers", {"executor"})
              .WithLabels({options_.name})),
      rejected_metric_(metrics
                           .AddCounter("executor_rejected_total",
                                       "Tasks refused because the executor's queue was full",
                                       {"executor"})
                           .WithLabels({options_.name})) {
  options_.workers = std::max(options_.workers, 1);
  options_.queue_limit = std::max(options_.queue_limit, 1);
  workers_.reserve(static_cast<size_t>(options_.workers));
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Work(); });
}

BoundedExecutor::~BoundedExecutor() { Stop(); }

bool BoundedExecutor::TryPost(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= static_cast<size_t>(options_.queue_limit)) {
      rejected_metric_.Inc();
      return false;
    }
    queue_.push_back(std::move(task));
    queue_depth_metric_.Set(static_cast<double>(queue_.size()));
  }
  cv_.notify_one();
  return true;
}

void BoundedExecutor::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
}

size_t BoundedExecutor::queue_depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void BoundedExecutor::Work() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Stopping drains: a worker leaves only when nothing is left to run.
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      queue_depth_metric_.Set(static_cast<double>(queue_.size()));
    }
    active_metric_.Inc();
    task();
    active_metric_.Dec();
  }
}

}  // namespace cityhub::infra
