// Host tests for the interval timer's arithmetic (kernel/time/interval_timer.h, chapter 15):
// arming, expiring with and without an interval, the remaining time getitimer reports, struct
// timeval in and out, and alarm(2)'s rounding — each as Linux's kernel/time/itimer.c does it.
#include "time/interval_timer.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace ferrite::time {
namespace {

constexpr std::uint64_t kMs = 1'000'000, kS = 1'000'000'000;
constexpr std::uint64_t kNever = ~std::uint64_t{0};

TEST(IntervalTimer, ZeroValueDisarmsAndDropsTheInterval) {
  EXPECT_FALSE(arm_timer(5 * kS, 0, 7 * kS).armed());
  EXPECT_EQ(arm_timer(5 * kS, 0, 7 * kS).interval_ns, 0u);
  const IntervalTimer timer = arm_timer(5 * kS, kS, 0);
  EXPECT_EQ(timer.expires_ns, 6 * kS);
  EXPECT_EQ(arm_timer(kNever - 1, kS, 0).expires_ns, kNever);  // saturates, never wraps to past
}

TEST(IntervalTimer, AOneShotFiresOnceAtItsTime) {
  IntervalTimer timer = arm_timer(0 + kS, kS, 0);
  EXPECT_FALSE(timer.expire(2 * kS - 1));
  EXPECT_TRUE(timer.expire(2 * kS));
  EXPECT_FALSE(timer.armed());
  EXPECT_FALSE(timer.expire(10 * kS));
}

TEST(IntervalTimer, AnIntervalReArmsOnePeriodOnAndDropsMissedPeriods) {
  IntervalTimer timer = arm_timer(kS, 100 * kMs, 50 * kMs);
  EXPECT_TRUE(timer.expire(kS + 100 * kMs));
  EXPECT_EQ(timer.expires_ns, kS + 150 * kMs);
  EXPECT_TRUE(timer.expire(kS + 151 * kMs));  // a tick late: the next stays on the grid
  EXPECT_EQ(timer.expires_ns, kS + 200 * kMs);
  EXPECT_TRUE(timer.expire(kS + 420 * kMs));  // four periods missed: one signal, next after now
  EXPECT_EQ(timer.expires_ns, kS + 450 * kMs);
  IntervalTimer huge{kS, kNever / 2};
  EXPECT_TRUE(huge.expire(kNever - 5));
  EXPECT_EQ(huge.expires_ns, kNever);
}

TEST(IntervalTimer, RemainingTimeIsNeverZeroWhileArmed) {
  const IntervalTimer timer = arm_timer(kS, 2 * kS, 0);
  EXPECT_EQ(timer.remaining_ns(kS + 500 * kMs), 1500 * kMs);
  EXPECT_EQ(timer.remaining_ns(3 * kS), 1000u);  // due, not yet expired by the tick: 1 µs
  EXPECT_EQ(IntervalTimer{}.remaining_ns(3 * kS), 0u);
  const abi::Itimerval read = to_itimerval(arm_timer(0, 2 * kS + 1999, kS + 5 * kMs), 0);
  EXPECT_EQ(read.it_value.tv_sec, 2);
  EXPECT_EQ(read.it_value.tv_usec, 1);  // microseconds rounded down
  EXPECT_EQ(read.it_interval.tv_sec, 1);
  EXPECT_EQ(read.it_interval.tv_usec, 5000);
}

TEST(IntervalTimer, TimevalsOutOfRangeAreRefused) {
  EXPECT_EQ(timeval_ns({1, 999'999}), kS + 999'999'000);
  EXPECT_EQ(timeval_ns({0, 0}), 0u);
  EXPECT_FALSE(timeval_ns({0, 1'000'000}));
  EXPECT_FALSE(timeval_ns({0, -1}));
  EXPECT_FALSE(timeval_ns({-1, 0}));
  EXPECT_EQ(timeval_ns({INT64_MAX, 0}), kNever);
}

TEST(IntervalTimer, AlarmRoundsAsLinuxDoes) {
  EXPECT_EQ(alarm_seconds(0), 0u);
  EXPECT_EQ(alarm_seconds(1), 1u);  // still armed: never 0
  EXPECT_EQ(alarm_seconds(300 * kMs), 1u);
  EXPECT_EQ(alarm_seconds(2 * kS + 499 * kMs), 2u);
  EXPECT_EQ(alarm_seconds(2 * kS + 500 * kMs), 3u);
  EXPECT_EQ(alarm_seconds(5 * kS), 5u);
}

}  // namespace
}  // namespace ferrite::time
