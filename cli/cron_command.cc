#include "cli/cron_command.h"

#include <chrono>

#include "daemon/schedule.h"
#include "daemon/time_format.h"

namespace mlcron {
namespace {

// Bounded output: a preview, not a data dump.
constexpr int kMaxCount = 100000;

int Fail(std::ostream& err, const std::string& message) {
  err << "mlcron cron: " << message << "\n";
  return 2;
}

}  // namespace

int RunCronCommand(const std::string& expr, const std::string& after, const std::string& tz,
                   int count, std::ostream& out, std::ostream& err) {
  Result<Schedule> schedule = Schedule::ParseCron(expr);
  if (!schedule.ok()) return Fail(err, schedule.message());
  Result<const date::time_zone*> zone = FindZone(tz.empty() ? "UTC" : tz);
  if (!zone.ok()) return Fail(err, zone.message());
  if (count < 1 || count > kMaxCount) {
    return Fail(err, "--count must be between 1 and " + std::to_string(kMaxCount));
  }
  Instant t = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (!after.empty()) {
    Result<Instant> parsed = ParseInstant(after, *zone);
    if (!parsed.ok()) return Fail(err, "--after: " + parsed.message());
    t = *parsed;
  }
  for (int i = 0; i < count; ++i) {
    std::optional<Instant> next = schedule->NextAfter(t, *zone);
    if (!next) {
      err << "mlcron cron: no further occurrences before " << FormatInstant(kScheduleHorizon, *zone)
          << " (the time zone data used does not model DST after 2038)\n";
      break;
    }
    out << FormatInstant(*next, *zone) << "\n";
    t = *next;
  }
  return 0;
}

}  // namespace mlcron
