// Host tests for the timer queue and sleep awaitables (kernel/task/timer.h, chapter 12). The
// "timer interrupt" is a call to on_tick(now) from the test, or from a fake CPU's halt.
#include "task/timer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "task/cancel_signal.h"
#include "task/executor.h"

namespace ferrite::task {
namespace {

struct Wake {
  int who;
  std::uint64_t deadline;
  std::uint64_t woken_at;
};

template <typename Guard>
Task<> sleeper(TimerQueue<Guard>& timers, int who, std::uint64_t deadline, std::vector<Wake>* log) {
  const std::uint64_t woken_at = co_await timers.sleep_until(deadline);
  log->push_back({who, deadline, woken_at});
}

std::vector<int> order(const std::vector<Wake>& log) {
  std::vector<int> who;
  for (const Wake& wake : log) who.push_back(wake.who);
  return who;
}

TEST(TicksForMs, RoundsUpAndNeverWraps) {
  EXPECT_EQ(ticks_for_ms(0, 1000), 0u);
  EXPECT_EQ(ticks_for_ms(100, 1000), 100u);
  EXPECT_EQ(ticks_for_ms(1, 18), 1u);  // 0.018 ticks: a whole one, never none
  EXPECT_EQ(ticks_for_ms(1000, 18), 18u);
  EXPECT_EQ(ticks_for_ms(1001, 18), 19u);
  // The shell's `sleep 18446744073709552` once asked for 1 tick: ms * hz wrapped.
  EXPECT_EQ(ticks_for_ms(18446744073709552, 1000), 18446744073709552u);
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(ticks_for_ms(max, 1000), max);
  EXPECT_EQ(ticks_for_ms(max, 1001), std::nullopt);
  EXPECT_EQ(ticks_for_ms(max / 2, 2000), max - 1);  // (2^63 - 1) * 2
  EXPECT_EQ(ticks_for_ms(max / 2 + 1, 2000), std::nullopt);
  EXPECT_EQ(ticks_for_ms(max, 1), max / 1000 + 1);
}

// CancelSignal (task/cancel_signal.h): the shell's Ctrl+C. A sleeping command waits for its
// deadline or a cancel request, whichever comes first.
using SleepResult = std::optional<std::uint64_t>;  // the tick it woke at; nullopt: cancelled

Task<> sleep_unless_cancelled(TimerQueue<>& timers, CancelSignal& signal, std::uint64_t deadline,
                              std::optional<SleepResult>* result) {
  auto sleep = timers.sleep_until(deadline);
  *result = co_await signal.unless_cancelled(sleep);
}

// A command that sleeps until tick 100 with the signal armed, as the shell runs one.
class CancelSignalTest : public ::testing::Test {
 protected:
  void start_sleeping() {
    signal.arm();
    ASSERT_TRUE(executor.spawn(sleep_unless_cancelled(timers, signal, 100, &result)).has_value());
    executor.run_until_idle();
  }

  TimerQueue<> timers;  // before the executor: sleepers point into it
  ExecutorStorage<4> storage;
  Executor executor{storage};
  CancelSignal signal;
  std::optional<SleepResult> result;  // set when the sleeper resumes
};

TEST_F(CancelSignalTest, ARequestWakesTheSleeperWhichLeavesTheTimerQueue) {
  start_sleeping();
  EXPECT_EQ(timers.sleepers(), 1u);
  EXPECT_FALSE(result.has_value());
  EXPECT_TRUE(signal.request());   // the keyboard interrupt saw Ctrl+C
  EXPECT_FALSE(signal.request());  // a second Ctrl+C asks nothing new
  EXPECT_EQ(executor.run_until_idle(), 1u);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, std::nullopt);
  EXPECT_EQ(timers.sleepers(), 0u);
  EXPECT_TRUE(signal.disarm());
  timers.on_tick(100);  // the deadline passes: nobody is left to wake
  EXPECT_EQ(executor.run_until_idle(), 0u);
}

TEST_F(CancelSignalTest, WithoutARequestTheSleepEndsAtItsDeadline) {
  start_sleeping();
  timers.on_tick(100);
  executor.run_until_idle();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, 100u);
  EXPECT_FALSE(signal.disarm());
  EXPECT_FALSE(signal.request()) << "no command runs: a Ctrl+C is an ordinary key";
  EXPECT_FALSE(signal.cancelled());
}

TEST_F(CancelSignalTest, ARequestBeforeTheWaitEndsItAtOnce) {
  signal.arm();
  EXPECT_TRUE(signal.request());
  EXPECT_TRUE(signal.cancelled());
  ASSERT_TRUE(executor.spawn(sleep_unless_cancelled(timers, signal, 100, &result)).has_value());
  executor.run_until_idle();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, std::nullopt);
  EXPECT_EQ(timers.sleepers(), 0u);
  signal.arm();  // the next command starts with no request
  EXPECT_FALSE(signal.cancelled());
}

TEST(TimerQueue, WakesSleepersInDeadlineOrderNotSleepOrder) {
  TimerQueue<> timers;
  ExecutorStorage<8> storage;
  Executor executor{storage};
  std::vector<Wake> log;
  ASSERT_TRUE(executor.spawn(sleeper(timers, 30, 30, &log)).has_value());
  ASSERT_TRUE(executor.spawn(sleeper(timers, 10, 10, &log)).has_value());
  ASSERT_TRUE(executor.spawn(sleeper(timers, 20, 20, &log)).has_value());
  executor.run_until_idle();
  EXPECT_EQ(timers.sleepers(), 3u);
  EXPECT_EQ(timers.next_deadline(), 10u);

  timers.on_tick(9);
  EXPECT_EQ(executor.run_until_idle(), 0u) << "nobody is due at tick 9";
  timers.on_tick(10);
  executor.run_until_idle();
  EXPECT_EQ(order(log), (std::vector<int>{10}));
  timers.on_tick(25);
  executor.run_until_idle();
  EXPECT_EQ(order(log), (std::vector<int>{10, 20}));
  EXPECT_EQ(log.back().woken_at, 25u) << "woken at the tick that found it due";
  timers.on_tick(30);
  executor.run_until_idle();
  EXPECT_EQ(order(log), (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(timers.sleepers(), 0u);
  EXPECT_EQ(timers.next_deadline(), std::nullopt);
}

TEST(TimerQueue, OneLateTickWakesEveryoneDueInDeadlineOrder) {
  TimerQueue<> timers;
  ExecutorStorage<8> storage;
  Executor executor{storage};
  std::vector<Wake> log;
  for (int deadline : {50, 20, 40, 10, 30}) {
    ASSERT_TRUE(executor.spawn(sleeper(timers, deadline, deadline, &log)).has_value());
  }
  executor.run_until_idle();
  timers.on_tick(45);
  executor.run_until_idle();
  EXPECT_EQ(order(log), (std::vector<int>{10, 20, 30, 40}));
  for (const Wake& wake : log) {
    EXPECT_GE(wake.woken_at, wake.deadline);
  }
  EXPECT_EQ(timers.sleepers(), 1u);
  timers.on_tick(50);
  executor.run_until_idle();
}

TEST(TimerQueue, EqualDeadlinesWakeInTheOrderTheyWentToSleep) {
  TimerQueue<> timers;
  ExecutorStorage<8> storage;
  Executor executor{storage};
  std::vector<Wake> log;
  ASSERT_TRUE(executor.spawn(sleeper(timers, 1, 5, &log)).has_value());
  ASSERT_TRUE(executor.spawn(sleeper(timers, 2, 7, &log)).has_value());
  ASSERT_TRUE(executor.spawn(sleeper(timers, 3, 5, &log)).has_value());
  ASSERT_TRUE(executor.spawn(sleeper(timers, 4, 5, &log)).has_value());
  ASSERT_TRUE(executor.spawn(sleeper(timers, 5, 7, &log)).has_value());
  executor.run_until_idle();
  timers.on_tick(7);
  executor.run_until_idle();
  EXPECT_EQ(order(log), (std::vector<int>{1, 3, 4, 2, 5}));
}

TEST(TimerQueue, ManySleepersComeOutSortedAndStable) {
  TimerQueue<> timers;
  ExecutorStorage<256> storage;
  Executor executor{storage};
  std::vector<Wake> log;
  std::uint32_t random = 12345;
  for (int who = 0; who < 200; ++who) {
    random = random * 1103515245u + 12345u;
    const std::uint64_t deadline = 1 + (random >> 16) % 40;  // many equal deadlines
    ASSERT_TRUE(executor.spawn(sleeper(timers, who, deadline, &log)).has_value());
  }
  executor.run_until_idle();
  for (std::uint64_t tick = 1; tick <= 40; tick += 3) {
    timers.on_tick(tick);
    executor.run_until_idle();
  }
  timers.on_tick(41);
  executor.run_until_idle();
  ASSERT_EQ(log.size(), 200u);
  for (std::size_t i = 1; i < log.size(); ++i) {
    const Wake& before = log[i - 1];
    const Wake& after = log[i];
    if (before.woken_at == after.woken_at) {
      ASSERT_TRUE(before.deadline < after.deadline ||
                  (before.deadline == after.deadline && before.who < after.who))
          << "at " << i;
    } else {
      ASSERT_LT(before.woken_at, after.woken_at);
    }
    ASSERT_GE(after.woken_at, after.deadline);
  }
}

TEST(TimerQueue, SleepForIsRelativeToNowAndAPassedDeadlineDoesNotSuspend) {
  TimerQueue<> timers;
  ExecutorStorage<4> storage;
  Executor executor{storage};
  timers.on_tick(100);
  std::vector<std::uint64_t> woke;
  ASSERT_TRUE(executor
                  .spawn([](TimerQueue<>& t, std::vector<std::uint64_t>* woke) -> Task<> {
                    woke->push_back(co_await t.sleep_until(50));  // already past
                    woke->push_back(co_await t.sleep_for(0));
                    woke->push_back(co_await t.sleep_for(5));
                  }(timers, &woke))
                  .has_value());
  EXPECT_EQ(executor.run_until_idle(), 1u);
  EXPECT_EQ(woke, (std::vector<std::uint64_t>{100, 100}));
  EXPECT_EQ(timers.next_deadline(), 105u);
  timers.on_tick(104);
  executor.run_until_idle();
  EXPECT_EQ(woke.size(), 2u);
  timers.on_tick(105);
  executor.run_until_idle();
  EXPECT_EQ(woke, (std::vector<std::uint64_t>{100, 100, 105}));
}

TEST(TimerQueue, SleepForSaturatesInsteadOfWrapping) {
  TimerQueue<> timers;
  timers.on_tick(10);
  auto sleep = timers.sleep_for(std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(sleep.deadline(), std::numeric_limits<std::uint64_t>::max());
}

TEST(TimerQueue, ATaskDestroyedWhileAsleepLeavesTheQueue) {
  TimerQueue<> timers;  // declared first: it outlives the executor's tasks
  std::vector<Wake> log;
  {
    ExecutorStorage<4> storage;
    Executor executor{storage};
    ASSERT_TRUE(executor.spawn(sleeper(timers, 1, 10, &log)).has_value());
    ASSERT_TRUE(executor.spawn(sleeper(timers, 2, 20, &log)).has_value());
    executor.run_until_idle();
    EXPECT_EQ(timers.sleepers(), 2u);
  }
  EXPECT_EQ(timers.sleepers(), 0u);
  timers.on_tick(100);  // must not touch the destroyed frames (ASan would tell)
  EXPECT_TRUE(log.empty());
}

TEST(TimerQueueDeathTest, TheClockNeverGoesBack) {
  EXPECT_DEATH(
      {
        TimerQueue<> timers;
        timers.on_tick(10);
        timers.on_tick(9);
      },
      "KERNEL PANIC.*assertion failed: now >= ");
}

// Checks that every queue operation happens under the lock, as the kernel's interrupt-disabling
// lock requires.
struct CheckingLock {
  void lock() {
    EXPECT_FALSE(held) << "the timer queue's lock is not reentrant";
    held = true;
    ++acquisitions;
  }
  void unlock() {
    EXPECT_TRUE(held);
    held = false;
  }
  bool held = false;
  int acquisitions = 0;
};

TEST(TimerQueue, EveryOperationTakesTheLock) {
  TimerQueue<CheckingLock> timers;
  ExecutorStorage<2> storage;
  Executor executor{storage};
  std::vector<Wake> log;
  ASSERT_TRUE(executor.spawn(sleeper(timers, 1, 3, &log)).has_value());
  executor.run_until_idle();
  EXPECT_EQ(timers.sleepers(), 1u);
  timers.on_tick(3);
  executor.run_until_idle();
  EXPECT_EQ(order(log), (std::vector<int>{1}));
}

// A CPU whose only interrupt is the timer: every halt lasts one tick.
class TickingCpu final : public InterruptControl {
 public:
  explicit TickingCpu(TimerQueue<>& timers) : timers_(timers) {}
  void disable_interrupts() noexcept override {}
  void enable_interrupts() noexcept override {}
  void enable_interrupts_and_halt() noexcept override {
    ++halts;
    timers_.on_tick(timers_.now() + 1);
  }
  bool save_and_disable_interrupts() noexcept override { return true; }
  void restore_interrupts(bool) noexcept override {}
  int halts = 0;

 private:
  TimerQueue<>& timers_;
};

TEST(TimerQueue, SleepingTasksLetTheExecutorHaltUntilTheirTick) {
  TimerQueue<> timers;
  TickingCpu cpu{timers};
  ExecutorStorage<4> storage;
  Executor executor{storage, &cpu};
  std::string log;
  auto ticker = [](TimerQueue<>& t, std::string* log, char name, std::uint64_t period) -> Task<> {
    for (int i = 0; i < 3; ++i) {
      const std::uint64_t start = t.now();
      const std::uint64_t woken = co_await t.sleep_for(period);
      EXPECT_GE(woken - start, period) << "slept at least the requested ticks";
      *log += name;
    }
  };
  ASSERT_TRUE(executor.spawn(ticker(timers, &log, 'a', 2)).has_value());
  ASSERT_TRUE(executor.spawn(ticker(timers, &log, 'b', 3)).has_value());
  executor.run_until([&] { return executor.stats().live() == 0; });
  // a wakes at 2, 4, 6; b at 3, 6, 9. Both are due at 6: b went to sleep first (at 3, a at 4).
  EXPECT_EQ(log, "ababab");
  EXPECT_EQ(timers.now(), 9u);
  EXPECT_EQ(cpu.halts, 9);
}

}  // namespace
}  // namespace ferrite::task
