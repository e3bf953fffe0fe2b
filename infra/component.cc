#include "infra/component.h"

#include "infra/log.h"

namespace cityhub::infra {

LoopWorker::LoopWorker(std::string name, Step step)
    : name_(std::move(name)), step_(std::move(step)) {}

LoopWorker::~LoopWorker() { Stop(); }

void LoopWorker::Start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested()) {
      const std::optional<std::chrono::milliseconds> pause = step_(stop);
      if (!pause) return;
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, stop, *pause, [] { return false; });
    }
  });
}

void LoopWorker::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

Components::~Components() {
  StopWorkers();
  while (!parts_.empty()) parts_.pop_back();
}

void Components::StartWorkers() {
  for (; started_ < workers_.size(); ++started_) {
    log::Info("worker_starting", {{"worker", workers_[started_]->name()}});
    workers_[started_]->Start();
  }
}

void Components::StopWorkers() {
  while (started_ > 0) workers_[--started_]->Stop();
}

std::vector<std::string> Components::WorkerNames() const {
  std::vector<std::string> names;
  for (const Worker* w : workers_) names.emplace_back(w->name());
  return names;
}

}  // namespace cityhub::infra
