// A kernel thread (chapter 13): its own stack, with an unmapped guard page below it, and the
// scheduler's bookkeeping. Threads live in a fixed table (sched/scheduler.cpp); the stack of a
// table slot is mapped the first time the slot is used and kept for the next thread in it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sched/run_queue.h"

namespace ferrite::arch { struct UserContext; }
namespace ferrite::mm { class AddressSpace; }

namespace ferrite::sched {

using ThreadId = std::uint32_t;
// What a thread runs; its return value is the thread's exit value, which join() returns.
using ThreadEntry = std::int64_t (*)(void* argument);

inline constexpr std::size_t kThreadNameLength = 24;
// The value a killed thread exits with.
inline constexpr std::int64_t kKilledExitValue = -9;

struct Thread : SchedNode {
  std::uint64_t saved_rsp = 0;  // while not running: its stack pointer (arch/x86_64/switch.S)
  ThreadId id = 0;
  char name[kThreadNameLength] = {};
  std::uintptr_t stack_bottom = 0;  // [stack_bottom, stack_top): the stack
  std::uintptr_t stack_top = 0;
  std::uintptr_t guard_page = 0;    // the unmapped page just below stack_bottom
  std::int64_t exit_value = 0;
  bool in_use = false;
  bool detached = false;        // freed when it exits; nobody joins it
  bool kill_requested = false;  // `kill`: ends at its next trip through the scheduler
  bool stack_mapped = false;
  // Chapter 15: the process has a signal it does not block (proc/signals.cpp keeps it up to
  // date), and the queue of a wait a signal may end (WaitQueue::wait_interruptible_locked).
  bool signal_pending = false;
  NodeList* interruptible_wait = nullptr;
  NodeList joiners;             // threads blocked in join() on this one
  // Called (interrupts off) when the thread ends: how a task awaits a thread without blocking
  // the executor's thread (task/thread_exit.h). One waiter, like join().
  void (*exit_notify)(void* context) = nullptr;
  void* exit_notify_context = nullptr;
  std::uint64_t cpu_tsc = 0;         // TSC ticks spent running, up to the last switch
  std::uint64_t switched_in_tsc = 0; // TSC when it last started running
  // Chapter 15: while it is not running, its user time so far — the per-CPU sum the entry and
  // exit stubs keep while it runs (sched/cpu_time.h); cpu_tsc minus this is its system time.
  std::uint64_t user_tsc = 0;
  std::uint32_t cpu = 0;
  // Chapter 14: a thread that runs a program. The scheduler saves and loads its user registers
  // (FPU/SSE, FS base) and makes its address space the active one when it switches to it;
  // kernel threads leave these null and run in whichever address space is active.
  arch::UserContext* user = nullptr;
  mm::AddressSpace* address_space = nullptr;
  void* owner = nullptr;  // the proc::Process it runs (opaque here: proc is the layer above)

  [[nodiscard]] std::string_view name_view() const {
    std::size_t length = 0;
    while (length < kThreadNameLength && name[length] != '\0') ++length;
    return {name, length};
  }
};

}  // namespace ferrite::sched
