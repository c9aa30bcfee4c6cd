// Locks for a kernel that takes interrupts (chapter 3 "Spinlocks", chapter 7 "Deadlocks").
// A lock that an interrupt handler may also take must keep interrupts off while it is held,
// or the handler can interrupt the holder and spin forever on its own CPU. InterruptGuard
// saves the interrupt flag, clears it, and restores the saved state (not blindly `sti`), so
// guards nest. This is the seed's `without_interrupts`, as an RAII object.
#pragma once

#include <atomic>
#include <utility>

#include "arch/x86_64/cpu.h"

namespace ferrite::sync {

class InterruptGuard {
 public:
  InterruptGuard() : were_enabled_(arch::save_and_disable_interrupts()) {}
  ~InterruptGuard() { arch::restore_interrupts(were_enabled_); }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  bool were_enabled_;
};

// A lock for one CPU whose only other "thread" is interrupt handlers: holding it means interrupts
// are off. It has the lock()/unlock() shape generic code expects (task/timer.h's TimerQueue).
// Not for nesting with different interrupt states: each lock() must be paired with its unlock().
class InterruptLock {
 public:
  constexpr InterruptLock() = default;
  void lock() { were_enabled_ = arch::save_and_disable_interrupts(); }
  void unlock() { arch::restore_interrupts(were_enabled_); }

 private:
  bool were_enabled_ = false;
};

// Runs `f` with interrupts disabled and returns its result.
template <class F>
decltype(auto) without_interrupts(F&& f) {
  InterruptGuard guard;
  return std::forward<F>(f)();
}

// A test-and-test-and-set spinlock. Use it through SpinlockGuard, which also disables interrupts.
class Spinlock {
 public:
  constexpr Spinlock() = default;

  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) asm volatile("pause");
    }
  }
  bool try_lock() { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() { locked_.store(false, std::memory_order_release); }
  bool is_locked() const { return locked_.load(std::memory_order_relaxed); }

  // Only for the panic path: the CPU that panics may have been holding the lock.
  void force_unlock() { unlock(); }

 private:
  std::atomic<bool> locked_{false};
};

class SpinlockGuard {
 public:
  explicit SpinlockGuard(Spinlock& lock) : lock_(lock) { lock_.lock(); }
  ~SpinlockGuard() { lock_.unlock(); }
  SpinlockGuard(const SpinlockGuard&) = delete;
  SpinlockGuard& operator=(const SpinlockGuard&) = delete;

 private:
  InterruptGuard interrupts_;  // constructed first, destroyed last: no interrupt while locked
  Spinlock& lock_;
};

// Data that may only be touched with its lock held: `counter.with([](int& c) { ++c; });`
template <class T>
class SpinlockProtected {
 public:
  template <class... Args>
  constexpr explicit SpinlockProtected(Args&&... args) : value_(std::forward<Args>(args)...) {}

  template <class F>
  decltype(auto) with(F&& f) {
    SpinlockGuard guard(lock_);
    return std::forward<F>(f)(value_);
  }

  // The panic path may need the object even if the lock is held by the code that panicked.
  T& unsafe_get_for_panic() {
    lock_.force_unlock();
    return value_;
  }

 private:
  Spinlock lock_;
  T value_;
};

}  // namespace ferrite::sync
