#include "infra/metrics.h"

#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cityhub::infra {
namespace {

using ::testing::HasSubstr;

TEST(Metrics, RendersCountersWithLabelsInPrometheusFormat) {
  MetricsRegistry registry;
  auto& requests = registry.AddCounter("http_requests_total", "Requests", {"route", "status"});
  requests.WithLabels({"/v1/x", "200"}).Inc();
  requests.WithLabels({"/v1/x", "200"}).Inc(2);
  requests.WithLabels({"/v1/\"y\"", "404"}).Inc();
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# HELP http_requests_total Requests\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE http_requests_total counter\n"));
  EXPECT_THAT(text, HasSubstr("http_requests_total{route=\"/v1/x\",status=\"200\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("http_requests_total{route=\"/v1/\\\"y\\\"\",status=\"404\"} 1\n"));
}

TEST(Metrics, RendersGauges) {
  MetricsRegistry registry;
  auto& g = registry.AddGauge("connections", "Open connections").Get();
  g.Inc(5);
  g.Dec(2);
  EXPECT_THAT(registry.Render(), HasSubstr("# TYPE connections gauge\nconnections 3\n"));
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  MetricsRegistry registry;
  auto& h = registry.AddHistogram("latency_seconds", "Latency", {"m"}, {0.1, 1}).WithLabels({"a"});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(0.5);
  h.Observe(7);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{m=\"a\",le=\"0.1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{m=\"a\",le=\"1\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{m=\"a\",le=\"+Inf\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_sum{m=\"a\"} 8.05\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_count{m=\"a\"} 4\n"));
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry registry;
  auto& family = registry.AddCounter("c", "c", {"k"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) family.WithLabels({"x"}).Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(family.WithLabels({"x"}).Value(), 40000);
}

TEST(Metrics, RegisteringTwiceReturnsTheSameFamily) {
  MetricsRegistry registry;
  auto& a = registry.AddCounter("same", "x");
  auto& b = registry.AddCounter("same", "x");
  EXPECT_EQ(&a, &b);
}

}  // namespace
}  // namespace cityhub::infra
