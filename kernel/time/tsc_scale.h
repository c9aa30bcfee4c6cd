// Converting time-stamp-counter ticks to nanoseconds and back (chapter 13), as portable integer
// math: the kernel has no floating point (-mno-sse), and a division per clock read is slow.
//
// The trick is a fixed-point multiplier: ns = ticks * (10^9 / hz), with 10^9 / hz kept as a
// 32.32 fixed-point number, so a conversion is one 64x64->128-bit multiply and a shift. The
// 128-bit product cannot overflow: ticks < 2^64 and the multiplier < 2^42 for any clock faster
// than 1 MHz, so the product stays below 2^106. The result is exact to within one part in 2^32
// of the multiplier's rounding (about 0.25 ns per second at 1 GHz: a millisecond in 120 years).
#pragma once

#include <cstdint>

namespace ferrite::time {

using uint128 = unsigned __int128;

// 128-by-64-bit division by shift and subtract. The freestanding kernel has no libgcc, whose
// __udivti3 the compiler would call for `/` on 128-bit numbers; this runs only at calibration.
// Not inlined: calibration divides four times, and one shared copy of the loop is enough.
[[gnu::noinline]] constexpr uint128 divide(uint128 dividend, std::uint64_t divisor) {
  uint128 quotient = 0, remainder = 0;
  for (int bit = 0; bit < 128; ++bit) {
    // Long division as on paper: bring down the dividend's next bit, from the top.
    remainder = remainder << 1 | dividend >> 127;
    dividend <<= 1;
    quotient <<= 1;
    if (remainder >= divisor) {
      remainder -= divisor;
      quotient |= 1;
    }
  }
  return quotient;
}

inline constexpr std::uint64_t kNanosecondsPerSecond = 1'000'000'000;

class TscScale {
 public:
  constexpr TscScale() = default;
  // `hz`: counter ticks per second, at least 1 MHz and below 2^32 * 10^9 (i.e. any real TSC).
  static constexpr TscScale from_hz(std::uint64_t hz) {
    TscScale scale;
    scale.hz_ = hz;
    // Rounded to nearest: the error is then at most half a unit in the last place.
    scale.ns_per_tick_ = static_cast<std::uint64_t>(
        divide((static_cast<uint128>(kNanosecondsPerSecond) << kShift) + hz / 2, hz));
    scale.ticks_per_ns_ = static_cast<std::uint64_t>(
        divide((static_cast<uint128>(hz) << kShift) + kNanosecondsPerSecond - 1,
               kNanosecondsPerSecond));  // rounded up: a deadline in ticks is never early
    return scale;
  }

  [[nodiscard]] constexpr std::uint64_t hz() const { return hz_; }

  // Ticks -> nanoseconds, rounded down. Monotonic: more ticks never give fewer nanoseconds.
  [[nodiscard]] constexpr std::uint64_t to_ns(std::uint64_t ticks) const {
    return static_cast<std::uint64_t>((static_cast<uint128>(ticks) * ns_per_tick_) >>
                                      kShift);
  }
  // Nanoseconds -> ticks, rounded up (saturating at 2^64 - 1), so that waiting this many ticks
  // lasts at least `ns`.
  [[nodiscard]] constexpr std::uint64_t to_ticks(std::uint64_t ns) const {
    const uint128 product = static_cast<uint128>(ns) * ticks_per_ns_;
    const uint128 ticks = (product + ((uint128{1} << kShift) - 1)) >> kShift;
    return ticks > ~std::uint64_t{0} ? ~std::uint64_t{0} : static_cast<std::uint64_t>(ticks);
  }

 private:
  static constexpr unsigned kShift = 32;
  std::uint64_t hz_ = 0;
  std::uint64_t ns_per_tick_ = 0;   // 10^9 / hz in 32.32 fixed point
  std::uint64_t ticks_per_ns_ = 0;  // hz / 10^9 in 32.32 fixed point
};

// Where a clock's scale starts: at TSC `tsc` it read `ns`; after that it advances by `scale`.
// A new scale (a better calibration) starts a new epoch at the moment of the change, from the
// time the old one reads then: the clock is continuous, so it never goes back, whichever way the
// rate moved.
struct ClockEpoch {
  std::uint64_t tsc = 0;
  std::uint64_t ns = 0;
  TscScale scale;

  // `now` >= tsc (one CPU's TSC only goes forward).
  [[nodiscard]] constexpr std::uint64_t ns_at(std::uint64_t now) const {
    return ns + scale.to_ns(now - tsc);
  }
  [[nodiscard]] constexpr ClockEpoch rescaled(std::uint64_t now, TscScale next) const {
    return ClockEpoch{now, ns_at(now), next};
  }
};

// The frequency measured by counting `ticks` of a counter while a reference of known frequency
// `reference_hz` counted `reference_ticks` (e.g. the TSC against the PIT's 1.193182 MHz).
constexpr std::uint64_t frequency_from(std::uint64_t ticks, std::uint64_t reference_ticks,
                                       std::uint64_t reference_hz) {
  return static_cast<std::uint64_t>(divide(static_cast<uint128>(ticks) * reference_hz,
                                           reference_ticks));
}

}  // namespace ferrite::time
