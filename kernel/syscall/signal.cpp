// Signal system calls (chapter 15): actions, masks, sending, waiting, returning from a handler.
// The state lives in Process::signals (proc/signal.h); sending and delivery are proc/signals.h.
// Portable like the rest of syscall/: the host tests link fakes of proc's functions.
#include "abi/linux_types.h"
#include "abi/syscall_names.h"
#include "proc/signals.h"
#include "syscall/handlers.h"

namespace ferrite::syscall {

namespace {

using abi::Errno;
using proc::SignalAction;
constexpr std::uint64_t kSignalSetBytes = 8;  // sizeof(sigset_t) in the kernel's ABI
constexpr std::uint64_t kMinSignalStack = 2048;  // MINSIGSTKSZ

struct StackT {  // stack_t
  std::uint64_t sp;
  std::int32_t flags;
  std::int32_t pad;
  std::uint64_t size;
};
static_assert(sizeof(StackT) == 24);
static_assert(sizeof(SignalAction) == sizeof(abi::KernelSigaction));

}  // namespace

// rt_sigaction(sig, act, oldact, sigsetsize). A handler needs SA_RESTORER: the return address
// of its frame is sa_restorer (every libc sets it; without one the handler could not return).
Result sys_rt_sigaction(proc::Process& process, const Arguments& a) {
  const auto signal = static_cast<std::int32_t>(a.arg[0]);
  const std::uint64_t action = a.arg[1], old_action = a.arg[2];
  if (a.arg[3] != kSignalSetBytes) return std::unexpected(Errno::einval);
  if (a.arg[0] > 64 || !proc::valid_signal(signal)) return std::unexpected(Errno::einval);
  if (action != 0 && (proc::signal_bit(signal) & proc::kUnblockableSignals) != 0) {
    return std::unexpected(Errno::einval);
  }
  SignalAction requested{};
  if (action != 0) {
    const auto read = copy_in<SignalAction>(action);
    if (!read) return std::unexpected(read.error());
    requested = *read;
    if (requested.handler > proc::kSigIgn && (requested.flags & proc::kSaRestorer) == 0) {
      return std::unexpected(Errno::einval);
    }
  }
  if (old_action != 0) {
    if (auto copied = copy_out(old_action, process.signals.action(signal)); !copied)
      return std::unexpected(copied.error());
  }
  if (action != 0) proc::change_signal_action(process, signal, requested);
  return 0;
}

// rt_sigprocmask(how, set, oldset, sigsetsize).
Result sys_rt_sigprocmask(proc::Process& process, const Arguments& a) {
  const std::uint64_t how = a.arg[0], set = a.arg[1], old_set = a.arg[2];
  if (a.arg[3] != kSignalSetBytes) return std::unexpected(Errno::einval);
  std::uint64_t requested = 0;
  if (set != 0) {
    if (how != abi::kSigBlock && how != abi::kSigUnblock && how != abi::kSigSetmask) {
      return std::unexpected(Errno::einval);
    }
    const auto read = copy_in<std::uint64_t>(set);
    if (!read) return std::unexpected(read.error());
    requested = *read;
  }
  if (old_set != 0) {
    if (auto copied = copy_out(old_set, process.signals.blocked); !copied)
      return std::unexpected(copied.error());
  }
  if (set != 0) {
    if (how == abi::kSigBlock) process.signals.block(requested);
    else if (how == abi::kSigUnblock) process.signals.unblock(requested);
    else process.signals.set_blocked(requested);
    proc::signals_changed(process);
  }
  return 0;
}

// rt_sigpending(set, sigsetsize): the pending signals that are blocked (the others were taken).
Result sys_rt_sigpending(proc::Process& process, const Arguments& a) {
  if (a.arg[1] != kSignalSetBytes) return std::unexpected(Errno::einval);
  if (auto copied = copy_out(a.arg[0], process.signals.pending & process.signals.blocked); !copied)
    return std::unexpected(copied.error());
  return 0;
}

Result sys_rt_sigreturn(proc::Process& process, const Arguments&) {
  return proc::signal_return(process);
}

namespace {
// kill's and tkill's common part: `from` says who sent it and how (si_code SI_USER or SI_TKILL).
Result send_from(proc::Process& process, std::int32_t pid, std::uint64_t raw_signal,
                 const proc::SignalInfo& from) {
  const auto signal = static_cast<std::int32_t>(raw_signal);
  if (raw_signal > 64 || (signal != 0 && !proc::valid_signal(signal))) return std::unexpected(Errno::einval);
  if (pid > 0) {
    proc::Process* target = proc::find_process(pid);
    if (target == nullptr) return std::unexpected(Errno::esrch);
    if (signal != 0) proc::send_signal(*target, signal, from);
    return 0;
  }
  struct Context {
    proc::Process* self;
    std::int32_t pid, signal, group;
    std::size_t count;
    proc::SignalInfo from;
  } context{&process, pid, signal, pid == 0 ? proc::process_group_of(process) : -pid, 0, from};
  proc::for_each_process(
      [](proc::Process& target, void* raw) {
        auto& c = *static_cast<Context*>(raw);
        if (c.pid == -1 ? (&target == c.self || target.pid == 1)
                        : proc::process_group_of(target) != c.group) {
          return true;
        }
        if (c.signal != 0) proc::send_signal(target, c.signal, c.from);
        ++c.count;
        return true;
      },
      &context);
  if (context.count == 0) return std::unexpected(Errno::esrch);
  return 0;
}
}  // namespace

// kill(pid, sig): pid > 0 one process, 0 the caller's group, -1 every process but the caller
// (and init, pid 1), < -1 the group -pid. Signal 0 checks that the target exists. The siginfo
// is SI_USER with the caller's PID and UID.
Result sys_kill(proc::Process& process, const Arguments& a) {
  return send_from(process, static_cast<std::int32_t>(a.arg[0]), a.arg[1],
                   proc::sent_by(process.pid, false));
}

// tgkill(tgid, tid, sig) / tkill(tid, sig): one thread per process here, its tid is the pid.
// The siginfo is SI_TKILL (raise() in musl and glibc is tkill/tgkill).
Result sys_tgkill(proc::Process& process, const Arguments& a) {
  const auto tgid = static_cast<std::int32_t>(a.arg[0]), tid = static_cast<std::int32_t>(a.arg[1]);
  if (tgid <= 0 || tid <= 0 || tgid != tid) return tgid <= 0 || tid <= 0 ? std::unexpected(Errno::einval) : std::unexpected(Errno::esrch);
  return send_from(process, tid, a.arg[2], proc::sent_by(process.pid, true));
}
Result sys_tkill(proc::Process& process, const Arguments& a) {
  const auto tid = static_cast<std::int32_t>(a.arg[0]);
  if (tid <= 0) return std::unexpected(Errno::einval);
  return send_from(process, tid, a.arg[1], proc::sent_by(process.pid, true));
}

// pause(): until a signal is delivered; always EINTR.
Result sys_pause(proc::Process& process, const Arguments&) {
  proc::wait_for_signal(process, nullptr);
  return std::unexpected(Errno::eintr);
}

// rt_sigsuspend(mask, sigsetsize): waits with `mask` blocked; the old mask comes back when the
// handler returns (it is the frame's uc_sigmask).
Result sys_rt_sigsuspend(proc::Process& process, const Arguments& a) {
  if (a.arg[1] != kSignalSetBytes) return std::unexpected(Errno::einval);
  const auto mask = copy_in<std::uint64_t>(a.arg[0]);
  if (!mask) return std::unexpected(mask.error());
  proc::wait_for_signal(process, &*mask);
  return std::unexpected(Errno::eintr);
}

// sigaltstack(ss, old_ss): the stack is recorded and SA_ONSTACK handlers run on it. Honest
// minimum: no EPERM for changing it while on it, SS_AUTODISARM is not supported (EINVAL).
Result sys_sigaltstack(proc::Process& process, const Arguments& a) {
  proc::SignalState& state = process.signals;
  if (a.arg[1] != 0) {
    const StackT old{state.alt_stack, state.alt_stack_flags, 0, state.alt_stack_size};
    if (auto copied = copy_out(a.arg[1], old); !copied) return std::unexpected(copied.error());
  }
  if (a.arg[0] != 0) {
    const auto requested = copy_in<StackT>(a.arg[0]);
    if (!requested) return std::unexpected(requested.error());
    if (requested->flags == 2) {  // SS_DISABLE
      state.alt_stack = state.alt_stack_size = 0;
      state.alt_stack_flags = 2;
      return 0;
    }
    if (requested->flags != 0) return std::unexpected(Errno::einval);
    if (requested->size < kMinSignalStack) return std::unexpected(Errno::enomem);
    state.alt_stack = requested->sp;
    state.alt_stack_size = requested->size;
    state.alt_stack_flags = 0;
  }
  return 0;
}

}  // namespace ferrite::syscall

namespace ferrite::syscall {

namespace {

tty::JobCaller caller_of(const proc::Process& process) {
  return {process.pid, proc::process_group_of(process), process.sid};
}

// The session of process group `pgrp`: of any member, else of the process whose pid it is
// (Linux's session_of_pgrp); 0 if neither exists.
std::int32_t session_of_group(std::int32_t pgrp) {
  struct Context {
    std::int32_t pgrp, session;
  } context{pgrp, 0};
  proc::for_each_process(
      [](proc::Process& member, void* raw) {
        auto& c = *static_cast<Context*>(raw);
        if (proc::process_group_of(member) != c.pgrp) return true;
        c.session = member.sid;
        return false;
      },
      &context);
  if (context.session != 0 || pgrp <= 0) return context.session;
  const proc::Process* leader = proc::find_process(pgrp);
  return leader != nullptr ? leader->sid : 0;
}

// The terminal's session still has its leader (a session ends when its leader exits: Linux
// then frees the terminal, disassociate_ctty).
bool session_alive(const tty::JobControl& jobs) {
  const std::int32_t session = jobs.session.load();
  if (session == 0) return false;
  const proc::Process* leader = proc::find_process(session);
  return leader != nullptr && leader->sid == session && !leader->exiting;
}

}  // namespace

namespace {

constexpr std::uint64_t number_of(std::string_view name) {
  for (std::uint64_t number = 0; number < abi::kSyscallCount; ++number) {
    if (abi::kSyscallNames[number] == name) return number;
  }
  return abi::kSyscallCount;
}

// Which restart code an interrupted call gets, as Linux's implementation of it returns
// (fs/read_write.c, fs/pipe.c, n_tty.c, kernel/exit.c: -ERESTARTSYS; kernel/signal.c's pause and
// sigsuspend, fs/select.c's select/pselect6/ppoll: -ERESTARTNOHAND; nanosleep and poll:
// -ERESTART_RESTARTBLOCK). Anything else that blocks here returns EINTR as it is.
std::int64_t restart_code_for(std::uint64_t number) {
  struct Entry {
    std::uint64_t number;
    std::int64_t code;
  };
  static constexpr Entry kRestartable[] = {
      {number_of("read"), proc::kErestartsys},      {number_of("write"), proc::kErestartsys},
      {number_of("readv"), proc::kErestartsys},     {number_of("writev"), proc::kErestartsys},
      {number_of("pread64"), proc::kErestartsys},   {number_of("pwrite64"), proc::kErestartsys},
      {number_of("sendfile"), proc::kErestartsys},  {number_of("open"), proc::kErestartsys},
      {number_of("openat"), proc::kErestartsys},    {number_of("ioctl"), proc::kErestartsys},
      {number_of("wait4"), proc::kErestartsys},     {number_of("waitid"), proc::kErestartsys},
      {number_of("pause"), proc::kErestartnohand},  {number_of("rt_sigsuspend"), proc::kErestartnohand},
      {number_of("select"), proc::kErestartnohand}, {number_of("pselect6"), proc::kErestartnohand},
      {number_of("ppoll"), proc::kErestartnohand},  {number_of("poll"), proc::kErestartRestartblock},
      {number_of("nanosleep"), proc::kErestartRestartblock},
      {number_of("clock_nanosleep"), proc::kErestartRestartblock},
  };
  for (const Entry& entry : kRestartable) {
    if (entry.number == number) return entry.code;
  }
  return 0;
}

}  // namespace

std::int64_t interrupted_result(proc::Process& process, std::uint64_t number) {
  const std::int64_t code = restart_code_for(number);
  // Only with a signal to deliver: the way back to ring 3 then runs delivery and resolves the
  // code. Woken for another reason (a kill ends the process anyway): plain EINTR.
  if (code == 0 || process.signals.deliverable() == 0) return abi::negated(Errno::eintr);
  process.signals.restart_pending = true;
  process.signals.restart_number = number;
  return -code;
}

void take_console_for_session(proc::Process& process, fs::TerminalPort& port) {
  const tty::JobCaller caller = caller_of(process);
  if (!caller.session_leader() || session_alive(port.jobs)) return;
  (void)tty::acquire(port.jobs, caller, /*steal=*/true, /*owner_alive=*/false);
}

std::expected<void, Errno> terminal_job_check(proc::Process& process, fs::TerminalPort& port,
                                              int signal) {
  const tty::JobCaller caller = caller_of(process);
  if (!tty::in_background(port.jobs, caller)) return {};
  const proc::SignalState& signals = process.signals;
  const bool refused = (signals.blocked & proc::signal_bit(signal)) != 0 ||
                       signals.action(signal).handler == proc::kSigIgn;
  // A process the kernel started is never stopped (proc/signals.cpp): for it, as for an
  // orphaned group, stopping is not an answer, and a restart would only ask again.
  const bool orphaned =
      !refused && (process.kernel_waited || proc::process_group_orphaned(caller.pgid));
  switch (tty::background_access(signal == proc::kSigTtin, refused, orphaned)) {
    case tty::BackgroundAccess::allowed:
      return {};
    case tty::BackgroundAccess::eio:
      return std::unexpected(Errno::eio);
    case tty::BackgroundAccess::stop_group:
      break;
  }
  (void)proc::send_signal_to_group(caller.pgid, signal);
  return std::unexpected(Errno::eintr);  // the signal is pending here: ERESTARTSYS (dispatch)
}

std::expected<void, Errno> terminal_transfer_check(proc::Process& process, const fs::OpenFile& file,
                                                   bool writing) {
  if (file.kind != fs::FileKind::terminal) return {};
  fs::TerminalPort* port = fs::terminal();
  if (port == nullptr || fs::hung_up(file)) return {};  // the read or write says what it is
  if (!writing) return terminal_job_check(process, *port, proc::kSigTtin);
  if ((port->termios().c_lflag & abi::kTostop) == 0) return {};
  return terminal_job_check(process, *port, proc::kSigTtou);
}

Result terminal_job_ioctl(proc::Process& process, fs::TerminalPort& port, std::uint64_t request,
                          std::uint64_t argument) {
  const tty::JobCaller caller = caller_of(process);
  if (request == abi::kTiocspgrp) {
    // Handing the terminal to a group is a change of it: SIGTTOU from the background. EIO (an
    // orphaned group) is ENOTTY here, as Linux's tiocspgrp.
    if (auto checked = terminal_job_check(process, port, proc::kSigTtou); !checked)
      return std::unexpected(checked.error() == Errno::eio ? Errno::enotty : checked.error());
  }
  switch (request) {
    case abi::kTiocgpgrp:
    case abi::kTiocgsid: {
      const auto value = request == abi::kTiocgpgrp ? tty::foreground_of(port.jobs, caller)
                                                    : tty::session_of(port.jobs, caller);
      if (!value) return std::unexpected(value.error());
      if (auto copied = copy_out<std::int32_t>(argument, *value); !copied)
        return std::unexpected(copied.error());
      return 0;
    }
    case abi::kTiocspgrp: {
      const auto pgrp = copy_in<std::int32_t>(argument);
      if (!pgrp) return std::unexpected(pgrp.error());
      const std::int32_t group_session = *pgrp > 0 ? session_of_group(*pgrp) : 0;
      if (auto checked = tty::check_set_foreground(port.jobs, caller, *pgrp, group_session); !checked)
        return std::unexpected(checked.error());
      port.jobs.foreground.store(*pgrp);
      return 0;
    }
    case abi::kTiocsctty: {
      if (auto taken = tty::acquire(port.jobs, caller, argument == 1, session_alive(port.jobs)); !taken)
        return std::unexpected(taken.error());
      return 0;
    }
    case abi::kTiocnotty: {
      const auto old_foreground = tty::give_up(port.jobs, caller);
      if (!old_foreground) return std::unexpected(old_foreground.error());
      if (*old_foreground > 0) {
        (void)proc::send_signal_to_group(*old_foreground, proc::kSigHup);
        (void)proc::send_signal_to_group(*old_foreground, proc::kSigCont);
      }
      return 0;
    }
    default:
      return std::unexpected(Errno::enotty);
  }
}

}  // namespace ferrite::syscall
