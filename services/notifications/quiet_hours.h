#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Quiet hours for push messages. libstdc++ 12 has no time-zone database, so the zones the
// city's residents use are built in with their daylight-saving rules: the Central European
// zones (CET/CEST: Europe/Berlin, Vienna, Zurich, Amsterdam, Brussels, Paris, Rome, Madrid,
// Warsaw, Prague, Copenhagen, Stockholm, Oslo, Luxembourg), Europe/London, Europe/Lisbon,
// Europe/Dublin (GMT/BST rules), Europe/Athens, Europe/Helsinki, Europe/Istanbul and UTC.
namespace cityhub::notifications {

bool IsSupportedTimeZone(std::string_view zone);

// Offset from UTC in minutes for `zone` at `utc_ms`.
int UtcOffsetMinutes(std::string_view zone, int64_t utc_ms);

// "HH:MM" → minutes after midnight; nullopt when malformed.
std::optional<int> ParseClock(std::string_view text);
std::string FormatClock(int minutes);

// When a push due at `utc_ms` may go out: `utc_ms` itself outside quiet hours, else the end of
// the quiet period (windows may span midnight, e.g. 22:00–07:00).
int64_t NotBefore(int64_t utc_ms, int start_minute, int end_minute, std::string_view zone);

}  // namespace cityhub::notifications
