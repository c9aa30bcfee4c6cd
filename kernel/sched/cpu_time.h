// CPU time per thread, split into user and system time (chapter 15), and the conversions the
// system calls report it in: nanoseconds (clock_gettime), microseconds (getrusage's timeval)
// and clock ticks (times(2), /proc/<pid>/stat). Portable: the host tests check the arithmetic.
//
// Precise accounting, as Linux's CONFIG_VIRT_CPU_ACCOUNTING_GEN does it (not its tick sampling,
// which charges a whole tick to whatever was running when the tick came). Two clocks, both
// read from the TSC:
//   - the scheduler adds up how long each thread ran, at every switch (Thread::cpu_tsc);
//   - the entry and exit stubs (arch/x86_64/syscall_entry.S, interrupt_stubs.S) keep the user
//     part in one per-CPU word: every entry from ring 3 adds the TSC to it, every return to
//     ring 3 subtracts it. Whenever the thread is in the kernel, the word is the sum of its
//     finished user intervals (return .. entry), whatever the TSC's start value — unsigned
//     arithmetic wraps, and the differences come out right. One `add` or `sub` per crossing:
//     no thread pointer to load, no separate stamp to keep. A switch (always in the kernel)
//     saves the word in the thread that leaves (Thread::user_tsc) and loads the next one's.
// System time is what is left: running time minus user time.
#pragma once

#include <cstdint>

#include "time/tsc_scale.h"

namespace ferrite::sched {

// TSC ticks spent in ring 3 (user) and in the kernel on the thread's behalf (system).
struct CpuTicks {
  std::uint64_t user = 0;
  std::uint64_t system = 0;

  [[nodiscard]] constexpr std::uint64_t total() const { return user + system; }
  constexpr CpuTicks& operator+=(const CpuTicks& other) {
    user += other.user;
    system += other.system;
    return *this;
  }
  friend constexpr bool operator==(const CpuTicks&, const CpuTicks&) = default;
};

// The stubs' per-CPU word, as C++ (the host tests drive it; the kernel's stubs do the same two
// operations in assembly).
struct UserTimeSum {
  std::uint64_t sum = 0;

  constexpr void entered_kernel(std::uint64_t tsc) { sum += tsc; }
  constexpr void returning_to_user(std::uint64_t tsc) { sum -= tsc; }
};

// A thread's split from the two clocks, read while it is in the kernel: `running` ticks in all,
// `user` of them in ring 3. User intervals lie inside running ones, so user <= running; should
// they not (a bug), system time is 0 rather than 2^64 minus a little.
[[nodiscard]] constexpr CpuTicks split(std::uint64_t running, std::uint64_t user) {
  return {user, running > user ? running - user : 0};
}

// USER_HZ: the unit of clock_t in times(2) and /proc (sysconf(_SC_CLK_TCK) is 100 on x86_64
// Linux, whatever the kernel's own HZ).
inline constexpr std::uint64_t kUserHz = 100;
inline constexpr std::uint64_t kNsPerClockTick = time::kNanosecondsPerSecond / kUserHz;

// The same split in nanoseconds. Each side is converted on its own (rounded down), so user +
// system may be 1 ns below the total converted at once: never above it.
struct CpuTimes {
  std::uint64_t user_ns = 0;
  std::uint64_t system_ns = 0;

  [[nodiscard]] constexpr std::uint64_t total_ns() const { return user_ns + system_ns; }
  friend constexpr bool operator==(const CpuTimes&, const CpuTimes&) = default;
};

[[nodiscard]] constexpr CpuTimes to_times(const CpuTicks& ticks, const time::TscScale& scale) {
  return {scale.to_ns(ticks.user), scale.to_ns(ticks.system)};
}

// Nanoseconds -> clock ticks, rounded down (Linux's nsec_to_clock_t): 9.99 ms is 0 ticks.
[[nodiscard]] constexpr std::uint64_t to_clock_ticks(std::uint64_t ns) {
  return ns / kNsPerClockTick;
}

// Nanoseconds -> whole seconds and microseconds, rounded down (Linux's
// ns_to_kernel_old_timeval): getrusage's and wait4's struct timeval.
struct SecondsAndMicros {
  std::int64_t seconds;
  std::int64_t micros;  // 0..999999
  friend constexpr bool operator==(const SecondsAndMicros&, const SecondsAndMicros&) = default;
};
[[nodiscard]] constexpr SecondsAndMicros to_seconds_and_micros(std::uint64_t ns) {
  return {static_cast<std::int64_t>(ns / time::kNanosecondsPerSecond),
          static_cast<std::int64_t>(ns % time::kNanosecondsPerSecond / 1000)};
}

}  // namespace ferrite::sched
