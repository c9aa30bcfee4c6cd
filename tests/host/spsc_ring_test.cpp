// Host tests for the interrupt-to-task handoff (kernel/task/, chapter 12): the SPSC ring (with a
// two-thread stress test), AtomicWaker, and the keyboard ScancodeQueue with its drop accounting.
#include "task/spsc_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "task/atomic_waker.h"
#include "task/executor.h"
#include "task/scancode_queue.h"

namespace ferrite::task {
namespace {

// ---------------------------------------------------------------------------------------------
// SpscRing, one thread.

TEST(SpscRing, StartsEmptyAndKeepsFifoOrder) {
  SpscRing<int, 4> ring;
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.try_pop(), std::nullopt);
  EXPECT_TRUE(ring.try_push(1));
  EXPECT_TRUE(ring.try_push(2));
  EXPECT_FALSE(ring.empty());
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_EQ(ring.try_pop(), 1);
  EXPECT_EQ(ring.try_pop(), 2);
  EXPECT_EQ(ring.try_pop(), std::nullopt);
}

TEST(SpscRing, RefusesWhenFullAndUsesEveryslot) {
  SpscRing<int, 3> ring;
  EXPECT_TRUE(ring.try_push(10));
  EXPECT_TRUE(ring.try_push(11));
  EXPECT_TRUE(ring.try_push(12));
  EXPECT_FALSE(ring.try_push(13)) << "capacity 3 holds exactly 3";
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.try_pop(), 10);
  EXPECT_TRUE(ring.try_push(13));
  EXPECT_FALSE(ring.try_push(14));
  EXPECT_EQ(ring.try_pop(), 11);
  EXPECT_EQ(ring.try_pop(), 12);
  EXPECT_EQ(ring.try_pop(), 13);
  EXPECT_EQ(ring.try_pop(), std::nullopt);
}

TEST(SpscRing, WrapsAroundManyTimesWithAnOddCapacity) {
  SpscRing<std::uint32_t, 7> ring;
  std::uint32_t next_in = 0;
  std::uint32_t next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int burst = round % 8;  // sometimes more than fits
    for (int i = 0; i < burst; ++i) {
      if (ring.try_push(next_in)) ++next_in;
    }
    const int drain = (round * 5) % 9;
    for (int i = 0; i < drain; ++i) {
      if (auto value = ring.try_pop()) {
        ASSERT_EQ(*value, next_out);
        ++next_out;
      }
    }
    ASSERT_EQ(ring.size(), next_in - next_out);
    ASSERT_LE(ring.size(), 7u);
  }
  EXPECT_GT(next_out, 1000u);
}

TEST(SpscRing, CapacityOfOne) {
  SpscRing<char, 1> ring;
  EXPECT_TRUE(ring.try_push('a'));
  EXPECT_FALSE(ring.try_push('b'));
  EXPECT_EQ(ring.try_pop(), 'a');
  EXPECT_TRUE(ring.try_push('c'));
  EXPECT_EQ(ring.try_pop(), 'c');
}

// ---------------------------------------------------------------------------------------------
// SpscRing, two threads: nothing lost, duplicated or reordered.

struct Item {
  std::uint64_t sequence;
  std::uint64_t check;  // ~sequence: a torn copy would not match
};

template <std::size_t Capacity>
void stress(std::uint64_t items) {
  SpscRing<Item, Capacity> ring;
  std::atomic<bool> consumer_failed{false};
  std::uint64_t received = 0;
  std::uint64_t full_count = 0;

  std::thread consumer([&] {
    std::uint64_t expected = 0;
    while (expected < items) {
      const std::optional<Item> item = ring.try_pop();
      if (!item) {
        std::this_thread::yield();
        continue;
      }
      if (item->sequence != expected || item->check != ~expected) {
        consumer_failed = true;
        return;
      }
      ++expected;
    }
    received = expected;
  });

  for (std::uint64_t sequence = 0; sequence < items; ++sequence) {
    while (!ring.try_push(Item{sequence, ~sequence})) {
      ++full_count;
      if (consumer_failed) break;
      std::this_thread::yield();
    }
    if (consumer_failed) break;
  }
  consumer.join();

  EXPECT_FALSE(consumer_failed) << "an item was lost, duplicated, reordered or torn";
  EXPECT_EQ(received, items);
  EXPECT_TRUE(ring.empty());
  std::printf("  capacity %zu: %llu items, producer found the ring full %llu times\n", Capacity,
              static_cast<unsigned long long>(items), static_cast<unsigned long long>(full_count));
}

TEST(SpscRingStress, TwoThreadsMillionsOfItemsSmallRing) {
  stress<100>(3'000'000);
}
TEST(SpscRingStress, TwoThreadsMillionsOfItemsTinyRing) {
  stress<3>(1'000'000);
}

// ---------------------------------------------------------------------------------------------
// AtomicWaker, with a real executor behind the wakers.

// Suspends once, leaving its waker in an AtomicWaker.
struct ParkIn {
  AtomicWaker& slot;
  bool await_ready() const { return false; }
  template <TaskPromise Promise>
  void await_suspend(std::coroutine_handle<Promise> self) {
    slot.register_waker(waker_for(self));
  }
  void await_resume() const {}
};

Task<> park_then_count(AtomicWaker& slot, int* resumed) {
  co_await ParkIn{slot};
  ++*resumed;
}

TEST(AtomicWaker, WakeWakesTheRegisteredTaskOnce) {
  ExecutorStorage<2> storage;
  Executor executor{storage};
  AtomicWaker slot;
  int resumed = 0;
  ASSERT_TRUE(executor.spawn(park_then_count(slot, &resumed)).has_value());
  executor.run_until_idle();
  EXPECT_EQ(resumed, 0);
  slot.wake();
  slot.wake();  // the waker was taken by the first wake: nothing left to wake
  EXPECT_EQ(executor.run_until_idle(), 1u);
  EXPECT_EQ(resumed, 1);
}

TEST(AtomicWaker, WakeWithNothingRegisteredDoesNothing) {
  AtomicWaker slot;
  slot.wake();
  EXPECT_TRUE(slot.take().wakes_nothing());
}

TEST(AtomicWaker, TakeHandsOutTheWakerOnce) {
  ExecutorStorage<2> storage;
  Executor executor{storage};
  AtomicWaker slot;
  int resumed = 0;
  ASSERT_TRUE(executor.spawn(park_then_count(slot, &resumed)).has_value());
  executor.run_until_idle();
  const Waker taken = slot.take();
  EXPECT_FALSE(taken.wakes_nothing());
  EXPECT_TRUE(slot.take().wakes_nothing());
  taken.wake();
  executor.run_until_idle();
  EXPECT_EQ(resumed, 1);
}

TEST(AtomicWaker, ANewRegistrationReplacesTheOldOne) {
  ExecutorStorage<2> storage;
  Executor executor{storage};
  AtomicWaker slot;
  int resumed = 0;
  ASSERT_TRUE(executor
                  .spawn([](AtomicWaker& s, int* n) -> Task<> {
                    co_await ParkIn{s};
                    ++*n;
                    co_await ParkIn{s};
                    ++*n;
                  }(slot, &resumed))
                  .has_value());
  executor.run_until_idle();
  slot.wake();
  executor.run_until_idle();
  EXPECT_EQ(resumed, 1);
  slot.wake();  // wakes the second wait, not a stale copy of the first
  executor.run_until_idle();
  EXPECT_EQ(resumed, 2);
}

// ---------------------------------------------------------------------------------------------
// ScancodeQueue: the keyboard stream.

TEST(ScancodeQueue, DefaultCapacityIsTheSeeds) {
  EXPECT_EQ(ScancodeQueue<>::capacity(), 100u);
}

TEST(ScancodeQueue, CountsDropsAndSignalsTheWarningOncePerBurst) {
  ScancodeQueue<4> queue;
  for (std::uint8_t code = 1; code <= 4; ++code) {
    EXPECT_EQ(queue.push(code), ScancodePush::queued);
  }
  EXPECT_EQ(queue.push(5), ScancodePush::dropped_first_of_burst);
  EXPECT_EQ(queue.push(6), ScancodePush::dropped);
  EXPECT_EQ(queue.push(7), ScancodePush::dropped);
  EXPECT_EQ(queue.dropped(), 3u);

  EXPECT_EQ(queue.try_pop(), 1);  // the consumer makes room: the burst ends with the next push
  EXPECT_EQ(queue.push(8), ScancodePush::queued);
  EXPECT_EQ(queue.push(9), ScancodePush::dropped_first_of_burst) << "a new burst warns again";
  EXPECT_EQ(queue.dropped(), 4u);

  std::vector<int> received;
  while (auto code = queue.try_pop()) received.push_back(*code);
  EXPECT_EQ(received, (std::vector<int>{2, 3, 4, 8})) << "only dropped scancodes are missing";
  EXPECT_EQ(scancode_queue_full_warning, "scancode queue full; dropping keyboard input");
}

Task<> read_scancodes(ScancodeQueue<>& queue, std::vector<int>* out, std::size_t count) {
  while (out->size() < count) out->push_back(co_await queue.next());
}

TEST(ScancodeQueue, TheTaskSleepsUntilTheInterruptPushes) {
  ExecutorStorage<2> storage;
  Executor executor{storage};
  ScancodeQueue<> queue;
  std::vector<int> received;
  ASSERT_TRUE(executor.spawn(read_scancodes(queue, &received, 3)).has_value());
  executor.run_until_idle();
  EXPECT_TRUE(received.empty());
  EXPECT_FALSE(executor.has_ready_tasks());

  EXPECT_EQ(queue.push(0x1e), ScancodePush::queued);  // "interrupt": the 'A' key
  EXPECT_TRUE(executor.has_ready_tasks());
  executor.run_until_idle();
  EXPECT_EQ(received, (std::vector<int>{0x1e}));

  EXPECT_EQ(queue.push(0x9e), ScancodePush::queued);
  EXPECT_EQ(queue.push(0x30), ScancodePush::queued);
  const std::uint64_t polls_before = executor.stats().polls;
  executor.run_until_idle();
  EXPECT_EQ(received, (std::vector<int>{0x1e, 0x9e, 0x30}));
  EXPECT_EQ(executor.stats().polls - polls_before, 1u) << "queued scancodes need no suspension";
  EXPECT_EQ(executor.stats().live(), 0u);
}

TEST(ScancodeQueue, AFloodLosesOnlyWhatIsReportedAsDropped) {
  ExecutorStorage<2> storage;
  Executor executor{storage};
  ScancodeQueue<> queue;
  std::vector<int> received;
  ASSERT_TRUE(executor.spawn(read_scancodes(queue, &received, 1000)).has_value());
  executor.run_until_idle();

  int warnings = 0;
  int pushed = 0;
  auto flood = [&](int count) {
    for (int i = 0; i < count; ++i) {
      const ScancodePush result = queue.push(static_cast<std::uint8_t>(pushed++ % 256));
      if (result == ScancodePush::dropped_first_of_burst) ++warnings;
    }
  };
  flood(250);  // the keyboard task does not get to run: 150 are lost, one warning
  EXPECT_EQ(queue.dropped(), 150u);
  EXPECT_EQ(warnings, 1);
  executor.run_until_idle();
  ASSERT_EQ(received.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(received[i], i);

  flood(50);  // fits: the task keeps answering
  executor.run_until_idle();
  EXPECT_EQ(received.size(), 150u);
  EXPECT_EQ(received.back(), (pushed - 1) % 256);
  flood(120);
  EXPECT_EQ(warnings, 2);
  EXPECT_EQ(queue.dropped(), 170u);
  executor.run_until_idle();
  EXPECT_EQ(received.size() + queue.dropped(), static_cast<std::size_t>(pushed));
}

}  // namespace
}  // namespace ferrite::task
