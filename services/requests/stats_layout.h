#pragma once

// The counters behind GET /v1/stats (#15): what a request adds to them, where they live, and
// which of them a range of days reads. Pure code, no Redis; stats_store.h reads and rebuilds
// them, RequestStore writes them in the same script as the request.
//
// Every request adds to the hashes of the UTC year, month and day it was received in, once per
// scope it belongs to: every request ("all"), its category ("s:<code>"), and, when it lies in a
// district, the district ("d:<district>") and the pair ("sd:<code>:<district>"), so that a
// filtered query reads only its own, small hashes. Fields of a hash (counts, all additive):
//
//   n:<code>         received, by category          st:<status>   by current status (number)
//   di:<district>    by district ("" for none)       rd:<day>      received on day <day>
//   a:<code>:<b>     time to acknowledge in bucket b r:<code>:<b>  time to resolve in bucket b
//   sl:<code>        resolved, the category has an SLA  so:<code>  ... and within it
//   cd:<day> cw:<week> cm:<month>   first closed on that day / week / month
//   fn, fs           feedback with a rating: how many, the sum of the ratings
//
// Days count from 1970-01-01, weeks from the Monday 1969-12-29, months are year * 12 + month - 1.
// A change of a request subtracts what it added before and adds what it adds now; fields that
// cancel out are not written.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cityhub/storage/requests.pb.h"
#include "infra/redis/transaction.h"

namespace cityhub::requests::stats {

using cityhub::storage::requests::StoredRequest;

inline constexpr int64_t kDayMs = 86'400'000;

// Calendar arithmetic on day numbers (UTC).
int64_t DayOf(int64_t unix_ms);
int64_t DaysFromCivil(int64_t year, int month, int day);
struct Civil {
  int64_t year = 1970;
  int month = 1;
  int day = 1;
};
Civil CivilFromDays(int64_t days);
inline int64_t MonthOfDay(int64_t day) {
  const Civil c = CivilFromDays(day);
  return c.year * 12 + c.month - 1;
}
inline int64_t MonthStart(int64_t month) {
  const int64_t year = month >= 0 ? month / 12 : (month - 11) / 12;
  return DaysFromCivil(year, static_cast<int>(month - year * 12) + 1, 1);
}
inline int64_t WeekOfDay(int64_t day) { return day + 3 >= 0 ? (day + 3) / 7 : (day - 3) / 7; }
inline int64_t WeekStart(int64_t week) { return week * 7 - 3; }

// Durations go into log-spaced buckets: bucket 0 holds [0, 1 s), bucket b ≥ 1 holds
// [1.1^(b-1), 1.1^b) seconds. A bucket stands for its geometric middle, 1.1^(b-0.5), which is
// within 4.9 % (sqrt(1.1) - 1) of every duration in it; bucket 0 stands for 0.
int DurationBucket(int64_t ms);
double BucketSeconds(int bucket);

// What a request adds to the counters.
struct Facts {
  std::string service_code;
  std::string district;
  int status = 0;
  int64_t received_ms = 0;
  std::optional<int64_t> acknowledged_ms;  // the first status after SUBMITTED
  std::optional<int64_t> resolved_ms;      // the first RESOLVED or CLOSED
  std::optional<int64_t> closed_ms;        // the first RESOLVED, REJECTED, DUPLICATE or CLOSED
  std::optional<int64_t> expected_ms;      // set when the category has an SLA
  std::optional<int> rating;               // feedback with a rating (1..5)
};
Facts FactsOf(const StoredRequest& request);

// The scopes a request counts in ("all", "s:<code>", "d:<district>", "sd:<code>:<district>")
// and the scope a query reads.
std::vector<std::string> ScopesOf(const Facts& facts);
std::string QueryScope(std::string_view service_code, std::string_view district);

// The hash of `scope` for a bucket: "y<year>", "m<month>" or "d<day>".
std::string Key(std::string_view jurisdiction, std::string_view scope, std::string_view bucket);
// Set once every request of the jurisdiction is counted (the rebuild below is through); its
// value is kSchemaVersion.
std::string VersionKey(std::string_view jurisdiction);
// The rebuild's cursor: the time-index score it has reached.
std::string RebuildCursorKey(std::string_view jurisdiction);
inline constexpr char kSchemaVersion[] = "1";

// key → field → change.
using Deltas = std::map<std::string, std::map<std::string, int64_t>>;
// Adds `sign` × what `request` contributes to `out`.
void AddContribution(std::string_view jurisdiction, const Facts& facts, int sign, Deltas* out);
// The HINCRBYs that take the counters from `before` (null: a new request) to `after`.
void AppendStatsChange(const StoredRequest* before, const StoredRequest& after,
                       infra::redis::Transaction& tx);
// Appended to a serialized StoredRequest, marks it counted (stats_counted = true): a request
// written with it is in the counters, and later changes move them.
const std::string& CountedMarker();

// The buckets whose sum (sign +1) minus (sign -1) covers the days [since_day, until_day)
// exactly: whole years and months where they fit, days at the edges, and a month (year) minus
// its days (months) outside the range where that reads fewer hashes.
struct Part {
  std::string bucket;
  int sign = 1;
};
std::vector<Part> PlanRange(int64_t since_day, int64_t until_day);

}  // namespace cityhub::requests::stats
