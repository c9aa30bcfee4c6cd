// The scheduler's policy (kernel/sched/run_queue.h) over a simulated clock and CPU: ordering,
// fairness, priorities, sleep deadlines, and random wake-ups injected between every step.
#include "sched/run_queue.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>
#include <vector>

namespace {

using ferrite::sched::NodeList;
using ferrite::sched::Priority;
using ferrite::sched::RunQueue;
using ferrite::sched::SchedNode;
using ferrite::sched::State;

constexpr std::uint64_t kMs = 1'000'000;

struct SimThread : SchedNode {
  char name = '?';
  std::uint64_t ran_ns = 0;
  std::uint64_t woke_at = 0;  // when a sleep ended (the tick that made it ready)
};

// One CPU the way sched/scheduler.cpp drives it: the tick advances the clock, wakes sleepers and
// asks should_preempt; threads yield, block and sleep; other code wakes blocked threads.
struct SimCpu {
  RunQueue queue;
  SimThread* current = nullptr;  // null: the idle thread runs
  std::uint64_t now = 0;
  std::uint64_t slice_start = 0;
  std::uint64_t last_tick = 0;  // sleepers are woken by ticks only
  std::string trace;  // who ran, one letter per schedule

  explicit SimCpu(std::uint64_t slice_ns = 10 * kMs) { queue.set_time_slice(slice_ns); }

  // `preempting`: the kernel's interrupt-return path (the tick or a wake-up decided); otherwise
  // the thread gives the CPU away itself (yield).
  void schedule(bool preempting = false) {
    if (current != nullptr && current->state == State::running) {
      if (preempting) {
        queue.preempted(*current, current->slice_used + (now - slice_start));
      } else {
        queue.make_ready(*current);
      }
    }
    current = static_cast<SimThread*>(queue.pick_next());
    if (current != nullptr) {
      current->state = State::running;
      trace += current->name;
    }
    slice_start = now;
  }
  void tick(std::uint64_t dt = kMs) {
    if (current != nullptr) current->ran_ns += dt;
    now += dt;
    last_tick = now;
    queue.wake_expired(now);
    if (queue.should_preempt(current, ran())) schedule(true);
  }
  std::uint64_t ran() const {
    return current == nullptr ? 0 : current->slice_used + (now - slice_start);
  }
  void start(SimThread& t) {
    t.state = State::blocked;  // new: not in any queue yet
    queue.make_ready(t);
  }
  void yield() { schedule(); }
  void block() {
    current->state = State::blocked;
    schedule();
  }
  void sleep_for(std::uint64_t ns) {
    if (ns == 0) return yield();  // a deadline already reached is no reason to sleep
    queue.sleep_until(*current, now + ns);
    schedule();
  }
  void wake(SimThread& t) {
    if (t.state != State::blocked) return;
    queue.make_ready(t);
    if (queue.should_preempt(current, ran()) && current != nullptr &&
        current->priority != Priority::high && t.priority == Priority::high) {
      schedule(true);  // a higher priority preempts at once (the kernel: at interrupt return)
    }
    if (current == nullptr) schedule();  // the idle CPU picks it up at once
  }
};

std::vector<SimThread> make_threads(const std::string& names, Priority priority = Priority::normal) {
  std::vector<SimThread> threads(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    threads[i].name = names[i];
    threads[i].priority = priority;
  }
  return threads;
}

TEST(NodeList, FifoRemoveAndSortedInsert) {
  std::array<SchedNode, 4> n{};
  NodeList list;
  for (auto& node : n) list.push_back(node);
  EXPECT_EQ(list.size(), 4u);
  EXPECT_TRUE(list.remove(n[2]));
  EXPECT_FALSE(list.remove(n[2]));
  EXPECT_EQ(list.pop_front(), &n[0]);
  EXPECT_EQ(list.pop_front(), &n[1]);
  EXPECT_EQ(list.pop_front(), &n[3]);
  EXPECT_TRUE(list.empty());
  n[0].wake_at = 5, n[1].wake_at = 3, n[2].wake_at = 5, n[3].wake_at = 1;
  for (auto& node : n) list.insert_sorted(node, [](const SchedNode& s) { return s.wake_at; });
  EXPECT_EQ(list.pop_front(), &n[3]);
  EXPECT_EQ(list.pop_front(), &n[1]);
  EXPECT_EQ(list.pop_front(), &n[0]);  // equal deadlines: in the order they were inserted
  EXPECT_EQ(list.pop_front(), &n[2]);
}

TEST(Scheduler, YieldingThreadsTakeTurnsInOrder) {
  SimCpu cpu;
  auto t = make_threads("ABC");
  for (auto& thread : t) cpu.start(thread);
  cpu.schedule();
  for (int i = 0; i < 8; ++i) cpu.yield();
  EXPECT_EQ(cpu.trace, "ABCABCABC");
}

TEST(Scheduler, TimeSlicesAreSharedFairly) {
  SimCpu cpu(10 * kMs);
  auto t = make_threads("ABCD");
  for (auto& thread : t) cpu.start(thread);
  cpu.schedule();
  for (int i = 0; i < 10'000; ++i) cpu.tick();  // 10 s of busy threads
  for (const SimThread& thread : t) {
    EXPECT_NEAR(static_cast<double>(thread.ran_ns), 2'500.0 * kMs, 10.0 * kMs) << thread.name;
  }
  EXPECT_EQ(cpu.trace.substr(0, 8), "ABCDABCD");
}

TEST(Scheduler, ALoneThreadIsNotPreempted) {
  SimCpu cpu;
  auto t = make_threads("A");
  cpu.start(t[0]);
  cpu.schedule();
  for (int i = 0; i < 1000; ++i) cpu.tick();
  EXPECT_EQ(cpu.trace, "A");
}

TEST(Scheduler, HighPriorityRunsFirstAndPreempts) {
  SimCpu cpu;
  auto normal = make_threads("ab");
  auto high = make_threads("H", Priority::high);
  for (auto& thread : normal) cpu.start(thread);
  cpu.schedule();
  EXPECT_EQ(cpu.current, &normal[0]);
  cpu.start(high[0]);
  cpu.tick();  // the next tick sees a higher priority ready: preempted at once
  EXPECT_EQ(cpu.current, &high[0]);
  for (int i = 0; i < 100; ++i) cpu.tick();
  EXPECT_EQ(cpu.current, &high[0]) << "a lower priority never takes the CPU from a higher one";
  const std::uint64_t a_before = normal[0].ran_ns, b_before = normal[1].ran_ns;
  cpu.block();  // H waits for something: the normal threads share the CPU again
  for (int i = 0; i < 100; ++i) cpu.tick();
  EXPECT_GT(normal[0].ran_ns, a_before);
  EXPECT_GT(normal[1].ran_ns, b_before);
  cpu.wake(high[0]);
  EXPECT_EQ(cpu.current, &high[0]) << "waking a high-priority thread preempts a normal one";
}

// A high-priority thread that wakes every tick and blocks again at once (the kernel's executor
// thread does this) must not rob the busy normal threads of their slices: the one it preempts
// resumes first, with the rest of its slice.
TEST(Scheduler, PreemptionByAHigherPriorityKeepsTheTurnAndTheSlice) {
  SimCpu cpu(10 * kMs);
  auto normal = make_threads("ab");
  auto high = make_threads("H", Priority::high);
  for (auto& thread : normal) cpu.start(thread);
  cpu.start(high[0]);
  cpu.schedule();
  ASSERT_EQ(cpu.current, &high[0]);
  cpu.block();  // H waits; a runs
  for (int ms = 0; ms < 100; ++ms) {
    cpu.tick();
    cpu.wake(high[0]);  // H preempts whoever runs...
    ASSERT_EQ(cpu.current, &high[0]);
    cpu.block();        // ...and is done at once
  }
  // Slices of 10 ms: the normal threads switched about 10 times, not 100.
  std::string normal_turns;
  for (char c : cpu.trace) {
    if (c != 'H' && (normal_turns.empty() || normal_turns.back() != c)) normal_turns += c;
  }
  EXPECT_LE(normal_turns.size(), 12u) << cpu.trace;
  EXPECT_GE(normal_turns.size(), 9u) << cpu.trace;
  EXPECT_NEAR(static_cast<double>(normal[0].ran_ns), static_cast<double>(normal[1].ran_ns),
              10.0 * kMs);
}

TEST(Scheduler, SleepersWakeAtTheFirstTickAfterTheirDeadlineNeverBefore) {
  SimCpu cpu;
  auto t = make_threads("ABCDEF");
  const std::uint64_t sleeps[] = {30 * kMs, 10 * kMs, 25 * kMs, 5 * kMs, 20 * kMs, 10 * kMs};
  std::array<std::uint64_t, 6> deadline{};
  for (auto& thread : t) cpu.start(thread);
  cpu.schedule();
  for (std::size_t i = 0; i < t.size(); ++i) {
    ASSERT_EQ(cpu.current, &t[i]);
    deadline[i] = cpu.now + sleeps[i];
    cpu.sleep_for(sleeps[i]);
  }
  EXPECT_EQ(cpu.current, nullptr);  // everyone sleeps: the CPU idles
  std::string wake_order;
  for (int ms = 0; ms < 40; ++ms) {
    cpu.tick();
    while (cpu.current != nullptr) {  // each woken thread runs and exits the scene by blocking
      const auto i = static_cast<std::size_t>(cpu.current - t.data());
      EXPECT_GE(cpu.now, deadline[i]) << "woken early";
      EXPECT_LT(cpu.now, deadline[i] + kMs) << "woken more than a tick late";
      wake_order += cpu.current->name;
      cpu.block();
    }
  }
  EXPECT_EQ(wake_order, "DBFECA");  // deadline order; B and F (equal) in the order they slept
}

// Random events between every step: ticks, yields, blocks, sleeps, wakes of random threads. After
// each step every thread is in exactly one place, the running one is the one the CPU runs, a
// blocked thread never runs, and nobody wakes before its deadline.
TEST(Scheduler, RandomWakeUpsAtEveryStepKeepTheInvariants) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 random(seed);
    SimCpu cpu(3 * kMs);
    auto t = make_threads("ABCDEFGH");
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (i % 3 == 0) t[i].priority = Priority::high;
      cpu.start(t[i]);
    }
    cpu.schedule();
    for (int step = 0; step < 5000; ++step) {
      const unsigned action = random() % 10;
      if (action < 4) {
        cpu.tick(random() % 2 == 0 ? kMs : kMs / 3);
      } else if (action == 4 && cpu.current != nullptr) {
        cpu.yield();
      } else if (action == 5 && cpu.current != nullptr) {
        cpu.block();
      } else if (action == 6 && cpu.current != nullptr) {
        cpu.sleep_for((random() % 20) * kMs / 2);
      } else {
        cpu.wake(t[random() % t.size()]);  // may be ready, running or sleeping: then a no-op
      }
      std::size_t running = 0, ready = 0, sleeping = 0, blocked = 0;
      for (const SimThread& thread : t) {
        switch (thread.state) {
          case State::running: ++running; EXPECT_EQ(cpu.current, &thread); break;
          case State::ready: ++ready; break;
          case State::sleeping:
            ++sleeping;
            EXPECT_GT(thread.wake_at, cpu.last_tick) << "a tick left an expired sleeper asleep";
            break;
          case State::blocked: ++blocked; break;
          case State::dead: ADD_FAILURE(); break;
        }
      }
      ASSERT_EQ(running, cpu.current != nullptr ? 1u : 0u) << "seed " << seed << " step " << step;
      ASSERT_EQ(ready, cpu.queue.ready_count()) << "seed " << seed << " step " << step;
      ASSERT_EQ(sleeping, cpu.queue.sleeper_count()) << "seed " << seed << " step " << step;
      ASSERT_EQ(running + ready + sleeping + blocked, t.size());
      if (cpu.current == nullptr) {
        ASSERT_FALSE(cpu.queue.has_ready()) << "idle with work ready";
      }
      if (cpu.current != nullptr && cpu.current->priority == Priority::normal) {
        // A normal thread runs only while no high one is ready, except until the next tick.
        if (cpu.queue.has_ready(Priority::high)) {
          cpu.tick(0);
          ASSERT_TRUE(cpu.current == nullptr || cpu.current->priority == Priority::high);
        }
      }
    }
  }
}

}  // namespace
