#include "services/requests/metrics.h"

#include <string>

#include <gtest/gtest.h>

namespace cityhub::requests {
namespace {

TEST(RequestsMetricsTest, CreatedTransitionsAndCommentsMoveTheirCounters) {
  infra::MetricsRegistry registry;
  RequestsMetrics metrics(registry);
  metrics.Created("pothole");
  metrics.Created("pothole");
  metrics.Created("graffiti");
  metrics.Transition(v1::SUBMITTED, v1::IN_PROGRESS);
  metrics.Commented();

  auto& created = registry.AddCounter("requests_created_total", "", {"category"});
  EXPECT_EQ(created.WithLabels({"pothole"}).Value(), 2);
  EXPECT_EQ(created.WithLabels({"graffiti"}).Value(), 1);
  auto& transitions = registry.AddCounter("request_transitions_total", "", {"from", "to"});
  EXPECT_EQ(transitions.WithLabels({"SUBMITTED", "IN_PROGRESS"}).Value(), 1);
  EXPECT_EQ(registry.AddCounter("comments_total", "").Get().Value(), 1);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("requests_created_total{category=\"pothole\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("request_transitions_total{from=\"SUBMITTED\",to=\"IN_PROGRESS\"}"),
            std::string::npos)
      << text;
}

TEST(RequestsMetricsTest, TheEventLagIsAHistogramInSeconds) {
  infra::MetricsRegistry registry;
  RequestsMetrics metrics(registry);
  metrics.event_lag().Observe(0.2);
  auto& lag = registry.AddHistogram("requests_event_lag_seconds", "", {}).Get();
  EXPECT_EQ(lag.Count(), 1u);
  EXPECT_EQ(lag.bounds(), infra::LagBuckets());
  EXPECT_NE(registry.Render().find("requests_event_lag_seconds_bucket{le=\"0.5\"} 1"),
            std::string::npos)
      << registry.Render();
}

TEST(RequestsMetricsTest, CategoriesBeyondTheCapAreCountedAsOther) {
  infra::MetricsRegistry registry;
  RequestsMetrics metrics(registry);
  for (size_t i = 0; i < RequestsMetrics::kMaxCategories; ++i) {
    metrics.Created("c" + std::to_string(i));
  }
  metrics.Created("one-too-many");
  metrics.Created("another");
  metrics.Created("c0");  // a category seen before the cap keeps its label

  auto& created = registry.AddCounter("requests_created_total", "", {"category"});
  EXPECT_EQ(created.WithLabels({"other"}).Value(), 2);
  EXPECT_EQ(created.WithLabels({"c0"}).Value(), 2);
  size_t labels = 0;
  created.ForEach([&](const std::vector<std::string>& values, const infra::Counter&) {
    ++labels;
    EXPECT_NE(values[0], "one-too-many");
  });
  EXPECT_EQ(labels, RequestsMetrics::kMaxCategories + 1);
}

TEST(RequestsMetricsTest, AnUnknownStatusIsCountedUnderUnspecified) {
  infra::MetricsRegistry registry;
  RequestsMetrics metrics(registry);
  metrics.Transition(9999, v1::CLOSED);
  auto& transitions = registry.AddCounter("request_transitions_total", "", {"from", "to"});
  EXPECT_EQ(transitions.WithLabels({"STATUS_UNSPECIFIED", "CLOSED"}).Value(), 1);
}

}  // namespace
}  // namespace cityhub::requests
