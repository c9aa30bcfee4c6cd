// Sending signals to processes (chapter 15). A signal sent is made pending in the target's
// SignalState (proc/signal.h); if the target does not block it, its thread is marked
// (sched::Thread::signal_pending) and an interruptible wait it is in ends (the wait returns
// false and the system call -EINTR). Delivery — the default action or a handler frame — happens
// on the thread's way back to ring 3 (proc/process.cpp's return hook, deliver_signals below).
//
// CONTRACT (session of 2026-11-29): send_signal, send_signal_to_group, signal_pending.
#pragma once

#include <cstdint>

#include "proc/process.h"

namespace ferrite::arch { struct InterruptFrame; }

namespace ferrite::proc {

// Makes `signal` pending for `target` and wakes it from an interruptible wait. Any thread
// context (and interrupt handlers: it only takes interrupts off). Bad numbers are ignored.
// `from` is its siginfo (kill: sent_by; SIGCHLD: child_ended); a signal already pending keeps
// the siginfo it came with.
void send_signal(Process& target, int signal, const SignalInfo& from = {});
// send_signal to every process whose process group is `pgid`; how many there were. Any context:
// IRQ 1 sends Ctrl+C's SIGINT and Ctrl+\'s SIGQUIT with it (for_each_process takes no lock).
std::size_t send_signal_to_group(Pid pgid, int signal, const SignalInfo& from = kRaisedByKernel);
// SIGKILL to every process, what Linux's SysRq+i does ("kill all tasks"); how many there were.
// Any context, as send_signal_to_group: the shell's `killall` and the console's Alt+SysRq+I.
std::size_t kill_all();
// The calling process has a pending signal it does not block (false in a kernel thread).
[[nodiscard]] bool signal_pending();

// Recomputes the thread's signal_pending mark after `process`'s pending or blocked set changed.
// Interrupts off.
void update_signal_mark_locked(Process& process);

// rt_sigprocmask, rt_sigaction...: `process`'s SignalState changed; keeps the thread's mark
// right (takes interrupts off).
void signals_changed(Process& process);
// rt_sigaction's change (SignalState::set_action) and the mark in one interrupts-off step: an
// action that ignores takes its signal off `pending`, which IRQ 1 (Ctrl+C's SIGINT) may be
// posting to at the same time. false for SIGKILL/SIGSTOP or a bad number.
bool change_signal_action(Process& process, std::int32_t signal, const SignalAction& action);

// The way back to ring 3 (interrupts off): ends the process for a kill or a fatal signal, or
// rewrites `frame` to enter a handler on a signal frame (arch/x86_64/signal_frame.h).
void deliver_signals(arch::InterruptFrame& frame);

// rt_sigreturn: restores the registers, FPU state and mask saved in the frame at the user RSP
// (minus the popped return address); the value for RAX. A damaged frame ends the process with
// SIGSEGV. Kernel only.
std::int64_t signal_return(Process& process);

// pause / rt_sigsuspend: waits until a signal is pending (interruptibly). With `mask`, blocks
// exactly `mask` while waiting and until the handler returns (rt_sigsuspend). Returns when a
// signal is there: the call returns -EINTR.
void wait_for_signal(Process& process, const std::uint64_t* mask);

// Calls `visit` for every live process (proc/process.cpp); stops early if it returns false.
// No lock, so interrupt handlers may call it: slots are claimed and freed with interrupts off,
// and what it reads of a process (thread, exiting, group) changes by single stores.
void for_each_process(bool (*visit)(Process& process, void* context), void* context);
// The process group of `process` (find_process is proc/process.h's).
Pid process_group_of(const Process& process);

// ---- Job control (chapter 15) ----
// Tells `child`'s parent that it stopped (CLD_STOPPED, the stop signal) or continued
// (CLD_CONTINUED, SIGCONT): SIGCHLD unless the parent set SA_NOCLDSTOP, and its wait4/waitid
// looks again. Interrupts off.
void notify_parent_locked(Process& child, std::int32_t code, std::int32_t signal);
// wait4/waitid callers and vfork parents look at the table again (proc/process.cpp).
// Interrupts off.
void wake_child_waiters_locked();
// Is group `pgid` orphaned (proc/process_groups.h)? No process of it can be continued by a
// parent outside it: the terminal's stop signals are dropped for it, and its background reads
// of the terminal fail with EIO instead of stopping it.
[[nodiscard]] bool process_group_orphaned(Pid pgid);

}  // namespace ferrite::proc
