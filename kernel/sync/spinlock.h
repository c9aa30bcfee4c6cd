// Locks for a kernel that takes interrupts (chapter 3 "Spinlocks", chapter 7 "Deadlocks").
// A lock that an interrupt handler may also take must keep interrupts off while it is held,
// or the handler can interrupt the holder and spin forever on its own CPU. InterruptGuard
// saves the interrupt flag, clears it, and restores the saved state (not blindly `sti`), so
// guards nest. This is the seed's `without_interrupts`, as an RAII object, and the one way the
// kernel holds interrupts off (task/timer.h's TimerQueue takes it as its guard type).
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

// Runs `f` with interrupts disabled and returns its result.
template <class F>
decltype(auto) without_interrupts(F&& f) {
  InterruptGuard guard;
  return std::forward<F>(f)();
}

// A test-and-test-and-set spinlock. Code that an interrupt handler may contend with takes it
// through SpinlockGuard, which also disables interrupts; a lock only task code takes (the
// console's) may be held with interrupts on.
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

}  // namespace ferrite::sync
