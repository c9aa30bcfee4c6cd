// Sleeping (chapter 12, beyond the seed): `co_await timers.sleep_for(ticks)` suspends a task until
// the timer interrupt has counted that many ticks. The timer interrupt calls on_tick(now), which
// wakes every expired sleeper in deadline order (equal deadlines: in the order they went to
// sleep). Waking only marks tasks ready; they run later on the executor.
//
// The queue is a list sorted by deadline whose nodes live inside the sleeping coroutines' frames
// (the awaiter object), so neither sleeping nor waking allocates. Sleepers are few, so a sorted
// list (insert O(n), expire O(1)) is the simple and sufficient choice.
//
// Locking (one CPU): on_tick runs in the timer interrupt, while task code inserts and removes
// nodes. Every list operation therefore runs with a `Guard` object alive, which in the kernel
// must disable interrupts for its lifetime (sync::InterruptGuard); on_tick makes one too, which
// costs nothing inside a handler and keeps the code honest if it is ever called elsewhere.
// Host tests that call everything from one thread can use NoGuard.
#pragma once

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

#include "lib/panic.h"
#include "task/executor.h"

namespace ferrite::task {

// Whole ticks of a `hz` clock that cover `milliseconds`, rounded up so that a sleep is never
// shorter than asked; std::nullopt when the count does not fit in 64 bits.
[[nodiscard]] constexpr std::optional<std::uint64_t> ticks_for_ms(std::uint64_t milliseconds,
                                                                  std::uint64_t hz) noexcept {
  // ceil(ms * hz / 1000) without a product larger than the result: with ms = 1000 s + m and
  // hz = 1000 q + r, it is s * hz + m * q + ceil(m * r / 1000), where m, r < 1000.
  const std::uint64_t seconds = milliseconds / 1000, rest = milliseconds % 1000;
  std::uint64_t ticks = 0;
  if (__builtin_mul_overflow(seconds, hz, &ticks)) return std::nullopt;
  const std::uint64_t rest_ticks = rest * (hz / 1000) + (rest * (hz % 1000) + 999) / 1000;
  if (__builtin_add_overflow(ticks, rest_ticks, &ticks)) return std::nullopt;
  return ticks;
}

// For single-threaded use (host tests): nothing to exclude.
struct NoGuard {};

template <std::default_initializable Guard = NoGuard>
class TimerQueue {
 public:
  // The awaiter returned by sleep_until/sleep_for; `co_await` gives the tick at which the sleep
  // ended (>= the deadline; the difference is the timer's lateness). It is the list node, so it
  // must not move while linked: it lives in the awaiting coroutine's frame.
  class [[nodiscard]] Sleep {
   public:
    Sleep(const Sleep&) = delete;
    Sleep& operator=(const Sleep&) = delete;
    ~Sleep() {  // a task destroyed while asleep leaves the queue
      [[maybe_unused]] Guard guard;
      if (linked_) queue_.unlink_locked(*this);
    }

    bool await_ready() noexcept { return expired(queue_.now()); }

    template <TaskPromise Promise>
    bool await_suspend(std::coroutine_handle<Promise> self) noexcept {
      [[maybe_unused]] Guard guard;
      // The deadline may have passed since await_ready; decide again under the lock. Not
      // suspending is fine here: the waker has not been handed out yet.
      if (expired(queue_.now())) return false;
      waker_ = waker_for(self);
      queue_.insert_locked(*this);
      return true;
    }

    std::uint64_t await_resume() noexcept {
      return woken_at_.has_value() ? *woken_at_ : queue_.now();
    }

    [[nodiscard]] std::uint64_t deadline() const noexcept { return deadline_; }

   private:
    friend class TimerQueue;
    Sleep(TimerQueue& queue, std::uint64_t deadline) noexcept
        : queue_(queue), deadline_(deadline) {}

    bool expired(std::uint64_t now) noexcept {
      if (deadline_ > now) return false;
      woken_at_ = now;
      return true;
    }

    TimerQueue& queue_;
    std::uint64_t deadline_;
    Waker waker_{};
    Sleep* previous_ = nullptr;
    Sleep* next_ = nullptr;
    bool linked_ = false;
    std::optional<std::uint64_t> woken_at_;
  };

  constexpr TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;
#if FERRITE_HOST
  // Sleepers point at the queue: it must outlive them (declare it before the executor). The
  // kernel's queue is never destroyed, so only the host checks (and keeps it a trivial type).
  ~TimerQueue() {
    FERRITE_ASSERT(head_ == nullptr);
  }
#endif

  [[nodiscard]] Sleep sleep_until(std::uint64_t deadline) noexcept {
    return Sleep{*this, deadline};
  }
  [[nodiscard]] Sleep sleep_for(std::uint64_t ticks) noexcept { return sleep_for(ticks, now()); }
  // The same, counted from `from`: a clock read at the call, which may be ahead of the last tick
  // the queue saw (a sleep measured from the call must not end early). Saturates at the end of
  // time.
  [[nodiscard]] Sleep sleep_for(std::uint64_t ticks, std::uint64_t from) noexcept {
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    return Sleep{*this, ticks > max - from ? max : from + ticks};
  }

  // Timer interrupt side: the clock now reads `now` ticks; wake every sleeper whose deadline has
  // come, earliest first.
  void on_tick(std::uint64_t now) noexcept {
    [[maybe_unused]] Guard guard;
    FERRITE_ASSERT(now >= now_.load(std::memory_order_relaxed));  // the clock never goes back
    now_.store(now, std::memory_order_release);
    while (head_ != nullptr && head_->deadline_ <= now) {
      Sleep& expired = *head_;
      unlink_locked(expired);
      expired.woken_at_ = now;
      expired.waker_.wake_with_interrupts_off();  // `Guard` keeps interrupts off (see above)
    }
  }

  [[nodiscard]] std::uint64_t now() const noexcept {
    return now_.load(std::memory_order_acquire);
  }

  [[nodiscard]] std::size_t sleepers() const noexcept {
    [[maybe_unused]] Guard guard;
    return count_;
  }
  // When the next sleeper is due (for a tickless timer), if any.
  [[nodiscard]] std::optional<std::uint64_t> next_deadline() const noexcept {
    [[maybe_unused]] Guard guard;
    if (head_ == nullptr) return std::nullopt;
    return head_->deadline_;
  }

 private:
  // After the last node whose deadline is <= the new one, so equal deadlines keep their order.
  // Searching from the tail makes the common case (a later deadline) O(1).
  void insert_locked(Sleep& node) noexcept {
    Sleep* before = tail_;
    while (before != nullptr && before->deadline_ > node.deadline_) before = before->previous_;
    node.previous_ = before;
    node.next_ = before != nullptr ? before->next_ : head_;
    (node.next_ != nullptr ? node.next_->previous_ : tail_) = &node;
    (before != nullptr ? before->next_ : head_) = &node;
    node.linked_ = true;
    ++count_;
  }

  void unlink_locked(Sleep& node) noexcept {
    (node.previous_ != nullptr ? node.previous_->next_ : head_) = node.next_;
    (node.next_ != nullptr ? node.next_->previous_ : tail_) = node.previous_;
    node.previous_ = node.next_ = nullptr;
    node.linked_ = false;
    --count_;
  }

  std::atomic<std::uint64_t> now_{0};
  Sleep* head_ = nullptr;
  Sleep* tail_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace ferrite::task
