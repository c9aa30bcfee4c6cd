// A process's interval timer (chapter 15): setitimer(2)'s ITIMER_REAL, which alarm(2) also sets.
// The timer is two numbers — when it next expires on the monotonic clock, and the period it
// re-arms with — and this file is the arithmetic on them, as Linux's kernel/time/itimer.c does
// it: struct timeval in and out, the remaining time, alarm's rounding. Portable: the host tests
// check it; proc/process.cpp keeps one per process and the tick expires them.
#pragma once

#include <cstdint>
#include <optional>

#include "abi/linux_types.h"
#include "time/tsc_scale.h"

namespace ferrite::time {

inline constexpr std::uint64_t kNsPerMicrosecond = 1000;

struct IntervalTimer {
  std::uint64_t expires_ns = 0;   // monotonic time of the next expiry; 0: disarmed
  std::uint64_t interval_ns = 0;  // it_interval: re-armed this far on (0: fires once)

  [[nodiscard]] constexpr bool armed() const { return expires_ns != 0; }

  // Due at `now`? Then the timer fires once: with an interval it moves on by whole periods to
  // the first expiry after `now` (periods missed while nobody looked are dropped, as Linux's
  // hrtimer_forward drops them), without one it is disarmed. True when it fired.
  constexpr bool expire(std::uint64_t now) {
    if (!armed() || now < expires_ns) return false;
    if (interval_ns == 0) {
      expires_ns = 0;
      return true;
    }
    const std::uint64_t missed = (now - expires_ns) / interval_ns + 1;
    std::uint64_t next = 0;
    if (__builtin_mul_overflow(missed, interval_ns, &next) ||
        __builtin_add_overflow(expires_ns, next, &next)) {
      next = ~std::uint64_t{0};  // "never" for all practical purposes
    }
    expires_ns = next;
    return true;
  }

  // What getitimer reports as it_value: the time left, 0 when disarmed. A timer that is due
  // but not yet expired (the next tick will) reads 1 µs, never 0: 0 would say "disarmed"
  // (Linux's itimer_get_remtime).
  [[nodiscard]] constexpr std::uint64_t remaining_ns(std::uint64_t now) const {
    if (!armed()) return 0;
    return expires_ns > now ? expires_ns - now : kNsPerMicrosecond;
  }
};

// setitimer's new value, armed at `now`: it_value 0 disarms (and drops the interval too).
[[nodiscard]] constexpr IntervalTimer arm_timer(std::uint64_t now, std::uint64_t value_ns,
                                                std::uint64_t interval_ns) {
  if (value_ns == 0) return {};
  std::uint64_t expires = 0;
  if (__builtin_add_overflow(now, value_ns, &expires)) expires = ~std::uint64_t{0};
  return {expires, interval_ns};
}

// A struct timeval from user space as nanoseconds: nothing (EINVAL) unless tv_sec >= 0 and
// 0 <= tv_usec < 1,000,000 (Linux's timeval_valid; kernels before 2.6.22 normalised an
// out-of-range tv_usec, today's refuse it). Seconds beyond 64 bits of nanoseconds saturate.
[[nodiscard]] constexpr std::optional<std::uint64_t> timeval_ns(const abi::Timeval& tv) {
  if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1'000'000) return std::nullopt;
  std::uint64_t ns = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(tv.tv_sec), kNanosecondsPerSecond, &ns) ||
      __builtin_add_overflow(ns, static_cast<std::uint64_t>(tv.tv_usec) * kNsPerMicrosecond,
                             &ns)) {
    return ~std::uint64_t{0};
  }
  return ns;
}

// Nanoseconds as a struct timeval, the microseconds rounded down (Linux's put_itimerval).
[[nodiscard]] constexpr abi::Timeval to_timeval(std::uint64_t ns) {
  return {static_cast<std::int64_t>(ns / kNanosecondsPerSecond),
          static_cast<std::int64_t>(ns % kNanosecondsPerSecond / kNsPerMicrosecond)};
}

[[nodiscard]] constexpr abi::Itimerval to_itimerval(const IntervalTimer& timer, std::uint64_t now) {
  return {to_timeval(timer.interval_ns), to_timeval(timer.remaining_ns(now))};
}

// alarm(2)'s answer: the seconds left on the old timer. Linux's alarm_setitimer rounds half a
// second and more up, and never answers 0 for a timer that is still armed ("we'd better return
// too much than too little"): 0.3 s left is 1, 2.4 s is 2, 2.5 s is 3.
[[nodiscard]] constexpr std::uint64_t alarm_seconds(std::uint64_t remaining_ns) {
  std::uint64_t seconds = remaining_ns / kNanosecondsPerSecond;
  const std::uint64_t rest = remaining_ns % kNanosecondsPerSecond;
  if ((seconds == 0 && rest != 0) || rest >= kNanosecondsPerSecond / 2) ++seconds;
  return seconds;
}

}  // namespace ferrite::time
