// Blocking primitives for kernel threads (chapter 13): a thread that waits is taken off the run
// queue until another thread — or an interrupt handler — wakes it, instead of spinning.
//   WaitQueue          the building block: a FIFO of blocked threads
//   Mutex              one owner at a time; the owner is checked: unlocking a mutex you do not
//                      hold, or locking one you already hold, is reported, never silent
//   Semaphore          a counter; down() blocks at zero
//   ConditionVariable  wait for a condition under a mutex
// Their logic is portable (sched/sync_policy.h, also run by a host model test); here it is bound
// to the kernel's scheduler, with interrupts off as the guard. Each operation runs with
// interrupts off for its few instructions (one CPU: that is the whole of its atomicity), so
// wake_one()/up() may be called from interrupt handlers. Waiting is for threads only, never for
// interrupt handlers.
#pragma once

#include <cstdint>
#include <string_view>

#include "sched/scheduler.h"
#include "sched/sync_policy.h"
#include "sched/thread.h"
#include "sync/spinlock.h"

namespace ferrite::sched {

// The kernel's scheduler as the primitives see it (the Env of sched/sync_policy.h).
struct KernelSyncEnv {
  using Thread = sched::Thread;
  using Guard = sync::InterruptGuard;
  static Thread& current() { return sched::current(); }
  static void block_on_locked(NodeList& queue) { sched::block_on_locked(queue); }
  static void wake_locked(Thread& thread) { sched::wake_locked(thread); }
  static void preempt_if_needed_locked() { sched::preempt_if_needed_locked(); }
  // Counts the misuse and logs it with the thread's ID and name (sync.cpp).
  static void report(std::string_view name, MutexMisuse misuse);
};

using WaitQueue = BasicWaitQueue<KernelSyncEnv>;
using Mutex = BasicMutex<KernelSyncEnv>;
using Semaphore = BasicSemaphore<KernelSyncEnv>;
using ConditionVariable = BasicConditionVariable<KernelSyncEnv>;

// Ends `thread`'s interruptible wait, if it is in one (sched/sync_policy.h). Any context.
inline bool interrupt_wait(Thread& thread) {
  sync::InterruptGuard no_interrupts;
  return interrupt_wait_locked<KernelSyncEnv>(thread);
}

// How many misuses the owner checks caught (each is also logged when it happens).
[[nodiscard]] std::uint64_t mutex_misuse_count();

class MutexGuard {
 public:
  explicit MutexGuard(Mutex& mutex) : mutex_(mutex) { mutex_.lock(); }
  ~MutexGuard() { mutex_.unlock(); }
  MutexGuard(const MutexGuard&) = delete;
  MutexGuard& operator=(const MutexGuard&) = delete;

 private:
  Mutex& mutex_;
};

}  // namespace ferrite::sched
