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
  // How many times the terminal has been hung up. A file opened on it remembers the count of its
  // opening; once the count moves on, that file is hung up (see hung_up). Linux swaps a hung-up
  // file's operations for hung_up_tty_fops one file at a time; a count does the same for every
  // open file at once, with no list of them to walk.
  std::atomic<std::uint32_t> hangups{0};

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

// TIOCSPGRP's checks (tiocspgrp): the terminal must be the caller's controlling terminal
// (ENOTTY), the group a valid number (EINVAL), exist (ESRCH) and belong to the caller's session
// (EPERM). `group_session` is the session of the group `pgrp` — of any of its members, or of
// the process whose pid is `pgrp` if the group has none (Linux's session_of_pgrp) — or 0 if
// there is no such group or process. The SIGTTOU a background caller would get is not sent
// (no job stops here).
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

// A file opened when the hang-up count was `opened_in` is hung up once the count has moved on:
// its reads return 0 (end of file), its writes and ioctls fail with EIO, poll reports POLLHUP —
// whatever of the old session holds it can neither read keys nor keep the terminal.
[[nodiscard]] inline bool hung_up(const JobControl& tty, std::uint32_t opened_in) {
  return tty.hangups.load() != opened_in;
}

// The leader of session `sid` ended (Linux: disassociate_ctty on exit, tty_vhangup_session for a
// terminal that is not a pty). If this is that session's controlling terminal, it is hung up:
// nobody's any more, no foreground group, every file open on it now hung up; the terminal itself
// is free for the next session, whose opens are not hung up. Returns the old foreground group
// (the caller sends it SIGHUP and SIGCONT), 0 if there was none; nullopt if the terminal is not
// the session's (nothing changes).
inline std::optional<std::int32_t> hang_up_session(JobControl& tty, std::int32_t sid) {
  if (!tty.controls(sid)) return std::nullopt;
  const std::int32_t old_foreground = tty.foreground.load();
  tty.clear();
  tty.hangups.fetch_add(1);
  return old_foreground;
}

}  // namespace ferrite::tty
