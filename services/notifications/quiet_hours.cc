#include "services/notifications/quiet_hours.h"

#include <array>
#include <chrono>

namespace cityhub::notifications {
namespace {

using namespace std::chrono;

enum class Rule {
  kUtc,
  kEu
};  // EU: summer time from the last Sunday of March to that of October, 01:00 UTC

struct Zone {
  std::string_view name;
  int standard_minutes;
  Rule rule;
};

constexpr std::array<Zone, 22> kZones = {{
    {"UTC", 0, Rule::kUtc},
    {"Europe/Berlin", 60, Rule::kEu},
    {"Europe/Vienna", 60, Rule::kEu},
    {"Europe/Zurich", 60, Rule::kEu},
    {"Europe/Amsterdam", 60, Rule::kEu},
    {"Europe/Brussels", 60, Rule::kEu},
    {"Europe/Paris", 60, Rule::kEu},
    {"Europe/Rome", 60, Rule::kEu},
    {"Europe/Madrid", 60, Rule::kEu},
    {"Europe/Warsaw", 60, Rule::kEu},
    {"Europe/Prague", 60, Rule::kEu},
    {"Europe/Copenhagen", 60, Rule::kEu},
    {"Europe/Stockholm", 60, Rule::kEu},
    {"Europe/Oslo", 60, Rule::kEu},
    {"Europe/Luxembourg", 60, Rule::kEu},
    {"Europe/London", 0, Rule::kEu},
    {"Europe/Lisbon", 0, Rule::kEu},
    {"Europe/Dublin", 0, Rule::kEu},
    {"Europe/Athens", 120, Rule::kEu},
    {"Europe/Helsinki", 120, Rule::kEu},
    {"Europe/Istanbul", 180, Rule::kUtc},
    {"Etc/UTC", 0, Rule::kUtc},
}};

const Zone* Find(std::string_view name) {
  for (const Zone& z : kZones) {
    if (z.name == name) return &z;
  }
  return nullptr;
}

// 01:00 UTC on the last Sunday of `month` in `year`, in ms since the epoch.
int64_t LastSundayAt1Utc(int year, unsigned month) {
  const year_month_day last{
      year_month_day_last{std::chrono::year{year}, month_day_last{std::chrono::month{month}}}};
  const sys_days last_day{last};
  const weekday wd{last_day};
  const sys_days sunday = last_day - days{(wd.c_encoding() + 7 - 0) % 7};
  return duration_cast<milliseconds>((sunday + hours{1}).time_since_epoch()).count();
}

}  // namespace

bool IsSupportedTimeZone(std::string_view zone) { return Find(zone) != nullptr; }

int UtcOffsetMinutes(std::string_view zone, int64_t utc_ms) {
  const Zone* z = Find(zone);
  if (z == nullptr) return 0;
  if (z->rule == Rule::kUtc) return z->standard_minutes;
  const year_month_day ymd{floor<days>(sys_time<milliseconds>(milliseconds(utc_ms)))};
  const int year = static_cast<int>(ymd.year());
  const bool summer = utc_ms >= LastSundayAt1Utc(year, 3) && utc_ms < LastSundayAt1Utc(year, 10);
  return z->standard_minutes + (summer ? 60 : 0);
}

std::optional<int> ParseClock(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!digit(text[0]) || !digit(text[1]) || !digit(text[3]) || !digit(text[4])) return std::nullopt;
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

std::string FormatClock(int minutes) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%02d:%02d", (minutes / 60) % 24, minutes % 60);
  return buf;
}

int64_t NotBefore(int64_t utc_ms, int start_minute, int end_minute, std::string_view zone) {
  if (start_minute == end_minute) return utc_ms;
  const int64_t offset_ms = int64_t{UtcOffsetMinutes(zone, utc_ms)} * 60'000;
  const int64_t local_ms = utc_ms + offset_ms;
  const int64_t day_ms = 86'400'000;
  const int64_t midnight = local_ms - ((local_ms % day_ms) + day_ms) % day_ms;
  const int minute = static_cast<int>((local_ms - midnight) / 60'000);
  const bool wraps = start_minute > end_minute;
  const bool quiet = wraps ? (minute >= start_minute || minute < end_minute)
                           : (minute >= start_minute && minute < end_minute);
  if (!quiet) return utc_ms;
  int64_t end_local = midnight + int64_t{end_minute} * 60'000;
  if (end_local <= local_ms) end_local += day_ms;
  // The offset at the end may differ (a DST switch at night): recompute once.
  const int64_t end_utc = end_local - offset_ms;
  return end_local - int64_t{UtcOffsetMinutes(zone, end_utc)} * 60'000;
}

}  // namespace cityhub::notifications
