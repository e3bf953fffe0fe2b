#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/redis/client.h"

// The statistics' counters in Redis (#15; their layout is in stats_layout.h). They are written
// by RequestStore in the same script as each change of a request; this store reads them and
// counts the requests stored before they existed.
namespace cityhub::requests {

class StatsStore final {
 public:
  explicit StatsStore(infra::redis::Client& redis);

  // Field → sum over the days [since_day, until_day) (stats::DayOf) of the counters of `scope`
  // (stats::QueryScope), read in one round trip from the few year, month and day hashes that
  // cover the range (stats::PlanRange). Fields that sum to 0 are left out. UNAVAILABLE when
  // Redis is.
  using Fields = std::unordered_map<std::string, int64_t>;
  absl::StatusOr<Fields> Read(std::string_view jurisdiction, std::string_view scope,
                              int64_t since_day, int64_t until_day);

  // Counts up to `max_requests` requests of `jurisdiction` stored before the counters existed
  // (not stats_counted), oldest first from a cursor kept in Redis, each in a script of its own
  // that marks it counted (a concurrent change of it fails ABORTED and is retried here). Once
  // through, it sets the schema version key and then does nothing. Returns how many requests
  // it read (0: done).
  absl::StatusOr<int64_t> RebuildStep(std::string_view jurisdiction, int64_t max_requests);

 private:
  absl::Status CountOne(const std::string& key);
  infra::redis::Client& redis_;
};

// The background rebuild's loop step (components.cc): runs RebuildStep in batches of 500 for
// each jurisdiction until it is through (nullopt: done, the loop ends) or Redis fails (try again
// in 10 s). Does nothing where the schema version key is set.
std::optional<std::chrono::milliseconds> RebuildStatsStep(
    StatsStore& stats, const std::vector<std::string>& jurisdictions, const std::stop_token& stop);

}  // namespace cityhub::requests
