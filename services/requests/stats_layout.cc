#include "services/requests/stats_layout.h"

#include <algorithm>
#include <cmath>

#include "cityhub/requests/v1/requests.pb.h"
#include "infra/strings.h"

namespace cityhub::requests::stats {

using infra::StrCat;
namespace v1 = cityhub::requests::v1;

namespace {

constexpr int kMaxBucket = 400;  // 1.1^400 s is far beyond any request's life

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Days [a, b) of one month: the days themselves, or the month minus the days outside.
void AddDays(int64_t a, int64_t b, std::vector<Part>* out) {
  const int64_t month = MonthOfDay(a);
  const int64_t first = MonthStart(month), end = MonthStart(month + 1);
  if (1 + (a - first) + (end - b) < b - a) {
    out->push_back({StrCat("m", month), 1});
    for (int64_t d = first; d < a; ++d) out->push_back({StrCat("d", d), -1});
    for (int64_t d = b; d < end; ++d) out->push_back({StrCat("d", d), -1});
    return;
  }
  for (int64_t d = a; d < b; ++d) out->push_back({StrCat("d", d), 1});
}

// Months [a, b) of one year, the same way.
void AddMonths(int64_t a, int64_t b, std::vector<Part>* out) {
  const int64_t year = FloorDiv(a, 12);
  const int64_t first = year * 12, end = first + 12;
  if (1 + (a - first) + (end - b) < b - a) {
    out->push_back({StrCat("y", year), 1});
    for (int64_t m = first; m < a; ++m) out->push_back({StrCat("m", m), -1});
    for (int64_t m = b; m < end; ++m) out->push_back({StrCat("m", m), -1});
    return;
  }
  for (int64_t m = a; m < b; ++m) out->push_back({StrCat("m", m), 1});
}

bool IsResolved(int status) { return status == v1::RESOLVED || status == v1::CLOSED; }
bool IsFinal(int status) {
  return status == v1::RESOLVED || status == v1::REJECTED || status == v1::DUPLICATE ||
         status == v1::CLOSED;
}

// The fields a request adds to every hash it counts in.
std::map<std::string, int64_t> FieldsOf(const Facts& f) {
  std::map<std::string, int64_t> out;
  const int64_t day = DayOf(f.received_ms);
  out[StrCat("n:", f.service_code)] = 1;
  out[StrCat("st:", f.status)] = 1;
  out[StrCat("di:", f.district)] = 1;
  out[StrCat("rd:", day)] = 1;
  if (f.acknowledged_ms) {
    out[StrCat("a:", f.service_code, ":", DurationBucket(*f.acknowledged_ms - f.received_ms))] = 1;
  }
  if (f.resolved_ms) {
    out[StrCat("r:", f.service_code, ":", DurationBucket(*f.resolved_ms - f.received_ms))] = 1;
    if (f.expected_ms) {
      out[StrCat("sl:", f.service_code)] = 1;
      if (*f.resolved_ms <= *f.expected_ms) out[StrCat("so:", f.service_code)] = 1;
    }
  }
  if (f.closed_ms) {
    const int64_t closed_day = DayOf(*f.closed_ms);
    out[StrCat("cd:", closed_day)] = 1;
    out[StrCat("cw:", WeekOfDay(closed_day))] = 1;
    out[StrCat("cm:", MonthOfDay(closed_day))] = 1;
  }
  if (f.rating) {
    out["fn"] = 1;
    out["fs"] = *f.rating;
  }
  return out;
}

}  // namespace

int64_t DayOf(int64_t unix_ms) { return FloorDiv(unix_ms, kDayMs); }

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, UTC).
int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2;
  const int64_t era = FloorDiv(year, 400);
  const int64_t yoe = year - era * 400;
  const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Civil CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = FloorDiv(days, 146097);
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  Civil c;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2);
  return c;
}

int DurationBucket(int64_t ms) {
  const double seconds = static_cast<double>(std::max<int64_t>(ms, 0)) / 1000.0;
  if (seconds < 1) return 0;
  const int b = 1 + static_cast<int>(std::floor(std::log(seconds) / std::log(1.1)));
  return std::min(b, kMaxBucket);
}

double BucketSeconds(int bucket) { return bucket <= 0 ? 0 : std::pow(1.1, bucket - 0.5); }

Facts FactsOf(const StoredRequest& r) {
  Facts f;
  f.service_code = r.service_code();
  f.district = r.district();
  f.status = r.status();
  f.received_ms = r.requested_ms();
  for (const auto& change : r.history()) {
    const int to = change.to_status();
    if (!f.acknowledged_ms && to != v1::SUBMITTED && to != v1::STATUS_UNSPECIFIED) {
      f.acknowledged_ms = change.at_ms();
    }
    if (!f.resolved_ms && IsResolved(to)) f.resolved_ms = change.at_ms();
    if (!f.closed_ms && IsFinal(to)) f.closed_ms = change.at_ms();
  }
  if (r.expected_ms() > r.requested_ms()) f.expected_ms = r.expected_ms();
  if (r.has_feedback() && r.feedback().rating() >= 1) f.rating = r.feedback().rating();
  return f;
}

std::vector<std::string> ScopesOf(const Facts& f) {
  std::vector<std::string> out = {"all", StrCat("s:", f.service_code)};
  if (!f.district.empty()) {
    out.push_back(StrCat("d:", f.district));
    out.push_back(StrCat("sd:", f.service_code, ":", f.district));
  }
  return out;
}

std::string QueryScope(std::string_view service_code, std::string_view district) {
  if (service_code.empty() && district.empty()) return "all";
  if (district.empty()) return StrCat("s:", service_code);
  if (service_code.empty()) return StrCat("d:", district);
  return StrCat("sd:", service_code, ":", district);
}

std::string Key(std::string_view jurisdiction, std::string_view scope, std::string_view bucket) {
  return StrCat("requests:stats:{", jurisdiction, "}:", scope, "|", bucket);
}
std::string VersionKey(std::string_view jurisdiction) {
  return StrCat("requests:stats_version:{", jurisdiction, "}");
}
std::string RebuildCursorKey(std::string_view jurisdiction) {
  return StrCat("requests:stats_rebuild:{", jurisdiction, "}");
}

void AddContribution(std::string_view jurisdiction, const Facts& facts, int sign, Deltas* out) {
  const std::map<std::string, int64_t> fields = FieldsOf(facts);
  const int64_t day = DayOf(facts.received_ms);
  const std::string buckets[] = {StrCat("y", CivilFromDays(day).year), StrCat("m", MonthOfDay(day)),
                                 StrCat("d", day)};
  for (const std::string& scope : ScopesOf(facts)) {
    for (const std::string& bucket : buckets) {
      auto& hash = (*out)[Key(jurisdiction, scope, bucket)];
      for (const auto& [field, value] : fields) hash[field] += sign * value;
    }
  }
}

void AppendStatsChange(const StoredRequest* before, const StoredRequest& after,
                       infra::redis::Transaction& tx) {
  Deltas deltas;
  if (before != nullptr) AddContribution(before->jurisdiction_id(), FactsOf(*before), -1, &deltas);
  AddContribution(after.jurisdiction_id(), FactsOf(after), 1, &deltas);
  for (const auto& [key, fields] : deltas) {
    for (const auto& [field, value] : fields) {
      if (value != 0) tx.Then({"HINCRBY", key, field, std::to_string(value)});
    }
  }
}

const std::string& CountedMarker() {
  static const std::string* marker = [] {
    StoredRequest counted;
    counted.set_stats_counted(true);
    return new std::string(counted.SerializeAsString());
  }();
  return *marker;
}

std::vector<Part> PlanRange(int64_t since_day, int64_t until_day) {
  std::vector<Part> out;
  int64_t cur = since_day;
  while (cur < until_day) {
    const int64_t month = MonthOfDay(cur);
    const int64_t month_end = MonthStart(month + 1);
    if (cur == MonthStart(month) && month_end <= until_day) {
      // Whole months up to the month holding until_day, a year at a time.
      const int64_t last = MonthOfDay(until_day);
      for (int64_t m = month; m < last;) {
        const int64_t year_end = (FloorDiv(m, 12) + 1) * 12;
        const int64_t stop = std::min(last, year_end);
        AddMonths(m, stop, &out);
        m = stop;
      }
      cur = MonthStart(last);
    } else {
      const int64_t end = std::min(month_end, until_day);
      AddDays(cur, end, &out);
      cur = end;
    }
  }
  return out;
}

}  // namespace cityhub::requests::stats
