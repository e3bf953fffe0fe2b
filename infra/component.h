#pragma once

// The component layer (after userver's components): each service declares its parts once, in the
// order config → stores → domain → gRPC service → background workers, in one builder function that
// `main.cc` and the tests both call. The graph owns every part, destroys them in reverse order of
// construction, and gives every background worker the same life cycle: started in order after the
// gRPC server listens, stopped in reverse order before anything they use is destroyed.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace cityhub::infra {

// Something that runs in the background between Start() and Stop(). Stop() returns once the work
// has ended; both are called from the thread that owns the graph.
class Worker {
 public:
  virtual ~Worker() = default;
  virtual std::string_view name() const = 0;
  virtual void Start() = 0;
  virtual void Stop() = 0;
};

// A worker whose work is one step repeated on its own thread: `step` answers how long to wait
// before the next step, or nullopt when the work is done. Stop() wakes a waiting loop at once and
// joins it; a step that is running is asked to stop through its stop_token.
class LoopWorker final : public Worker {
 public:
  using Step = std::function<std::optional<std::chrono::milliseconds>(const std::stop_token&)>;
  LoopWorker(std::string name, Step step);
  ~LoopWorker() override;
  std::string_view name() const override { return name_; }
  void Start() override;
  void Stop() override;

 private:
  std::string name_;
  Step step_;
  std::mutex mu_;
  std::condition_variable_any wake_;
  std::jthread thread_;
};

class Components {
 public:
  Components() = default;
  Components(const Components&) = delete;
  Components& operator=(const Components&) = delete;
  // Stops the workers, then destroys the parts, newest first.
  ~Components();

  // Builds a part the graph owns until it is destroyed. A part deriving from Worker is also
  // registered as a worker.
  template <typename T, typename... Args>
  T& Make(Args&&... args) {
    auto owned = std::make_shared<T>(std::forward<Args>(args)...);
    T& part = *owned;
    parts_.push_back(std::move(owned));
    if constexpr (std::is_base_of_v<Worker, T>) workers_.push_back(&part);
    return part;
  }

  // Builds a part with its own Start()/Stop() (a stream consumer, a key fetcher, ...) and
  // registers it as a worker under `name`.
  template <typename T, typename... Args>
  T& MakeWorker(std::string name, Args&&... args) {
    T& part = Make<T>(std::forward<Args>(args)...);
    Adopt(std::move(name), part);
    return part;
  }

  // Registers an existing object with Start()/Stop() as a worker; it must outlive the graph or be
  // one of its parts.
  template <typename T>
  void Adopt(std::string name, T& part) {
    Make<Adapter<T>>(std::move(name), part);
  }

  // A LoopWorker owned by the graph.
  LoopWorker& Loop(std::string name, LoopWorker::Step step) {
    return Make<LoopWorker>(std::move(name), std::move(step));
  }

  // Starts every worker not yet started, in the order they were declared.
  void StartWorkers();
  // Stops every started worker, newest first. Safe to call more than once.
  void StopWorkers();

  // The declared workers' names, in order (for tests and the start-up log).
  std::vector<std::string> WorkerNames() const;

 private:
  template <typename T>
  class Adapter final : public Worker {
   public:
    Adapter(std::string name, T& part) : name_(std::move(name)), part_(part) {}
    std::string_view name() const override { return name_; }
    void Start() override { part_.Start(); }
    void Stop() override { part_.Stop(); }

   private:
    std::string name_;
    T& part_;
  };

  std::vector<std::shared_ptr<void>> parts_;
  std::vector<Worker*> workers_;
  size_t started_ = 0;
};

}  // namespace cityhub::infra
