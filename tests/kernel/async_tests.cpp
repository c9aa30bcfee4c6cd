// Chapter 12 in the shared test image: tasks on the kernel's own executor (the one `make run`
// uses), awaited child tasks, yield_now fairness, and sleeps driven by the timer interrupt, with
// the sleeps' accuracy printed in ticks. kernel_main has called task::init_runtime().
//
// Everything a task touches is a global: a task that never finishes (a broken executor) must
// not keep pointers into a test function's stack frame once that test has failed and returned.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "platform/pc/pit.h"
#include "console/print.h"
#include "sync/spinlock.h"
#include "task/kernel_runtime.h"
#include "sched/scheduler.h"
#include "task/thread_exit.h"
#include "test/ktest.h"
#include "time/clock.h"

namespace arch = ferrite::arch;
namespace pc = ferrite::pc;
namespace task = ferrite::task;

namespace {

// Runs the kernel executor until `done()`, or gives up after `timeout_ms` so that a task that
// never finishes fails its test instead of hanging the image. The executor waits between
// interrupts, and every timer tick wakes it to check again.
template <class Done>
bool run_executor_until(Done done, std::uint64_t timeout_ms = 2000) {
  const std::uint64_t give_up_at = ferrite::time::now_ns() + timeout_ms * 1'000'000;
  task::executor().run_until([&] { return done() || ferrite::time::now_ns() >= give_up_at; });
  return done();
}

// ----- spawning: every task runs to completion, and the executor's counts say so -------------

constexpr int kSpawnedTasks = 16;
constinit std::array<int, kSpawnedTasks> spawned_results{};
constinit int spawned_finished = 0;

// Task `index` yields index % 3 times before it records its result, so tasks end out of order.
task::Task<> record_completion(int index) {
  for (int i = 0; i < index % 3; ++i) co_await task::yield_now();
  spawned_results[index] = 100 + index;
  ++spawned_finished;
}

// ----- joining: values flow back from awaited tasks -------------------------------------------

task::Task<int> square(int x) {
  co_return x* x;
}

// Suspends (goes back to the executor) before it answers: its parent must still get the value.
task::Task<int> square_after_a_yield(int x) {
  co_await task::yield_now();
  co_return co_await square(x);
}

task::Task<int> sum_of_squares(int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) {
    sum += i % 2 == 0 ? co_await square(i) : co_await square_after_a_yield(i);
  }
  co_return sum;
}

// A chain of `depth` tasks, each awaiting the next: symmetric transfer keeps the stack flat.
task::Task<int> chain_length(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await chain_length(depth - 1);
}

struct JoinResults {
  std::optional<int> sum_of_squares;
  std::optional<int> chain_length;
  std::optional<task::TaskError> moved_from_error;
  std::optional<int> moved_to_value;
};
constinit JoinResults join_results{};
constinit bool join_finished = false;

task::Task<> join_children() {
  join_results.sum_of_squares = co_await sum_of_squares(10);
  join_results.chain_length = co_await chain_length(50);
  // A moved-from Task has no frame: checked() reports that instead of panicking.
  task::Task<int> original = square(12);
  task::Task<int> moved = std::move(original);
  if (auto empty = co_await std::move(original).checked(); !empty) {
    join_results.moved_from_error = empty.error();
  }
  join_results.moved_to_value = co_await std::move(moved);
  join_finished = true;
}

// ----- yield_now: ready tasks take turns in the order they became ready -----------------------

constinit std::array<char, 16> turn_log{};
constinit std::size_t turns_logged = 0;
constinit int turn_tasks_finished = 0;

task::Task<> take_turns(char name, int turns) {
  for (int i = 0; i < turns; ++i) {
    if (turns_logged < turn_log.size()) turn_log[turns_logged++] = name;
    co_await task::yield_now();
  }
  ++turn_tasks_finished;
}

// ----- sleeping ---------------------------------------------------------------------------------

struct SleepRecord {
  std::uint64_t milliseconds = 0;
  std::uint64_t requested_ticks = 0;
  std::uint64_t started = 0;   // the timer queue's clock (ns) before the sleep
  std::uint64_t deadline = 0;  // the timer queue's deadline for it
  std::uint64_t woke = 0;      // the time the timer interrupt woke it at (co_await's result)
  std::uint64_t resumed = 0;   // the clock once the task ran again
  bool finished = false;
};

// The timer queue counts nanoseconds of the TSC clock (chapter 13).
std::uint64_t ticks_for_ms(std::uint64_t milliseconds) { return milliseconds * 1'000'000; }

task::Task<> sleep_and_record(SleepRecord& record, std::size_t* wake_log, std::size_t* logged,
                              std::size_t my_index) {
  record.requested_ticks = ticks_for_ms(record.milliseconds);
  record.started = ferrite::time::now_ns();
  auto sleep = task::sleep_ms(record.milliseconds);
  record.deadline = sleep.deadline();
  record.woke = co_await sleep;
  record.resumed = ferrite::time::now_ns();
  if (wake_log != nullptr) wake_log[(*logged)++] = my_index;
  record.finished = true;
}

// Checks one finished sleep and prints how late it was, in ticks.
void check_and_report(const SleepRecord& r) {
  KEXPECT(r.finished);
  // The deadline is taken from the clock at the call: never before started + requested (a sleep
  // must not end early), and only the few instructions between the two reads after it -- which
  // can still be milliseconds of the clock when the host deschedules QEMU between them (without
  // -icount the guest's TSC follows the host's time), so the bound is 10 ms, still far below a
  // unit mix-up (ticks for ms would be 1000x off).
  KEXPECT(r.deadline >= r.started + r.requested_ticks);
  KEXPECT(r.deadline - (r.started + r.requested_ticks) < 10'000'000);
  KEXPECT(r.woke >= r.deadline);
  KEXPECT(r.woke - r.started >= r.requested_ticks);  // at least the requested ticks
  KEXPECT(r.resumed >= r.woke);
  ferrite::println(
      "  sleep_ms({}): {} us requested, woken at +{} us (timer lateness {} us), task resumed "
      "at +{} us ({} us after the deadline)",
      r.milliseconds, r.requested_ticks / 1000, (r.woke - r.started) / 1000,
      (r.woke - r.deadline) / 1000, (r.resumed - r.started) / 1000, (r.resumed - r.deadline) / 1000);
}

constinit SleepRecord single_sleep{};

constexpr std::size_t kSleepers = 6;
// Spawned in this order; two have the same length (they must wake in the order they slept).
constexpr std::array<std::uint64_t, kSleepers> kSleeperMs{30, 10, 25, 5, 20, 10};
constexpr std::array<std::size_t, kSleepers> kExpectedWakeOrder{3, 1, 5, 4, 2, 0};
constinit std::array<SleepRecord, kSleepers> sleepers{};
constinit std::array<std::size_t, kSleepers> wake_order{};
constinit std::size_t wakes_logged = 0;

}  // namespace

KTEST(async_spawned_tasks_all_complete) {
  spawned_results = {};
  spawned_finished = 0;
  const task::ExecutorStats before = task::executor().stats();
  std::array<task::TaskId, kSpawnedTasks> ids{};
  std::uint64_t expected_polls = 0;
  for (int i = 0; i < kSpawnedTasks; ++i) {
    const auto spawned = task::executor().spawn(record_completion(i));
    KASSERT(spawned.has_value());
    ids[i] = *spawned;
    KEXPECT(task::executor().is_live(*spawned));
    expected_polls += 1 + i % 3;  // the first run plus one per yield
  }
  KEXPECT(run_executor_until([] { return spawned_finished == kSpawnedTasks; }));

  const task::ExecutorStats after = task::executor().stats();
  KEXPECT_EQ(after.spawned - before.spawned, std::uint64_t{kSpawnedTasks});
  KEXPECT_EQ(after.completed - before.completed, std::uint64_t{kSpawnedTasks});
  KEXPECT_EQ(after.polls - before.polls, expected_polls);
  KEXPECT_EQ(after.live(), before.live());
  for (int i = 0; i < kSpawnedTasks; ++i) {
    KEXPECT_EQ(spawned_results[i], 100 + i);
    KEXPECT(!task::executor().is_live(ids[i]));
  }
}

KTEST(async_nested_tasks_return_values) {
  join_results = {};
  join_finished = false;
  KASSERT(task::executor().spawn(join_children()).has_value());
  KEXPECT(run_executor_until([] { return join_finished; }));
  constexpr int n = 10;
  KEXPECT(join_results.sum_of_squares == (n - 1) * n * (2 * n - 1) / 6);  // 0^2 + ... + 9^2
  KEXPECT(join_results.chain_length == 50);
  KEXPECT(join_results.moved_from_error == task::TaskError::empty_task);
  KEXPECT(join_results.moved_to_value == 144);
}

KTEST(async_yield_now_interleaves_tasks_in_order) {
  turn_log = {};
  turns_logged = 0;
  turn_tasks_finished = 0;
  KASSERT(task::executor().spawn(take_turns('A', 3)).has_value());
  KASSERT(task::executor().spawn(take_turns('B', 3)).has_value());
  KASSERT(task::executor().spawn(take_turns('C', 2)).has_value());
  KEXPECT(run_executor_until([] { return turn_tasks_finished == 3; }));
  const std::string_view log(turn_log.data(), turns_logged);
  ferrite::println("  turns: {}", log);
  KEXPECT(log == "ABCABCAB");
}

KTEST(async_sleep_wakes_after_at_least_the_requested_ticks) {
  {
    // The timer queue's clock is the TSC clock as of the last timer tick. Read both with
    // interrupts off, so that no tick falls between the two reads.
    ferrite::sync::InterruptGuard no_ticks;
    const std::uint64_t queue_now = task::timers().now(), clock_now = ferrite::time::now_ns();
    KEXPECT(queue_now <= clock_now);
    KEXPECT(clock_now - queue_now < 20'000'000);  // ticks come every few ms at most
  }
  single_sleep = {.milliseconds = 20};
  KASSERT(task::executor().spawn(sleep_and_record(single_sleep, nullptr, nullptr, 0)).has_value());
  KEXPECT(run_executor_until([] { return single_sleep.finished; }));
  check_and_report(single_sleep);
  KEXPECT_EQ(task::timers().sleepers(), std::size_t{0});
}

KTEST(async_sleepers_wake_in_deadline_order) {
  sleepers = {};
  wake_order = {};
  wakes_logged = 0;
  for (std::size_t i = 0; i < kSleepers; ++i) {
    sleepers[i].milliseconds = kSleeperMs[i];
    KASSERT(task::executor()
                .spawn(sleep_and_record(sleepers[i], wake_order.data(), &wakes_logged, i))
                .has_value());
  }
  KEXPECT(run_executor_until([] { return wakes_logged == kSleepers; }));
  KEXPECT(wake_order == kExpectedWakeOrder);
  for (std::size_t i = 0; i < wakes_logged; ++i) {
    const SleepRecord& record = sleepers[wake_order[i]];
    check_and_report(record);
    if (i > 0) KEXPECT(record.woke >= sleepers[wake_order[i - 1]].woke);
  }
  KEXPECT_EQ(task::timers().sleepers(), std::size_t{0});
}

// Chapter 13: a task awaits a kernel thread's end without blocking the executor's thread — a
// second task keeps running (and counting) meanwhile.
KTEST(async_task_awaits_a_thread_and_other_tasks_keep_running) {
  static constinit std::int64_t exit_value = 0;
  static constinit bool awaited = false;
  static constinit int other_task_turns = 0;
  exit_value = 0;
  awaited = false;
  other_task_turns = 0;
  auto thread = ferrite::sched::spawn("sleeper", [](void*) -> std::int64_t {
    ferrite::sched::sleep_for_ns(20'000'000);
    return 42;
  }, nullptr);
  KASSERT(thread.has_value());
  ferrite::sched::Thread& sleeper = **thread;
  KASSERT(task::executor().spawn([](ferrite::sched::Thread& t) -> task::Task<void> {
    exit_value = co_await task::thread_exit(t);
    awaited = true;
  }(sleeper)).has_value());
  KASSERT(task::executor().spawn([]() -> task::Task<void> {
    while (!awaited) {
      ++other_task_turns;
      co_await task::sleep_ms(1);
    }
  }()).has_value());
  KEXPECT(run_executor_until([] { return awaited; }));
  ferrite::println("  thread exited with {}; the other task ran {} times meanwhile", exit_value,
                   other_task_turns);
  KEXPECT_EQ(exit_value, 42);
  KEXPECT(other_task_turns >= 5);
  KEXPECT(run_executor_until([] { return task::executor().stats().live() == 0; }));
}
