// GET /v1/stats (#15): the query checked, the counters of its range read in one round trip
// (StatsStore::Read), and the answer composed from them. What is counted and how is in
// stats_layout.h; the API's semantics in docs/api.md.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include <google/protobuf/util/time_util.h>

#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/catalogue.h"
#include "services/requests/requests_service.h"
#include "services/requests/stats_layout.h"

namespace cityhub::requests {

using google::protobuf::util::TimeUtil;
using infra::InvalidField;

namespace {

constexpr int64_t kDefaultDays = 365;
constexpr int64_t kMaxDays = 5 * 365 + 2;  // five years, leap days included
constexpr int64_t kMaxPeriods = 1000;
// 1970-01-01 .. 9999-12-31, as days.
constexpr int64_t kLastDay = 2'932'896;

enum class GroupBy { kMonth, kWeek, kDay };

struct StatsQuery {
  int64_t since_day = 0;
  int64_t until_day = 0;
  GroupBy group_by = GroupBy::kMonth;
  std::string group_name = "month";
};

int64_t PeriodOf(GroupBy g, int64_t day) {
  switch (g) {
    case GroupBy::kMonth:
      return stats::MonthOfDay(day);
    case GroupBy::kWeek:
      return stats::WeekOfDay(day);
    case GroupBy::kDay:
      break;
  }
  return day;
}

int64_t PeriodStart(GroupBy g, int64_t period) {
  switch (g) {
    case GroupBy::kMonth:
      return stats::MonthStart(period);
    case GroupBy::kWeek:
      return stats::WeekStart(period);
    case GroupBy::kDay:
      break;
  }
  return period;
}

absl::StatusOr<int64_t> TimeMs(const google::protobuf::Timestamp& t, std::string_view field) {
  if (t.seconds() < 0 || t.seconds() >= kLastDay * 86'400 || t.nanos() < 0 ||
      t.nanos() > 999'999'999) {
    return InvalidField(field, "not a valid time between 1970 and 9999");
  }
  return TimeUtil::TimestampToMilliseconds(t);
}

absl::StatusOr<StatsQuery> ParseQuery(const v1::GetStatsRequest& req, int64_t now_ms) {
  if (!req.service_code().empty() && !IsServiceCode(req.service_code())) {
    return InvalidField("service_code", "malformed");
  }
  const std::string& d = req.district();
  if (d.size() > 64 || !std::all_of(d.begin(), d.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      })) {
    return InvalidField("district", "1 to 64 characters a-z, 0-9, _ and -");
  }
  StatsQuery q;
  if (req.group_by() == "week") {
    q.group_by = GroupBy::kWeek;
  } else if (req.group_by() == "day") {
    q.group_by = GroupBy::kDay;
  } else if (!req.group_by().empty() && req.group_by() != "month") {
    return InvalidField("group_by", "must be month, week or day");
  }
  if (!req.group_by().empty()) q.group_name = req.group_by();
  int64_t until_ms = now_ms;
  if (req.has_until()) {
    ASSIGN_OR_RETURN(until_ms, TimeMs(req.until(), "until"));
  }
  q.until_day = stats::DayOf(until_ms + stats::kDayMs - 1);  // rounded up to a whole day
  q.since_day = q.until_day - kDefaultDays;
  if (req.has_since()) {
    ASSIGN_OR_RETURN(const int64_t since_ms, TimeMs(req.since(), "since"));
    if (until_ms <= since_ms) return InvalidField("until", "must be after since");
    q.since_day = stats::DayOf(since_ms);
  }
  q.since_day = std::max<int64_t>(q.since_day, 0);
  if (q.until_day - q.since_day > kMaxDays) {
    return InvalidField("since", "the range spans more than 5 years");
  }
  const int64_t periods =
      PeriodOf(q.group_by, q.until_day - 1) - PeriodOf(q.group_by, q.since_day) + 1;
  if (periods > kMaxPeriods) {
    return InvalidField("group_by",
                        "more than 1000 periods: choose a longer period or a shorter range");
  }
  return q;
}

using Histogram = std::map<int, int64_t>;

// The bucket value at the nearest rank ceil(q × n).
double Percentile(const Histogram& h, int64_t n, double q) {
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * n)));
  int64_t seen = 0;
  for (const auto& [bucket, count] : h) {
    seen += count;
    if (seen >= rank) return std::round(stats::BucketSeconds(bucket));
  }
  return h.empty() ? 0 : std::round(stats::BucketSeconds(h.rbegin()->first));
}

void SetDurations(const Histogram& h, v1::StatsDurations* out) {
  int64_t n = 0;
  for (const auto& [bucket, count] : h) n += count;
  out->set_count(static_cast<int32_t>(n));
  if (n == 0) return;
  out->set_median_seconds(Percentile(h, n, 0.5));
  out->set_p90_seconds(Percentile(h, n, 0.9));
}

void SetSla(int64_t count, int64_t within, v1::StatsSla* out) {
  out->set_count(static_cast<int32_t>(count));
  if (count > 0) out->set_share(static_cast<double>(within) / static_cast<double>(count));
}

struct ServiceFigures {
  int64_t count = 0;
  Histogram acknowledge, resolve;
  int64_t sla = 0, within_sla = 0;
};

int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// "<code>:<bucket>" → (code, bucket).
std::pair<std::string, int> CodeAndBucket(std::string_view rest) {
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return {std::string(rest), 0};
  return {std::string(rest.substr(0, colon)), static_cast<int>(ToInt(rest.substr(colon + 1)))};
}

void Compose(const StatsStore::Fields& fields, const StatsQuery& q, v1::Stats* out) {
  std::map<int, int64_t> statuses;
  std::map<std::string, int64_t> districts;
  std::map<std::string, ServiceFigures> services;
  std::map<int64_t, int64_t> received, closed;  // by period
  const std::string closed_prefix = q.group_by == GroupBy::kMonth  ? "cm:"
                                    : q.group_by == GroupBy::kWeek ? "cw:"
                                                                   : "cd:";
  int64_t feedback = 0, rating_sum = 0;
  for (const auto& [field, value] : fields) {
    const std::string_view f = field;
    const size_t colon = f.find(':');
    const std::string_view kind = f.substr(0, colon);
    const std::string_view rest = colon == std::string_view::npos ? "" : f.substr(colon + 1);
    if (kind == "n") {
      services[std::string(rest)].count += value;
    } else if (kind == "st") {
      statuses[static_cast<int>(ToInt(rest))] += value;
    } else if (kind == "di") {
      districts[std::string(rest)] += value;
    } else if (kind == "rd") {
      received[PeriodOf(q.group_by, ToInt(rest))] += value;
    } else if (kind == "a" || kind == "r") {
      auto [code, bucket] = CodeAndBucket(rest);
      (kind == "a" ? services[code].acknowledge : services[code].resolve)[bucket] += value;
    } else if (kind == "sl") {
      services[std::string(rest)].sla += value;
    } else if (kind == "so") {
      services[std::string(rest)].within_sla += value;
    } else if (f.substr(0, 3) == closed_prefix) {
      closed[ToInt(rest)] += value;
    } else if (kind == "fn") {
      feedback += value;
    } else if (kind == "fs") {
      rating_sum += value;
    }
  }
  int64_t total = 0, sla = 0, within_sla = 0;
  Histogram acknowledge, resolve;
  for (const auto& [code, s] : services) {
    total += s.count;
    sla += s.sla;
    within_sla += s.within_sla;
    for (const auto& [b, n] : s.acknowledge) acknowledge[b] += n;
    for (const auto& [b, n] : s.resolve) resolve[b] += n;
    if (s.count <= 0) continue;
    auto* row = out->add_by_service();
    row->set_service_code(code);
    row->set_count(static_cast<int32_t>(s.count));
    SetDurations(s.acknowledge, row->mutable_time_to_acknowledge());
    SetDurations(s.resolve, row->mutable_time_to_resolve());
    SetSla(s.sla, s.within_sla, row->mutable_within_sla());
  }
  out->set_total(static_cast<int32_t>(total));
  for (const auto& [status, n] : statuses) {
    if (n <= 0) continue;
    auto* row = out->add_by_status();
    row->set_status(static_cast<v1::Status>(status));
    row->set_count(static_cast<int32_t>(n));
  }
  for (const auto& [district, n] : districts) {
    if (n <= 0) continue;
    auto* row = out->add_by_district();
    row->set_district(district);
    row->set_count(static_cast<int32_t>(n));
  }
  const int64_t last = PeriodOf(q.group_by, q.until_day - 1);
  for (int64_t p = PeriodOf(q.group_by, q.since_day); p <= last; ++p) {
    auto* row = out->add_periods();
    *row->mutable_start() =
        TimeUtil::MillisecondsToTimestamp(PeriodStart(q.group_by, p) * stats::kDayMs);
    row->set_received(static_cast<int32_t>(received[p]));
    row->set_closed(static_cast<int32_t>(closed[p]));
  }
  SetDurations(acknowledge, out->mutable_time_to_acknowledge());
  SetDurations(resolve, out->mutable_time_to_resolve());
  SetSla(sla, within_sla, out->mutable_within_sla());
  out->mutable_feedback()->set_count(static_cast<int32_t>(feedback));
  if (feedback > 0) {
    out->mutable_feedback()->set_average_rating(static_cast<double>(rating_sum) /
                                                static_cast<double>(feedback));
  }
}

}  // namespace

absl::Status RequestsService::DoGetStats(grpc::ServerContextBase* ctx,
                                         const v1::GetStatsRequest* req, v1::Stats* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "GetStats"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->jurisdiction_id()));
  ASSIGN_OR_RETURN(const StatsQuery q, ParseQuery(*req, infra::UnixMillis(deps_.clock.Now())));
  ASSIGN_OR_RETURN(
      const StatsStore::Fields fields,
      deps_.stats.Read(jurisdiction, stats::QueryScope(req->service_code(), req->district()),
                       q.since_day, q.until_day));
  *response->mutable_since() = TimeUtil::MillisecondsToTimestamp(q.since_day * stats::kDayMs);
  *response->mutable_until() = TimeUtil::MillisecondsToTimestamp(q.until_day * stats::kDayMs);
  response->set_group_by(q.group_name);
  Compose(fields, q, response);
  return absl::OkStatus();
}

}  // namespace cityhub::requests
