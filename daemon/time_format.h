// ISO-8601 formatting and parsing of instants in an IANA zone. Pure; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "daemon/schedule.h"
#include "daemon/status.h"

namespace date {
class time_zone;
}

namespace mlcron {

// Looks a zone up in the system tzdata ("Europe/Berlin", "UTC").
// Error: `unknown time zone "Europe/Berlinn"`.
Result<const date::time_zone*> FindZone(std::string_view name);

// "2024-03-31T03:00:00+02:00" (the offset in force at that instant in tz).
std::string FormatInstant(Instant t, const date::time_zone* tz);
// Same, with milliseconds, for actual (not scheduled) times: "2024-03-31T03:00:00.004+02:00".
std::string FormatTimePoint(std::chrono::system_clock::time_point t, const date::time_zone* tz);

// Accepts "YYYY-MM-DDTHH:MM[:SS]" with an optional "Z" or "+HH:MM" offset, or a bare date
// "YYYY-MM-DD" (midnight). Without an offset the time is local in tz: an ambiguous time means
// its earlier instant, a nonexistent one the first instant after the gap.
Result<Instant> ParseInstant(std::string_view text, const date::time_zone* tz);

}  // namespace mlcron
