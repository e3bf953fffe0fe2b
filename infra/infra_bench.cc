// Costs of the per-call infrastructure (ids, log lines, metrics) that every RPC pays.
#include <benchmark/benchmark.h>

#include "infra/ids.h"
#include "infra/log.h"
#include "infra/metrics.h"

namespace cityhub::infra {
namespace {

void BM_NewUlid(benchmark::State& state) {
  SystemClock clock;
  for (auto _ : state) benchmark::DoNotOptimize(NewUlid(clock));
}
BENCHMARK(BM_NewUlid);

void BM_FormatLogLine(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        log::Format(log::Level::kInfo, "rpc",
                    {{"request_id", "01JDQ4Z8W3F6T7Y9A0B1C2D3E4"},
                     {"method", "/cityhub.requests.v1.RequestsService/GetRequest"},
                     {"code", "OK"},
                     {"latency_ms", 0.42}}));
  }
}
BENCHMARK(BM_FormatLogLine);

void BM_HistogramObserveWithLabelLookup(benchmark::State& state) {
  MetricsRegistry registry;
  auto& family = registry.AddHistogram("h", "h", {"method"});
  for (auto _ : state) family.WithLabels({"/x.Y/Z"}).Observe(0.001);
}
BENCHMARK(BM_HistogramObserveWithLabelLookup)->Threads(1)->Threads(2);

}  // namespace
}  // namespace cityhub::infra

BENCHMARK_MAIN();
