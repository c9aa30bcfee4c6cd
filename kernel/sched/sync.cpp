// WaitQueue, Mutex, Semaphore and ConditionVariable on top of the scheduler (chapter 13).
#include "lib/log.h"
#include "sched/sync.h"

#include <atomic>

#include "sched/scheduler.h"
#include "sync/spinlock.h"

namespace ferrite::sched {

namespace {

constinit std::atomic<std::uint64_t> misuses{0};

void report(std::string_view mutex, MutexMisuse misuse) {
  misuses.fetch_add(1, std::memory_order_relaxed);
  const Thread& self = current();
  log::error("mutex \"{}\": {} (thread {} \"{}\")", mutex, to_string(misuse), self.id, self.name_view());
}

}  // namespace

std::uint64_t mutex_misuse_count() { return misuses.load(std::memory_order_relaxed); }

// ---- WaitQueue ----

void WaitQueue::wait_locked() { block_on_locked(waiters_); }

bool WaitQueue::wake_one_locked() {
  SchedNode* waiter = waiters_.pop_front();
  if (waiter == nullptr) return false;
  wake_locked(static_cast<Thread&>(*waiter));
  return true;
}

bool WaitQueue::wake_one() {
  sync::InterruptGuard no_interrupts;
  return wake_one_locked();
}

void WaitQueue::wake_all() {
  sync::InterruptGuard no_interrupts;
  while (wake_one_locked()) {
  }
}

// ---- Mutex ----

void Mutex::lock_locked() {
  Thread& self = current();
  if (owner_ == &self) return report(name_, MutexMisuse::relock_by_owner);
  if (owner_ == nullptr) {
    owner_ = &self;
    return;
  }
  // unlock() hands the mutex over before waking us: when we run again, it is ours.
  block_on_locked(waiters_);
  FERRITE_ASSERT(owner_ == &self);
}

void Mutex::lock() {
  sync::InterruptGuard no_interrupts;
  lock_locked();
}

bool Mutex::try_lock() {
  sync::InterruptGuard no_interrupts;
  if (owner_ != nullptr) return false;
  owner_ = &current();
  return true;
}

void Mutex::unlock_locked() {
  if (owner_ == nullptr) return report(name_, MutexMisuse::unlock_when_free);
  if (owner_ != &current()) return report(name_, MutexMisuse::unlock_by_non_owner);
  // A waiter that `kill` ended will never run again: wake it (so it dies) but do not hand it the
  // mutex, or nobody could ever lock it again.
  SchedNode* next = waiters_.pop_front();
  while (next != nullptr && static_cast<Thread*>(next)->kill_requested) {
    wake_locked(static_cast<Thread&>(*next));
    next = waiters_.pop_front();
  }
  owner_ = static_cast<Thread*>(next);
  if (next != nullptr) wake_locked(static_cast<Thread&>(*next));
}

void Mutex::unlock() {
  sync::InterruptGuard no_interrupts;
  unlock_locked();
  preempt_if_needed_locked();
}

bool Mutex::held_by_current() const { return owner_ == &current(); }

// ---- Semaphore ----

void Semaphore::down() {
  sync::InterruptGuard no_interrupts;
  while (count_ == 0) waiters_.wait_locked();
  --count_;
}

bool Semaphore::try_down() {
  sync::InterruptGuard no_interrupts;
  if (count_ == 0) return false;
  --count_;
  return true;
}

void Semaphore::up() {
  sync::InterruptGuard no_interrupts;
  ++count_;
  waiters_.wake_one_locked();
}

// ---- ConditionVariable ----

void ConditionVariable::wait(Mutex& mutex) {
  sync::InterruptGuard no_interrupts;
  if (!mutex.held_by_current()) {
    report("condition variable", MutexMisuse::unlock_by_non_owner);
    return;
  }
  // With interrupts off from here to the switch, nobody can notify between the unlock and the
  // wait: the notify finds us in the queue.
  mutex.unlock_locked();
  waiters_.wait_locked();
  mutex.lock_locked();
}

void ConditionVariable::notify_one() { waiters_.wake_one(); }
void ConditionVariable::notify_all() { waiters_.wake_all(); }

}  // namespace ferrite::sched
