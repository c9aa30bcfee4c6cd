// AtomicWaker (chapter 12): the one place where a waiting task leaves its Waker for an interrupt
// handler to call, as in the seed's keyboard stream (futures' AtomicWaker, same algorithm).
//
// The task registers while the handler may be waking at the same moment. A small state machine
// decides who owns the stored Waker: whoever moves the state away from `idle` may touch it.
// If a wake-up arrives while the task is registering, the task sees it and wakes itself, so the
// wake-up is never lost. Lock-free; the handler never waits for the task.
#pragma once

#include <atomic>
#include <cstdint>

#include "lib/panic.h"
#include "task/executor.h"

namespace ferrite::task {

class AtomicWaker {
 public:
  constexpr AtomicWaker() = default;
  AtomicWaker(const AtomicWaker&) = delete;
  AtomicWaker& operator=(const AtomicWaker&) = delete;

  // Task side: the task that will wait. One waiting task at a time.
  void register_waker(const Waker& waker) noexcept {
    std::uint8_t state = idle;
    if (state_.compare_exchange_strong(state, registering, std::memory_order_acquire)) {
      waker_ = waker;
      std::uint8_t expected = registering;
      if (state_.compare_exchange_strong(expected, idle, std::memory_order_acq_rel)) return;
      // A wake-up came in while we were storing (state is registering|waking): deliver it.
      const Waker woken = waker_;
      waker_ = Waker{};
      state_.store(idle, std::memory_order_release);
      woken.wake();
      return;
    }
    if (state == waking) {  // a wake-up is being delivered right now: it is for us as well
      waker.wake();
      return;
    }
    panic("AtomicWaker: two tasks registered at the same time");
  }

  // Interrupt side: wakes the registered task, if any, and forgets its Waker.
  void wake() noexcept { take().wake(); }

  // Removes and returns the registered Waker (an empty one if none, or if another wake-up or a
  // registration is in progress — that side delivers it).
  [[nodiscard]] Waker take() noexcept {
    if (state_.fetch_or(waking, std::memory_order_acq_rel) != idle) return Waker{};
    const Waker waker = waker_;
    waker_ = Waker{};
    state_.fetch_and(static_cast<std::uint8_t>(~waking), std::memory_order_release);
    return waker;
  }

 private:
  static constexpr std::uint8_t idle = 0;
  static constexpr std::uint8_t registering = 1;
  static constexpr std::uint8_t waking = 2;

  std::atomic<std::uint8_t> state_{idle};
  Waker waker_{};
};

}  // namespace ferrite::task
