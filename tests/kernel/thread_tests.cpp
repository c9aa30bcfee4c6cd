// Chapter 13 in the shared test image: kernel threads, preemption, sleeping, and the blocking
// primitives. The tests run on thread "main" (high priority); the threads they start are normal
// priority, so they run while main waits in join() or sleeps.
#include <array>
#include <atomic>
#include <cstdint>

#include "arch/x86_64/cpu.h"
#include "console/console.h"
#include "console/print.h"
#include "sched/scheduler.h"
#include "sched/sync.h"
#include "test/ktest.h"
#include "time/clock.h"

namespace sched = ferrite::sched;
using ferrite::println;

namespace {

sched::Thread* start(std::string_view name, sched::ThreadEntry entry, void* argument = nullptr,
                     sched::Priority priority = sched::Priority::normal) {
  auto thread = sched::spawn(name, entry, argument, priority);
  if (!thread) {
    println("  spawn failed: {}", sched::to_string(thread.error()));
    return nullptr;
  }
  return *thread;
}

// ----- mutex counter ---------------------------------------------------------------------------
constexpr int kCounterThreads = 4;
constexpr int kIncrements = 20'000;
constinit sched::Mutex counter_mutex{"counter"};
constinit std::uint64_t shared_counter = 0;

std::int64_t increment_under_mutex(void*) {
  for (int i = 0; i < kIncrements; ++i) {
    sched::MutexGuard guard(counter_mutex);
    // Read, maybe give the CPU away, write: without the mutex, increments would be lost.
    const std::uint64_t value = shared_counter;
    if (i % 97 == 0) sched::yield();
    shared_counter = value + 1;
  }
  return 0;
}

// ----- producer / consumer ---------------------------------------------------------------------
constexpr std::uint32_t kItems = 100'000;
constexpr std::size_t kRingSize = 16;

struct Channel {
  std::array<std::uint32_t, kRingSize> ring{};
  std::size_t head = 0, tail = 0, count = 0;
  std::array<std::uint8_t, kItems / 8> seen{};
  std::uint32_t received = 0, duplicates = 0, out_of_order = 0;
  std::uint32_t last = 0;
  bool first = true;

  void record(std::uint32_t item) {
    if ((seen[item / 8] >> (item % 8) & 1) != 0) ++duplicates;
    seen[item / 8] = static_cast<std::uint8_t>(seen[item / 8] | 1u << (item % 8));
    if (!first && item != last + 1) ++out_of_order;
    first = false;
    last = item;
    ++received;
  }
  [[nodiscard]] std::uint32_t missing() const {
    std::uint32_t count_missing = 0;
    for (std::uint32_t i = 0; i < kItems; ++i) count_missing += (seen[i / 8] >> (i % 8) & 1) == 0;
    return count_missing;
  }
};

// Semaphores: `slots` counts free ring entries, `items` filled ones; a mutex guards the indices.
constinit Channel semaphore_channel{};
constinit sched::Semaphore free_slots{kRingSize};
constinit sched::Semaphore filled_slots{0};
constinit sched::Mutex ring_mutex{"ring"};

std::int64_t semaphore_producer(void*) {
  for (std::uint32_t i = 0; i < kItems; ++i) {
    free_slots.down();
    {
      sched::MutexGuard guard(ring_mutex);
      semaphore_channel.ring[semaphore_channel.tail] = i;
      semaphore_channel.tail = (semaphore_channel.tail + 1) % kRingSize;
    }
    filled_slots.up();
  }
  return 0;
}

std::int64_t semaphore_consumer(void*) {
  for (std::uint32_t i = 0; i < kItems; ++i) {
    filled_slots.down();
    std::uint32_t item;
    {
      sched::MutexGuard guard(ring_mutex);
      item = semaphore_channel.ring[semaphore_channel.head];
      semaphore_channel.head = (semaphore_channel.head + 1) % kRingSize;
    }
    free_slots.up();
    semaphore_channel.record(item);
  }
  return 0;
}

// Condition variables: one mutex, "not full" and "not empty".
constinit Channel condvar_channel{};
constinit sched::Mutex condvar_mutex{"condvar ring"};
constinit sched::ConditionVariable not_full{};
constinit sched::ConditionVariable not_empty{};

std::int64_t condvar_producer(void*) {
  for (std::uint32_t i = 0; i < kItems; ++i) {
    sched::MutexGuard guard(condvar_mutex);
    while (condvar_channel.count == kRingSize) not_full.wait(condvar_mutex);
    condvar_channel.ring[condvar_channel.tail] = i;
    condvar_channel.tail = (condvar_channel.tail + 1) % kRingSize;
    ++condvar_channel.count;
    not_empty.notify_one();
  }
  return 0;
}

std::int64_t condvar_consumer(void*) {
  for (std::uint32_t i = 0; i < kItems; ++i) {
    std::uint32_t item;
    {
      sched::MutexGuard guard(condvar_mutex);
      while (condvar_channel.count == 0) not_empty.wait(condvar_mutex);
      item = condvar_channel.ring[condvar_channel.head];
      condvar_channel.head = (condvar_channel.head + 1) % kRingSize;
      --condvar_channel.count;
      not_full.notify_one();
    }
    condvar_channel.record(item);
  }
  return 0;
}

// ----- spinning ----------------------------------------------------------------------------------
constinit std::array<std::atomic<std::uint64_t>, 2> spins{};

std::int64_t spin_forever(void* argument) {
  auto& counter = *static_cast<std::atomic<std::uint64_t>*>(argument);
  for (;;) counter.fetch_add(1, std::memory_order_relaxed);  // never yields, never blocks
}

}  // namespace

KTEST(threads_run_and_return_exit_values_to_join) {
  std::array<sched::Thread*, 4> threads{};
  for (std::size_t i = 0; i < threads.size(); ++i) {
    threads[i] = start("worker", [](void* argument) -> std::int64_t {
      return reinterpret_cast<std::intptr_t>(argument) * 10;
    }, reinterpret_cast<void*>(i + 1));
    KASSERT(threads[i] != nullptr);
  }
  for (std::size_t i = 0; i < threads.size(); ++i) {
    KEXPECT_EQ(sched::join(*threads[i]), static_cast<std::int64_t>((i + 1) * 10));
  }
}

KTEST(threads_under_a_mutex_count_exactly) {
  shared_counter = 0;
  std::array<sched::Thread*, kCounterThreads> threads{};
  for (auto& thread : threads) {
    thread = start("counter", increment_under_mutex);
    KASSERT(thread != nullptr);
  }
  for (auto* thread : threads) (void)sched::join(*thread);
  println("  {} threads x {} increments: counter {}", kCounterThreads, kIncrements, shared_counter);
  KEXPECT_EQ(shared_counter, std::uint64_t{kCounterThreads} * kIncrements);
}

KTEST(mutex_misuse_is_reported) {
  sched::Mutex mutex{"misused"};
  const std::uint64_t before = sched::mutex_misuse_count();
  mutex.lock();
  mutex.lock();  // re-lock by the owner: reported, not a silent deadlock
  KEXPECT_EQ(sched::mutex_misuse_count(), before + 1);
  KEXPECT(mutex.held_by_current());
  static constinit sched::Mutex* shared = nullptr;
  shared = &mutex;
  sched::Thread* other = start("intruder", [](void*) -> std::int64_t {
    shared->unlock();  // not the owner: reported and refused
    return 0;
  });
  KASSERT(other != nullptr);
  (void)sched::join(*other);
  KEXPECT_EQ(sched::mutex_misuse_count(), before + 2);
  KEXPECT(mutex.held_by_current());
  mutex.unlock();
  mutex.unlock();  // nobody holds it
  KEXPECT_EQ(sched::mutex_misuse_count(), before + 3);
}

// Runs a producer and a consumer thread over `channel` to the end and checks that every item
// arrived exactly once, in order.
static void check_producer_consumer(Channel& channel, std::string_view consumer_name,
                                    sched::ThreadEntry consumer_entry, std::string_view producer_name,
                                    sched::ThreadEntry producer_entry) {
  channel = {};
  sched::Thread* consumer = start(consumer_name, consumer_entry);
  sched::Thread* producer = start(producer_name, producer_entry);
  KASSERT(consumer != nullptr && producer != nullptr);
  (void)sched::join(*producer);
  (void)sched::join(*consumer);
  const Channel& c = channel;
  println("  {} items: {} received, {} missing, {} duplicated, {} out of order", kItems, c.received,
          c.missing(), c.duplicates, c.out_of_order);
  KEXPECT_EQ(c.received, kItems);
  KEXPECT_EQ(c.missing(), 0u);
  KEXPECT_EQ(c.duplicates, 0u);
  KEXPECT_EQ(c.out_of_order, 0u);
}

KTEST(producer_consumer_over_semaphores_loses_and_duplicates_nothing) {
  check_producer_consumer(semaphore_channel, "sem consumer", semaphore_consumer, "sem producer",
                          semaphore_producer);
}

KTEST(producer_consumer_over_condition_variables_loses_and_duplicates_nothing) {
  check_producer_consumer(condvar_channel, "cv consumer", condvar_consumer, "cv producer",
                          condvar_producer);
}

// Two threads that never yield share the CPU anyway: the APIC timer preempts them. Then `kill`.
KTEST(busy_threads_are_preempted_and_can_be_killed) {
  for (auto& s : spins) s.store(0);
  sched::Thread* a = start("spin a", spin_forever, &spins[0]);
  sched::Thread* b = start("spin b", spin_forever, &spins[1]);
  KASSERT(a != nullptr && b != nullptr);
  const std::uint64_t switches = sched::context_switches();
  sched::sleep_for_ns(100'000'000);  // main sleeps; a and b take turns by time slice
  const std::uint64_t a_spins = spins[0].load(), b_spins = spins[1].load();
  println("  after 100 ms: a spun {}, b spun {}, {} context switches", a_spins, b_spins,
          sched::context_switches() - switches);
  KEXPECT(a_spins > 0 && b_spins > 0);
  KEXPECT(sched::context_switches() - switches >= 4);  // slices of 10 ms, not one long run
  KEXPECT(sched::kill(a->id) == sched::KillResult::killed);
  KEXPECT(sched::kill(b->id) == sched::KillResult::killed);
  KEXPECT_EQ(sched::join(*a), sched::kKilledExitValue);
  KEXPECT_EQ(sched::join(*b), sched::kKilledExitValue);
  const std::uint64_t frozen = spins[0].load();
  sched::sleep_for_ns(20'000'000);
  KEXPECT_EQ(spins[0].load(), frozen);  // dead threads do not run
}

// Sleep accuracy against the TSC clock: never early, and late by at most a few ticks.
KTEST(thread_sleep_is_never_early) {
  std::uint64_t worst_late = 0;
  for (std::uint64_t ms : {1, 5, 10, 20}) {
    const std::uint64_t start = ferrite::time::now_ns();
    const std::uint64_t deadline = start + ms * 1'000'000;
    sched::sleep_until_ns(deadline);
    const std::uint64_t woke = ferrite::time::now_ns();
    KEXPECT(woke >= deadline);
    worst_late = woke - deadline > worst_late ? woke - deadline : worst_late;
  }
  println("  worst lateness {} us", worst_late / 1000);
  KEXPECT(worst_late < 30'000'000);  // ticks are 1 ms; a busy host may delay a few
}

// A thread killed while it waits for a mutex ends when the mutex is released, and the mutex is
// not handed to it (else it would stay locked forever).
KTEST(killing_a_mutex_waiter_does_not_leave_the_mutex_locked) {
  static constinit sched::Mutex mutex{"contended"};
  mutex.lock();
  sched::Thread* waiter = start("waiter", [](void*) -> std::int64_t {
    mutex.lock();
    mutex.unlock();
    return 1;
  });
  KASSERT(waiter != nullptr);
  sched::sleep_for_ns(5'000'000);  // the waiter runs and blocks on the mutex
  KEXPECT(waiter->state == sched::State::blocked);
  KEXPECT(sched::kill(waiter->id) == sched::KillResult::pending);
  mutex.unlock();
  KEXPECT_EQ(sched::join(*waiter), sched::kKilledExitValue);
  KEXPECT(mutex.try_lock());
  mutex.unlock();
}

// The console lock is held with interrupts on (console.h), so its holder can be preempted — by
// the shell's high-priority thread, say, woken by a key while a program writes. Waiting for the
// console by spinning, that thread would never let the normal-priority holder run again (strict
// priorities, sched/run_queue.h): the kernel would hang. It must sleep until the holder lets go.
KTEST(a_high_priority_thread_waiting_for_the_console_lets_its_holder_finish) {
  static constinit std::atomic<int> phase{0};
  phase.store(0);
  sched::Thread* holder = start("console holder", [](void*) -> std::int64_t {
    ferrite::console::Locked console;
    phase.store(1);
    // Main wakes from its sleep meanwhile and preempts us here, the console held.
    ferrite::time::spin_until_ns(ferrite::time::now_ns() + 100'000'000);
    phase.store(2);
    return 0;
  });
  KASSERT(holder != nullptr);
  while (phase.load() == 0) sched::sleep_for_ns(1'000'000);
  KEXPECT_EQ(phase.load(), 1);  // we preempted the holder
  int seen = 0;
  {
    ferrite::console::Locked console;  // before: spun here for good
    seen = phase.load();
  }
  KEXPECT_EQ(seen, 2);  // ours only once the holder had finished with it
  KEXPECT_EQ(sched::join(*holder), 0);
}
