// Sending signals (see signals.h): pending bits, the thread's mark, the interruptible wait.
#include "proc/signals.h"

#include <cstring>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/interrupt_frame.h"
#include "arch/x86_64/segment_selectors.h"
#include "arch/x86_64/signal_frame.h"
#include "arch/x86_64/user_mode.h"
#include "console/print.h"
#include "mm/user_copy.h"
#include "sched/scheduler.h"
#include "sched/sync.h"
#include "sync/spinlock.h"

namespace ferrite::proc {

void update_signal_mark_locked(Process& process) {
  if (process.thread == nullptr) return;
  process.thread->signal_pending = process.signals.needs_attention();
}

void signals_changed(Process& process) {
  sync::InterruptGuard no_interrupts;
  update_signal_mark_locked(process);
}

bool change_signal_action(Process& process, std::int32_t signal, const SignalAction& action) {
  sync::InterruptGuard no_interrupts;
  if (!process.signals.set_action(signal, action)) return false;
  update_signal_mark_locked(process);
  return true;
}

void send_signal(Process& target, int signal, const SignalInfo& from) {
  if (!valid_signal(signal)) return;
  sync::InterruptGuard no_interrupts;
  if (target.exiting || target.thread == nullptr) return;
  const SignalState::Sent sent = target.signals.send(signal, from);
  if (sent.resumed) {
    // SIGCONT continued it: the parent is told, and the thread leaves its stopped sleep (an
    // interruptible wait, which the mark alone would not end: SIGCONT may be ignored).
    notify_parent_locked(target, kCldContinued, kSigCont);
    update_signal_mark_locked(target);
    sched::interrupt_wait_locked<sched::KernelSyncEnv>(*target.thread);
    return;
  }
  if (!sent.posted) return;
  update_signal_mark_locked(target);
  if (target.thread->signal_pending) sched::interrupt_wait_locked<sched::KernelSyncEnv>(*target.thread);
}

void notify_parent_locked(Process& child, std::int32_t code, std::int32_t signal) {
  if (child.parent != 0) {
    Process* parent = find_process(child.parent);
    // SA_NOCLDSTOP: the parent does not want SIGCHLD for stops and continues (wait still
    // reports them).
    if (parent != nullptr && !parent->zombie &&
        (parent->signals.action(kSigChld).flags & kSaNocldstop) == 0) {
      send_signal(*parent, kSigChld, {code, child.pid, 0, signal});
    }
  }
  wake_child_waiters_locked();
}

Pid process_group_of(const Process& process) {
  return process.pgid != 0 ? process.pgid : process.pid;  // procs' process groups (merge)
}

std::size_t send_signal_to_group(Pid pgid, int signal, const SignalInfo& from) {
  struct Context {
    Pid pgid;
    int signal;
    const SignalInfo& from;
    std::size_t count;
  } context{pgid, signal, from, 0};
  for_each_process(
      [](Process& process, void* raw) {
        auto& c = *static_cast<Context*>(raw);
        if (process_group_of(process) != c.pgid) return true;
        send_signal(process, c.signal, c.from);
        ++c.count;
        return true;
      },
      &context);
  return context.count;
}

std::size_t kill_all() {
  std::size_t count = 0;
  for_each_process(
      [](Process& process, void* count) {
        send_signal(process, kSigKill, kRaisedByKernel);
        ++*static_cast<std::size_t*>(count);
        return true;
      },
      &count);
  return count;
}

bool signal_pending() {
  if (!sched::running()) return false;
  sched::Thread& self = sched::current();
  return self.owner != nullptr && self.signal_pending;
}

namespace {

constexpr std::uint64_t kRflagsTrap = 1u << 8, kRflagsDirection = 1u << 10, kRflagsResume = 1u << 16;
constexpr std::size_t kMxcsrOffset = 24, kMxcsrMaskOffset = 28, kXsaveHeaderOffset = 512;
constexpr std::uint64_t kXfeatureAvx = 4;

// The size of the XSAVE image with the components XCR0 enables: legacy region, header, and the
// AVX upper halves (SDM Vol. 1 13.4; CPUID.(EAX=0DH,ECX=2) puts AVX at 576, 256 bytes).
std::uint32_t xstate_size() {
  return (arch::fpu_xcr0() & kXfeatureAvx) != 0 ? 832 : 576;
}

template <class T>
T load(const arch::FpuState& state, std::size_t offset) {
  T value;
  std::memcpy(&value, state.bytes + offset, sizeof value);
  return value;
}
template <class T>
void store(arch::FpuState& state, std::size_t offset, T value) {
  std::memcpy(state.bytes + offset, &value, sizeof value);
}

// Ends the process by `signal`. The kernel says so on the console only for the signals whose
// default is a core dump (SIGSEGV, SIGABRT, SIGQUIT...: something went wrong in the program);
// a death someone asked for (SIGINT from Ctrl+C, SIGPIPE ending `yes`, SIGTERM, SIGKILL) is
// the parent's to report from wait's status, as on Linux, where the shell prints it or not.
[[noreturn]] void die(Process& process, int signal) {
  arch::enable_interrupts();
  if (default_action(signal) == DefaultAction::core_dump) {
    println("{}: killed by {}", process.name_view(), signal_name(signal));
  }
  exit_current(signal);
}

// Writes the FPU image and the rt_sigframe below the interrupted stack and points `frame` at the
// handler. false if the user stack cannot take it (the process then dies of SIGSEGV, as on Linux).
bool push_signal_frame(Process& process, arch::InterruptFrame& frame, int signal,
                       const SignalInfo& from, const SignalAction& action, std::uint64_t old_mask) {
  // The handler becomes the return RIP, as rt_sigreturn's does: rt_sigaction takes any number,
  // and a non-canonical one would make the iretq to it fault in ring 0 on real CPUs (SDM Vol. 2A
  // IRET: #GP(0) for a non-canonical return RIP; QEMU's TCG does not check it, and faults later
  // in ring 3). Linux's exit path catches that #GP; here the handler is checked first.
  if (!arch::user_address_ok(action.handler)) {
    println("{}: signal {} handler {:#x} is not a user address", process.name_view(), signal,
            action.handler);
    return false;
  }
  arch::FpuState fpu;
  arch::save_fpu_state(fpu);
  const bool xsave = arch::fpu_uses_xsave();
  const std::uint32_t image_bytes = xsave ? xstate_size() : 512;
  const std::uint32_t fpu_bytes = xsave ? image_bytes + 4 : 512;
  arch::FpxSwBytes sw{};
  if (xsave) {
    sw = {arch::kFpXstateMagic1, fpu_bytes, arch::fpu_xcr0(), image_bytes, {}};
    store(fpu, image_bytes, arch::kFpXstateMagic2);
  }
  store(fpu, arch::kFpxSwBytesOffset, sw);

  SignalState& state = process.signals;
  std::uint64_t sp = frame.rsp;
  const bool alt_enabled = (state.alt_stack_flags & arch::kSsDisable) == 0 && state.alt_stack_size != 0;
  const bool on_alt = alt_enabled && sp - state.alt_stack <= state.alt_stack_size;
  if ((action.flags & kSaOnstack) != 0 && alt_enabled && !on_alt) sp = state.alt_stack + state.alt_stack_size;
  const arch::SignalFrameLayout layout = arch::signal_frame_layout(sp, fpu_bytes);

  arch::RtSigframe out{};
  out.pretcode = action.restorer;
  out.uc.flags = (xsave ? arch::kUcFpXstate : 0) | arch::kUcSigcontextSs | arch::kUcStrictRestoreSs;
  out.uc.stack = {state.alt_stack, on_alt ? arch::kSsOnstack : state.alt_stack_flags, 0, state.alt_stack_size};
  arch::SigContext& mc = out.uc.mcontext;
  mc.r8 = frame.r8, mc.r9 = frame.r9, mc.r10 = frame.r10, mc.r11 = frame.r11;
  mc.r12 = frame.r12, mc.r13 = frame.r13, mc.r14 = frame.r14, mc.r15 = frame.r15;
  mc.rdi = frame.rdi, mc.rsi = frame.rsi, mc.rbp = frame.rbp, mc.rbx = frame.rbx;
  mc.rdx = frame.rdx, mc.rax = frame.rax, mc.rcx = frame.rcx, mc.rsp = frame.rsp;
  mc.rip = frame.rip, mc.eflags = frame.rflags;
  mc.cs = static_cast<std::uint16_t>(frame.cs), mc.ss = static_cast<std::uint16_t>(frame.ss);
  const bool from_syscall = frame.vector == arch::kSyscallFrameVector;
  mc.err = from_syscall ? 0 : frame.error_code;
  mc.trapno = from_syscall ? 0 : frame.vector;
  mc.oldmask = old_mask;
  mc.fpstate = layout.fpstate;
  out.uc.sigmask = old_mask;
  out.info = linux_siginfo(signal, from);

  if (!mm::copy_to_user(layout.fpstate, fpu.bytes, fpu_bytes)) return false;
  if (!mm::copy_to_user(layout.frame, &out, sizeof out)) return false;

  frame.rip = action.handler;
  frame.rsp = layout.frame;
  frame.rdi = static_cast<std::uint64_t>(signal);
  frame.rsi = layout.frame + offsetof(arch::RtSigframe, info);
  frame.rdx = layout.frame + offsetof(arch::RtSigframe, uc);
  frame.rax = 0;
  frame.rflags &= ~(kRflagsTrap | kRflagsDirection | kRflagsResume);
  frame.rcx = frame.rip;  // as `syscall` would leave them: the fast sysretq way out stays open
  frame.r11 = frame.rflags;
  // The handler starts with the ABI's initial FPU state (Linux: fpu__clear_user_states).
  arch::FpuState fresh;
  arch::init_fpu_state(fresh);
  arch::restore_fpu_state(fresh);
  return true;
}

// The interrupted system call's restart code in RAX becomes EINTR or a restart (proc/signal.h).
// Once per return: the first handler decides, as on Linux.
void resolve_restart(Process& process, arch::InterruptFrame& frame, bool handler_runs,
                     bool sa_restart) {
  SignalState& state = process.signals;
  if (!state.restart_pending) return;
  state.restart_pending = false;
  const auto code = -static_cast<std::int64_t>(frame.rax);
  if (frame.vector != arch::kSyscallFrameVector || !is_restart_code(code)) return;
  if (!restart_after_signal(code, handler_runs, sa_restart)) {
    frame.rax = static_cast<std::uint64_t>(-std::int64_t{4});  // -EINTR
    return;
  }
  frame.rax = state.restart_number;
  frame.rip -= 2;          // `syscall` is 0F 05
  frame.rcx = frame.rip;   // as the instruction will leave it; keeps the sysretq way open
}

// Sleeps stopped (interrupts off) until SIGCONT continues the process, or ends it when a signal
// that kills it arrives (SIGKILL, or a default-terminate one: see SignalState::fatal_pending) or
// the kernel shell asks for its end. The thread's mark is set only for those while stopped
// (needs_attention), so the interruptible wait below ignores every other signal, which stays
// pending for after the SIGCONT. Linux: do_signal_stop, the thread in TASK_STOPPED.
void stop_current(Process& process, int signal) {
  static sched::WaitQueue stopped_threads;  // woken one by one (interrupt_wait_locked)
  sched::Thread& self = sched::current();
  SignalState& state = process.signals;
  state.stop(signal);
  update_signal_mark_locked(process);
  notify_parent_locked(process, kCldStopped, signal);
  for (;;) {
    if (self.kill_requested) die(process, kSigKill);
    if (const std::int32_t fatal = state.fatal_pending(); fatal != 0) die(process, fatal);
    if (!state.stopped) break;
    (void)stopped_threads.wait_interruptible_locked();
  }
  update_signal_mark_locked(process);
}

}  // namespace

void deliver_signals(arch::InterruptFrame& frame) {
  sched::Thread& self = sched::current();
  if (!self.kill_requested && !self.signal_pending) return;  // the usual case: two flag tests
  Process* process = current();
  if (process == nullptr) return;
  SignalState& state = process->signals;
  for (;;) {
    if (self.kill_requested) die(*process, kSigKill);
    if (!self.signal_pending) break;
    SignalInfo from;
    const int signal = state.take_next(&from);
    update_signal_mark_locked(*process);
    if (signal == 0) break;
    const SignalAction action = state.action(signal);
    if (action.handler == kSigIgn) continue;
    if (action.handler == kSigDfl) {
      switch (default_action(signal)) {
        case DefaultAction::terminate:
        case DefaultAction::core_dump: die(*process, signal);  // no core files here
        case DefaultAction::ignore:
        case DefaultAction::resume: continue;  // SIGCONT: send_signal continued it already
        case DefaultAction::stop:
          // A process the kernel started (the kernel shell's `run` and `sh`, `init=`) is never
          // stopped: it has no parent process to continue it, and the kernel shell waits on it
          // and takes no command meanwhile — it would wait for ever. Linux's init is spared
          // stop signals the same way (SIGNAL_UNKILLABLE).
          if (process->kernel_waited) continue;
          // The terminal's stop signals are dropped for a group nobody could continue (an
          // orphaned one); SIGSTOP always stops.
          if (signal != kSigStop && process_group_orphaned(process_group_of(*process))) continue;
          stop_current(*process, signal);
          continue;
      }
    }
    // An interrupted system call is resolved before its registers go into the frame: EINTR,
    // or back over the `syscall` instruction to run again once the handler returns.
    resolve_restart(*process, frame, true, (action.flags & kSaRestart) != 0);
    const std::uint64_t old_mask = state.restore_saved ? state.saved_blocked : state.blocked;
    state.restore_saved = false;
    if ((action.flags & kSaResethand) != 0) state.actions[signal - 1] = SignalAction{};
    state.blocked = old_mask;
    state.block(action.mask | ((action.flags & kSaNodefer) != 0 ? 0 : signal_bit(signal)));
    update_signal_mark_locked(*process);
    arch::enable_interrupts();  // the copies may fault pages in
    const bool pushed = push_signal_frame(*process, frame, signal, from, action, old_mask);
    arch::disable_interrupts();
    if (!pushed) die(*process, kSigSegv);
    // As Linux: every deliverable signal gets its frame now, each on top of the last, so the
    // last one set up runs first and returns into the one before.
  }
  resolve_restart(*process, frame, false, false);  // no handler ran: the call goes on
  if (state.restore_saved) {  // rt_sigsuspend ended without a handler to run
    state.blocked = state.saved_blocked;
    state.restore_saved = false;
    update_signal_mark_locked(*process);
  }
}

std::int64_t signal_return(Process& process) {
  arch::InterruptFrame& frame = arch::user_entry_frame(process.thread->stack_top);
  const std::uint64_t address = frame.rsp - 8;  // the handler's `ret` popped pretcode
  arch::RtSigframe in;
  if (!mm::copy_from_user(&in, address, sizeof in)) die(process, kSigSegv);
  const arch::SigContext& mc = in.uc.mcontext;
  if (!arch::user_address_ok(mc.rip) || !arch::user_address_ok(mc.rsp)) {
    println("{}: rt_sigreturn: bad frame at {:#x} (rip {:#x})", process.name_view(), address, mc.rip);
    die(process, kSigSegv);
  }
  // The FPU image: into a 64-byte aligned buffer, made safe for FXRSTOR/XRSTOR (reserved MXCSR
  // bits and a bad XSAVE header would #GP in ring 0: SDM Vol. 1 10.5.1, 13.8).
  if (mc.fpstate != 0) {
    arch::FpuState fpu;
    arch::save_fpu_state(fpu);  // for the MXCSR mask and a complete header
    std::uint32_t mask = load<std::uint32_t>(fpu, kMxcsrMaskOffset);
    if (mask == 0) mask = 0xFFBF;
    if (!mm::copy_from_user(fpu.bytes, mc.fpstate, 512)) die(process, kSigSegv);
    const auto sw = load<arch::FpxSwBytes>(fpu, arch::kFpxSwBytesOffset);
    store(fpu, kMxcsrOffset, load<std::uint32_t>(fpu, kMxcsrOffset) & mask);
    if (arch::fpu_uses_xsave()) {
      std::uint64_t features = 3;  // x87 | SSE: a legacy (FXSAVE) frame
      if (sw.magic1 == arch::kFpXstateMagic1 && sw.xstate_size == xstate_size()) {
        if (!mm::copy_from_user(fpu.bytes + 512, mc.fpstate + 512, sw.xstate_size - 512)) die(process, kSigSegv);
        features = load<std::uint64_t>(fpu, kXsaveHeaderOffset);
      }
      store<std::uint64_t>(fpu, kXsaveHeaderOffset, features & arch::fpu_xcr0());
      for (std::size_t i = 8; i < 64; ++i) fpu.bytes[kXsaveHeaderOffset + i] = std::byte{0};
    }
    arch::restore_fpu_state(fpu);
  }
  frame.r8 = mc.r8, frame.r9 = mc.r9, frame.r10 = mc.r10, frame.r11 = mc.r11;
  frame.r12 = mc.r12, frame.r13 = mc.r13, frame.r14 = mc.r14, frame.r15 = mc.r15;
  frame.rdi = mc.rdi, frame.rsi = mc.rsi, frame.rbp = mc.rbp, frame.rbx = mc.rbx;
  frame.rdx = mc.rdx, frame.rcx = mc.rcx, frame.rsp = mc.rsp, frame.rip = mc.rip;
  frame.rflags = arch::restored_rflags(frame.rflags, mc.eflags);
  frame.cs = FERRITE_USER_CODE_SELECTOR;  // never the frame's: ring 3 it stays
  frame.ss = FERRITE_USER_DATA_SELECTOR;
  {
    sync::InterruptGuard no_interrupts;
    process.signals.set_blocked(in.uc.sigmask);
    update_signal_mark_locked(process);
  }
  return static_cast<std::int64_t>(mc.rax);
}

void wait_for_signal(Process& process, const std::uint64_t* mask) {
  static sched::WaitQueue nobody_wakes;  // only a signal ends this wait
  sync::InterruptGuard no_interrupts;
  if (mask != nullptr) {
    process.signals.saved_blocked = process.signals.blocked;
    process.signals.restore_saved = true;
    process.signals.set_blocked(*mask);
    update_signal_mark_locked(process);
  }
  while (nobody_wakes.wait_interruptible_locked()) {
  }
}

}  // namespace ferrite::proc
