// Orphaned process groups (chapter 15; POSIX "orphaned process group", Linux's
// will_become_orphaned_pgrp in kernel/exit.c). A group is orphaned when no member has a parent
// in another group of the same session — no shell is left that could continue it with SIGCONT.
// Job control's stop signals from the terminal (SIGTSTP, SIGTTIN, SIGTTOU) are dropped for such
// a group, and a group that becomes orphaned while a member is stopped gets SIGHUP and SIGCONT.
// Portable and host-tested (tests/host/signal_test.cpp); proc/process.cpp fills the members in
// from its process table.
#pragma once

#include <cstdint>
#include <span>

namespace ferrite::proc {

// What the rule reads of one process. Ended ones (zombies) are not members any more.
struct GroupMember {
  std::int32_t pid = 0, parent = 0, pgid = 0, sid = 0;
  bool alive = true;
  bool stopped = false;
};

// Would group `pgid` be orphaned once process `leaving` is gone (0: nobody leaves)? True too
// for a group with no member left. A parent of 0 (a process the kernel started: the kernel
// shell's `run` and `sh`) is no parent, so the kernel's own children are in orphaned groups.
// Linux also does not count init (PID 1) as a parent; ferrite does, so that `init=/bin/sh`
// keeps job control.
[[nodiscard]] constexpr bool group_orphaned(std::span<const GroupMember> all, std::int32_t pgid,
                                            std::int32_t leaving = 0) {
  for (const GroupMember& member : all) {
    if (!member.alive || member.pgid != pgid || member.pid == leaving) continue;
    if (member.parent == 0 || member.parent == leaving) continue;
    for (const GroupMember& parent : all) {
      if (!parent.alive || parent.pid != member.parent) continue;
      if (parent.pgid != pgid && parent.sid == member.sid) return false;
    }
  }
  return true;
}

// Has group `pgid` a stopped member (other than `leaving`)?
[[nodiscard]] constexpr bool group_has_stopped(std::span<const GroupMember> all,
                                               std::int32_t pgid, std::int32_t leaving = 0) {
  for (const GroupMember& member : all) {
    if (member.alive && member.pgid == pgid && member.pid != leaving && member.stopped) return true;
  }
  return false;
}

// `leaving` ends (Linux's kill_orphaned_pgrp, called from exit_notify): which groups become
// orphaned through it with a stopped member, and so get SIGHUP then SIGCONT — its own group,
// and the group of each of its children that is in another group of the same session. Writes
// them to `out` (each once) and returns how many; `out` needs room for one per member.
// Call with the table as it is just before the exit (children not yet handed on).
constexpr std::size_t groups_orphaned_by_exit(std::span<const GroupMember> all,
                                              const GroupMember& leaving,
                                              std::span<std::int32_t> out) {
  std::size_t count = 0;
  const auto consider = [&](std::int32_t pgid) {
    for (std::size_t i = 0; i < count; ++i) {
      if (out[i] == pgid) return;
    }
    // Orphaned only now: it was not before (its parent keeps it), it is without `leaving`.
    if (group_orphaned(all, pgid) || !group_orphaned(all, pgid, leaving.pid)) return;
    if (!group_has_stopped(all, pgid, leaving.pid) || count == out.size()) return;
    out[count++] = pgid;
  };
  consider(leaving.pgid);
  for (const GroupMember& child : all) {
    if (!child.alive || child.parent != leaving.pid || child.pid == leaving.pid) continue;
    if (child.pgid != leaving.pgid && child.sid == leaving.sid) consider(child.pgid);
  }
  return count;
}

}  // namespace ferrite::proc
