// Small Linux /proc and prctl helpers the runner and crash recovery need. Thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/status.h"

namespace mlcron {

// /proc/sys/kernel/random/boot_id, trimmed.
std::string ReadBootId();
// Our direct children, from /proc/self/task/*/children; nullopt when the kernel does not
// provide that file. As a child subreaper, these include orphaned descendants of jobs.
std::optional<std::vector<pid_t>> ListOwnChildren();
// Field 22 (starttime, clock ticks since boot) of /proc/<pid>/stat; nullopt if gone.
std::optional<std::uint64_t> ReadStartTicks(pid_t pid);
// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are reparented to us.
Status BecomeChildSubreaper();
// Pids (other than ours) whose environment holds NAME=VALUE. Unreadable processes are skipped.
std::vector<pid_t> FindProcessesWithEnv(const std::string& name, const std::string& value);
// SIGKILLs the group `pgid` (none if pgid <= 1) and every process carrying kRunIdEnv=run_id
// and, when `state_dir` is not empty, kStateDirEnv=state_dir; returns how many processes were
// signalled. Used after a job ends or times out, and by crash recovery. Daemons pass their
// state_dir: another daemon's run with the same id must never be touched.
int KillRunProcesses(pid_t pgid, std::int64_t run_id, const std::string& state_dir = {});

}  // namespace mlcron
