// SystemdNotifier tells systemd about the daemon's state over $NOTIFY_SOCKET (Type=notify):
// ready, reloading, stopping, watchdog pings, status text. Every call is a no-op when the
// daemon is not run by systemd. Stateless and thread-safe; libsystemd stays in the .cc.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mlcron {

class SystemdNotifier {
 public:
  // True when $NOTIFY_SOCKET is set, i.e. systemd waits for our notifications.
  bool enabled() const;

  // Each call returns true if the message was sent; false when disabled or on a send error
  // (systemd then times the start out, which is the right outcome, so callers may ignore
  // it). Newlines in `status` are replaced by spaces: a message is one line per field.

  // "READY=1\nSTATUS=<status>\nMAINPID=<pid>": only after config and state are loaded.
  // Also sent after every reload to end the RELOADING=1 state.
  bool Ready(std::string_view status);
  // "RELOADING=1\nMONOTONIC_USEC=<CLOCK_MONOTONIC µs>" at the start of a reload. systemd
  // 252 ignores MONOTONIC_USEC; Type=notify-reload (≥253) requires it.
  bool Reloading();
  // "STOPPING=1" when SIGTERM starts the shutdown.
  bool Stopping();
  // "WATCHDOG=1"; the loop sends it every WatchdogInterval() / 2.
  bool Watchdog();
  // "STATUS=<text>", shown by `systemctl status mlcrond`.
  bool SetStatus(std::string_view text);

  // $WATCHDOG_USEC when it is meant for this process ($WATCHDOG_PID unset or ours);
  // nullopt when systemd expects no pings.
  std::optional<std::chrono::microseconds> WatchdogInterval() const;
};

// Removes NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID and every LISTEN_* variable from a job's
// environment. They describe the daemon's own connection to systemd; a job that saw them
// could report READY or ping the watchdog on the daemon's behalf.
void ScrubNotifyEnv(std::map<std::string, std::string>& env);

}  // namespace mlcron
