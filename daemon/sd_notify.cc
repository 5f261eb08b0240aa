#include "daemon/sd_notify.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>

namespace mlcron {
namespace {

std::string OneLine(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

bool Send(const std::string& message) {
  // unset_environment=0: the variables stay for later calls (watchdog, reload); jobs are
  // kept from seeing them by ScrubNotifyEnv instead.
  return sd_notify(0, message.c_str()) > 0;
}

}  // namespace

bool SystemdNotifier::enabled() const {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && socket[0] != '\0';
}

bool SystemdNotifier::Ready(std::string_view status) {
  return Send("READY=1\nSTATUS=" + OneLine(status) + "\nMAINPID=" + std::to_string(getpid()));
}

bool SystemdNotifier::Reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const std::uint64_t usec = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000u +
                             static_cast<std::uint64_t>(now.tv_nsec) / 1'000u;
  return Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

bool SystemdNotifier::Stopping() { return Send("STOPPING=1"); }

bool SystemdNotifier::Watchdog() { return Send("WATCHDOG=1"); }

bool SystemdNotifier::SetStatus(std::string_view text) { return Send("STATUS=" + OneLine(text)); }

std::optional<std::chrono::microseconds> SystemdNotifier::WatchdogInterval() const {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

void ScrubNotifyEnv(std::map<std::string, std::string>& env) {
  std::erase_if(env, [](const auto& entry) {
    const std::string& name = entry.first;
    return name == "NOTIFY_SOCKET" || name == "WATCHDOG_USEC" || name == "WATCHDOG_PID" ||
           name.starts_with("LISTEN_");
  });
}

}  // namespace mlcron
