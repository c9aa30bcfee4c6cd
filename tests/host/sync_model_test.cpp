// The blocking primitives (kernel/sched/sync_policy.h: WaitQueue, Mutex, Semaphore, CondVar)
// under a model of one CPU: simulated threads (host threads that run strictly one at a time,
// handing a baton), the kernel's RunQueue, per-thread interrupt flags, and a "device" whose
// interrupt handler wakes threads. At every point where the running thread has interrupts on
// (each guard's end, and between operations), the model may deliver an interrupt and/or preempt
// the thread: first at each single point of a run in turn (a sweep), then at random ones.
// It checks: no lost wake-up (no run ends with threads blocked and nothing left to wake them),
// no double wake (only a blocked thread is ever woken), FIFO (a queue's waiters wake in the order
// they blocked, so a mutex is handed to its oldest waiter), the owner checks, and the results.
#include "sched/sync_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using ferrite::sched::MutexMisuse;
using ferrite::sched::NodeList;
using ferrite::sched::RunQueue;
using ferrite::sched::SchedNode;
using ferrite::sched::State;

struct Killed {};   // a killed thread passes through the scheduler: it ends (the kernel's never returns)
struct Aborted {};  // the run ended in a deadlock and is being torn down

struct SimThread : SchedNode {
  int id = 0;
  bool kill_requested = false;
  bool signal_pending = false;                           // chapter 15: a signal ends its
  ferrite::sched::NodeList* interruptible_wait = nullptr;  // interruptible wait
  int interrupts_off = 0;  // nesting depth of its guards: the thread's own interrupt flag
  const NodeList* blocked_on = nullptr;
  std::uint64_t ticket = 0;  // when it blocked, for the FIFO check
  bool finished = false;
  std::condition_variable turn;
  std::unique_lock<std::mutex>* lock = nullptr;
  std::function<void(SimThread&)> body;
  std::thread host;
};

// Where the model intervenes: nowhere, at exactly one point (the sweep), or at random.
struct Injection {
  enum class Mode { none, at_point, random } mode = Mode::none;
  std::uint64_t point = 0;
  std::uint64_t seed = 0;
};

class Sim;
Sim* sim = nullptr;  // the model ModelEnv's static functions drive

struct ModelEnv {
  using Thread = SimThread;
  struct Guard {
    Guard();
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
  };
  static Thread& current();
  static void block_on_locked(NodeList& queue);
  static void wake_locked(Thread& thread);
  static void preempt_if_needed_locked() {}  // one priority in the model: a wake never preempts
  static void report(std::string_view name, MutexMisuse misuse);
};

using WaitQueue = ferrite::sched::BasicWaitQueue<ModelEnv>;
using Mutex = ferrite::sched::BasicMutex<ModelEnv>;
using Semaphore = ferrite::sched::BasicSemaphore<ModelEnv>;
using CondVar = ferrite::sched::BasicConditionVariable<ModelEnv>;

class Sim {
 public:
  explicit Sim(Injection injection) : injection_(injection), rng_(injection.seed) { sim = this; }
  ~Sim() { sim = nullptr; }

  void spawn(std::function<void(SimThread&)> body) {
    auto thread = std::make_unique<SimThread>();
    thread->id = static_cast<int>(threads_.size());
    thread->body = std::move(body);
    threads_.push_back(std::move(thread));
  }
  // The device: `count` interrupts whose handler is `handler` (runs with interrupts off).
  void device(int count, std::function<void()> handler) {
    device_left_ = count;
    handler_ = std::move(handler);
  }

  // Runs every thread to its end. False on a deadlock (threads blocked, nothing left to wake them).
  bool run() {
    std::unique_lock lock(mutex_);
    for (auto& thread : threads_) {
      thread->state = State::blocked;  // make_ready takes a thread that is not ready yet
      queue_.make_ready(*thread);
      thread->host = std::thread([this, t = thread.get()] { thread_main(*t); });
    }
    SimThread* first = static_cast<SimThread*>(queue_.pick_next());
    first->state = State::running;
    running_ = first;
    first->turn.notify_one();
    done_.wait(lock, [&] { return all_done_ || deadlock_; });
    if (deadlock_) {
      aborting_ = true;
      for (auto& thread : threads_) thread->turn.notify_one();
    }
    lock.unlock();
    for (auto& thread : threads_) thread->host.join();
    return !deadlock_;
  }

  std::uint64_t points() const { return points_; }
  std::uint64_t misuses(MutexMisuse kind) const { return misuses_[static_cast<int>(kind)]; }
  const std::vector<std::string>& violations() const { return violations_; }
  int device_left() const { return device_left_; }

  // Between two operations of a thread body: interrupts are on here.
  static void point() { ModelEnv::Guard nothing; }
  void kill(SimThread& thread) { thread.kill_requested = true; }  // ends at its next schedule

  // ---- ModelEnv's side.
  SimThread& current() { return *running_; }

  void guard_enter() { ++(in_interrupt_ ? interrupt_depth_ : running_->interrupts_off); }
  void guard_exit() {
    if (in_interrupt_) {
      --interrupt_depth_;
      return;
    }
    if (--running_->interrupts_off == 0 && std::uncaught_exceptions() == 0) interrupts_on();
  }

  void block_on_locked(NodeList& queue) {
    SimThread& self = *running_;
    if (in_interrupt_) violation("an interrupt handler blocked");
    if (self.interrupts_off == 0) violation("blocked with interrupts on (a wake-up could be lost)");
    self.state = State::blocked;
    self.blocked_on = &queue;
    self.ticket = ++tickets_;
    queue.push_back(self);
    switch_away(self);
    if (self.kill_requested) throw Killed{};
  }

  void wake_locked(SimThread& thread) {
    if (thread.state != State::blocked) {
      violation("thread " + std::to_string(thread.id) + " woken while " +
                std::string(ferrite::sched::to_string(thread.state)) + " (a double wake)");
      return;
    }
    // A signal takes a thread out of the middle of its queue: FIFO is for wake_one's order.
    const bool by_signal = thread.signal_pending && thread.interruptible_wait == nullptr;
    for (auto& other : threads_) {
      if (!by_signal && other.get() != &thread && other->state == State::blocked &&
          other->blocked_on == thread.blocked_on && other->ticket < thread.ticket) {
        violation("thread " + std::to_string(thread.id) + " woken before thread " +
                  std::to_string(other->id) + ", which blocked on the same queue earlier (not FIFO)");
      }
    }
    thread.blocked_on = nullptr;
    queue_.make_ready(thread);
  }

  void report(MutexMisuse misuse) { ++misuses_[static_cast<int>(misuse)]; }

 private:
  void violation(std::string what) { violations_.push_back(std::move(what)); }

  // An injection point: the running thread has interrupts on.
  void interrupts_on() {
    const std::uint64_t point = points_++;
    bool interrupt = false, preempt = false;
    switch (injection_.mode) {
      case Injection::Mode::none: break;
      case Injection::Mode::at_point: interrupt = preempt = point == injection_.point; break;
      case Injection::Mode::random:
        interrupt = std::uniform_int_distribution<int>(0, 3)(rng_) == 0;
        preempt = std::uniform_int_distribution<int>(0, 2)(rng_) == 0;
        break;
    }
    if (interrupt) deliver_interrupt();
    if (preempt && queue_.has_ready()) {
      SimThread& self = *running_;
      queue_.make_ready(self);  // the tick: to the back of the queue
      switch_away(self);
    }
  }

  bool deliver_interrupt() {
    if (device_left_ == 0) return false;
    --device_left_;
    in_interrupt_ = true;
    handler_();
    in_interrupt_ = false;
    return true;
  }

  // `self` has set its state (ready, blocked or dead): run the next ready thread and, unless
  // `self` is dead, wait until it runs again. An idle CPU waits for the device's interrupts.
  void switch_away(SimThread& self) {
    SchedNode* next = queue_.pick_next();
    while (next == nullptr && deliver_interrupt()) next = queue_.pick_next();
    if (next == nullptr) {
      bool all_finished = true;
      for (auto& thread : threads_) all_finished = all_finished && thread->finished;
      (all_finished ? all_done_ : deadlock_) = true;
      done_.notify_one();
    } else {
      next->state = State::running;
      running_ = static_cast<SimThread*>(next);
      running_->turn.notify_one();
    }
    if (self.finished) return;
    self.turn.wait(*self.lock, [&] { return running_ == &self || aborting_; });
    if (running_ != &self) throw Aborted{};
  }

  void thread_main(SimThread& self) {
    std::unique_lock lock(mutex_);
    self.lock = &lock;
    self.turn.wait(lock, [&] { return running_ == &self || aborting_; });
    if (running_ != &self) return;
    try {
      self.body(self);
    } catch (const Killed&) {
    } catch (const Aborted&) {
      return;
    }
    self.finished = true;
    self.state = State::dead;
    switch_away(self);
  }

  Injection injection_;
  std::mt19937_64 rng_;
  std::mutex mutex_;  // held by whichever simulated thread runs: one at a time
  std::condition_variable done_;
  std::vector<std::unique_ptr<SimThread>> threads_;
  RunQueue queue_;
  SimThread* running_ = nullptr;
  bool in_interrupt_ = false;
  int interrupt_depth_ = 0;
  int device_left_ = 0;
  std::function<void()> handler_;
  std::uint64_t points_ = 0;
  std::uint64_t tickets_ = 0;
  std::uint64_t misuses_[3] = {};
  std::vector<std::string> violations_;
  bool all_done_ = false, deadlock_ = false, aborting_ = false;
};

ModelEnv::Guard::Guard() { sim->guard_enter(); }
ModelEnv::Guard::~Guard() { sim->guard_exit(); }
SimThread& ModelEnv::current() { return sim->current(); }
void ModelEnv::block_on_locked(NodeList& queue) { sim->block_on_locked(queue); }
void ModelEnv::wake_locked(SimThread& thread) { sim->wake_locked(thread); }
void ModelEnv::report(std::string_view, MutexMisuse misuse) { sim->report(misuse); }

// One scenario: builds its threads and device into a Sim, and checks the outcome after run().
struct Scenario {
  virtual ~Scenario() = default;
  virtual void build(Sim& sim) = 0;
  virtual void check(const Sim& sim, const std::string& where) = 0;
};

// Runs `make()`'s scenario once without interference (to count the points), then with an
// interrupt and a preemption at each point in turn, then at random points for `seeds` runs.
template <class S>
void explore(int seeds) {
  auto once = [](Injection injection, const std::string& where) {
    S scenario;
    Sim sim(injection);
    scenario.build(sim);
    const bool finished = sim.run();
    EXPECT_TRUE(finished) << where << ": threads blocked with nothing left to wake them (a lost wake-up)";
    for (const std::string& v : sim.violations()) ADD_FAILURE() << where << ": " << v;
    if (finished) scenario.check(sim, where);
    return sim.points();
  };
  const std::uint64_t points = once({}, "no injection");
  ASSERT_GE(points, 5u);
  for (std::uint64_t p = 0; p < points && !::testing::Test::HasFailure(); ++p) {
    once({Injection::Mode::at_point, p, 0}, "at point " + std::to_string(p));
  }
  for (int seed = 1; seed <= seeds && !::testing::Test::HasFailure(); ++seed) {
    once({Injection::Mode::random, 0, static_cast<std::uint64_t>(seed)}, "seed " + std::to_string(seed));
  }
}

// N threads increment a counter under a mutex with a preemption window inside the section.
struct MutexCounter final : Scenario {
  static constexpr int kThreads = 3, kIncrements = 6;
  Mutex mutex{"counter"};
  int counter = 0;
  int inside = 0;  // threads in the critical section at once: must stay <= 1
  int max_inside = 0;
  void build(Sim& sim) override {
    for (int t = 0; t < kThreads; ++t) {
      sim.spawn([this](SimThread& self) {
        for (int i = 0; i < kIncrements; ++i) {
          mutex.lock();
          EXPECT_EQ(mutex.owner(), &self);
          EXPECT_TRUE(mutex.held_by_current());
          max_inside = std::max(max_inside, ++inside);
          const int seen = counter;
          Sim::point();  // preempted here, another thread must not get in
          counter = seen + 1;
          --inside;
          mutex.unlock();
          Sim::point();
        }
      });
    }
  }
  void check(const Sim& sim, const std::string& where) override {
    EXPECT_EQ(counter, kThreads * kIncrements) << where;
    EXPECT_EQ(max_inside, 1) << where;
    EXPECT_EQ(mutex.owner(), nullptr) << where;
    for (auto kind : {MutexMisuse::relock_by_owner, MutexMisuse::unlock_by_non_owner, MutexMisuse::unlock_when_free}) {
      EXPECT_EQ(sim.misuses(kind), 0u) << where;
    }
  }
};

// Two consumers take items that a thread and an interrupt handler give through a semaphore.
struct SemaphoreItems final : Scenario {
  static constexpr int kFromThread = 5, kFromInterrupts = 5, kPerConsumer = 5;
  Semaphore items;
  int taken = 0;
  void build(Sim& sim) override {
    for (int c = 0; c < 2; ++c) {
      sim.spawn([this](SimThread&) {
        for (int i = 0; i < kPerConsumer; ++i) {
          items.down();
          ++taken;
          Sim::point();
        }
      });
    }
    sim.spawn([this](SimThread&) {
      for (int i = 0; i < kFromThread; ++i) {
        items.up();
        Sim::point();
      }
    });
    sim.device(kFromInterrupts, [this] { items.up(); });
  }
  void check(const Sim& sim, const std::string& where) override {
    EXPECT_EQ(taken, 2 * kPerConsumer) << where;
    EXPECT_EQ(items.count() + static_cast<std::uint64_t>(sim.device_left()), 0u) << where;
  }
};

// A producer hands numbered items to two consumers through a queue under a mutex and a condition
// variable; the device adds spurious notifies. Every item arrives once, each consumer's in order.
struct CondVarQueue final : Scenario {
  static constexpr int kItems = 8;
  Mutex mutex{"queue"};
  CondVar ready;
  std::deque<int> queue;
  bool closed = false;
  std::vector<int> received[2];
  void build(Sim& sim) override {
    for (int c = 0; c < 2; ++c) {
      sim.spawn([this, c](SimThread&) {
        for (;;) {
          mutex.lock();
          while (queue.empty() && !closed) ready.wait(mutex);
          if (queue.empty()) {
            mutex.unlock();
            return;
          }
          received[c].push_back(queue.front());
          queue.pop_front();
          mutex.unlock();
          Sim::point();
        }
      });
    }
    sim.spawn([this](SimThread&) {
      for (int i = 1; i <= kItems; ++i) {
        mutex.lock();
        queue.push_back(i);
        ready.notify_one();
        mutex.unlock();
        Sim::point();
      }
      mutex.lock();
      closed = true;
      ready.notify_all();
      mutex.unlock();
    });
    sim.device(3, [this] { ready.notify_one(); });
  }
  void check(const Sim&, const std::string& where) override {
    std::vector<int> all;
    for (const auto& r : received) {
      for (std::size_t i = 1; i < r.size(); ++i) EXPECT_LT(r[i - 1], r[i]) << where;
      all.insert(all.end(), r.begin(), r.end());
    }
    std::sort(all.begin(), all.end());
    std::vector<int> expected(kItems);
    for (int i = 0; i < kItems; ++i) expected[i] = i + 1;
    EXPECT_EQ(all, expected) << where;
  }
};

// A thread waits on a WaitQueue for a flag that only the interrupt handler sets.
struct FlagFromInterrupt final : Scenario {
  WaitQueue queue;
  bool flag = false;
  bool saw = false;
  void build(Sim& sim) override {
    sim.spawn([this](SimThread&) {
      for (int i = 0; i < 3; ++i) Sim::point();
      ModelEnv::Guard no_interrupts;  // check and wait under one interrupts-off section
      while (!flag) queue.wait_locked();
      saw = true;
    });
    sim.spawn([](SimThread&) {
      for (int i = 0; i < 6; ++i) Sim::point();
    });
    sim.device(1, [this] {
      flag = true;
      queue.wake_one();
    });
  }
  void check(const Sim&, const std::string& where) override { EXPECT_TRUE(saw) << where; }
};

// Chapter 15: a signal (from the interrupt handler) ends a thread's interruptible wait on a
// WaitQueue — whether it comes before the wait starts or during it — but never a mutex wait.
// Thread 0 takes items from a producer while waiting interruptibly, until the signal; thread 1
// holds a mutex across several points; thread 2 waits for that mutex and is "signalled" too.
struct InterruptibleWait final : Scenario {
  static constexpr int kItems = 3;
  WaitQueue queue;
  Mutex mutex{"held"};
  int items = 0, taken = 0;
  bool interrupted = false, mutex_taken = false;
  int mutex_waiter_interrupts = 0;  // interrupt_wait_locked() that returned true for thread 2
  SimThread* waiter = nullptr;
  SimThread* mutex_waiter = nullptr;
  void build(Sim& sim) override {
    sim.spawn([this](SimThread& self) {
      waiter = &self;
      ModelEnv::Guard no_interrupts;
      for (;;) {
        while (items > 0) --items, ++taken;
        if (!queue.wait_interruptible_locked()) break;
      }
      interrupted = true;
      EXPECT_TRUE(self.signal_pending);
      EXPECT_EQ(self.interruptible_wait, nullptr);
    });
    sim.spawn([this](SimThread&) {
      mutex.lock();
      for (int i = 0; i < kItems; ++i) {
        {
          ModelEnv::Guard no_interrupts;
          ++items;
          queue.wake_one_locked();
        }
        Sim::point();
      }
      mutex.unlock();
    });
    sim.spawn([this](SimThread& self) {
      mutex_waiter = &self;
      mutex.lock();
      mutex_taken = true;
      mutex.unlock();
    });
    sim.device(1, [this] {
      for (SimThread* t : {waiter, mutex_waiter}) {
        if (t == nullptr) continue;  // not started yet: the model starts threads in order
        t->signal_pending = true;
        if (ferrite::sched::interrupt_wait_locked<ModelEnv>(*t) && t == mutex_waiter) {
          ++mutex_waiter_interrupts;
        }
      }
    });
  }
  void check(const Sim& sim, const std::string& where) override {
    EXPECT_EQ(sim.device_left(), 0) << where;
    EXPECT_TRUE(interrupted) << where;
    EXPECT_LE(taken, kItems) << where;
    EXPECT_TRUE(mutex_taken) << where;
    EXPECT_EQ(mutex_waiter_interrupts, 0) << where << ": a mutex wait was interrupted";
    EXPECT_TRUE(queue.empty()) << where;
  }
};

TEST(SyncModel, SignalEndsInterruptibleWaitButNotMutexWait) { explore<InterruptibleWait>(2000); }

// Chapter 15, vfork's parent (Linux's TASK_KILLABLE): a signal that would not end the process
// wakes a killable wait, which then waits on; only a fatal one (or a kill) ends it. Thread 0
// waits for a `done` that never comes while thread 1 wakes it with items; the interrupt
// handler sends a harmless signal and then a fatal one.
struct KillableWait final : Scenario {
  WaitQueue queue;
  int items = 0, fired = 0;
  bool fatal = false, ended = false, ended_by_fatal = false;
  SimThread* waiter = nullptr;
  void build(Sim& sim) override {
    sim.spawn([this](SimThread& self) {
      waiter = &self;
      ModelEnv::Guard no_interrupts;
      for (;;) {
        while (items > 0) --items;
        if (!queue.wait_killable_locked([this] { return fatal; })) break;
      }
      ended = true;
      ended_by_fatal = fatal;
      EXPECT_EQ(self.interruptible_wait, nullptr);
    });
    sim.spawn([this](SimThread&) {
      for (int i = 0; i < 3; ++i) {
        {
          ModelEnv::Guard no_interrupts;
          ++items;
          queue.wake_one_locked();
        }
        Sim::point();
      }
    });
    sim.device(2, [this] {
      if (++fired == 2) fatal = true;  // the first is a harmless signal (SIGCHLD, say)
      if (waiter == nullptr) return;   // not started: its first check sees `fatal`
      waiter->signal_pending = true;
      (void)ferrite::sched::interrupt_wait_locked<ModelEnv>(*waiter);
    });
  }
  void check(const Sim& sim, const std::string& where) override {
    EXPECT_EQ(sim.device_left(), 0) << where;
    if (fatal) {
      EXPECT_TRUE(ended) << where;
    }
    EXPECT_EQ(ended, ended_by_fatal) << where << ": a harmless signal ended a killable wait";
    EXPECT_TRUE(queue.empty()) << where;
  }
};

TEST(SyncModel, OnlyAFatalSignalEndsAKillableWait) { explore<KillableWait>(2000); }

TEST(SyncModel, MutexCounterUnderEveryInjection) { explore<MutexCounter>(2000); }
TEST(SyncModel, SemaphoreWithInterruptWakeUps) { explore<SemaphoreItems>(2000); }
TEST(SyncModel, CondVarQueueWithSpuriousNotifies) { explore<CondVarQueue>(2000); }
TEST(SyncModel, WaitQueueFlagSetByAnInterrupt) { explore<FlagFromInterrupt>(500); }

// The mutex goes to its waiters in the order they blocked (a handoff, no barging).
TEST(SyncModel, MutexHandsOffInFifoOrder) {
  std::vector<int> order;
  Sim handoff({});
  Mutex m2;
  Semaphore go;
  handoff.spawn([&](SimThread&) {
    m2.lock();
    for (int i = 0; i < 4; ++i) go.down();  // wait until the 4 others are queued on the mutex
    m2.unlock();
  });
  for (int t = 1; t <= 4; ++t) {
    handoff.spawn([&, t](SimThread&) {
      go.up();  // runs before lock: with no injection the up cannot switch, lock blocks next
      m2.lock();
      order.push_back(t);
      m2.unlock();
    });
  }
  ASSERT_TRUE(handoff.run());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_TRUE(handoff.violations().empty());
}

// Re-locking, unlocking someone else's mutex, unlocking a free one, and waiting on a condition
// variable without its mutex: each is reported and changes nothing.
TEST(SyncModel, OwnerChecksReportMisuse) {
  Sim sim({});
  Mutex mutex;
  CondVar cv;
  const SimThread* owner = nullptr;
  sim.spawn([&](SimThread& self) {
    mutex.lock();
    mutex.lock();  // relock: reported, still held once
    owner = &self;
    for (int i = 0; i < 2; ++i) Sim::point();
  });
  sim.spawn([&](SimThread&) {
    mutex.unlock();  // not ours (thread 0 still holds it: it ran first and did not block)
    cv.wait(mutex);  // not holding it
  });
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(sim.misuses(MutexMisuse::relock_by_owner), 1u);
  EXPECT_EQ(sim.misuses(MutexMisuse::unlock_by_non_owner), 2u);
  EXPECT_EQ(mutex.owner(), owner);  // the intruder changed nothing

  Sim free_unlock({});
  Mutex free_mutex;
  free_unlock.spawn([&](SimThread&) { free_mutex.unlock(); });
  ASSERT_TRUE(free_unlock.run());
  EXPECT_EQ(free_unlock.misuses(MutexMisuse::unlock_when_free), 1u);
  EXPECT_EQ(free_mutex.owner(), nullptr);
}

// A waiter killed while it waits for the mutex ends when woken and is not handed the mutex; the
// next waiter is.
TEST(SyncModel, KilledWaiterIsSkippedByTheHandoff) {
  Sim sim({});
  Mutex mutex;
  Semaphore queued;
  SimThread* victim = nullptr;
  bool victim_got_it = false, last_got_it = false;
  sim.spawn([&](SimThread&) {
    mutex.lock();
    queued.down();
    queued.down();
    sim.kill(*victim);
    mutex.unlock();
  });
  sim.spawn([&](SimThread& self) {
    victim = &self;
    queued.up();
    mutex.lock();
    victim_got_it = true;
  });
  sim.spawn([&](SimThread&) {
    queued.up();
    mutex.lock();
    last_got_it = true;
    mutex.unlock();
  });
  ASSERT_TRUE(sim.run());
  EXPECT_FALSE(victim_got_it);
  EXPECT_TRUE(last_got_it);
  EXPECT_EQ(mutex.owner(), nullptr);
  EXPECT_TRUE(sim.violations().empty());
}

}  // namespace
