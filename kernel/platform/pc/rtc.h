// The PC's real-time clock, the Motorola MC146818 in the CMOS chip (IBM PC AT Technical
// Reference, "Real-Time Clock"; OSDev wiki "CMOS"): the date and time of day at boot, for
// CLOCK_REALTIME (chapter 14). Read once; the TSC clock (time/clock.h) measures from there.
#pragma once

#include <cstdint>
#include <optional>

namespace ferrite::pc::rtc {

struct DateTime {
  std::uint32_t year;  // e.g. 2026
  std::uint32_t month, day, hour, minute, second;
};

// Days since 1970-01-01 of a date in the proleptic Gregorian calendar (H. Hinnant's
// days_from_civil, "chrono-Compatible Low-Level Date Algorithms").
constexpr std::int64_t days_from_civil(std::int64_t year, std::uint32_t month, std::uint32_t day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<std::uint32_t>(year - era * 400);
  const std::uint32_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const std::uint32_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}
static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);

// Seconds since the Unix epoch (the RTC keeps UTC under QEMU's default `-rtc base=utc`).
constexpr std::int64_t unix_seconds(const DateTime& t) {
  return days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
}
static_assert(unix_seconds({2026, 11, 29, 12, 0, 0}) == 1'795'953'600);

// Reads the clock (waiting out an update in progress, twice until two reads agree), or nothing
// if the values make no sense (no RTC).
std::optional<DateTime> read();

}  // namespace ferrite::pc::rtc
