#include "daemon/time_format.h"

#include <date/tz.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mlcron {
namespace {

using std::chrono::seconds;

const date::time_zone* Zone(const std::string& name) { return FindZone(name).value(); }

TEST(FindZone, KnownAndUnknown) {
  EXPECT_TRUE(FindZone("Europe/Berlin").ok());
  EXPECT_TRUE(FindZone("UTC").ok());
  EXPECT_EQ(FindZone("Europe/Berlinn").message(), "unknown time zone \"Europe/Berlinn\"");
  EXPECT_EQ(FindZone("../../etc/passwd").message(), "unknown time zone \"../../etc/passwd\"");
  EXPECT_EQ(FindZone("").message(), "empty time zone name");
}

TEST(FormatInstant, OffsetInForceAtTheInstant) {
  const Instant t{seconds(1711846800)};  // 2024-03-31T01:00:00Z
  EXPECT_EQ(FormatInstant(t, Zone("Europe/Berlin")), "2024-03-31T03:00:00+02:00");
  EXPECT_EQ(FormatInstant(t - seconds(1), Zone("Europe/Berlin")), "2024-03-31T01:59:59+01:00");
  EXPECT_EQ(FormatInstant(t, Zone("UTC")), "2024-03-31T01:00:00+00:00");
  EXPECT_EQ(FormatInstant(t, nullptr), "2024-03-31T01:00:00+00:00");
  EXPECT_EQ(FormatInstant(t, Zone("Asia/Kolkata")), "2024-03-31T06:30:00+05:30");
  EXPECT_EQ(FormatInstant(t, Zone("America/St_Johns")), "2024-03-30T22:30:00-02:30");
}

TEST(FormatTimePoint, Milliseconds) {
  const auto t =
      std::chrono::system_clock::time_point(seconds(1711846800)) + std::chrono::microseconds(4567);
  EXPECT_EQ(FormatTimePoint(t, Zone("Europe/Berlin")), "2024-03-31T03:00:00.004+02:00");
  EXPECT_EQ(FormatTimePoint(t - std::chrono::milliseconds(5), Zone("Europe/Berlin")),
            "2024-03-31T01:59:59.999+01:00");
}

struct ParseCase {
  const char* text;
  const char* zone;
  const char* expected;  // FormatInstant in zone, or the error message
};

TEST(ParseInstant, OffsetsLocalTimesAndDst) {
  const std::vector<ParseCase> cases = {
      {"2024-03-31T12:00:00Z", "Europe/Berlin", "2024-03-31T14:00:00+02:00"},
      {"2024-03-31T12:00:00z", "UTC", "2024-03-31T12:00:00+00:00"},
      {"2024-03-31T12:00-04:00", "UTC", "2024-03-31T16:00:00+00:00"},
      {"2024-03-31T12:00:00+05:30", "UTC", "2024-03-31T06:30:00+00:00"},
      {"2024-03-31T12:00+0530", "UTC", "2024-03-31T06:30:00+00:00"},
      {"2024-03-31 12:00:00", "UTC", "2024-03-31T12:00:00+00:00"},
      {"2024-03-31T12:00:00.999Z", "UTC", "2024-03-31T12:00:00+00:00"},
      {"2024-03-30T12:00:00", "Europe/Berlin", "2024-03-30T12:00:00+01:00"},
      {"2024-03-31", "Europe/Berlin", "2024-03-31T00:00:00+01:00"},
      // Nonexistent: the first instant after the gap. Ambiguous: the earlier instant.
      {"2024-03-31T02:30", "Europe/Berlin", "2024-03-31T03:00:00+02:00"},
      {"2024-10-27T02:30", "Europe/Berlin", "2024-10-27T02:30:00+02:00"},
      {"2024-11-03T01:30", "America/New_York", "2024-11-03T01:30:00-04:00"},
      {"2024-10-06T02:15", "Australia/Lord_Howe", "2024-10-06T02:30:00+11:00"},
      {"2024-04-07T01:45", "Australia/Lord_Howe", "2024-04-07T01:45:00+11:00"},
      // Santiago springs forward at midnight: the bare date's midnight does not exist.
      {"2024-09-08", "America/Santiago", "2024-09-08T01:00:00-03:00"},
      // Errors.
      {"2024-02-30", "UTC", "\"2024-02-30\": there is no such date"},
      {"2023-02-29T10:00", "UTC", "\"2023-02-29T10:00\": there is no such date"},
      {"2024-03-31T25:00", "UTC",
       "\"2024-03-31T25:00\": the time of day is out of range 00:00:00-23:59:59"},
      {"2024-03-31T12:00+25:00", "UTC", "\"2024-03-31T12:00+25:00\": the offset is out of range"},
      {"2024-3-1", "UTC",
       "\"2024-3-1\" is not a time (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], with an "
       "optional Z or +HH:MM offset)"},
      {"", "UTC",
       "\"\" is not a time (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], with an optional Z or "
       "+HH:MM offset)"},
      {"2024-03-31T12", "UTC",
       "\"2024-03-31T12\" is not a time (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], with an "
       "optional Z or +HH:MM offset)"},
      {"2024-03-31T12:00:00+02:00x", "UTC",
       "\"2024-03-31T12:00:00+02:00x\" is not a time (expected YYYY-MM-DD or "
       "YYYY-MM-DDTHH:MM[:SS], with an optional Z or +HH:MM offset)"},
      {"2024-03-31T12:00:00.Z", "UTC",
       "\"2024-03-31T12:00:00.Z\" is not a time (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], "
       "with an optional Z or +HH:MM offset)"},
  };
  for (const ParseCase& c : cases) {
    const date::time_zone* tz = Zone(c.zone);
    Result<Instant> r = ParseInstant(c.text, tz);
    EXPECT_EQ(r.ok() ? FormatInstant(*r, tz) : r.message(), c.expected) << c.text;
  }
}

TEST(ParseInstant, RoundTripsFormatInstant) {
  const date::time_zone* tz = Zone("America/New_York");
  for (std::int64_t s = 1730606400; s < 1730606400 + 4 * 3600; s += 900) {  // 2024-11-03 fall back
    const Instant t{seconds(s)};
    EXPECT_EQ(ParseInstant(FormatInstant(t, tz), tz).value(), t);
  }
}

}  // namespace
}  // namespace mlcron
