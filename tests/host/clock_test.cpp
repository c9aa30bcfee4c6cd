// The TSC <-> nanosecond conversion of the monotonic clock (kernel/time/tsc_scale.h), checked
// against exact 128-bit arithmetic: no overflow over years of uptime, monotonic, deadlines never
// early.
#include "time/tsc_scale.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

namespace {

using ferrite::time::ClockEpoch;
using ferrite::time::frequency_from;
using ferrite::time::TscScale;
using u128 = unsigned __int128;

constexpr std::uint64_t kGiga = 1'000'000'000;

std::uint64_t exact_ns(std::uint64_t ticks, std::uint64_t hz) {
  return static_cast<std::uint64_t>(static_cast<u128>(ticks) * kGiga / hz);
}

// The frequencies a TSC has in practice, from QEMU's -icount (1 GHz) to fast desktops, plus odd
// values that do not divide 10^9.
constexpr std::uint64_t kFrequencies[] = {1'000'000'000, 2'993'421'117, 3'600'000'000,
                                          1'193'182,     5'000'000'001, 800'000'000};

TEST(TscScale, OneSecondOfTicksIsOneSecond) {
  for (std::uint64_t hz : kFrequencies) {
    const TscScale scale = TscScale::from_hz(hz);
    EXPECT_NEAR(static_cast<double>(scale.to_ns(hz)), 1e9, 1.0) << hz;
    EXPECT_EQ(scale.to_ns(0), 0u);
  }
}

TEST(TscScale, MatchesExactMathForTenYearsOfUptime) {
  constexpr std::uint64_t kTenYearsNs = 10ull * 365 * 24 * 3600 * kGiga;
  for (std::uint64_t hz : kFrequencies) {
    const TscScale scale = TscScale::from_hz(hz);
    const std::uint64_t ticks = static_cast<std::uint64_t>(static_cast<u128>(kTenYearsNs) * hz / kGiga);
    const std::uint64_t ns = scale.to_ns(ticks);
    const std::uint64_t exact = exact_ns(ticks, hz);
    // Relative error below 10^-9 (one part in 2^32 of the multiplier, plus rounding).
    const std::uint64_t error = ns > exact ? ns - exact : exact - ns;
    EXPECT_LE(error, exact / kGiga + 1) << hz;
  }
}

TEST(TscScale, NoOverflowAtTheEndOfTheCounter) {
  for (std::uint64_t hz : kFrequencies) {
    const TscScale scale = TscScale::from_hz(hz);
    const std::uint64_t max = ~std::uint64_t{0};
    // 2^64 ticks at >= 1 MHz is far less than 2^64 ns: the result must not have wrapped.
    EXPECT_GE(scale.to_ns(max), exact_ns(max, hz) - exact_ns(max, hz) / kGiga - 1) << hz;
    if (hz >= kGiga) {
      EXPECT_EQ(scale.to_ticks(max), max) << hz << ": saturates instead of wrapping";
    } else {  // fewer ticks than ns: no saturation, but rounded up from the exact value
      const u128 exact = static_cast<u128>(max) * hz;
      EXPECT_GE(static_cast<u128>(scale.to_ticks(max)) * kGiga, exact) << hz;
    }
  }
}

TEST(TscScale, MonotonicAndDeadlinesNeverEarly) {
  std::mt19937_64 random(42);
  for (std::uint64_t hz : kFrequencies) {
    const TscScale scale = TscScale::from_hz(hz);
    for (int i = 0; i < 20000; ++i) {
      const std::uint64_t ticks = random() >> (random() % 40);
      EXPECT_LE(scale.to_ns(ticks), scale.to_ns(ticks + 1));
      // Waiting to_ticks(ns) ticks lasts at least ns, exactly; the clock's own reading of it
      // is off by at most its multiplier's rounding (10^-9 relative).
      const std::uint64_t ns = random() >> (random() % 63 + 1);
      const std::uint64_t wait = scale.to_ticks(ns);
      if (wait < ~std::uint64_t{0} / 2) {
        EXPECT_GE(exact_ns(wait, hz) + 1, ns) << hz << " " << ns;
        EXPECT_GE(scale.to_ns(wait) + 1 + ns / kGiga, ns) << hz << " " << ns;
      }
    }
  }
}

TEST(TscScale, FrequencyFromAReferenceCount) {
  // 10 ms of the PIT (11932 input clocks) against a 3.58 GHz TSC.
  EXPECT_EQ(frequency_from(35'800'000, 11932, 1'193'182), 3'579'945'993u);
  EXPECT_EQ(frequency_from(~std::uint64_t{0} / 2, 1, 1), ~std::uint64_t{0} / 2);  // no overflow
}

// The background refinement changes the scale while the clock runs: from the moment of the
// change the clock must go on from where it was, faster or slower, never back and never jumping.
TEST(ClockEpoch, RescalingIsContinuousAndNeverGoesBack) {
  std::mt19937_64 random(9);
  for (std::uint64_t hz : kFrequencies) {
    for (std::int64_t change_ppm : {-20'000, -1'459, -22, 0, 22, 838, 20'000}) {
      const std::uint64_t next_hz = hz + static_cast<std::uint64_t>(
          static_cast<std::int64_t>(hz / 1'000'000) * change_ppm);
      const ClockEpoch boot{random() >> 20, random() >> 30, TscScale::from_hz(hz)};
      const std::uint64_t switch_at = boot.tsc + (random() >> 28);
      const ClockEpoch refined = boot.rescaled(switch_at, TscScale::from_hz(next_hz));
      EXPECT_EQ(refined.ns_at(switch_at), boot.ns_at(switch_at));  // continuous
      // Every reading before the switch (old epoch) is <= every reading after it (new epoch).
      EXPECT_LE(boot.ns_at(switch_at - 1), refined.ns_at(switch_at));
      std::uint64_t previous = refined.ns_at(switch_at);
      for (std::uint64_t step : {1ull, 7ull, 1'000ull, 123'456'789ull, 1ull << 40}) {
        const std::uint64_t now = refined.ns_at(switch_at + step);
        EXPECT_GE(now, previous) << hz << " " << change_ppm << " " << step;
        previous = now;
      }
      // After the switch it runs at the new rate (to within the multipliers' rounding).
      const std::uint64_t one_second = next_hz;
      EXPECT_NEAR(static_cast<double>(refined.ns_at(switch_at + one_second) -
                                      refined.ns_at(switch_at)),
                  1e9, 2.0);
    }
  }
}

}  // namespace
