// recorder: the job the scheduler benchmark runs. It reads CLOCK_REALTIME before anything
// else, so the recorded start is as close to exec as a program can see, and appends one line
//   job,scheduled_unix,start_unix_ns,lateness_us[,exit_unix_ns]
// to OUT with O_APPEND in a single write(), so concurrent recorders never interleave.
//
//   recorder OUT [--sleep-ms N] [--exit-record]
//
// --exit-record writes the line as the last thing before exiting, with the exit time as a
// fifth field (case c: upstream exit -> downstream start). It deliberately links nothing but
// libc/libstdc++ and does no dynamic allocation before the clock read.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

namespace {

std::int64_t ToNs(const timespec& ts) {
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ToNs(ts);
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<int> Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// Parses MLCRON_SCHEDULED: "YYYY-MM-DDTHH:MM:SS" followed by "Z" or "+HH:MM"/"-HH:MM".
std::optional<std::int64_t> ParseScheduled(std::string_view s) {
  auto y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2);
  auto h = Digits(s, 11, 2), mi = Digits(s, 14, 2), se = Digits(s, 17, 2);
  if (!y || !mo || !d || !h || !mi || !se || s.size() < 20 || s[4] != '-' || s[7] != '-' ||
      s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  std::int64_t offset_s = 0;
  if (s[19] == '+' || s[19] == '-') {
    auto oh = Digits(s, 20, 2), om = Digits(s, 23, 2);
    if (!oh || !om || s.size() != 25 || s[22] != ':') return std::nullopt;
    offset_s = (*oh * 3600 + *om * 60) * (s[19] == '-' ? -1 : 1);
  } else if (s.substr(19) != "Z") {
    return std::nullopt;
  }
  const std::int64_t local =
      DaysFromCivil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d)) * 86400 + *h * 3600 +
      *mi * 60 + *se;
  return local - offset_s;
}

int Fail(const char* what) {
  std::fprintf(stderr, "recorder: %s\n", what);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t start_ns = NowNs();
  if (argc < 2) return Fail("usage: recorder OUT [--sleep-ms N] [--exit-record]");
  long sleep_ms = 0;
  bool exit_record = false;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--exit-record") {
      exit_record = true;
    } else if (arg == "--sleep-ms" && i + 1 < argc) {
      sleep_ms = std::strtol(argv[++i], nullptr, 10);
    } else {
      return Fail("unknown argument");
    }
  }
  const char* scheduled_text = std::getenv("MLCRON_SCHEDULED");
  const char* job = std::getenv("MLCRON_JOB");
  if (scheduled_text == nullptr || job == nullptr) return Fail("MLCRON_SCHEDULED/JOB not set");
  const auto scheduled = ParseScheduled(scheduled_text);
  if (!scheduled) return Fail("cannot parse MLCRON_SCHEDULED");
  const int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(std::strerror(errno));
  if (sleep_ms > 0) {
    timespec ts{sleep_ms / 1000, (sleep_ms % 1000) * 1'000'000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }

  const std::int64_t lateness_us = (start_ns - *scheduled * 1'000'000'000) / 1000;
  char line[256];
  int n = 0;
  if (exit_record) {
    n = std::snprintf(line, sizeof line, "%s,%lld,%lld,%lld,%lld\n", job,
                      static_cast<long long>(*scheduled), static_cast<long long>(start_ns),
                      static_cast<long long>(lateness_us), static_cast<long long>(NowNs()));
  } else {
    n = std::snprintf(line, sizeof line, "%s,%lld,%lld,%lld\n", job,
                      static_cast<long long>(*scheduled), static_cast<long long>(start_ns),
                      static_cast<long long>(lateness_us));
  }
  if (n <= 0 || static_cast<size_t>(n) >= sizeof line) return Fail("line too long");
  if (write(fd, line, static_cast<size_t>(n)) != n) return Fail("short write");
  // No close() or atexit work after the exit timestamp beyond what the kernel must do.
  _exit(0);
}
