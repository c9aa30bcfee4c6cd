// Signals with Linux's numbers (<asm/signal.h>), which one each CPU exception from user mode
// means — the choices of Linux's arch/x86/kernel/traps.c: a divide error or SIMD/x87 error is
// SIGFPE, an invalid opcode SIGILL, a page fault or general protection fault SIGSEGV, an
// alignment or stack-segment fault SIGBUS — and (chapter 15) a process's signal state: what is
// pending, what is blocked, what each signal does. Portable: the host tests run it
// (tests/host/signal_test.cpp); proc/signals.cpp applies it to processes.
#pragma once

#include <cstdint>
#include <string_view>

#include "arch/x86_64/exceptions.h"
#include "arch/x86_64/signal_frame.h"

namespace ferrite::proc {

enum Signal : std::int32_t {
  kSigHup = 1, kSigInt = 2, kSigQuit = 3, kSigIll = 4, kSigTrap = 5, kSigAbrt = 6, kSigBus = 7,
  kSigFpe = 8, kSigKill = 9, kSigUsr1 = 10, kSigSegv = 11, kSigUsr2 = 12, kSigPipe = 13,
  kSigAlrm = 14, kSigTerm = 15, kSigStkflt = 16, kSigChld = 17, kSigCont = 18, kSigStop = 19,
  kSigTstp = 20, kSigTtin = 21, kSigTtou = 22, kSigUrg = 23, kSigXcpu = 24, kSigXfsz = 25,
  kSigVtalrm = 26, kSigProf = 27, kSigWinch = 28, kSigIo = 29, kSigPwr = 30, kSigSys = 31,
};
inline constexpr std::int32_t kSignalCount = 64;  // 1..64; 32..64 are the real-time ones

constexpr std::string_view signal_name(std::int32_t signal) {
  constexpr std::string_view kNames[] = {
      "signal 0", "SIGHUP",  "SIGINT",  "SIGQUIT", "SIGILL",    "SIGTRAP", "SIGABRT", "SIGBUS",
      "SIGFPE",   "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2",   "SIGPIPE", "SIGALRM", "SIGTERM",
      "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
      "SIGXCPU",  "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",  "SIGPWR",  "SIGSYS"};
  if (signal >= 0 && signal < 32) return kNames[signal];
  return signal <= kSignalCount ? "SIGRT" : "signal ?";
}

constexpr bool valid_signal(std::int32_t signal) { return signal >= 1 && signal <= kSignalCount; }
constexpr std::uint64_t signal_bit(std::int32_t signal) { return std::uint64_t{1} << (signal - 1); }
// No program may catch, ignore or block these two.
inline constexpr std::uint64_t kUnblockableSignals = signal_bit(kSigKill) | signal_bit(kSigStop);

// What a signal does when the program has not said otherwise (man 7 signal, "Standard signals").
enum class DefaultAction : std::uint8_t { terminate, core_dump, ignore, stop, resume };
constexpr DefaultAction default_action(std::int32_t signal) {
  switch (signal) {
    case kSigChld: case kSigUrg: case kSigWinch: return DefaultAction::ignore;
    case kSigStop: case kSigTstp: case kSigTtin: case kSigTtou: return DefaultAction::stop;
    case kSigCont: return DefaultAction::resume;
    case kSigQuit: case kSigIll: case kSigTrap: case kSigAbrt: case kSigBus: case kSigFpe:
    case kSigSegv: case kSigXcpu: case kSigXfsz: case kSigSys: return DefaultAction::core_dump;
    default: return DefaultAction::terminate;  // the rest, real-time signals included
  }
}

// Linux's struct k_sigaction as rt_sigaction passes it (asm/signal.h, x86_64): handler, flags,
// restorer, mask — the same order in memory.
inline constexpr std::uint64_t kSigDfl = 0, kSigIgn = 1;
inline constexpr std::uint64_t kSaNocldstop = 1, kSaNocldwait = 2, kSaSiginfo = 4,
                               kSaRestorer = 0x04000000, kSaOnstack = 0x08000000,
                               kSaRestart = 0x10000000, kSaNodefer = 0x40000000,
                               kSaResethand = 0x80000000;
struct SignalAction {
  std::uint64_t handler = kSigDfl;
  std::uint64_t flags = 0;
  std::uint64_t restorer = 0;
  std::uint64_t mask = 0;
};
static_assert(sizeof(SignalAction) == 32);

// Restarting an interrupted system call (chapter 15; signal(7), "Interruption of system calls
// and library functions by signal handlers"). A blocking call a signal interrupts does not
// return EINTR at once: it returns one of Linux's internal codes (include/linux/errno.h, never
// seen by a program), and the way back to ring 3 decides, knowing whether a handler runs:
//   ERESTARTSYS            read/write on a terminal or pipe, wait4, open...: restarted if no
//                          handler runs or the handler has SA_RESTART, else EINTR
//   ERESTARTNOHAND         pause, sigsuspend, select, pselect6, ppoll: restarted only if no
//                          handler runs (never after a handler, SA_RESTART or not)
//   ERESTART_RESTARTBLOCK  nanosleep, clock_nanosleep, poll: as ERESTARTNOHAND (Linux restarts
//                          them through restart_syscall with the time left; ferrite restarts
//                          the call as it was made, so the full timeout starts again)
//   ERESTARTNOINTR         always restarted (no call here returns it yet)
// "Restarted" is done by the CPU: RIP back over the 2-byte `syscall`, RAX the number again.
inline constexpr std::int64_t kErestartsys = 512, kErestartnointr = 513, kErestartnohand = 514,
                              kErestartRestartblock = 516;
constexpr bool is_restart_code(std::int64_t code) {
  return code == kErestartsys || code == kErestartnointr || code == kErestartnohand ||
         code == kErestartRestartblock;
}
// true: restart the call; false: it returns EINTR. `code` is one of the four above.
constexpr bool restart_after_signal(std::int64_t code, bool handler_runs, bool sa_restart) {
  if (!handler_runs || code == kErestartnointr) return true;
  return code == kErestartsys && sa_restart;
}

// Who sent a signal and why: what the handler's siginfo_t says (arch/x86_64/signal_frame.h
// lays it out as Linux's). si_code values from <asm-generic/siginfo.h>: kill() is SI_USER,
// tkill()/tgkill() SI_TKILL, a signal the kernel raises itself SI_KERNEL; SIGCHLD carries
// CLD_EXITED with the exit code, or CLD_KILLED/CLD_DUMPED with the signal that ended the child.
inline constexpr std::int32_t kSiUser = 0, kSiKernel = 0x80, kSiTkill = -6;
inline constexpr std::int32_t kCldExited = 1, kCldKilled = 2, kCldDumped = 3, kCldStopped = 5,
                              kCldContinued = 6;
// 24 bytes, one per signal in every process (and copied by each fork): only what ferrite knows.
struct SignalInfo {
  std::int32_t code = kSiUser;
  std::int32_t pid = 0;       // the sender (kill, tkill) or the child (SIGCHLD)
  std::uint32_t uid = 0;
  std::int32_t status = 0;    // SIGCHLD: exit code or signal number
  // SIGCHLD for an ended child: its user and system time in clock ticks (USER_HZ), as
  // si_utime/si_stime; 32 bits hold 497 days of them, and they saturate beyond.
  std::uint32_t utime = 0, stime = 0;
};
static_assert(sizeof(SignalInfo) == 24);
// A signal the kernel raises for a reason outside the receiver -- the terminal's Ctrl+C,
// Ctrl+\ and hang-up: SI_KERNEL and no sender (Linux's kill_pgrp(..., priv = 1)).
inline constexpr SignalInfo kRaisedByKernel{kSiKernel, 0, 0, 0};
// kill(2) / tkill(2) from process `sender`.
constexpr SignalInfo sent_by(std::int32_t sender, bool thread_directed) {
  return {thread_directed ? kSiTkill : kSiUser, sender, 0, 0};
}
// Job control's two wait statuses (<bits/waitstatus.h>): stopped by signal s is (s << 8) | 0x7f
// (WIFSTOPPED, WSTOPSIG), continued is 0xffff (WIFCONTINUED).
constexpr std::int32_t stopped_wait_status(std::int32_t signal) { return (signal << 8) | 0x7F; }
inline constexpr std::int32_t kContinuedWaitStatus = 0xFFFF;
// The SIGCHLD a child's end sends its parent, from its wait status (exit(n): n << 8; killed by
// signal s: s, with 0x80 when a core was written — Linux's do_notify_parent); a stop or a
// continue (do_notify_parent_cldstop) is CLD_STOPPED with the stop signal or CLD_CONTINUED
// with SIGCONT. waitid's siginfo is the same.
// `utime`/`stime` (clock ticks): the child's CPU time, for an ended child's SIGCHLD (waitid
// leaves them 0, as Linux's waitid writes no si_utime/si_stime).
constexpr SignalInfo child_ended(std::int32_t child, std::int32_t wait_status,
                                 std::uint64_t utime = 0, std::uint64_t stime = 0) {
  if (wait_status == kContinuedWaitStatus) return {kCldContinued, child, 0, kSigCont};
  if ((wait_status & 0xFF) == 0x7F) return {kCldStopped, child, 0, (wait_status >> 8) & 0xFF};
  constexpr std::uint64_t kMax = ~std::uint32_t{0};
  const auto u = static_cast<std::uint32_t>(utime < kMax ? utime : kMax);
  const auto s = static_cast<std::uint32_t>(stime < kMax ? stime : kMax);
  if ((wait_status & 0x7F) == 0) return {kCldExited, child, 0, (wait_status >> 8) & 0xFF, u, s};
  return {(wait_status & 0x80) != 0 ? kCldDumped : kCldKilled, child, 0, wait_status & 0x7F, u, s};
}

// The siginfo_t a handler (SA_SIGINFO) or waitid reads, in Linux's layout.
constexpr arch::SigInfo linux_siginfo(std::int32_t signal, const SignalInfo& from) {
  arch::SigInfo out{};
  out.signo = signal;
  out.code = from.code;
  out.pid = from.pid;
  out.uid = from.uid;
  if (signal == kSigChld) {
    out.status = from.status;
    out.utime = from.utime;
    out.stime = from.stime;
  }
  return out;
}

// A parent that does not want zombies: SIGCHLD ignored (SIG_IGN) or SA_NOCLDWAIT. Its children
// are freed as they end and wait() finds none (POSIX; Linux's do_notify_parent "autoreap").
// SIG_DFL for SIGCHLD also ignores, but keeps zombies: only an explicit SIG_IGN counts.
constexpr bool reaps_children_itself(const SignalAction& sigchld) {
  return sigchld.handler == kSigIgn || (sigchld.flags & kSaNocldwait) != 0;
}

// A process's signals: what is pending (one bit each: a second SIGINT before the first is taken
// is the same SIGINT, as with Linux's standard signals — and the first one's siginfo is the one
// kept), what is blocked, the 64 actions, and the alternate stack (sigaltstack).
struct SignalState {
  std::uint64_t pending = 0;
  SignalInfo info[kSignalCount] = {};  // the siginfo of each pending signal
  std::uint64_t blocked = 0;
  SignalAction actions[kSignalCount] = {};
  std::uint64_t alt_stack = 0, alt_stack_size = 0;
  std::int32_t alt_stack_flags = 2;  // SS_DISABLE until sigaltstack sets one
  // rt_sigsuspend, ppoll, pselect6: the mask to put back once the handler that ended it returns.
  std::uint64_t saved_blocked = 0;
  bool restore_saved = false;
  // The system call returning now was interrupted: its result is a restart code (above) for
  // the way back to ring 3 to turn into EINTR or a restart of call `restart_number`.
  bool restart_pending = false;
  std::uint64_t restart_number = 0;
  // Job control (chapter 15): stopped by a stop signal until SIGCONT (or death). What the
  // parent's wait has not been told yet: the stop signal (WUNTRACED) and a continue
  // (WCONTINUED); each is reported once, and a continue takes back an untold stop.
  bool stopped = false;
  std::int32_t stop_report = 0;  // the signal that stopped it, 0 when told or continued
  bool continue_report = false;

  // What sending a signal did (send()): made it pending, and/or continued the stopped process
  // (its parent is told and its thread woken).
  struct Sent {
    bool posted;
    bool resumed;
  };

  [[nodiscard]] const SignalAction& action(std::int32_t signal) const { return actions[signal - 1]; }
  // Would the signal, delivered now, do nothing at all?
  [[nodiscard]] bool ignored(std::int32_t signal) const {
    const std::uint64_t handler = action(signal).handler;
    return handler == kSigIgn || (handler == kSigDfl && default_action(signal) == DefaultAction::ignore);
  }
  // A signal sent: pending from now, unless it would be ignored and is not blocked (Linux drops
  // those at once, so a blocked-then-ignored SIGCHLD does not linger). false if dropped.
  // A second one while the first is pending is dropped, its siginfo with it (Linux's
  // legacy_queue for standard signals; ferrite queues real-time ones the same way).
  bool post(std::int32_t signal, const SignalInfo& from = {}) {
    if (!valid_signal(signal)) return false;
    if (ignored(signal) && (blocked & signal_bit(signal)) == 0) return false;
    if ((pending & signal_bit(signal)) != 0) return true;
    pending |= signal_bit(signal);
    info[signal - 1] = from;
    return true;
  }
  // Sending a signal, with the stop and continue rules (POSIX; Linux's prepare_signal) before
  // post(): a stop signal throws away a pending SIGCONT; SIGCONT throws away pending stop
  // signals and continues a stopped process, whatever its action (which is then delivered as
  // any other: a handler runs, the default ignores).
  Sent send(std::int32_t signal, const SignalInfo& from = {}) {
    if (!valid_signal(signal)) return {false, false};
    bool resumed = false;
    if (default_action(signal) == DefaultAction::stop) {
      pending &= ~signal_bit(kSigCont);
    } else if (signal == kSigCont) {
      pending &= ~kStopSignals;
      if (stopped) {
        stopped = false;
        stop_report = 0;
        continue_report = true;
        resumed = true;
      }
    }
    return {post(signal, from), resumed};
  }
  static constexpr std::uint64_t kStopSignals =
      signal_bit(kSigStop) | signal_bit(kSigTstp) | signal_bit(kSigTtin) | signal_bit(kSigTtou);
  // The process stops now (its default action for `signal`): stopped, the stop to be reported
  // to wait, an untold continue forgotten.
  void stop(std::int32_t signal) {
    stopped = true;
    stop_report = signal;
    continue_report = false;
  }
  // A pending, unblocked signal that would end the process: SIGKILL, or one whose action is
  // the default and the default is to terminate (not a core dump). Such a signal ends a
  // stopped process at once, as Linux's complete_signal turns it into a group exit — so
  // `kill PID` (SIGTERM) and Ctrl+C end a stopped job. 0 if none.
  [[nodiscard]] std::int32_t fatal_pending() const {
    std::uint64_t ready = deliverable();
    while (ready != 0) {
      const std::int32_t signal = __builtin_ctzll(ready) + 1;
      ready &= ready - 1;
      if (signal == kSigKill) return signal;
      if (action(signal).handler == kSigDfl && default_action(signal) == DefaultAction::terminate)
        return signal;
    }
    return 0;
  }
  // Should the thread's "signal pending" mark be set (it ends interruptible waits)? Running:
  // any deliverable signal. Stopped: only one that ends the process (the others wait for SIGCONT).
  [[nodiscard]] bool needs_attention() const {
    return stopped ? fatal_pending() != 0 : deliverable() != 0;
  }
  // wait4/waitid (Linux's wait_task_stopped, wait_task_continued): the stop or continue not yet
  // reported that the caller asks for, as a wait status; `consume` (not WNOWAIT) tells it once.
  // 0 if there is none to tell.
  std::int32_t take_wait_report(bool want_stopped, bool want_continued, bool consume) {
    if (want_stopped && stopped && stop_report != 0) {
      const std::int32_t status = stopped_wait_status(stop_report);
      if (consume) stop_report = 0;
      return status;
    }
    if (want_continued && continue_report) {
      if (consume) continue_report = false;
      return kContinuedWaitStatus;
    }
    return 0;
  }
  // Pending and not blocked: what the way back to ring 3 delivers.
  [[nodiscard]] std::uint64_t deliverable() const { return pending & ~blocked; }
  // The lowest-numbered deliverable signal (Linux takes the synchronous ones and then the lowest
  // number first), taken off the pending set; 0 if none.
  // `from` (if given) gets its siginfo.
  std::int32_t take_next(SignalInfo* from = nullptr) {
    const std::uint64_t ready = deliverable();
    if (ready == 0) return 0;
    const std::int32_t signal = __builtin_ctzll(ready) + 1;
    pending &= ~signal_bit(signal);
    if (from != nullptr) *from = info[signal - 1];
    return signal;
  }
  // fork: the child gets the actions, the mask and the alternate stack; nothing pending (POSIX).
  [[nodiscard]] SignalState for_child() const {
    SignalState child = *this;
    child.pending = 0;
    child.restore_saved = false;
    child.restart_pending = false;
    child.stopped = child.continue_report = false;
    child.stop_report = 0;
    return child;
  }
  // execve: caught signals go back to their default action (the handlers are gone with the old
  // program), ignored ones stay ignored; the mask and pending signals stay; no alternate stack.
  void reset_for_exec() {
    for (SignalAction& a : actions) {
      if (a.handler != kSigIgn) a = SignalAction{};
    }
    alt_stack = alt_stack_size = 0;
    alt_stack_flags = 2;
  }
  // ppoll/pselect6/rt_sigsuspend: `mask` is blocked for the duration of the call.
  void begin_temporary_mask(std::uint64_t mask) {
    saved_blocked = blocked;
    restore_saved = true;
    set_blocked(mask);
  }
  // The call ends. Interrupted (a handler will run): the old mask comes back when the handler
  // returns — the frame saves it — or when delivery finds no handler to run. Not interrupted:
  // back at once, so a signal the call's mask held off and the old one allows is delivered on
  // this very return (Linux's restore_saved_sigmask_unless).
  void end_temporary_mask(bool interrupted) {
    if (interrupted || !restore_saved) return;
    blocked = saved_blocked;
    restore_saved = false;
  }
  // rt_sigprocmask's three ways; SIGKILL and SIGSTOP are never blocked.
  void block(std::uint64_t set) { blocked = (blocked | set) & ~kUnblockableSignals; }
  void unblock(std::uint64_t set) { blocked &= ~set; }
  void set_blocked(std::uint64_t set) { blocked = set & ~kUnblockableSignals; }
  // rt_sigaction's change: false (EINVAL) for SIGKILL/SIGSTOP or a bad number. Setting an
  // action that ignores discards the signal if pending (POSIX).
  bool set_action(std::int32_t signal, const SignalAction& requested) {
    if (!valid_signal(signal) || (signal_bit(signal) & kUnblockableSignals) != 0) return false;
    SignalAction& slot = actions[signal - 1];
    slot = requested;
    slot.mask &= ~kUnblockableSignals;
    if (ignored(signal)) pending &= ~signal_bit(signal);
    return true;
  }
};

constexpr Signal signal_for_exception(std::uint8_t vector) {
  switch (vector) {
    case arch::kDivideErrorVector: return kSigFpe;
    case 1:                                      // #DB
    case arch::kBreakpointVector: return kSigTrap;
    case arch::kInvalidOpcodeVector: return kSigIll;
    case 12: return kSigBus;                     // #SS
    case 16: return kSigFpe;                     // #MF: x87 error
    case arch::kAlignmentCheckVector: return kSigBus;
    case 19: return kSigFpe;                     // #XM: SIMD floating-point error
    default: return kSigSegv;                    // #GP, #PF and anything unexpected
  }
}

// The siginfo of a CPU fault in ring 3 (Linux's force_sig_fault, <asm-generic/siginfo.h>): a
// page fault is SEGV_MAPERR (no region of the address space there) or SEGV_ACCERR (a region,
// which does not allow the access -- Linux decides by the VMA too, not by whether the page was
// present) at the faulting address; #UD ILL_ILLOPN, #DE
// FPE_INTDIV, int3 TRAP_BRKPT and #AC BUS_ADRALN at the instruction; #GP SI_KERNEL with no
// address. si_addr lies where si_pid and si_uid lie (the union at offset 16 of siginfo_t), so
// the address rides in those two fields: low half in pid, high half in uid (little-endian).
inline constexpr std::int32_t kSegvMaperr = 1, kSegvAccerr = 2, kIllIllopn = 2, kFpeIntdiv = 1,
                              kTrapBrkpt = 1, kBusAdraln = 1;
constexpr SignalInfo fault_siginfo(std::uint8_t vector, bool in_a_region, std::uint64_t address) {
  const auto at = [address](std::int32_t code) {
    return SignalInfo{code, static_cast<std::int32_t>(static_cast<std::uint32_t>(address)),
                      static_cast<std::uint32_t>(address >> 32), 0};
  };
  switch (vector) {
    case arch::kPageFaultVector: return at(in_a_region ? kSegvAccerr : kSegvMaperr);
    case arch::kInvalidOpcodeVector: return at(kIllIllopn);
    case arch::kDivideErrorVector: return at(kFpeIntdiv);
    case arch::kBreakpointVector: return at(kTrapBrkpt);
    case arch::kAlignmentCheckVector: return at(kBusAdraln);
    default: return kRaisedByKernel;
  }
}

// Linux's wait status (<bits/waitstatus.h>): exit(n) is n << 8, death by signal s is s.
constexpr std::int32_t exit_wait_status(std::int32_t code) { return (code & 0xFF) << 8; }
constexpr bool exited_normally(std::int32_t status) { return (status & 0x7F) == 0; }
constexpr std::int32_t exit_code_of(std::int32_t status) { return (status >> 8) & 0xFF; }
constexpr std::int32_t signal_of(std::int32_t status) { return status & 0x7F; }

}  // namespace ferrite::proc
