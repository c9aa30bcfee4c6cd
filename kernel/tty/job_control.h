// A terminal's job control (chapter 15): which session the terminal is the controlling terminal
// of, and which of that session's process groups is in the foreground — the one Ctrl+C signals
// and the one a shell hands the terminal to while a job runs (tcsetpgrp). Linux keeps the same
// two in struct tty_struct (session, pgrp); the rules below are drivers/tty/tty_jobctrl.c's.
//
// What "controlling terminal" means here: Linux records it per process (signal->tty), set when a
// session leader without one opens a terminal, inherited by fork, dropped by setsid. ferrite
// keeps no per-process field: a process has this terminal as its controlling terminal when its
// session is the terminal's session. A session leader the kernel starts on the console (the
// kernel shell's `sh`, `init=`) acquires it, as getty's or `setsid -c`'s children do on Linux; a
// process that calls setsid() has a new session and so no controlling terminal, as on Linux.
// Portable and host-tested (tests/host/syscall_test.cpp through the ioctls).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <expected>
#include <optional>

#include "abi/errno.h"

namespace ferrite::tty {

// Atomic: the keyboard interrupt reads the foreground group while a system call may change it.
struct JobControl {
  std::atomic<std::int32_t> session{0};     // 0: nobody's controlling terminal
  std::atomic<std::int32_t> foreground{0};  // 0: no foreground process group
  // Which sessions have files open on the terminal, so that a session's end hangs up only its
  // own files (a file's session is its opener's; fork and dup share the OpenFile, so a job the
  // shell leaves behind holds the shell's files). A file remembers its session's generation
  // (OpenFile::opened_in); the file is alive while a slot holds that generation. Generations come
  // from one counter and are never given twice (until it wraps after 2^32 new sessions' opens), so
  // a later session that gets the same sid (pid reuse) has a new one and its files are not the
  // dead session's. Linux instead swaps each hung-up file's operations for hung_up_tty_fops,
  // walking the tty's file list; a slot does the same for all of a session's files at once.
  // Slots change under the terminal's lock (opened/closed/hang_up_session); `generation` is
  // atomic because hung_up() reads it without that lock.
  struct SessionFiles {
    std::int32_t sid = 0;
    std::atomic<std::uint32_t> generation{0};  // 0: a free slot
    std::uint32_t live = 0;                    // its files open and not hung up
  };
  static constexpr std::size_t kMaxSessions = 16;
  std::array<SessionFiles, kMaxSessions> sessions{};
  std::uint32_t next_generation = 1;
  std::uint32_t untracked = 0;  // files opened while every slot was taken: never hung up
  [[nodiscard]] bool controls(std::int32_t sid) const { return sid != 0 && session.load() == sid; }
  void clear() {
    session.store(0);
    foreground.store(0);
  }
};

// Who asks (the calling process).
struct JobCaller {
  std::int32_t pid, pgid, sid;
  [[nodiscard]] bool session_leader() const { return pid == sid; }
};

// A process uses its controlling terminal from the background: it is not in the foreground
// group. (A terminal that is not the caller's controlling terminal, or one with no foreground
// group, has no background: Linux's __tty_check_change lets those through.)
[[nodiscard]] inline bool in_background(const JobControl& tty, const JobCaller& caller) {
  if (!tty.controls(caller.sid)) return false;
  const std::int32_t foreground = tty.foreground.load();
  return foreground != 0 && caller.pgid != foreground;
}

// What a background process's use of the terminal comes to (termios(3) "job control"; Linux's
// __tty_check_change): a read (SIGTTIN), or a write with TOSTOP or a change of the terminal's
// settings or foreground group (SIGTTOU).
//   `refused`: the caller ignores or blocks that signal. A read then fails with EIO (stopping
//              cannot happen, and reading would steal the foreground's keys); the others go
//              ahead (a shell that ignores SIGTTOU takes the terminal back this way).
//   `orphaned`: its process group is orphaned (proc/process_groups.h) — nobody could continue
//              it, so it is not stopped either: EIO.
// Otherwise its whole group gets the signal, which stops it, and the call is restarted once it
// is continued (ERESTARTSYS), by when it may be in the foreground.
enum class BackgroundAccess : std::uint8_t { allowed, stop_group, eio };
[[nodiscard]] constexpr BackgroundAccess background_access(bool reading, bool refused,
                                                           bool orphaned) {
  if (refused) return reading ? BackgroundAccess::eio : BackgroundAccess::allowed;
  if (orphaned) return BackgroundAccess::eio;
  return BackgroundAccess::stop_group;
}

// TIOCSPGRP's checks (tiocspgrp): the terminal must be the caller's controlling terminal
// (ENOTTY), the group a valid number (EINVAL), exist (ESRCH) and belong to the caller's session
// (EPERM). `group_session` is the session of the group `pgrp` — of any of its members, or of
// the process whose pid is `pgrp` if the group has none (Linux's session_of_pgrp) — or 0 if
// there is no such group or process. A background caller has been through background_access
// (SIGTTOU) first.
inline std::expected<void, abi::Errno> check_set_foreground(const JobControl& tty,
                                                            const JobCaller& caller,
                                                            std::int32_t pgrp,
                                                            std::int32_t group_session) {
  if (!tty.controls(caller.sid)) return std::unexpected(abi::Errno::enotty);
  if (pgrp < 0) return std::unexpected(abi::Errno::einval);
  if (group_session == 0) return std::unexpected(abi::Errno::esrch);
  if (group_session != caller.sid) return std::unexpected(abi::Errno::eperm);
  return {};
}

// TIOCGPGRP and TIOCGSID: only through one's own controlling terminal (else ENOTTY).
inline std::expected<std::int32_t, abi::Errno> foreground_of(const JobControl& tty,
                                                             const JobCaller& caller) {
  if (!tty.controls(caller.sid)) return std::unexpected(abi::Errno::enotty);
  return tty.foreground.load();
}
inline std::expected<std::int32_t, abi::Errno> session_of(const JobControl& tty,
                                                          const JobCaller& caller) {
  if (!tty.controls(caller.sid)) return std::unexpected(abi::Errno::enotty);
  return tty.session.load();
}

// TIOCSCTTY (tiocsctty): a session leader makes this its controlling terminal, its group the
// foreground. Already its own: nothing to do. Another live session's terminal: EPERM, unless
// `steal` (argument 1; Linux also wants CAP_SYS_ADMIN, which every process here has).
// `owner_alive`: the terminal's current session still has its leader.
inline std::expected<void, abi::Errno> acquire(JobControl& tty, const JobCaller& caller,
                                               bool steal, bool owner_alive) {
  if (tty.controls(caller.sid) && caller.session_leader()) return {};
  if (!caller.session_leader()) return std::unexpected(abi::Errno::eperm);
  if (tty.session.load() != 0 && owner_alive && !steal) return std::unexpected(abi::Errno::eperm);
  tty.session.store(caller.sid);
  tty.foreground.store(caller.pgid);
  return {};
}

// TIOCNOTTY: ENOTTY unless it is the caller's controlling terminal; a session leader gives it up
// for the whole session (the caller then signals the old foreground group SIGHUP and SIGCONT,
// as disassociate_ctty does). Returns the group to signal, 0 for none. A process that is not
// the leader keeps it here (there is no per-process record to drop; Linux drops it for that
// process only).
inline std::expected<std::int32_t, abi::Errno> give_up(JobControl& tty, const JobCaller& caller) {
  if (!tty.controls(caller.sid)) return std::unexpected(abi::Errno::enotty);
  if (!caller.session_leader()) return 0;
  const std::int32_t old_foreground = tty.foreground.load();
  tty.clear();
  return old_foreground;
}

// Generation 0: a file no slot could take (see file_opened); it is never hung up.
inline constexpr std::uint32_t kUntracked = 0;

// A file on the terminal is hung up once its session's slot no longer holds its generation:
// its reads return 0 (end of file), its writes and ioctls fail with EIO, poll reports POLLHUP —
// whatever of the ended session holds it can neither read keys nor keep the terminal.
[[nodiscard]] inline bool hung_up(const JobControl& tty, std::uint32_t opened_in) {
  if (opened_in == kUntracked) return false;
  for (const JobControl::SessionFiles& slot : tty.sessions) {
    if (slot.generation.load() == opened_in) return false;
  }
  return true;
}

// Files open and not hung up, of every session: while there is one, the keyboard is the
// terminal's (the caller holds the terminal's lock).
[[nodiscard]] inline std::uint32_t live_files(const JobControl& tty) {
  std::uint32_t live = tty.untracked;
  for (const JobControl::SessionFiles& slot : tty.sessions) {
    if (slot.generation.load() != 0) live += slot.live;
  }
  return live;
}

// A process of session `sid` opened a file on the terminal: it joins its session's slot, or takes
// a free one with a fresh generation. Returns the generation the file keeps (OpenFile::opened_in).
// With all slots taken the file is untracked: it is never hung up — as on a kernel without
// hang-up, the keyboard stays the terminal's until it is closed. The other choices are worse:
// sharing another session's slot would let that session's end kill this file (the bug a single
// hang-up count had), and refusing the open would fail a program that only wants its console.
inline std::uint32_t file_opened(JobControl& tty, std::int32_t sid) {
  JobControl::SessionFiles* free_slot = nullptr;
  for (JobControl::SessionFiles& slot : tty.sessions) {
    const std::uint32_t generation = slot.generation.load();
    if (generation != 0 && slot.sid == sid) {
      ++slot.live;
      return generation;
    }
    if (generation == 0 && free_slot == nullptr) free_slot = &slot;
  }
  if (free_slot == nullptr) {
    ++tty.untracked;
    return kUntracked;
  }
  if (tty.next_generation == kUntracked) ++tty.next_generation;  // wrapped
  free_slot->sid = sid;
  free_slot->live = 1;
  free_slot->generation.store(tty.next_generation++);
  return free_slot->generation.load();
}

// The last descriptor of a file opened with `opened_in` closed. A hung-up file no longer counts;
// a slot whose last file closes is free again. Returns whether no live file is left (the keyboard
// goes back to the kernel shell) — false when nothing changed.
inline bool file_closed(JobControl& tty, std::uint32_t opened_in) {
  if (opened_in == kUntracked) {
    if (tty.untracked > 0) --tty.untracked;
    return live_files(tty) == 0;
  }
  for (JobControl::SessionFiles& slot : tty.sessions) {
    if (slot.generation.load() != opened_in) continue;
    if (--slot.live == 0) slot.generation.store(0);
    return live_files(tty) == 0;
  }
  return false;  // hung up: the hang-up took it off the count already
}

// The leader of session `sid` ended (Linux: disassociate_ctty on exit, tty_vhangup_session for a
// terminal that is not a pty). If this is that session's controlling terminal, it is hung up:
// nobody's any more, no foreground group, and every file that session opened on it now hung up
// (its slot freed, so its generation matches nothing). Other sessions' files stay alive; the
// terminal is free for the next session. Returns the old foreground group (the caller sends it
// SIGHUP and SIGCONT), 0 if there was none; nullopt if the terminal is not the session's
// (nothing changes).
inline std::optional<std::int32_t> hang_up_session(JobControl& tty, std::int32_t sid) {
  if (!tty.controls(sid)) return std::nullopt;
  const std::int32_t old_foreground = tty.foreground.load();
  tty.clear();
  for (JobControl::SessionFiles& slot : tty.sessions) {
    if (slot.generation.load() != 0 && slot.sid == sid) {
      slot.live = 0;
      slot.generation.store(0);
    }
  }
  return old_foreground;
}

}  // namespace ferrite::tty
