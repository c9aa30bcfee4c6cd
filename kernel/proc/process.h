// A user process (chapter 14): a kernel thread that runs a program in ring 3, with its own
// address space and open files. Chapter 15 adds parents, fork and signals.
//
// CONTRACT (session of 2026-11-29): the fields below are what the syscall layer reads; the
// process layer (proc/process.cpp) creates, runs and ends processes.
#pragma once

#include <cstdint>
#include <string_view>

#include "fs/file.h"
#include "fs/tree.h"
#include "mm/address_space.h"
#include "proc/program.h"
#include "proc/signal.h"
#include "sched/cpu_time.h"
#include "time/interval_timer.h"

namespace ferrite::arch { struct InterruptFrame; }
namespace ferrite::fs { class FdTable; }
namespace ferrite::sched { struct Thread; }

namespace ferrite::proc {

using Pid = std::int32_t;
inline constexpr std::size_t kProcessNameLength = 32;
inline constexpr std::size_t kMaxPathLength = 256;

// Chapter 15: what a process has used, in the units the kernel counts in (getrusage(2),
// times(2), wait4's rusage, /proc/<pid>/stat report it).
struct UsageCounts {
  sched::CpuTicks cpu;               // TSC ticks in ring 3 and in the kernel (sched/cpu_time.h)
  std::uint64_t minor_faults = 0;    // page faults resolved without I/O (all of ferrite's)
  std::uint64_t max_rss_frames = 0;  // the most frames its address space held (seen at faults,
                                     // exec and exit: the only times it grows)
  // Another process's counts taken in, as Linux's wait_task_zombie does for the parent's
  // children totals: times and faults add up, the peak is the larger of the two.
  constexpr UsageCounts& add(const UsageCounts& other) {
    cpu += other.cpu;
    minor_faults += other.minor_faults;
    if (other.max_rss_frames > max_rss_frames) max_rss_frames = other.max_rss_frames;
    return *this;
  }
};

struct Process {
  Pid pid = 0;
  Pid parent = 0;
  char name[kProcessNameLength] = {};    // the program's file name, for messages
  mm::AddressSpace* address_space = nullptr;
  fs::FdTable* files = nullptr;          // created by syscall::attach_files, freed at exit
  fs::Node* cwd = nullptr;               // the current directory (a directory node)
  sched::Thread* thread = nullptr;
  std::uint64_t fs_base = 0;             // arch_prctl(ARCH_SET_FS): restored on every switch in
  std::uint64_t clear_child_tid = 0;     // set_tid_address
  // ---- signals (chapter 15, proc/signals.h): pending, blocked, actions, alternate stack.
  SignalState signals;
  bool exiting = false;
  std::int32_t exit_status = 0;          // Linux wait status encoding: (code << 8) or signal

  // ---- procs (chapter 15): the process tree ----
  Pid pgid = 0;                          // process group (setpgid); the tty's foreground is one
  Pid sid = 0;                           // session (setsid)
  bool zombie = false;                   // ended, not yet reaped by wait4/waitid
  bool kernel_waited = false;            // started by the kernel (spawn): wait()/release() free it
  bool vfork_pending = false;            // a vfork child: its parent sleeps until exec or exit
  bool did_exec = false;                 // a successful execve ran (setpgid on it: EACCES)
  std::uint32_t umask = fs::kUmask;      // umask(2); fork copies it, execve keeps it
  arch::InterruptFrame* syscall_frame = nullptr;  // the registers of the system call running now
  ProgramRecord program{};               // /proc/<pid>/cmdline and exe (proc/program.h)

  // ---- CPU time and faults (chapter 15): `own` holds what its ended threads used (its one
  // thread's, once it is exiting: until then that thread's CPU time is read from the thread);
  // `children` what its reaped children used, each with its own reaped children (POSIX's
  // "children's times", RUSAGE_CHILDREN). Read them through resource_usage() below.
  UsageCounts own{};
  UsageCounts children{};

  // ---- Interval timers (chapter 15): setitimer's ITIMER_REAL and alarm(2). SIGALRM when it
  // expires; the tick checks it (proc/process.cpp). Kept across execve, cleared for a fork
  // child (a new slot starts without one) and at exit. Change it only through
  // exchange_real_timer (proc/spawn.h): the tick reads it from an interrupt.
  time::IntervalTimer real_timer{};

  [[nodiscard]] std::string_view name_view() const {
    std::size_t length = 0;
    while (length < kProcessNameLength && name[length] != '\0') ++length;
    return {name, length};
  }
};

// The process whose code the CPU was running when it entered the kernel (nullptr in a kernel
// thread).
Process* current();

// The live or zombie process with this PID, or nullptr (the caller holds interrupts off, or
// accepts a snapshot).
Process* find_process(Pid pid);

// Chapter 15: what getrusage(2) and friends report, converted from UsageCounts.
struct ResourceUsage {
  sched::CpuTimes cpu;             // user and system, nanoseconds
  std::uint64_t minor_faults = 0;
  std::uint64_t max_rss_kib = 0;
};
// RUSAGE_SELF: the process's threads, live and ended; RUSAGE_CHILDREN: its reaped children's
// (and theirs); RUSAGE_THREAD: the calling thread's CPU time (with one thread per process, the
// faults and peak are the process's); both: self and children summed (wait4's rusage of the
// child it reaps, Linux's RUSAGE_BOTH).
enum class UsageOf : std::uint8_t { self, children, thread, both };
[[nodiscard]] ResourceUsage resource_usage(const Process& process, UsageOf who);

// For /proc/<pid>/stat (fields 14-17) and times(2): user and system time of the process and of
// its reaped children, in clock ticks (USER_HZ = 100, sched/cpu_time.h), rounded down.
struct ClockTickTimes {
  std::uint64_t utime = 0, stime = 0, cutime = 0, cstime = 0;
};
[[nodiscard]] inline ClockTickTimes cpu_clock_ticks(const Process& process) {
  const sched::CpuTimes own = resource_usage(process, UsageOf::self).cpu;
  const sched::CpuTimes children = resource_usage(process, UsageOf::children).cpu;
  return {sched::to_clock_ticks(own.user_ns), sched::to_clock_ticks(own.system_ns),
          sched::to_clock_ticks(children.user_ns), sched::to_clock_ticks(children.system_ns)};
}

// Ends the calling process with a Linux wait status (exit(n): n << 8; killed by signal s: s).
// Gives back its memory and files; never returns.
[[noreturn]] void exit_current(std::int32_t wait_status);

}  // namespace ferrite::proc
