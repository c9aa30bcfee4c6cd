// The logic of the blocking primitives (chapter 13) — who waits, who is woken, who owns a mutex —
// as portable templates over the scheduler they block on, so the kernel (sched/sync.h) and the
// host model test (tests/host/sync_model_test.cpp) run the same code. What a primitive needs of
// its scheduler, `Env`:
//   Env::Thread                          a thread (derived from SchedNode, with kill_requested,
//                                        signal_pending and interruptible_wait)
//   Env::Guard                           interrupts off for its lifetime (nests)
//   Env::current()                       the running thread
//   Env::block_on_locked(NodeList&)      queue the running thread, blocked, and run another
//   Env::wake_locked(Thread&)            make a blocked thread ready
//   Env::preempt_if_needed_locked()      switch now if a wake-up asked for it
//   Env::report(name, MutexMisuse)       a misuse the owner checks caught
// Each operation runs under one Guard for its few steps (on one CPU that is the whole of its
// atomicity), so wake_one()/up()/notify may be called from interrupt handlers.
#pragma once

#include <cstdint>
#include <string_view>

#include "lib/panic.h"
#include "sched/run_queue.h"

namespace ferrite::sched {

// Misuse the owner checks caught.
enum class MutexMisuse : std::uint8_t { relock_by_owner, unlock_by_non_owner, unlock_when_free };
constexpr std::string_view to_string(MutexMisuse misuse) {
  switch (misuse) {
    case MutexMisuse::relock_by_owner: return "locked again by the thread that holds it";
    case MutexMisuse::unlock_by_non_owner: return "unlocked by a thread that does not hold it";
    case MutexMisuse::unlock_when_free: return "unlocked while nobody holds it";
  }
  return "?";
}

template <class Env>
class BasicWaitQueue {
 public:
  using Thread = typename Env::Thread;
  constexpr BasicWaitQueue() = default;
  // Blocks the calling thread until a wake. Interrupts must be off (check your condition under
  // the same interrupts-off section, or a wake-up between check and wait is lost).
  void wait_locked() { Env::block_on_locked(waiters_); }
  // The same, but a signal (chapter 15) or a kill ends the wait early: true after a wake_one()/
  // wake_all(), false if the thread had or got a signal to take or was asked to end — the
  // caller then returns EINTR (Linux's TASK_INTERRUPTIBLE). interrupt_wait_locked() is the
  // other half. Mutex and semaphore waits stay uninterruptible: they hold up no user.
  [[nodiscard]] bool wait_interruptible_locked() {
    Thread& self = Env::current();
    if (self.kill_requested || self.signal_pending) return false;
    self.interruptible_wait = &waiters_;
    Env::block_on_locked(waiters_);
    // interrupt_wait_locked() clears the pointer; a wake_one() leaves it.
    const bool woken = self.interruptible_wait != nullptr;
    self.interruptible_wait = nullptr;
    return woken;
  }
  // Linux's TASK_KILLABLE (vfork's parent): only a kill, or a signal that `fatal()` says ends
  // the process, ends the wait early — false then. Other signals wake it (interrupt_wait_locked
  // does not tell them apart) and it returns true, as after a wake_one(): the caller checks its
  // condition again and waits again. The thread's signal mark alone does not end it.
  template <class Fatal>
  [[nodiscard]] bool wait_killable_locked(Fatal fatal) {
    Thread& self = Env::current();
    if (self.kill_requested || fatal()) return false;
    self.interruptible_wait = &waiters_;
    Env::block_on_locked(waiters_);
    self.interruptible_wait = nullptr;
    return !self.kill_requested && !fatal();
  }
  // Wakes the longest waiter / all waiters; true if there was one. Any context.
  bool wake_one() {
    typename Env::Guard no_interrupts;
    return wake_one_locked();
  }
  void wake_all() {
    typename Env::Guard no_interrupts;
    while (wake_one_locked()) {
    }
  }
  bool wake_one_locked() {  // interrupts already off
    SchedNode* waiter = waiters_.pop_front();
    if (waiter == nullptr) return false;
    Env::wake_locked(static_cast<Thread&>(*waiter));
    return true;
  }
  [[nodiscard]] bool empty() const { return waiters_.empty(); }

 private:
  NodeList waiters_;
};

// Ends `thread`'s wait if it is blocked in wait_interruptible_locked() (on any queue): takes it
// out of that queue and wakes it, and its wait returns false. A thread blocked any other way (a
// mutex, a semaphore, join) or not blocked at all is left alone. Interrupts off; the caller has
// set thread.signal_pending or kill_requested first, so a wait that starts later returns at once.
template <class Env>
bool interrupt_wait_locked(typename Env::Thread& thread) {
  NodeList* queue = thread.interruptible_wait;
  if (queue == nullptr || thread.state != State::blocked) return false;
  queue->remove(thread);
  thread.interruptible_wait = nullptr;
  Env::wake_locked(thread);
  return true;
}

template <class Env>
class BasicConditionVariable;

template <class Env>
class BasicMutex {
 public:
  using Thread = typename Env::Thread;
  constexpr explicit BasicMutex(std::string_view name = "mutex") : name_(name) {}
  // Blocks until the mutex is free. Re-locking a mutex this thread holds is reported and ignored
  // (it still holds it once), instead of deadlocking silently.
  void lock() {
    typename Env::Guard no_interrupts;
    lock_locked();
  }
  [[nodiscard]] bool try_lock() {
    typename Env::Guard no_interrupts;
    if (owner_ != nullptr) return false;
    owner_ = &Env::current();
    return true;
  }
  // Hands the mutex straight to the longest waiter (no barging: FIFO, and a waiter never wakes
  // to find it taken again). Unlocking a mutex this thread does not hold is reported and ignored.
  void unlock() {
    typename Env::Guard no_interrupts;
    unlock_locked();
    Env::preempt_if_needed_locked();
  }
  [[nodiscard]] bool held_by_current() const { return owner_ == &Env::current(); }
  [[nodiscard]] const Thread* owner() const { return owner_; }

 private:
  friend class BasicConditionVariable<Env>;

  void lock_locked() {
    Thread& self = Env::current();
    if (owner_ == &self) return Env::report(name_, MutexMisuse::relock_by_owner);
    if (owner_ == nullptr) {
      owner_ = &self;
      return;
    }
    // unlock() hands the mutex over before waking us: when we run again, it is ours.
    Env::block_on_locked(waiters_);
    FERRITE_ASSERT(owner_ == &self);
  }

  void unlock_locked() {
    if (owner_ == nullptr) return Env::report(name_, MutexMisuse::unlock_when_free);
    if (owner_ != &Env::current()) return Env::report(name_, MutexMisuse::unlock_by_non_owner);
    // A waiter that `kill` ended will never run again: wake it (so it dies) but do not hand it
    // the mutex, or nobody could ever lock it again.
    SchedNode* next = waiters_.pop_front();
    while (next != nullptr && static_cast<Thread*>(next)->kill_requested) {
      Env::wake_locked(static_cast<Thread&>(*next));
      next = waiters_.pop_front();
    }
    owner_ = static_cast<Thread*>(next);
    if (next != nullptr) Env::wake_locked(static_cast<Thread&>(*next));
  }

  std::string_view name_;
  Thread* owner_ = nullptr;
  NodeList waiters_;
};

template <class Env>
class BasicSemaphore {
 public:
  constexpr explicit BasicSemaphore(std::uint64_t initial = 0) : count_(initial) {}
  // Waits until the count is > 0, then takes one.
  void down() {
    typename Env::Guard no_interrupts;
    while (count_ == 0) waiters_.wait_locked();
    --count_;
  }
  [[nodiscard]] bool try_down() {
    typename Env::Guard no_interrupts;
    if (count_ == 0) return false;
    --count_;
    return true;
  }
  // Adds one and wakes a waiter; safe in interrupt handlers.
  void up() {
    typename Env::Guard no_interrupts;
    ++count_;
    waiters_.wake_one_locked();
  }
  [[nodiscard]] std::uint64_t count() const { return count_; }

 private:
  std::uint64_t count_;
  BasicWaitQueue<Env> waiters_;
};

template <class Env>
class BasicConditionVariable {
 public:
  constexpr BasicConditionVariable() = default;
  // Releases `mutex` (which the caller holds), waits for a notify, and locks it again before
  // returning. The release and the wait are one step: a notify in between is not lost. As
  // everywhere, re-check the condition in a loop.
  void wait(BasicMutex<Env>& mutex) {
    typename Env::Guard no_interrupts;
    if (!mutex.held_by_current()) {
      Env::report("condition variable", MutexMisuse::unlock_by_non_owner);
      return;
    }
    // With interrupts off from here to the switch, nobody can notify between the unlock and the
    // wait: the notify finds us in the queue.
    mutex.unlock_locked();
    waiters_.wait_locked();
    mutex.lock_locked();
  }
  void notify_one() { waiters_.wake_one(); }
  void notify_all() { waiters_.wake_all(); }

 private:
  BasicWaitQueue<Env> waiters_;
};

}  // namespace ferrite::sched
