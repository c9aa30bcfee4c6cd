// Blocking primitives for kernel threads (chapter 13): a thread that waits is taken off the run
// queue until another thread — or an interrupt handler — wakes it, instead of spinning.
//   WaitQueue          the building block: a FIFO of blocked threads
//   Mutex              one owner at a time; the owner is checked: unlocking a mutex you do not
//                      hold, or locking one you already hold, is reported, never silent
//   Semaphore          a counter; down() blocks at zero
//   ConditionVariable  wait for a condition under a mutex
// Each operation runs with interrupts off for its few instructions (one CPU: that is the whole
// of its atomicity), so wake_one()/up() may be called from interrupt handlers. Waiting is for
// threads only, never for interrupt handlers.
#pragma once

#include <cstdint>
#include <string_view>

#include "sched/run_queue.h"
#include "sched/thread.h"

namespace ferrite::sched {

class WaitQueue {
 public:
  constexpr WaitQueue() = default;
  // Blocks the calling thread until a wake. Interrupts must be off (check your condition under
  // the same interrupts-off section, or a wake-up between check and wait is lost).
  void wait_locked();
  // Wakes the longest waiter / all waiters; true if there was one. Any context.
  bool wake_one();
  void wake_all();
  bool wake_one_locked();  // interrupts already off
  [[nodiscard]] bool empty() const { return waiters_.empty(); }

 private:
  NodeList waiters_;
};

// Misuse the owner checks caught (also printed when it happens).
enum class MutexMisuse : std::uint8_t { relock_by_owner, unlock_by_non_owner, unlock_when_free };
constexpr std::string_view to_string(MutexMisuse misuse) {
  switch (misuse) {
    case MutexMisuse::relock_by_owner: return "locked again by the thread that holds it";
    case MutexMisuse::unlock_by_non_owner: return "unlocked by a thread that does not hold it";
    case MutexMisuse::unlock_when_free: return "unlocked while nobody holds it";
  }
  return "?";
}
[[nodiscard]] std::uint64_t mutex_misuse_count();

class Mutex {
 public:
  constexpr explicit Mutex(std::string_view name = "mutex") : name_(name) {}
  // Blocks until the mutex is free. Re-locking a mutex this thread holds is reported and ignored
  // (it still holds it once), instead of deadlocking silently.
  void lock();
  [[nodiscard]] bool try_lock();
  // Hands the mutex straight to the longest waiter (no barging: FIFO, and a waiter never wakes
  // to find it taken again). Unlocking a mutex this thread does not hold is reported and ignored.
  void unlock();
  [[nodiscard]] bool held_by_current() const;
  [[nodiscard]] const Thread* owner() const { return owner_; }

 private:
  friend class ConditionVariable;
  void unlock_locked();
  void lock_locked();
  std::string_view name_;
  Thread* owner_ = nullptr;
  NodeList waiters_;
};

class MutexGuard {
 public:
  explicit MutexGuard(Mutex& mutex) : mutex_(mutex) { mutex_.lock(); }
  ~MutexGuard() { mutex_.unlock(); }
  MutexGuard(const MutexGuard&) = delete;
  MutexGuard& operator=(const MutexGuard&) = delete;

 private:
  Mutex& mutex_;
};

class Semaphore {
 public:
  constexpr explicit Semaphore(std::uint64_t initial = 0) : count_(initial) {}
  void down();  // wait until the count is > 0, then take one
  [[nodiscard]] bool try_down();
  void up();    // add one and wake a waiter; safe in interrupt handlers
  [[nodiscard]] std::uint64_t count() const { return count_; }

 private:
  std::uint64_t count_;
  WaitQueue waiters_;
};

class ConditionVariable {
 public:
  constexpr ConditionVariable() = default;
  // Releases `mutex` (which the caller holds), waits for a notify, and locks it again before
  // returning. The release and the wait are one step: a notify in between is not lost. As
  // everywhere, re-check the condition in a loop.
  void wait(Mutex& mutex);
  void notify_one();
  void notify_all();

 private:
  WaitQueue waiters_;
};

}  // namespace ferrite::sched
