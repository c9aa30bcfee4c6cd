// Cancelling a running command (chapter 12, beyond the seed): an interrupt handler asks, the task
// that runs the command notices. The shell arms the signal while a command runs; the keyboard
// interrupt requests cancellation when it sees Ctrl+C, because the shell's task is busy with
// the command and does not read keys until it ends. A command checks `cancelled()` in its
// loops, and a task that waits can wait for "the event or a cancel request, whichever comes
// first" with `co_await signal.unless_cancelled(awaitable)`.
#pragma once

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "task/atomic_waker.h"
#include "task/executor.h"

namespace ferrite::task {

class CancelSignal {
 public:
  constexpr CancelSignal() = default;
  CancelSignal(const CancelSignal&) = delete;
  CancelSignal& operator=(const CancelSignal&) = delete;

  // Task side: a command starts; a request from now on cancels it.
  void arm() noexcept { state_.store(armed, std::memory_order_release); }
  // Task side: the command has ended. Returns whether it was asked to stop.
  bool disarm() noexcept {
    return state_.exchange(disarmed, std::memory_order_acq_rel) == requested;
  }
  // Task side: whether the running command has been asked to stop.
  [[nodiscard]] bool cancelled() const noexcept {
    return state_.load(std::memory_order_acquire) == requested;
  }

  // Interrupt side (or any side): asks the running command to stop and wakes it if it waits.
  // Returns false, and changes nothing, when no command is running (the signal is disarmed) or
  // it was already asked.
  bool request() noexcept {
    std::uint8_t expected = armed;
    if (!state_.compare_exchange_strong(expected, requested, std::memory_order_acq_rel))
      return false;
    waker_.wake();
    return true;
  }

  // `std::optional<R> r = co_await signal.unless_cancelled(inner);` waits for `inner` (an
  // awaitable whose co_await gives an R) or for a cancel request, whichever comes first; nullopt
  // means cancelled. On cancel, `inner` is abandoned while it waits: it must be an awaitable that
  // is left safely by destroying it (TimerQueue::Sleep leaves the timer queue).
  template <class Inner>
  class [[nodiscard]] UnlessCancelled {
   public:
    UnlessCancelled(CancelSignal& signal, Inner& inner) noexcept : signal_(signal), inner_(inner) {}

    bool await_ready() noexcept { return signal_.cancelled() || inner_.await_ready(); }

    template <TaskPromise Promise>
    bool await_suspend(std::coroutine_handle<Promise> self) noexcept {
      if constexpr (std::same_as<decltype(inner_.await_suspend(self)), bool>) {
        if (!inner_.await_suspend(self)) return false;  // no waker handed out: free to go on
      } else {
        inner_.await_suspend(self);
      }
      // Both wakers name this one wait: whichever event comes first resumes the task, and the
      // other's waker is stale from then on (executor.h, Waker).
      const Waker waker = waker_for(self);
      signal_.waker_.register_waker(waker);
      if (signal_.cancelled()) waker.wake();  // requested before the registration: wake ourselves
      return true;
    }

    auto await_resume() noexcept {
      using Result = std::remove_cvref_t<decltype(inner_.await_resume())>;
      if (signal_.cancelled()) return std::optional<Result>{};
      return std::optional<Result>{inner_.await_resume()};
    }

   private:
    CancelSignal& signal_;
    Inner& inner_;
  };

  template <class Inner>
  [[nodiscard]] UnlessCancelled<Inner> unless_cancelled(Inner& inner) noexcept {
    return UnlessCancelled<Inner>{*this, inner};
  }

 private:
  static constexpr std::uint8_t disarmed = 0;
  static constexpr std::uint8_t armed = 1;
  static constexpr std::uint8_t requested = 2;

  std::atomic<std::uint8_t> state_{disarmed};
  AtomicWaker waker_{};
};

}  // namespace ferrite::task
