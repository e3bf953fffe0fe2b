#pragma once

#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "cityhub/requests/v1/requests.pb.h"
#include "infra/metrics.h"

// The requests service's domain metrics, declared together. Labels are bounded and carry no
// personal data: a category is a catalogue code (at most kMaxCategories distinct ones, later
// ones are counted as "other": a catalogue is edited at run time, so its size is not ours to
// bound); a status is one of the API's status names.
namespace cityhub::requests {

class RequestsMetrics final {
 public:
  static constexpr size_t kMaxCategories = 200;
  static constexpr char kOtherCategory[] = "other";

  explicit RequestsMetrics(infra::MetricsRegistry& registry)
      : created_(registry.AddCounter("requests_created_total",
                                     "Requests filed (idempotent repeats not counted), by category",
                                     {"category"})),
        transitions_(registry.AddCounter("request_transitions_total",
                                         "Status changes of requests, by old and new status",
                                         {"from", "to"})),
        comments_(registry.AddCounter("comments_total", "Comments added to requests").Get()),
        event_lag_(registry
                       .AddHistogram("requests_event_lag_seconds",
                                     "From an account event's entry in its stream to the end of "
                                     "its handling (handled or failed)",
                                     {}, infra::LagBuckets())
                       .Get()) {}

  void Created(std::string_view category) { created_.WithLabels({CategoryLabel(category)}).Inc(); }
  void Transition(int from, int to) {
    transitions_.WithLabels({StatusLabel(from), StatusLabel(to)}).Inc();
  }
  void Commented() { comments_.Inc(); }
  // Fed by the consumer of the accounts service's events (infra::events::ObservingLag).
  infra::Histogram& event_lag() { return event_lag_; }

  // The label a category is counted under.
  std::string CategoryLabel(std::string_view category) {
    std::lock_guard lock(mu_);
    std::string code(category);
    if (categories_.count(code)) return code;
    if (categories_.size() >= kMaxCategories) return kOtherCategory;
    categories_.insert(code);
    return code;
  }

 private:
  static std::string StatusLabel(int status) {
    return cityhub::requests::v1::Status_IsValid(status)
               ? cityhub::requests::v1::Status_Name(status)
               : "STATUS_UNSPECIFIED";
  }

  infra::Family<infra::Counter>& created_;
  infra::Family<infra::Counter>& transitions_;
  infra::Counter& comments_;
  infra::Histogram& event_lag_;
  std::mutex mu_;
  std::set<std::string> categories_;
};

}  // namespace cityhub::requests
