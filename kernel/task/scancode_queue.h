// The keyboard stream (chapter 12): the keyboard interrupt pushes raw scancodes, the keyboard
// task awaits them one by one: `std::uint8_t scancode = co_await queue.next();`.
//
// The interrupt side only copies a byte into a lock-free SPSC ring and wakes the waiting task.
// When the ring is full the scancode is dropped and counted; push() reports the first drop of a
// burst separately so the kernel prints its warning once per burst, not once per key.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "lib/panic.h"
#include "task/atomic_waker.h"
#include "task/executor.h"
#include "task/spsc_ring.h"

namespace ferrite::task {

enum class ScancodePush : std::uint8_t {
  queued,
  dropped_first_of_burst,  // print scancode_queue_full_warning now
  dropped,                 // same burst: already warned
};

inline constexpr std::string_view scancode_queue_full_warning =
    "scancode queue full; dropping keyboard input";

template <std::size_t Capacity = 100>  // the seed's capacity
class ScancodeQueue {
 public:
  constexpr ScancodeQueue() = default;
  ScancodeQueue(const ScancodeQueue&) = delete;
  ScancodeQueue& operator=(const ScancodeQueue&) = delete;

  static constexpr std::size_t capacity() noexcept { return Capacity; }

  // Interrupt side (the only producer): called with interrupts disabled, as in any interrupt
  // handler, so its wake-up skips saving and restoring the flag. A burst ends when a scancode
  // fits again.
  ScancodePush push(std::uint8_t scancode) noexcept {
    if (ring_.try_push(scancode)) {
      dropping_.store(false, std::memory_order_relaxed);
      waker_.take().wake_with_interrupts_off();
      return ScancodePush::queued;
    }
    // Only this side writes the counter, so a load and a store suffice (no locked instruction).
    dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (dropping_.load(std::memory_order_relaxed)) return ScancodePush::dropped;
    dropping_.store(true, std::memory_order_relaxed);
    return ScancodePush::dropped_first_of_burst;
  }

  // Task side (the only consumer). `co_await queue.next()` gives the next scancode.
  class NextScancode {
   public:
    explicit NextScancode(ScancodeQueue& queue) noexcept : queue_(queue) {}

    bool await_ready() noexcept {
      scancode_ = queue_.ring_.try_pop();
      return scancode_.has_value();
    }
    template <TaskPromise Promise>
    void await_suspend(std::coroutine_handle<Promise> self) noexcept {
      const Waker waker = waker_for(self);
      queue_.waker_.register_waker(waker);
      // A scancode that arrived after await_ready but before the registration woke nobody. Having
      // handed out our waker we must suspend, so wake ourselves rather than not suspending.
      if (!queue_.ring_.empty()) waker.wake();
    }
    std::uint8_t await_resume() noexcept {
      if (!scancode_) scancode_ = queue_.ring_.try_pop();
      FERRITE_ASSERT(scancode_.has_value());  // only a pushed scancode wakes this wait
      return *scancode_;
    }

   private:
    ScancodeQueue& queue_;
    std::optional<std::uint8_t> scancode_;
  };
  [[nodiscard]] NextScancode next() noexcept { return NextScancode{*this}; }

  // Task side, without waiting.
  [[nodiscard]] std::optional<std::uint8_t> try_pop() noexcept { return ring_.try_pop(); }

  // Scancodes lost because the ring was full, since boot.
  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t size() const noexcept { return ring_.size(); }

 private:
  SpscRing<std::uint8_t, Capacity> ring_;
  AtomicWaker waker_;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<bool> dropping_{false};  // producer only: inside a burst of drops
};

}  // namespace ferrite::task
