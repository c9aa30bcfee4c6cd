// Kernel threads and the preemptive scheduler (chapter 13). Each CPU has a PerCpu block reached
// through GS (arch/x86_64/context.h): its running thread, its idle thread and its run queue —
// there is no global "current thread" variable. Only CPU 0 schedules for now.
//
// Rules: everything that touches a run queue or a wait queue runs with interrupts off (the tick
// and interrupt handlers wake threads too). A switch happens only in schedule(), with interrupts
// off, called by a thread that yields, blocks, sleeps or exits, or from the interrupt-return
// hook when the tick (or a wake-up) decided that the running thread must make way.
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string_view>

#include "arch/x86_64/context.h"
#include "sched/cpu_time.h"
#include "sched/run_queue.h"
#include "sched/thread.h"

namespace ferrite::sched {

inline constexpr std::size_t kMaxThreads = 64;
inline constexpr std::size_t kThreadStackBytes = 16 * 1024;
inline constexpr std::uint64_t kDefaultTimeSliceNs = 10'000'000;

struct PerCpu {
  PerCpu* self = nullptr;     // offset 0: `mov %gs:0` gives the block
  Thread* current = nullptr;  // offset 8: the running thread
  // Offsets 16 and 24, for syscall_entry.S (arch/x86_64/cpu_local.h): the running user
  // thread's kernel stack top, and where the stub parks the user's RSP.
  std::uint64_t kernel_stack_top = 0;
  std::uint64_t user_stack_scratch = 0;
  // Offset 32, for the entry and exit stubs: the running thread's user time as a sum of TSC
  // readings, + at every entry from ring 3, - at every return (sched/cpu_time.h).
  std::uint64_t user_tsc = 0;
  Thread* idle = nullptr;
  Thread* previous = nullptr;  // the thread switched away from, for finish_switch()
  RunQueue run_queue;
  std::uint64_t slice_start_ns = 0;
  // The tick's clock reading when the tick itself set need_resched (0 otherwise): the switch at
  // the end of that interrupt starts the next slice from it instead of reading the clock again.
  std::uint64_t resched_tick_ns = 0;
  std::uint64_t switches = 0;
  std::uint32_t cpu_id = 0;
  bool need_resched = false;
};

enum class SpawnError : std::uint8_t { not_running, table_full, out_of_memory };
constexpr std::string_view to_string(SpawnError error) {
  switch (error) {
    case SpawnError::not_running: return "the scheduler is not running";
    case SpawnError::table_full: return "the thread table is full";
    case SpawnError::out_of_memory: return "no memory for the thread's stack";
  }
  return "?";
}

// Adopts the running boot context as thread 1 "main" (on the boot stack), creates this CPU's idle
// thread, points GS at CPU 0's block and hooks the tick and the interrupt return. Call once,
// after the heap and the tick are up.
void init(std::uint64_t time_slice_ns = kDefaultTimeSliceNs);
[[nodiscard]] bool running();
// Changes this CPU's time slice (benchmarks; the command line's `timeslice=MS` sets it at boot).
void set_time_slice(std::uint64_t ns);

// Inline: a system call asks for the running thread on its fast path (one GS-relative load).
[[nodiscard]] inline PerCpu& this_cpu() { return *arch::cpu_local_read<PerCpu*, 0>(); }
[[nodiscard]] inline Thread& current() { return *arch::cpu_local_read<Thread*, 8>(); }

// A new thread, ready to run. Not detached: someone must join() it (or call detach()).
[[nodiscard]] std::expected<Thread*, SpawnError> spawn(std::string_view name, ThreadEntry entry,
                                                       void* argument,
                                                       Priority priority = Priority::normal);
// Waits until `thread` has exited, frees it, and returns its exit value. One joiner per thread.
std::int64_t join(Thread& thread);
// Nobody will join: the thread is freed as soon as it exits (at once if it already has).
void detach(Thread& thread);
// Ends the calling thread with `value` (returning from the entry function does the same).
[[noreturn]] void exit(std::int64_t value);

// Gives the CPU to the next ready thread of the same or higher priority, if any.
void yield();
// Sleeps until the clock (time/clock.h) reads at least `deadline_ns`; never wakes early.
void sleep_until_ns(std::uint64_t deadline_ns);
void sleep_for_ns(std::uint64_t ns);

// Asks the thread with this ID to end: a ready or sleeping thread ends at once, a running or
// blocked one the next time it passes through the scheduler. The main and idle threads refuse.
// A thread that runs a program (chapter 14) ends itself the next time it is about to return to
// ring 3 (its process must give back its memory first): always `pending`.
// A kernel thread ended this way keeps whatever it held (a mutex, the console) held for good:
// only for threads that hold nothing where they can be preempted (`spin`, tests).
enum class KillResult : std::uint8_t { killed, pending, no_such_thread, refused };
KillResult kill(ThreadId id);

// ---- For blocking primitives (sched/sync.h). Interrupts must be off. ----
// Puts the running thread at the back of `queue`, blocked, and runs another thread; returns when
// something woke it.
void block_on_locked(NodeList& queue);
// Makes a blocked thread ready (on its CPU's run queue); a higher-priority thread asks for a
// switch at the next opportunity (interrupt return, or preempt_if_needed_locked()).
void wake_locked(Thread& thread);
// Switches now if a wake-up asked for it (for thread context; interrupts use the return hook).
void preempt_if_needed_locked();

// Chapter 15: a thread's CPU time up to now, user and system (sched/cpu_time.h). Interrupts
// off, or the running thread asking about itself.
[[nodiscard]] CpuTicks cpu_ticks_locked(const Thread& thread);

// A snapshot of one thread, for the `threads` command.
struct ThreadInfo {
  ThreadId id;
  char name[kThreadNameLength];
  State state;
  Priority priority;
  CpuTimes cpu;
  std::uint64_t stack_used;  // high-water mark, bytes
  std::uint64_t stack_size;
};
// Fills `out` with the live threads (by ID); returns how many.
std::size_t snapshot(std::span<ThreadInfo> out);
[[nodiscard]] std::uint64_t context_switches();

}  // namespace ferrite::sched
