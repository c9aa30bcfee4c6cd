// CPU time (kernel/sched/cpu_time.h, chapter 15): the entry and exit stubs' sum of TSC readings
// gives a thread's user time whatever the TSC started at; the split against the scheduler's
// running time; and the conversions to what times(2), getrusage(2) and clock_gettime report.
#include "sched/cpu_time.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

namespace {

using ferrite::sched::CpuTicks;
using ferrite::sched::CpuTimes;
using ferrite::sched::SecondsAndMicros;
using ferrite::sched::split;
using ferrite::sched::to_clock_ticks;
using ferrite::sched::to_seconds_and_micros;
using ferrite::sched::to_times;
using ferrite::sched::UserTimeSum;
using ferrite::time::TscScale;

// A thread's life as the stubs and the scheduler see it: switched in, then rounds of "in the
// kernel for k ticks, return to ring 3, run u ticks, enter the kernel", then switched out.
// The sum must give exactly the u's, and running - user exactly the k's, from any TSC start —
// including one a few ticks below 2^64, where the counter wraps in the middle.
TEST(CpuTime, StubSumIsTheUserTimeFromAnyStart) {
  std::mt19937_64 random(15);
  for (const std::uint64_t start : {std::uint64_t{0}, std::uint64_t{1} << 63,
                                    ~std::uint64_t{0} - 1000, std::uint64_t{123'456'789}}) {
    UserTimeSum stubs;
    std::uint64_t tsc = start, user = 0, system = 0;
    const std::uint64_t switched_in = tsc;
    for (int round = 0; round < 1000; ++round) {
      const std::uint64_t kernel = random() % 5000, in_user = random() % 100'000;
      tsc += kernel;
      system += kernel;
      stubs.returning_to_user(tsc);
      tsc += in_user;
      user += in_user;
      stubs.entered_kernel(tsc);
    }
    tsc += 77;  // the way to the switch
    system += 77;
    const CpuTicks ticks = split(tsc - switched_in, stubs.sum);
    EXPECT_EQ(ticks.user, user) << start;
    EXPECT_EQ(ticks.system, system) << start;
    EXPECT_EQ(ticks.total(), tsc - switched_in);
  }
}

// A thread that never left the kernel (a kernel thread): all system time.
TEST(CpuTime, KernelThreadIsAllSystemTime) {
  EXPECT_EQ(split(5000, 0), (CpuTicks{0, 5000}));
}

// A broken sum larger than the running time would underflow into ~2^64 of system time.
TEST(CpuTime, SplitNeverUnderflows) {
  EXPECT_EQ(split(100, 150), (CpuTicks{150, 0}));
}

TEST(CpuTime, TicksAddUp) {
  CpuTicks a{10, 20};
  a += CpuTicks{1, 2};
  EXPECT_EQ(a, (CpuTicks{11, 22}));
  EXPECT_EQ(a.total(), 33u);
}

// Each side converted on its own through the clock's scale; at 2 GHz 2e9 ticks are 1 s.
TEST(CpuTime, TicksToNanoseconds) {
  const TscScale scale = TscScale::from_hz(2'000'000'000);
  const CpuTimes times = to_times(CpuTicks{2'000'000'000, 3}, scale);
  EXPECT_EQ(times.user_ns, 1'000'000'000u);
  EXPECT_EQ(times.system_ns, 1u);  // 1.5 ns rounded down
  EXPECT_EQ(times.total_ns(), 1'000'000'001u);
}

// Split conversion never exceeds converting the total at once, and is at most 1 ns below it.
TEST(CpuTime, SplitConversionStaysWithinOneNanosecondOfTheTotal) {
  std::mt19937_64 random(42);
  for (const std::uint64_t hz : {1'000'000'000ull, 2'993'421'117ull, 3'600'000'000ull}) {
    const TscScale scale = TscScale::from_hz(hz);
    for (int i = 0; i < 10'000; ++i) {
      const CpuTicks ticks{random() >> 8, random() >> 8};
      const std::uint64_t whole = scale.to_ns(ticks.total());
      const std::uint64_t parts = to_times(ticks, scale).total_ns();
      EXPECT_LE(parts, whole);
      EXPECT_GE(parts + 1, whole);
    }
  }
}

// times(2)'s clock ticks (USER_HZ = 100): 10 ms each, rounded down as Linux's nsec_to_clock_t.
TEST(CpuTime, ClockTicksAreHundredthsRoundedDown) {
  EXPECT_EQ(ferrite::sched::kUserHz, 100u);
  EXPECT_EQ(to_clock_ticks(0), 0u);
  EXPECT_EQ(to_clock_ticks(9'999'999), 0u);
  EXPECT_EQ(to_clock_ticks(10'000'000), 1u);
  EXPECT_EQ(to_clock_ticks(1'234'567'890), 123u);
  EXPECT_EQ(to_clock_ticks(~std::uint64_t{0}), ~std::uint64_t{0} / 10'000'000);
}

// getrusage's timeval: whole microseconds, rounded down, never 1'000'000.
TEST(CpuTime, TimevalIsSecondsAndMicrosRoundedDown) {
  EXPECT_EQ(to_seconds_and_micros(0), (SecondsAndMicros{0, 0}));
  EXPECT_EQ(to_seconds_and_micros(999), (SecondsAndMicros{0, 0}));
  EXPECT_EQ(to_seconds_and_micros(1'000), (SecondsAndMicros{0, 1}));
  EXPECT_EQ(to_seconds_and_micros(1'999'999'999), (SecondsAndMicros{1, 999'999}));
  EXPECT_EQ(to_seconds_and_micros(2'000'000'000), (SecondsAndMicros{2, 0}));
  const SecondsAndMicros largest = to_seconds_and_micros(~std::uint64_t{0});
  EXPECT_EQ(largest.seconds, 18'446'744'073);
  EXPECT_EQ(largest.micros, 709'551);
}

}  // namespace
