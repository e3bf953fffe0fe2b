#pragma once

// The geography documents of each jurisdiction in Redis (#15; keys in keys.h): the boundary,
// the districts and the routing rules, each stored as its canonical JSON text, a version
// counter raised with every change, and the job that gives open requests new districts.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/redis/client.h"

namespace cityhub::requests {

struct StoredGeography {
  int64_t version = 0;
  std::string boundary;   // empty: none set
  std::string districts;  // empty: none set
  std::string rules;      // empty: none set
};

// The district reassignment job: its id and how many requests of the time index, oldest first,
// it has handled (empty: none yet).
struct ReassignJob {
  std::string id;
  std::string cursor;
  std::string Encode() const { return id + "|" + cursor; }
};

class GeographyStore final {
 public:
  explicit GeographyStore(infra::redis::Client& redis) : redis_(redis) {}

  // The version alone (0 when nothing was ever set).
  absl::StatusOr<int64_t> Version(std::string_view jurisdiction);
  // Every document with the version, read together.
  absl::StatusOr<StoredGeography> Load(std::string_view jurisdiction);

  // Each replaces one document and raises the version, together; returns the new version.
  // `only_if_unset`: nothing is written when the document exists (seeding), returning nullopt.
  absl::StatusOr<std::optional<int64_t>> SetBoundary(std::string_view jurisdiction,
                                                     const std::string& json, bool only_if_unset);
  // Also starts a reassignment job `job_id` (replacing one under way).
  absl::StatusOr<std::optional<int64_t>> SetDistricts(std::string_view jurisdiction,
                                                      const std::string& json,
                                                      const std::string& job_id,
                                                      bool only_if_unset);
  absl::StatusOr<int64_t> SetRoutingRules(std::string_view jurisdiction, const std::string& json);

  // Up to `count` request ids of the jurisdiction's time index from position `offset`, oldest
  // first. Positions stay put as requests are filed (new ones sort last; a request is never
  // taken out of the index), so a walk by position misses none, even among the many requests
  // one millisecond can hold (equal scores, which a cursor by score would page past).
  absl::StatusOr<std::vector<std::string>> RequestsFrom(std::string_view jurisdiction,
                                                        int64_t offset, int count);
  // The reassignment job under way, if any.
  absl::StatusOr<std::optional<ReassignJob>> Job(std::string_view jurisdiction);
  // Moves the job's cursor (`next` empty: the job is done and removed), unless another job
  // replaced it meanwhile (then nothing is written and ABORTED is returned).
  absl::Status AdvanceJob(std::string_view jurisdiction, const ReassignJob& current,
                          const std::string& next_cursor, bool done);

 private:
  infra::redis::Client& redis_;
};

}  // namespace cityhub::requests
