#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "infra/metrics.h"

namespace cityhub::infra {

// A small HTTP/1.1 server for operations: GET /metrics (Prometheus text of `registry`) and
// GET /healthz. Runs on its own thread until destroyed. Requests larger than 8 KiB, other
// paths and other methods get 4xx answers; idle connections close after 30 s.
class MetricsServer final {
 public:
  // Binds `address` ("host:port"; port 0 picks a free one) and starts serving.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                              const MetricsRegistry& registry);
  ~MetricsServer();

  // The bound port (useful when started on port 0).
  int port() const;

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cityhub::infra
