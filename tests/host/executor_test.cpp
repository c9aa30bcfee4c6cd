// Host tests for Task<T>, the executors, wakers and the idle protocol (kernel/task/, chapter 12).
// Interrupts are simulated by FakeCpu: a "handler" is a function run at a chosen moment, or held
// pending while the executor has interrupts disabled, as the CPU would.
#include "task/executor.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "task/atomic_waker.h"
#include "task/task.h"

namespace ferrite::task {
namespace {

// A one-shot event an "interrupt handler" fires; a task awaits it (auto-reset on resume).
class Event {
 public:
  void fire() {
    fired_ = true;
    waker_.wake();
  }

  struct Awaiter {
    Event& event;
    bool await_ready() const { return event.fired_; }
    template <TaskPromise Promise>
    void await_suspend(std::coroutine_handle<Promise> self) {
      const Waker waker = waker_for(self);
      event.last_waker_ = waker;
      event.waker_.register_waker(waker);
      if (event.fired_) waker.wake();  // fired between await_ready and registering
    }
    void await_resume() { event.fired_ = false; }
  };
  Awaiter wait() { return Awaiter{*this}; }

  // The waker handed out by the last wait (to test stale and repeated wake-ups directly).
  Waker last_waker() const { return last_waker_; }

 private:
  bool fired_ = false;
  AtomicWaker waker_;
  Waker last_waker_{};
};

// Tasks that wait for one event, then note that they ran.
Task<> wait_then_set(Event& event, bool* done) {
  co_await event.wait();
  *done = true;
}
Task<> wait_then_log(Event& event, std::string* log, char name) {
  co_await event.wait();
  *log += name;
}

// Counts live copies, to observe when a coroutine frame (which holds a copy) is destroyed.
struct FrameWitness {
  explicit FrameWitness(int* live) : live(live) { ++*live; }
  FrameWitness(const FrameWitness& other) : live(other.live) { ++*live; }
  ~FrameWitness() { --*live; }
  int* live;
};

// Simulated CPU interrupt flag, HLT and interrupt delivery.
class FakeCpu final : public InterruptControl {
 public:
  using Handler = std::function<void()>;

  // Raises an interrupt now: runs the handler, or holds it until interrupts are enabled.
  void raise(Handler handler) {
    if (enabled_) {
      run_handler(handler);
    } else {
      pending_.push_back(std::move(handler));
    }
  }

  // Arrives exactly between the executor's "nothing is ready" check and its cli.
  Handler interrupt_before_next_disable;
  // Raised just after the executor's cli (so it stays pending until interrupts are enabled).
  Handler interrupt_after_next_disable;
  // Raised while the next short critical section (a task-context wake, or the executor taking a
  // task off the ready queue) has interrupts off.
  Handler interrupt_during_next_critical_section;
  // Device interrupts that will end successive halts, one per halt.
  std::deque<Handler> interrupts_while_halted;

  const Executor* executor = nullptr;
  int halts = 0;
  int critical_sections = 0;
  bool slept_forever = false;           // halted with nothing that could ever wake the CPU
  bool halted_with_ready_task = false;  // a lost wake-up: asleep although work was queued
  bool interrupts_enabled() const { return enabled_; }

  void disable_interrupts() noexcept override {
    EXPECT_TRUE(enabled_) << "idle protocol entered with interrupts already disabled";
    if (Handler handler = std::exchange(interrupt_before_next_disable, nullptr)) {
      run_handler(handler);
    }
    enabled_ = false;
    if (Handler handler = std::exchange(interrupt_after_next_disable, nullptr)) {
      raise(std::move(handler));
    }
  }
  void enable_interrupts() noexcept override {
    EXPECT_FALSE(enabled_);
    enabled_ = true;
    deliver_pending();
  }
  void enable_interrupts_and_halt() noexcept override {
    EXPECT_FALSE(enabled_);
    enabled_ = true;
    ++halts;
    if (!pending_.empty()) {  // pending at the sti: it is taken and ends the hlt at once
      deliver_pending();
      return;
    }
    if (executor != nullptr && executor->has_ready_tasks()) halted_with_ready_task = true;
    if (interrupts_while_halted.empty()) {
      slept_forever = true;
      return;
    }
    Handler handler = std::move(interrupts_while_halted.front());
    interrupts_while_halted.pop_front();
    run_handler(handler);
  }
  bool save_and_disable_interrupts() noexcept override {
    const bool were_enabled = enabled_;
    enabled_ = false;
    ++critical_sections;
    if (Handler handler = std::exchange(interrupt_during_next_critical_section, nullptr)) {
      raise(std::move(handler));  // interrupts are off: it stays pending
    }
    return were_enabled;
  }
  void restore_interrupts(bool were_enabled) noexcept override {
    if (!were_enabled) return;
    enabled_ = true;
    deliver_pending();
  }

 private:
  void run_handler(const Handler& handler) {
    const bool were_enabled = enabled_;
    enabled_ = false;  // an interrupt gate clears IF
    handler();
    enabled_ = were_enabled;
  }
  void deliver_pending() {
    while (enabled_ && !pending_.empty()) {
      Handler handler = std::move(pending_.front());
      pending_.pop_front();
      run_handler(handler);
    }
  }

  bool enabled_ = true;
  std::deque<Handler> pending_;
};

// ---------------------------------------------------------------------------------------------
// Task<T>: nesting, values, errors.

Task<int> leaf(int value) {
  co_return value + 1;
}

Task<int> middle(int value) {
  const int a = co_await leaf(value);
  const int b = co_await leaf(a * 10);
  co_return a + b;
}

Task<std::string> describe(int value) {
  const int computed = co_await middle(value);
  co_return "result=" + std::to_string(computed);
}

Task<> store_description(int value, std::string* out) {
  *out = co_await describe(value);
}

TEST(Task, NestedJoinsPassValuesBack) {
  ExecutorStorage<4> storage;
  Executor executor{storage};
  std::string result;
  ASSERT_TRUE(executor.spawn(store_description(4, &result)).has_value());
  EXPECT_EQ(result, "") << "tasks are lazy: nothing runs before the executor does";
  executor.run_until_idle();
  // leaf(4)=5, leaf(50)=51, middle=56
  EXPECT_EQ(result, "result=56");
  EXPECT_EQ(executor.stats().polls, 1u) << "children run inside the parent's poll";
}

Task<int> waits_then_returns(Event& event, int value) {
  co_await event.wait();
  co_return value * 3;
}

Task<> joins_suspending_child(Event& event, int* out) {
  *out = co_await waits_then_returns(event, 7);
}

TEST(Task, ChildThatSuspendsResumesTheParentWhenDone) {
  ExecutorStorage<4> storage;
  Executor executor{storage};
  Event event;
  int result = 0;
  ASSERT_TRUE(executor.spawn(joins_suspending_child(event, &result)).has_value());
  executor.run_until_idle();
  EXPECT_EQ(result, 0);
  EXPECT_EQ(executor.stats().live(), 1u);
  event.fire();
  executor.run_until_idle();
  EXPECT_EQ(result, 21);
  EXPECT_EQ(executor.stats().live(), 0u);
}

Task<std::uint64_t> recurse(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await recurse(depth - 1);
}

Task<> store_recursion(int depth, std::uint64_t* out) {
  *out = co_await recurse(depth);
}

// Symmetric transfer makes each start/finish a tail call in optimised builds; under ASan the
// calls stay real calls, so the depth here is modest.
TEST(Task, DeeplyNestedTasksReturnTheirValues) {
  ExecutorStorage<1> storage;
  Executor executor{storage};
  std::uint64_t result = 0;
  ASSERT_TRUE(executor.spawn(store_recursion(1000, &result)).has_value());
  executor.run_until_idle();
  EXPECT_EQ(result, 1000u);
}

Task<int> never_awaited(FrameWitness) {
  co_return 1;
}

TEST(Task, DestroyingAnUnstartedTaskFreesItsFrame) {
  int live = 0;
  {
    Task<int> task = never_awaited(FrameWitness{&live});
    EXPECT_EQ(live, 1) << "the frame holds a copy of the argument";
    EXPECT_TRUE(task.has_frame());
    Task<int> moved = std::move(task);
    EXPECT_FALSE(task.has_frame());
    EXPECT_EQ(task.error(), TaskError::empty_task);
    EXPECT_EQ(live, 1);
  }
  EXPECT_EQ(live, 0);
}

// ---------------------------------------------------------------------------------------------
// Frame allocation failure.

Task<> trivial_task(int* runs) {
  ++*runs;
  co_return;
}

TEST(TaskAllocation, FailedAllocationGivesAFailedTaskAndSpawnReportsIt) {
  ExecutorStorage<2> storage;
  Executor executor{storage};
  int runs = 0;
  Task<> task;
  {
    testing::FailCoroutineFramesAfter fail{0};
    task = trivial_task(&runs);
  }
  EXPECT_TRUE(task.allocation_failed());
  EXPECT_FALSE(task.has_frame());
  EXPECT_EQ(task.error(), TaskError::frame_allocation_failed);
  const auto spawned = executor.spawn(std::move(task));
  ASSERT_FALSE(spawned.has_value());
  EXPECT_EQ(spawned.error(), TaskError::frame_allocation_failed);
  EXPECT_EQ(to_string(spawned.error()),
            "out of memory: the task's coroutine frame could not be allocated");
  EXPECT_EQ(executor.stats().spawned, 0u);
  executor.run_until_idle();
  EXPECT_EQ(runs, 0);

  // The executor is unharmed: the next task runs.
  ASSERT_TRUE(executor.spawn(trivial_task(&runs)).has_value());
  executor.run_until_idle();
  EXPECT_EQ(runs, 1);
}

TEST(TaskAllocation, OnlyTheNthAllocationFails) {
  int runs = 0;
  testing::FailCoroutineFramesAfter fail{2};
  Task<> first = trivial_task(&runs);
  Task<> second = trivial_task(&runs);
  Task<> third = trivial_task(&runs);
  EXPECT_TRUE(first.has_frame());
  EXPECT_TRUE(second.has_frame());
  EXPECT_TRUE(third.allocation_failed());
}

Task<> awaits_child_checked(std::expected<int, TaskError>* out) {
  Task<int> child;
  {
    testing::FailCoroutineFramesAfter fail{0};
    child = leaf(1);
  }
  *out = co_await std::move(child).checked();
}

TEST(TaskAllocation, CheckedAwaitOfAFailedChildGivesAnError) {
  ExecutorStorage<1> storage;
  Executor executor{storage};
  std::expected<int, TaskError> result = 0;
  ASSERT_TRUE(executor.spawn(awaits_child_checked(&result)).has_value());
  executor.run_until_idle();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), TaskError::frame_allocation_failed);
  EXPECT_EQ(executor.stats().completed, 1u) << "the parent carried on";
}

Task<> awaits_child_checked_ok(std::expected<int, TaskError>* out) {
  *out = co_await leaf(41).checked();
}

TEST(TaskAllocation, CheckedAwaitOfAHealthyChildGivesTheValue) {
  ExecutorStorage<1> storage;
  Executor executor{storage};
  std::expected<int, TaskError> result = std::unexpected(TaskError::empty_task);
  ASSERT_TRUE(executor.spawn(awaits_child_checked_ok(&result)).has_value());
  executor.run_until_idle();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, 42);
}

Task<> awaits_failed_child() {
  Task<int> child;
  {
    testing::FailCoroutineFramesAfter fail{0};
    child = leaf(1);
  }
  co_await std::move(child);
}

TEST(TaskAllocationDeathTest, PlainAwaitOfAFailedChildPanicsWithTheReason) {
  EXPECT_DEATH(
      {
        ExecutorStorage<1> storage;
        Executor executor{storage};
        (void)executor.spawn(awaits_failed_child());
        executor.run_until_idle();
      },
      "KERNEL PANIC.*out of memory: the task's coroutine frame could not be allocated");
}

Task<> awaits_moved_from_child() {
  Task<int> child = leaf(1);
  Task<int> thief = std::move(child);
  co_await std::move(child);
}

TEST(TaskDeathTest, AwaitingAnEmptyTaskPanics) {
  EXPECT_DEATH(
      {
        ExecutorStorage<1> storage;
        Executor executor{storage};
        (void)executor.spawn(awaits_moved_from_child());
        executor.run_until_idle();
      },
      "KERNEL PANIC.*the task is empty");
}

Task<> throws() {
  throw std::runtime_error("boom");  // the host build has exceptions; the kernel does not
  co_return;
}

TEST(TaskDeathTest, AnEscapingExceptionPanics) {
  EXPECT_DEATH(
      {
        ExecutorStorage<1> storage;
        Executor executor{storage};
        (void)executor.spawn(throws());
        executor.run_until_idle();
      },
      "KERNEL PANIC.*exception escaped a task");
}

// ---------------------------------------------------------------------------------------------
// Spawning and the task table.

TEST(Executor, SpawnReportsAnEmptyTaskAndAFullTable) {
  ExecutorStorage<2> storage;
  Executor executor{storage};
  int runs = 0;
  EXPECT_EQ(executor.spawn(Task<>{}).error(), TaskError::empty_task);
  ASSERT_TRUE(executor.spawn(trivial_task(&runs)).has_value());
  ASSERT_TRUE(executor.spawn(trivial_task(&runs)).has_value());

  int live_witnesses = 0;
  auto refused =
      executor.spawn([](FrameWitness) -> Task<> { co_return; }(FrameWitness{&live_witnesses}));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), TaskError::task_table_full);
  EXPECT_EQ(live_witnesses, 0) << "a refused task's frame is freed";

  executor.run_until_idle();
  EXPECT_EQ(runs, 2);
  EXPECT_TRUE(executor.spawn(trivial_task(&runs)).has_value()) << "slots are reused";
}

TEST(Executor, StatsCountSpawnedCompletedLiveAndPolls) {
  ExecutorStorage<4> storage;
  Executor executor{storage};
  Event event;
  int runs = 0;
  ASSERT_TRUE(executor.spawn(trivial_task(&runs)).has_value());
  ASSERT_TRUE(executor.spawn([](Event& e) -> Task<> { co_await e.wait(); }(event)).has_value());
  EXPECT_EQ(executor.stats().spawned, 2u);
  EXPECT_EQ(executor.stats().live(), 2u);
  EXPECT_EQ(executor.run_until_idle(), 2u);
  EXPECT_EQ(executor.stats().completed, 1u);
  EXPECT_EQ(executor.stats().live(), 1u);
  event.fire();
  EXPECT_EQ(executor.run_until_idle(), 1u);
  EXPECT_EQ(executor.stats().completed, 2u);
  EXPECT_EQ(executor.stats().polls, 3u);
}

TEST(Executor, StorageCanServeALaterExecutor) {
  ExecutorStorage<2> storage;
  Event event;
  int live = 0;
  {
    Executor first{storage};
    ASSERT_TRUE(first
                    .spawn([](Event& e, FrameWitness) -> Task<> { co_await e.wait(); }(
                                                          event, FrameWitness{&live}))
                    .has_value());
    first.run_until_idle();
  }
  EXPECT_EQ(live, 0);
  Executor second{storage};
  int runs = 0;
  ASSERT_TRUE(second.spawn(trivial_task(&runs)).has_value());
  ASSERT_TRUE(second.spawn(trivial_task(&runs)).has_value());
  EXPECT_EQ(second.run_until_idle(), 2u);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(second.stats().live(), 0u);
}

TEST(Executor, IsLiveFollowsTheTaskNotTheSlot) {
  ExecutorStorage<1> storage;
  Executor executor{storage};
  int runs = 0;
  const auto first = executor.spawn(trivial_task(&runs));
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(executor.is_live(*first));
  executor.run_until_idle();
  EXPECT_FALSE(executor.is_live(*first));
  const auto second = executor.spawn(trivial_task(&runs));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->slot, first->slot);
  EXPECT_FALSE(executor.is_live(*first));
  EXPECT_TRUE(executor.is_live(*second));
}

TEST(Executor, DestroyingTheExecutorDestroysUnfinishedTasks) {
  int live = 0;
  Event event;
  {
    ExecutorStorage<2> storage;
    Executor executor{storage};
    ASSERT_TRUE(executor
                    .spawn([](Event& e, FrameWitness) -> Task<> { co_await e.wait(); }(
                                                          event, FrameWitness{&live}))
                    .has_value());
    executor.run_until_idle();
    EXPECT_EQ(live, 1);
  }
  EXPECT_EQ(live, 0);
}

// ---------------------------------------------------------------------------------------------
// Ordering, fairness, yield_now.

Task<> log_steps(std::string* log, char name, int steps) {
  for (int step = 1; step <= steps; ++step) {
    *log += name;
    *log += std::to_string(step);
    *log += ' ';
    co_await yield_now();
  }
}

TEST(Executor, RunsTasksInSpawnOrder) {
  ExecutorStorage<8> storage;
  Executor executor{storage};
  std::string log;
  for (char name : std::string("ABCDE")) {
    ASSERT_TRUE(executor.spawn(log_steps(&log, name, 1)).has_value());
  }
  executor.run_until_idle();
  EXPECT_EQ(log, "A1 B1 C1 D1 E1 ");
}

TEST(Executor, YieldingTasksTakeTurns) {
  ExecutorStorage<4> storage;
  Executor executor{storage};
  std::string log;
  ASSERT_TRUE(executor.spawn(log_steps(&log, 'A', 3)).has_value());
  ASSERT_TRUE(executor.spawn(log_steps(&log, 'B', 2)).has_value());
  ASSERT_TRUE(executor.spawn(log_steps(&log, 'C', 3)).has_value());
  executor.run_until_idle();
  EXPECT_EQ(log, "A1 B1 C1 A2 B2 C2 A3 C3 ");
  EXPECT_EQ(executor.stats().completed, 3u);
}

Task<> spins_with_yield(int* counter, int limit) {
  while (*counter < limit) {
    ++*counter;
    co_await yield_now();
  }
}

TEST(Executor, AYieldingTaskDoesNotStarveAWokenOne) {
  ExecutorStorage<4> storage;
  Executor executor{storage};
  Event event;
  int spins = 0;
  bool event_seen = false;
  ASSERT_TRUE(executor.spawn(wait_then_set(event, &event_seen)).has_value());
  ASSERT_TRUE(executor.spawn(spins_with_yield(&spins, 1000)).has_value());
  // Let the spinner run a few turns, then fire the event: the waiter must run on the next turn.
  int turns = 0;
  executor.run_until([&] { return ++turns > 5; });
  event.fire();
  const int spins_at_fire = spins;
  executor.run_until([&] { return event_seen; });
  EXPECT_TRUE(event_seen);
  EXPECT_LE(spins - spins_at_fire, 1) << "the woken task waited behind at most one spinner turn";
  executor.run_until_idle();
  EXPECT_EQ(spins, 1000);
}

// ---------------------------------------------------------------------------------------------
// Wakers.

TEST(Waker, WakingTwiceBeforeTheTaskRunsQueuesItOnce) {
  ExecutorStorage<4> storage;
  Executor executor{storage};
  Event event;
  int resumes = 0;
  ASSERT_TRUE(executor
                  .spawn([](Event& e, int* n) -> Task<> {
                    for (;;) {
                      co_await e.wait();
                      ++*n;
                    }
                  }(event, &resumes))
                  .has_value());
  executor.run_until_idle();
  const Waker waker = event.last_waker();
  ASSERT_FALSE(waker.wakes_nothing());
  EXPECT_FALSE(executor.has_ready_tasks());
  waker.wake();
  EXPECT_TRUE(executor.has_ready_tasks());
  waker.wake();
  waker.wake();
  const std::uint64_t polls_before = executor.stats().polls;
  EXPECT_EQ(executor.run_until_idle(), 1u);
  EXPECT_EQ(executor.stats().polls - polls_before, 1u);
  EXPECT_EQ(resumes, 1) << "three wake-ups, one resumption";
}

TEST(Waker, AWakerFromAnEarlierWaitDoesNothing) {
  ExecutorStorage<4> storage;
  Executor executor{storage};
  Event first;
  Event second;
  std::string log;
  ASSERT_TRUE(executor
                  .spawn([](Event& a, Event& b, std::string* log) -> Task<> {
                    co_await a.wait();
                    *log += "a ";
                    co_await b.wait();
                    *log += "b ";
                  }(first, second, &log))
                  .has_value());
  executor.run_until_idle();
  const Waker stale = first.last_waker();
  first.fire();
  executor.run_until_idle();
  EXPECT_EQ(log, "a ");
  stale.wake();  // the task now waits for `second`: this must not resume it
  EXPECT_FALSE(executor.has_ready_tasks());
  EXPECT_EQ(executor.run_until_idle(), 0u);
  EXPECT_EQ(log, "a ");
  second.fire();
  executor.run_until_idle();
  EXPECT_EQ(log, "a b ");
}

TEST(Waker, AWakerOfAnEndedTaskDoesNotWakeTheSlotsNextTask) {
  ExecutorStorage<1> storage;
  Executor executor{storage};
  Event first;
  Event second;
  int second_resumes = 0;
  ASSERT_TRUE(executor.spawn([](Event& e) -> Task<> { co_await e.wait(); }(first)).has_value());
  executor.run_until_idle();
  const Waker old = first.last_waker();
  first.fire();
  executor.run_until_idle();
  EXPECT_EQ(executor.stats().live(), 0u);
  ASSERT_TRUE(executor
                  .spawn([](Event& e, int* n) -> Task<> {
                    co_await e.wait();
                    ++*n;
                  }(second, &second_resumes))
                  .has_value());
  executor.run_until_idle();
  old.wake();
  EXPECT_EQ(executor.run_until_idle(), 0u);
  EXPECT_EQ(second_resumes, 0);
}

struct WakeDuringSuspend {
  AtomicWaker& slot;
  bool await_ready() const { return false; }
  template <TaskPromise Promise>
  void await_suspend(std::coroutine_handle<Promise> self) {
    slot.register_waker(waker_for(self));
    slot.wake();  // as if the interrupt arrived right here
  }
  void await_resume() const {}
};

TEST(Waker, ATaskWokenBeforeItFinishesSuspendingStillRuns) {
  // The "interrupt" fires while the task is still inside await_suspend (after registering).
  ExecutorStorage<2> storage;
  Executor executor{storage};
  AtomicWaker slot;
  bool done = false;
  ASSERT_TRUE(executor
                  .spawn([](AtomicWaker& s, bool* d) -> Task<> {
                    co_await WakeDuringSuspend{s};
                    *d = true;
                  }(slot, &done))
                  .has_value());
  executor.run_until_idle();
  EXPECT_TRUE(done);
}

// Hands out the task's waker, wakes it, then does not suspend: the task is queued although it
// keeps running. (Awaiters must not do this, but an interrupt that wakes a task between its last
// resumption and the executor's clean-up leaves the same state.)
struct WakeButDoNotSuspend {
  bool await_ready() const { return false; }
  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> self) {
    waker_for(self).wake();
    return false;
  }
  void await_resume() const {}
};

TEST(Waker, ATaskQueuedWhenItEndsGivesItsSlotBackExactlyOnce) {
  ExecutorStorage<2> storage;
  Executor executor{storage};
  ASSERT_TRUE(executor.spawn([]() -> Task<> { co_await WakeButDoNotSuspend{}; }()).has_value());
  executor.run_until_idle();
  EXPECT_EQ(executor.stats().live(), 0u);
  EXPECT_FALSE(executor.has_ready_tasks());

  // Both slots must be usable by two different tasks.
  Event first;
  Event second;
  std::string log;
  const auto a = executor.spawn(wait_then_log(first, &log, 'a'));
  const auto b = executor.spawn(wait_then_log(second, &log, 'b'));
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_NE(a->slot, b->slot);
  executor.run_until_idle();
  first.fire();
  second.fire();
  executor.run_until_idle();
  EXPECT_EQ(log, "ab");
  EXPECT_EQ(executor.stats().live(), 0u);
}

TEST(Waker, ADefaultWakerWakesNothing) {
  const Waker nobody;
  EXPECT_TRUE(nobody.wakes_nothing());
  nobody.wake();  // must simply return
}

// ---------------------------------------------------------------------------------------------
// Interrupts: the idle protocol and wake-ups from handlers.

// An executor on the simulated CPU.
class ExecutorIdle : public ::testing::Test {
 protected:
  ExecutorIdle() { cpu.executor = &executor; }

  FakeCpu cpu;
  ExecutorStorage<4> storage;
  Executor executor{storage, &cpu};
};

TEST_F(ExecutorIdle, HaltsWhenIdleAndRunsTheTaskAnInterruptWakes) {
  Event event;
  bool done = false;
  ASSERT_TRUE(executor.spawn(wait_then_set(event, &done)).has_value());
  cpu.interrupts_while_halted.push_back([&] { event.fire(); });
  executor.run_until([&] { return done || cpu.slept_forever; });
  EXPECT_TRUE(done);
  EXPECT_EQ(cpu.halts, 1);
  EXPECT_FALSE(cpu.halted_with_ready_task);
  EXPECT_TRUE(cpu.interrupts_enabled());
}

TEST_F(ExecutorIdle, AWakeUpBetweenTheEmptyCheckAndTheHaltIsNotLost) {
  Event event;
  bool done = false;
  ASSERT_TRUE(executor.spawn(wait_then_set(event, &done)).has_value());
  // The executor finds the queue empty; before its cli, the keyboard interrupt fires.
  cpu.interrupt_before_next_disable = [&] { event.fire(); };
  executor.run_until([&] { return done || cpu.slept_forever; });
  EXPECT_TRUE(done) << "the wake-up was lost: the executor went to sleep with a ready task";
  EXPECT_FALSE(cpu.slept_forever);
  EXPECT_FALSE(cpu.halted_with_ready_task);
  EXPECT_EQ(cpu.halts, 0) << "work appeared after the check: enable, do not halt";
}

TEST_F(ExecutorIdle, AnInterruptRaisedAfterTheCliEndsTheHalt) {
  Event event;
  bool done = false;
  ASSERT_TRUE(executor.spawn(wait_then_set(event, &done)).has_value());
  // Raised once interrupts are off: the re-check still finds nothing, so the executor halts; the
  // pending interrupt is taken at the `sti` of `sti; hlt` and ends the halt.
  cpu.interrupt_after_next_disable = [&] { event.fire(); };
  executor.run_until([&] { return done || cpu.slept_forever; });
  EXPECT_TRUE(done);
  EXPECT_FALSE(cpu.slept_forever);
  EXPECT_EQ(cpu.halts, 1);
  EXPECT_FALSE(cpu.halted_with_ready_task);
}

TEST_F(ExecutorIdle, TaskContextWakesDisableInterruptsAroundTheQueueUpdate) {
  Event for_b;
  std::string log;
  ASSERT_TRUE(executor.spawn(wait_then_log(for_b, &log, 'B')).has_value());
  executor.run_until_idle();
  ASSERT_TRUE(executor
                  .spawn([](Event& b, std::string* log) -> Task<> {
                    *log += "A";
                    b.fire();  // a wake from task context
                    co_return;
                  }(for_b, &log))
                  .has_value());
  const int sections_before = cpu.critical_sections;
  executor.run_until_idle();
  EXPECT_EQ(log, "AB");
  EXPECT_GE(cpu.critical_sections - sections_before, 1) << "the wake took one";
  EXPECT_TRUE(cpu.interrupts_enabled());
}

TEST_F(ExecutorIdle, AnInterruptDuringATaskContextWakeIsDeferredAndBothTasksRun) {
  Event for_b;
  Event for_c;
  std::string log;
  ASSERT_TRUE(executor.spawn(wait_then_log(for_b, &log, 'B')).has_value());
  ASSERT_TRUE(executor.spawn(wait_then_log(for_c, &log, 'C')).has_value());
  executor.run_until_idle();
  ASSERT_EQ(log, "");
  // While the task-context wake of B has interrupts off, the interrupt that wakes C is raised:
  // it must wait until the wake of B is complete, and then be delivered.
  cpu.interrupt_during_next_critical_section = [&] { for_c.fire(); };
  for_b.fire();
  EXPECT_TRUE(cpu.interrupts_enabled());
  executor.run_until_idle();
  EXPECT_EQ(log, "BC");
  EXPECT_EQ(executor.stats().live(), 0u);
}

// The executor takes each task off the ready queue with interrupts off, so a handler appending to
// the queue never finds it half-emptied: an interrupt raised meanwhile waits until the task has
// been taken, and the task it wakes runs after it.
TEST_F(ExecutorIdle, TakingATaskOffTheQueueDefersAnInterruptAndLosesNothing) {
  Event for_b;
  std::string log;
  ASSERT_TRUE(executor.spawn(wait_then_log(for_b, &log, 'B')).has_value());
  executor.run_until_idle();  // B now waits
  ASSERT_TRUE(executor
                  .spawn([](std::string* log) -> Task<> {
                    *log += "A";
                    co_return;
                  }(&log))
                  .has_value());
  const int sections_before = cpu.critical_sections;
  // A wakes nobody: the only critical sections in this run are the executor's own.
  cpu.interrupt_during_next_critical_section = [&] { for_b.fire(); };
  executor.run_until_idle();
  EXPECT_EQ(log, "AB") << "the interrupt raised while A was taken off the queue was lost";
  EXPECT_GE(cpu.critical_sections - sections_before, 2) << "one per task taken: A, then B";
  EXPECT_TRUE(cpu.interrupts_enabled());
  EXPECT_EQ(executor.stats().live(), 0u);
}

// A handler already runs with interrupts off, so wake_with_interrupts_off() takes no critical
// section of its own (wake() does); otherwise it is the same wake-up: queued once however often
// it is called, and a waker from a wait that is over does nothing.
TEST_F(ExecutorIdle, AWakeWithInterruptsOffTakesNoCriticalSectionAndIsOtherwiseTheSame) {
  Event event;
  int resumes = 0;
  ASSERT_TRUE(executor
                  .spawn([](Event& e, int* n) -> Task<> {
                    for (;;) {
                      co_await e.wait();
                      ++*n;
                    }
                  }(event, &resumes))
                  .has_value());
  executor.run_until_idle();
  const Waker waker = event.last_waker();
  ASSERT_FALSE(waker.wakes_nothing());

  int sections_before = cpu.critical_sections;
  cpu.raise([&] { waker.wake(); });
  EXPECT_EQ(cpu.critical_sections - sections_before, 1) << "wake() cannot know IF is off";
  EXPECT_EQ(executor.run_until_idle(), 1u);
  EXPECT_EQ(resumes, 1);

  const Waker second_wait = event.last_waker();
  ASSERT_NE(second_wait, waker);
  sections_before = cpu.critical_sections;
  cpu.raise([&] {
    waker.wake_with_interrupts_off();  // stale: from the first wait
    EXPECT_FALSE(executor.has_ready_tasks());
    second_wait.wake_with_interrupts_off();
    second_wait.wake_with_interrupts_off();
  });
  EXPECT_EQ(cpu.critical_sections, sections_before);
  EXPECT_EQ(executor.run_until_idle(), 1u) << "woken twice, queued once";
  EXPECT_EQ(resumes, 2);
  EXPECT_TRUE(cpu.interrupts_enabled());
}

TEST(ExecutorWithoutInterruptControl, RunUntilReturnsWhenIdle) {
  ExecutorStorage<2> storage;
  Executor executor{storage};
  Event event;
  ASSERT_TRUE(executor.spawn([](Event& e) -> Task<> { co_await e.wait(); }(event)).has_value());
  executor.run_until([] { return false; });  // must return: nothing could wake the task
  EXPECT_EQ(executor.stats().live(), 1u);
}

// ---------------------------------------------------------------------------------------------
// SimpleExecutor.

TEST(SimpleExecutor, RunsEverythingAndResumesOnlyWokenTasks) {
  ExecutorStorage<4> storage;
  SimpleExecutor executor{storage};
  Event event;
  std::string log;
  ASSERT_TRUE(executor.spawn(log_steps(&log, 'A', 2)).has_value());
  ASSERT_TRUE(executor
                  .spawn([](Event& e, std::string* log) -> Task<> {
                    co_await e.wait();
                    *log += "W ";
                  }(event, &log))
                  .has_value());
  ASSERT_TRUE(executor.spawn(log_steps(&log, 'B', 2)).has_value());
  executor.run_until_idle();
  EXPECT_EQ(log, "A1 B1 A2 B2 ");
  EXPECT_EQ(executor.stats().live(), 1u);
  EXPECT_EQ(executor.run_until_idle(), 0u) << "the waiting task is not resumed until woken";
  event.fire();
  EXPECT_EQ(executor.run_until_idle(), 1u);
  EXPECT_EQ(log, "A1 B1 A2 B2 W ");
  EXPECT_EQ(executor.stats().live(), 0u);
}

TEST(SimpleExecutor, NestedTasksWork) {
  ExecutorStorage<1> storage;
  SimpleExecutor executor{storage};
  std::string result;
  ASSERT_TRUE(executor.spawn(store_description(1, &result)).has_value());
  executor.run_until_idle();
  EXPECT_EQ(result, "result=23");
}

}  // namespace
}  // namespace ferrite::task
