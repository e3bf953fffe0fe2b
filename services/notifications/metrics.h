#pragma once

#include "infra/metrics.h"

// The notifications service's domain metrics, declared together. Labels are bounded: a channel is
// push, email or webhook; an outcome is sent, retry or failed.
namespace cityhub::notifications {

struct NotificationsMetrics {
  explicit NotificationsMetrics(infra::MetricsRegistry& registry)
      : deliveries(registry.AddCounter("notifications_deliveries_total",
                                       "Delivery attempts by channel and outcome",
                                       {"channel", "outcome"})),
        event_lag(registry.AddHistogram(
            "notifications_event_lag_seconds",
            "From an event's entry in its stream to the end of its fan-out (handled or failed)", {},
            infra::LagBuckets())) {}

  infra::Family<infra::Counter>& deliveries;
  infra::Family<infra::Histogram>& event_lag;
};

}  // namespace cityhub::notifications
