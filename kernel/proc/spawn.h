// Starting and waiting for processes (chapter 14): a program from the initramfs becomes a
// process — a fresh address space with the ELF's segments and the ABI's initial stack, files 0-2
// on the console, and a kernel thread that enters ring 3 at the program's entry point.
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string_view>

#include "abi/errno.h"
#include "exec/initial_stack.h"
#include "proc/process.h"

namespace ferrite::proc {

// The process table's size: fork beyond it fails with EAGAIN (a fork bomb stops here). Below the
// scheduler's 64 threads, so the kernel's own threads always find a slot.
inline constexpr std::size_t kMaxProcesses = 48;

// Why a program could not be started: Linux's errno for execve, and a sentence for people.
struct SpawnFailure {
  abi::Errno error;
  std::string_view reason;
};

// Registers the process layer's hooks with arch (system calls, demand paging, user faults).
// Call once, after the scheduler and arch::init_user_mode().
void init();

// Starts `path` (resolved in the initramfs) with `argv` (argv[0] included) and the default
// environment. The process runs at once; wait for it with wait() or, from a task, with
// co_await task::thread_exit(*process->thread) followed by release().
[[nodiscard]] std::expected<Process*, SpawnFailure> spawn(std::string_view path,
                                                          std::span<const std::string_view> argv);

// Blocks the calling thread until `process` has ended; frees it and returns its wait status.
std::int32_t wait(Process& process);
// Frees an ended process whose thread has already been joined (after task::thread_exit).
void release(Process& process);

// ---- Chapter 15 -------------------------------------------------------------------------------
// fork/vfork/clone for the calling process (its registers: the system call's frame): a child
// with a copy-on-write copy of the address space, the same open files, the same registers but
// RAX = 0. `child_stack` (clone) replaces the child's RSP when not 0; `child_tid` (clone's
// CLONE_CHILD_SETTID) gets the child's PID written in the child's memory; `wait_for_exec`
// (vfork, CLONE_VFORK) keeps the parent asleep until the child execs or exits; `share_memory`
// (vfork, CLONE_VM) makes the child run in the parent's own address space instead of a copy.
// EAGAIN when the table is full, ENOMEM when memory is.
[[nodiscard]] std::expected<Pid, abi::Errno> fork_current(std::uint64_t child_stack,
                                                          std::uint64_t child_tid,
                                                          bool clear_child_tid,
                                                          bool wait_for_exec,
                                                          bool share_memory);
// execve for the calling process: the program in `file` (an ELF from the initramfs) replaces
// its image, with `argv` and `envp`; the PID, parent and files (but close-on-exec ones) stay.
// Returns only on failure (the old image is untouched); on success the system call returns to
// the new program's entry point.
[[nodiscard]] std::expected<void, abi::Errno> exec_current(std::string_view path,
                                                           std::span<const std::byte> file,
                                                           const exec::StringList& argv,
                                                           const exec::StringList& envp);
// setitimer(ITIMER_REAL) and alarm: `timer` replaces `process`'s real-time interval timer in
// one step the tick cannot cut in two; returns the timer it replaced (getitimer: exchange with
// nothing, `replace` false). The tick sends SIGALRM when it expires.
time::IntervalTimer exchange_real_timer(Process& process, const time::IntervalTimer& timer,
                                        bool replace = true);
// wait4/waitid: a child of `self` matching `pid` (wait4's meaning: > 0 that PID, -1 any, 0 the
// caller's group, < -1 the group -pid) that has ended (`exited`), or (chapter 15, job control)
// stopped (`stopped`: WUNTRACED/WSTOPPED) or continued (`continued`: WCONTINUED) since the last
// report. Blocks unless `no_hang`; `consume` (all but WNOWAIT) frees an ended child and tells a
// stop or continue only once. Returns {pid, wait status} (proc/signal.h: stopped_wait_status,
// kContinuedWaitStatus), {0, 0} for no_hang with nothing to report yet, ECHILD when there is no
// such child. Chapter 15: an ended child reaped (`consume`) adds its usage to self.children.
struct WaitResult {
  Pid pid = 0;
  std::int32_t status = 0;
  ResourceUsage usage;  // the child's, with its reaped children's (wait4's rusage)
};
struct WaitOptions {
  bool no_hang = false;
  bool consume = true;
  bool exited = true;
  bool stopped = false;
  bool continued = false;
};
[[nodiscard]] std::expected<WaitResult, abi::Errno> wait_child(Process& self, Pid pid,
                                                               WaitOptions options);
// setpgid / setsid, with Linux's errors.
[[nodiscard]] std::expected<void, abi::Errno> set_process_group(Process& self, Pid pid, Pid pgid);
[[nodiscard]] std::expected<Pid, abi::Errno> new_session(Process& self);

// A snapshot of one process, for `ps`.
struct ProcessInfo {
  Pid pid;
  Pid parent;
  Pid pgid;
  bool zombie;
  bool stopped;  // job control: stopped until SIGCONT (ps: T)
  char name[kProcessNameLength];
  std::uint64_t frames;  // frames its address space maps
  sched::CpuTimes cpu;   // its own CPU time (RUSAGE_SELF), user and system
};
std::size_t snapshot(std::span<ProcessInfo> out);

// How many processes exist (started, not yet released): for tests.
[[nodiscard]] std::size_t process_count();

}  // namespace ferrite::proc
