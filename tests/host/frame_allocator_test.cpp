// Host tests for the physical frame allocator (chapter 9): every handed-out frame is usable RAM,
// none twice, reserved memory never, freed frames come back, totals add up, misuse panics.
#include "mm/frame_allocator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "boot/boot_info.h"
#include "mm/page_table.h"
#include "mm/physical_memory.h"

namespace ferrite::mm {
namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t kFrame = 4 * KiB;

using boot::MemoryRegion;
using boot::MemoryType;
using boot::PhysicalRange;

// A zeroed buffer playing the physical addresses [0, size). The free list lives in freed frames,
// so every frame a test frees must lie in here; frames only allocated are never touched.
class SimulatedPhysicalMemory {
 public:
  explicit SimulatedPhysicalMemory(std::uint64_t size) : frames_(size / kFrame) {}
  std::uint64_t size() const { return frames_.size() * kFrame; }
  PhysicalMemoryView view() const {
    return PhysicalMemoryView{reinterpret_cast<std::uintptr_t>(frames_.data())};
  }

 private:
  std::vector<PageTable> frames_;  // PageTable only for its size and alignment
};

constexpr std::uint64_t kMemorySize = 32 * MiB;

// Allocates until the allocator says no; fails the test if any frame comes twice.
std::set<std::uint64_t> drain(FrameAllocator& allocator) {
  std::set<std::uint64_t> frames;
  while (const std::optional<Frame4KiB> frame = allocator.allocate()) {
    const bool is_new = frames.insert(frame->start().value()).second;
    EXPECT_TRUE(is_new) << "frame handed out twice: " << std::hex << frame->start().value();
    if (!is_new) break;
  }
  return frames;
}

bool overlaps(std::uint64_t start, std::uint64_t end, std::uint64_t frame) {
  return start < end && start < frame + kFrame && frame < end;
}

// The reference model, frame by frame: usable if wholly inside a usable region, not touched by
// any other region or reserved range, and not in the first MiB.
std::set<std::uint64_t> expected_frames(std::span<const MemoryRegion> map,
                                        std::span<const PhysicalRange> reserved,
                                        std::uint64_t limit) {
  std::set<std::uint64_t> frames;
  for (std::uint64_t frame = 0; frame < limit; frame += kFrame) {
    bool usable = false;
    bool taken = frame < 1 * MiB;
    for (const MemoryRegion& region : map) {
      if (region.type == MemoryType::usable) {
        usable |= region.base <= frame && frame + kFrame <= region.base + region.length;
      } else {
        taken |= overlaps(region.base, region.base + region.length, frame);
      }
    }
    for (const PhysicalRange& range : reserved) {
      taken |= overlaps(range.base, range.base + range.length, frame);
    }
    if (usable && !taken) frames.insert(frame);
  }
  return frames;
}

TEST(FrameAllocator, DrainsExactlyTheUsableFramesOnce) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {
      {.base = 0, .length = 0x9f000, .type = MemoryType::usable},  // low memory: never used
      {.base = 0x9f000, .length = 0x61000, .type = MemoryType::reserved},
      {.base = 1 * MiB, .length = 15 * MiB, .type = MemoryType::usable},
      {.base = 16 * MiB, .length = 1 * MiB, .type = MemoryType::acpi_nvs},
      {.base = 17 * MiB, .length = 15 * MiB, .type = MemoryType::usable},
  };
  const PhysicalRange reserved[] = {
      {.base = 1 * MiB, .length = 2 * MiB},           // kernel image
      {.base = 5 * MiB + 100, .length = 3 * kFrame},  // a module, not page aligned: 4 frames
      {.base = 20 * MiB, .length = 0x2345},           // boot information
  };
  FrameAllocator allocator(map, reserved, memory.view());
  const std::set<std::uint64_t> expected = expected_frames(map, reserved, kMemorySize);

  EXPECT_EQ(allocator.total_frames(), expected.size());
  EXPECT_EQ(allocator.free_frames(), expected.size());
  EXPECT_EQ(allocator.used_frames(), 0u);
  const std::set<std::uint64_t> drained = drain(allocator);
  EXPECT_EQ(drained, expected);
  EXPECT_FALSE(allocator.allocate().has_value());
  EXPECT_EQ(allocator.used_frames(), allocator.total_frames());
  EXPECT_EQ(allocator.free_frames(), 0u);

  // Spot checks, independent of the model.
  EXPECT_FALSE(drained.contains(5 * MiB + 3 * kFrame));  // last frame the module touches
  EXPECT_TRUE(drained.contains(5 * MiB + 4 * kFrame));
  EXPECT_FALSE(drained.contains(20 * MiB + 2 * kFrame));
  EXPECT_TRUE(drained.contains(20 * MiB + 3 * kFrame));
  EXPECT_EQ(*drained.begin(), 3 * MiB);
  for (std::uint64_t frame : drained) EXPECT_EQ(frame % kFrame, 0u);
}

TEST(FrameAllocator, UnalignedUsableRegionsShrinkToWholeFrames) {
  SimulatedPhysicalMemory memory(kMemorySize);
  // [0x100800, 0x105800): only the frames 0x101000..0x104000 lie wholly inside.
  const MemoryRegion map[] = {{.base = 0x10'0800, .length = 0x5000, .type = MemoryType::usable},
                              // Smaller than a frame once aligned: nothing.
                              {.base = 0x20'0001, .length = 0x1ffe, .type = MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view());
  EXPECT_EQ(drain(allocator),
            (std::set<std::uint64_t>{0x10'1000, 0x10'2000, 0x10'3000, 0x10'4000}));
  EXPECT_EQ(allocator.total_frames(), 4u);
}

TEST(FrameAllocator, FirstMiBIsNeverHandedOut) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {{.base = 0, .length = 2 * MiB, .type = MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view());
  const std::set<std::uint64_t> drained = drain(allocator);
  EXPECT_EQ(drained.size(), 256u);
  EXPECT_EQ(*drained.begin(), 1 * MiB);
}

TEST(FrameAllocator, OverlappingAndDuplicateRegionsNeverYieldAFrameTwice) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {
      {.base = 4 * MiB, .length = 4 * MiB, .type = MemoryType::usable},
      {.base = 4 * MiB, .length = 4 * MiB, .type = MemoryType::usable},   // listed twice
      {.base = 6 * MiB, .length = 4 * MiB, .type = MemoryType::usable},   // overlaps
      {.base = 10 * MiB, .length = 1 * MiB, .type = MemoryType::usable},  // touches: merged
      {.base = 2 * MiB, .length = 1 * MiB, .type = MemoryType::usable},   // out of order
      // Claimed as usable above but also reserved by firmware: reserved wins.
      {.base = 7 * MiB, .length = 0x800, .type = MemoryType::reserved},
  };
  FrameAllocator allocator(map, {}, memory.view());
  EXPECT_EQ(allocator.runs().size(), 3u);  // [2,3) MiB, [4,7) MiB, [7 MiB + 4 KiB, 11 MiB)
  const std::set<std::uint64_t> drained = drain(allocator);
  EXPECT_EQ(drained, expected_frames(map, {}, kMemorySize));
  EXPECT_FALSE(drained.contains(7 * MiB));
}

TEST(FrameAllocator, RandomMemoryMapsMatchTheReferenceModel) {
  std::mt19937_64 random(9);
  const MemoryType types[] = {MemoryType::usable, MemoryType::usable, MemoryType::reserved,
                              MemoryType::acpi_reclaimable, MemoryType::bad};
  SimulatedPhysicalMemory memory(20 * MiB);
  for (int round = 0; round < 150; ++round) {
    SCOPED_TRACE(round);
    std::vector<MemoryRegion> map;
    for (int i = 0, n = 1 + static_cast<int>(random() % 12); i < n; ++i) {
      map.push_back({.base = random() % (16 * MiB),
                     .length = random() % (4 * MiB),
                     .type = types[random() % 5]});
    }
    std::vector<PhysicalRange> reserved;
    for (int i = 0, n = static_cast<int>(random() % 6); i < n; ++i) {
      reserved.push_back({.base = random() % (20 * MiB), .length = random() % (512 * KiB)});
    }
    FrameAllocator allocator(map, reserved, memory.view());
    const std::set<std::uint64_t> expected = expected_frames(map, reserved, 20 * MiB);
    ASSERT_EQ(allocator.total_frames(), expected.size());
    ASSERT_EQ(drain(allocator), expected);

    // Free a random half, take it all back: exactly the freed frames return, each once.
    std::set<std::uint64_t> freed;
    for (std::uint64_t frame : expected) {
      if (random() % 2 == 0) {
        allocator.free(*Frame4KiB::starting_at(PhysAddr(frame)));
        freed.insert(frame);
      }
    }
    ASSERT_EQ(allocator.free_frames(), freed.size());
    ASSERT_EQ(drain(allocator), freed);
    ASSERT_EQ(allocator.used_frames(), allocator.total_frames());
  }
}

TEST(FrameAllocator, FreedFramesAreReusedFirstAndTotalsStayConsistent) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {{.base = 1 * MiB, .length = 31 * MiB, .type = MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view());
  const std::uint64_t total = allocator.total_frames();
  EXPECT_EQ(total, 31 * MiB / kFrame);

  std::vector<Frame4KiB> held;
  for (int i = 0; i < 10; ++i) held.push_back(*allocator.allocate());
  EXPECT_EQ(allocator.used_frames(), 10u);
  EXPECT_EQ(allocator.free_frames() + allocator.used_frames(), total);

  allocator.free(held[3]);
  allocator.free(held[7]);
  EXPECT_EQ(allocator.used_frames(), 8u);
  // Last freed, first reused.
  EXPECT_EQ(*allocator.allocate(), held[7]);
  EXPECT_EQ(*allocator.allocate(), held[3]);
  // Then the never-used frames continue where they stopped.
  EXPECT_EQ(allocator.allocate()->start(), held[9].start() + kFrame);
  EXPECT_EQ(allocator.used_frames(), 11u);
  EXPECT_EQ(allocator.free_frames() + allocator.used_frames(), total);
}

TEST(FrameAllocator, AFrameContainingTheFreeMarkerByChanceCanStillBeFreed) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {{.base = 1 * MiB, .length = 1 * MiB, .type = MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view());
  const Frame4KiB a = *allocator.allocate();
  const Frame4KiB b = *allocator.allocate();
  allocator.free(a);
  // Copy a's first bytes (free-list link and marker) into b, as a page-table dump might.
  std::memcpy(memory.view().pointer_to(b.start()), memory.view().pointer_to(a.start()), 64);
  allocator.free(b);  // no false double-free panic
  EXPECT_EQ(allocator.used_frames(), 0u);
  EXPECT_EQ(*allocator.allocate(), b);
  EXPECT_EQ(*allocator.allocate(), a);
}

TEST(FrameAllocator, TooFragmentedMapsLoseOnlyTheExcessAndSayHowMuch) {
  SimulatedPhysicalMemory memory(kMemorySize);
  // 200 separate usable ranges of 2 frames each: only kMaxRuns fit.
  std::vector<MemoryRegion> map;
  for (std::uint64_t i = 0; i < 200; ++i) {
    map.push_back(
        {.base = 2 * MiB + i * 4 * kFrame, .length = 2 * kFrame, .type = MemoryType::usable});
  }
  FrameAllocator allocator(map, {}, memory.view());
  EXPECT_EQ(allocator.runs().size(), FrameAllocator::kMaxRuns);
  EXPECT_EQ(allocator.total_frames(), 2 * FrameAllocator::kMaxRuns);
  EXPECT_EQ(allocator.ignored_frames(), 2 * (200 - FrameAllocator::kMaxRuns));
  EXPECT_EQ(drain(allocator).size(), allocator.total_frames());

  // A reserved range splitting a run when the array is full keeps the larger piece.
  const MemoryRegion one_big[] = {{.base = 2 * MiB, .length = 8 * MiB, .type = MemoryType::usable}};
  std::vector<PhysicalRange> holes;
  for (std::uint64_t i = 1; i <= FrameAllocator::kMaxRuns; ++i) {
    holes.push_back({.base = 2 * MiB + i * 2 * kFrame, .length = kFrame});  // 1 frame hole
  }
  FrameAllocator split(one_big, holes, memory.view());
  EXPECT_EQ(split.runs().size(), FrameAllocator::kMaxRuns);
  EXPECT_EQ(split.total_frames() + split.ignored_frames() + holes.size(), 8 * MiB / kFrame);
  EXPECT_EQ(split.ignored_frames(), 1u);  // the lone frame before the last hole
  EXPECT_EQ(drain(split).size(), split.total_frames());
}

TEST(FrameAllocator, RegionsPastThePhysicalAddressLimitAreCut) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const std::uint64_t near_limit = PhysAddr::kLimit - 2 * kFrame;
  const MemoryRegion map[] = {
      {.base = near_limit, .length = UINT64_MAX - near_limit, .type = MemoryType::usable},
      {.base = PhysAddr::kLimit + 5 * kFrame, .length = 8 * kFrame, .type = MemoryType::usable},
      {.base = UINT64_MAX - kFrame, .length = 10 * kFrame, .type = MemoryType::usable},  // wraps
      {.base = UINT64_MAX - 100, .length = 50, .type = MemoryType::usable},
      {.base = UINT64_MAX - 100, .length = 50, .type = MemoryType::reserved},
  };
  const PhysicalRange reserved[] = {{.base = UINT64_MAX - 10, .length = 100}};
  FrameAllocator allocator(map, reserved, memory.view());
  EXPECT_EQ(drain(allocator), (std::set<std::uint64_t>{near_limit, near_limit + kFrame}));
}

TEST(FrameAllocator, ADefaultConstructedAllocatorHasNothing) {
  FrameAllocator allocator;
  EXPECT_FALSE(allocator.allocate().has_value());
  EXPECT_EQ(allocator.total_frames(), 0u);
  EXPECT_EQ(allocator.free_frames(), 0u);
}

TEST(FrameAllocator, ServesTheMapperThroughFrameSource) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {{.base = 3 * MiB, .length = 1 * MiB, .type = MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view());
  FrameSource& source = allocator;
  EXPECT_EQ(source.allocate_frame()->start(), PhysAddr(3 * MiB));
  EXPECT_EQ(allocator.used_frames(), 1u);
}

TEST(FrameAllocator, InvariantsHoldThroughRandomAllocationAndFree) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {{.base = 1 * MiB, .length = 2 * MiB, .type = MemoryType::usable},
                              {.base = 5 * MiB, .length = 1 * MiB, .type = MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view());
  EXPECT_EQ(allocator.invariant_violation(), std::nullopt);
  std::mt19937_64 random(7);
  std::vector<Frame4KiB> held;
  for (int step = 0; step < 5000; ++step) {
    if (held.empty() || random() % 3 != 0) {
      if (const std::optional<Frame4KiB> frame = allocator.allocate()) held.push_back(*frame);
    } else {
      const std::size_t index = random() % held.size();
      allocator.free(held[index]);
      held[index] = held.back();
      held.pop_back();
    }
    if (step % 97 == 0) {
      ASSERT_EQ(allocator.invariant_violation(), std::nullopt) << "step " << step;
    }
  }
  for (const Frame4KiB frame : held) allocator.free(frame);
  EXPECT_EQ(allocator.used_frames(), 0u);
  EXPECT_EQ(allocator.invariant_violation(), std::nullopt);
}

TEST(FrameAllocator, InvariantCheckSeesAFreeFrameWrittenByItsFormerOwner) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {{.base = 1 * MiB, .length = 1 * MiB, .type = MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view());
  const Frame4KiB a = *allocator.allocate();
  const Frame4KiB b = *allocator.allocate();
  allocator.free(a);
  allocator.free(b);
  ASSERT_EQ(allocator.invariant_violation(), std::nullopt);
  // A use after free: the marker is overwritten.
  std::memset(memory.view().pointer_to<std::byte>(a.start()) + 8, 0xAB, 8);
  EXPECT_NE(allocator.invariant_violation(), std::nullopt);
  // A use after free that writes the link: b's next points back to b (a cycle).
  std::memset(memory.view().pointer_to<std::byte>(a.start()) + 8, 0, 8);
  std::uint64_t* b_next = memory.view().pointer_to<std::uint64_t>(b.start());
  *b_next = b.start().value();
  EXPECT_NE(allocator.invariant_violation(), std::nullopt);
}

// Chapter 15: page tables come back all zero (free_zeroed) and go out again without zeroing.
TEST(FrameAllocator, ZeroedFramesComeBackZeroAndOthersAreZeroedOnDemand) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {{.base = 1 * MiB, .length = 1 * MiB, .type = MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view());
  auto bytes = [&](Frame4KiB frame) { return memory.view().pointer_to<unsigned char>(frame.start()); };
  auto all_zero = [&](Frame4KiB frame) {
    for (std::uint64_t i = 0; i < kFrame; ++i) {
      if (bytes(frame)[i] != 0) return false;
    }
    return true;
  };
  const Frame4KiB table = *allocator.allocate();
  const Frame4KiB page = *allocator.allocate();
  allocator.free_zeroed(table);  // untouched: all zero
  std::memset(bytes(page), 0x5A, kFrame);
  allocator.free(page);
  EXPECT_EQ(allocator.zeroed_frames(), 1u);
  EXPECT_EQ(allocator.used_frames(), 0u);
  EXPECT_EQ(allocator.invariant_violation(), std::nullopt);
  // allocate() takes the dirty frame first; allocate_zeroed() the zeroed one, header and all.
  EXPECT_EQ(*allocator.allocate(), page);
  allocator.free(page);
  const Frame4KiB zeroed = *allocator.allocate_zeroed();
  EXPECT_EQ(zeroed, table);
  EXPECT_TRUE(all_zero(zeroed));
  EXPECT_EQ(allocator.zeroed_frames(), 0u);
  // With the zeroed list empty, a dirty frame is zeroed for the caller.
  const Frame4KiB cleaned = *allocator.allocate_zeroed();
  EXPECT_EQ(cleaned, page);
  EXPECT_TRUE(all_zero(cleaned));
  // allocate() falls back on the zeroed list when the other one is empty.
  allocator.free_zeroed(cleaned);
  EXPECT_EQ(*allocator.allocate(), cleaned);
  EXPECT_EQ(allocator.zeroed_frames(), 0u);
  EXPECT_EQ(allocator.used_frames(), 2u);
  EXPECT_EQ(allocator.invariant_violation(), std::nullopt);
}

TEST(FrameAllocator, InvariantCheckSeesAZeroedFrameThatIsNotZero) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {{.base = 1 * MiB, .length = 1 * MiB, .type = MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view());
  const Frame4KiB a = *allocator.allocate();
  memory.view().pointer_to<unsigned char>(a.start())[100] = 1;  // a table with an entry left
  allocator.free_zeroed(a);
  EXPECT_NE(allocator.invariant_violation(), std::nullopt);
}

// Chapter 14: threads allocate and free at once. Real threads on the host's cores race far
// harder than one CPU's preemption does; each tags the frames it holds, so a frame handed to two
// threads at once shows as a foreign tag. Without the allocator's lock this fails at once.
TEST(FrameAllocator, ConcurrentThreadsNeverHoldTheSameFrame) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {{.base = 1 * MiB, .length = 31 * MiB, .type = MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view());
  constexpr int kThreads = 4;
  constexpr int kRounds = 20'000;
  std::atomic<int> foreign_tags{0};
  std::atomic<int> refusals{0};
  auto work = [&](std::uint64_t id) {
    std::vector<Frame4KiB> held;
    for (int round = 0; round < kRounds; ++round) {
      const int count = 1 + round % 8;
      held.clear();
      for (int i = 0; i < count; ++i) {
        const std::optional<Frame4KiB> frame = allocator.allocate();
        if (!frame) {
          ++refusals;
          return;
        }
        held.push_back(*frame);
        // The tag sits past the free-list header, which free() writes.
        memory.view().pointer_to<std::uint64_t>(frame->start())[2] = id << 32 | std::uint64_t(round);
      }
      for (int i = 0; i < count; ++i) {
        if (memory.view().pointer_to<std::uint64_t>(held[i].start())[2] != (id << 32 | std::uint64_t(round))) {
          ++foreign_tags;
        }
        allocator.free(held[i]);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(work, std::uint64_t(t + 1));
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(foreign_tags.load(), 0);
  EXPECT_EQ(refusals.load(), 0);
  EXPECT_EQ(allocator.used_frames(), 0u);
  EXPECT_EQ(allocator.invariant_violation(), std::nullopt);
}

// The kernel passes its save/restore of the interrupt flag: allocate and free run between one
// save and the matching restore, which gets back what the save returned.
namespace interrupt_hooks {
int depth = 0;
int saves = 0;
bool save() {
  ++saves;
  ++depth;
  return saves % 2 == 0;  // alternate "were enabled" answers
}
void restore(bool were_enabled) {
  EXPECT_EQ(were_enabled, saves % 2 == 0);
  --depth;
}
}  // namespace interrupt_hooks

TEST(FrameAllocator, HoldsInterruptsOffThroughTheHooksItWasGiven) {
  SimulatedPhysicalMemory memory(kMemorySize);
  const MemoryRegion map[] = {{.base = 1 * MiB, .length = 1 * MiB, .type = MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view(), {interrupt_hooks::save, interrupt_hooks::restore});
  const Frame4KiB frame = *allocator.allocate();
  EXPECT_EQ(interrupt_hooks::saves, 1);
  allocator.free(frame);
  EXPECT_EQ(interrupt_hooks::saves, 2);
  EXPECT_EQ(allocator.invariant_violation(), std::nullopt);
  EXPECT_EQ(interrupt_hooks::saves, 3);
  EXPECT_EQ(interrupt_hooks::depth, 0);
}

class FrameAllocatorDeathTest : public ::testing::Test {
 protected:
  SimulatedPhysicalMemory memory{kMemorySize};
  const MemoryRegion map[2] = {
      {.base = 2 * MiB, .length = 1 * MiB, .type = MemoryType::usable},
      {.base = 3 * MiB, .length = 1 * MiB, .type = MemoryType::reserved},
  };
  FrameAllocator allocator{map, {}, memory.view()};
};

TEST_F(FrameAllocatorDeathTest, FreeingAFrameOutsideUsableMemoryPanics) {
  EXPECT_DEATH(allocator.free(*Frame4KiB::starting_at(PhysAddr(3 * MiB))), "not in usable memory");
  EXPECT_DEATH(allocator.free(*Frame4KiB::starting_at(PhysAddr(0x1000))), "not in usable memory");
}

TEST_F(FrameAllocatorDeathTest, FreeingAFrameNeverHandedOutPanics) {
  const Frame4KiB first = *allocator.allocate();
  EXPECT_DEATH(allocator.free(first + 1), "never allocated");
}

TEST_F(FrameAllocatorDeathTest, DoubleFreePanics) {
  const Frame4KiB a = *allocator.allocate();
  const Frame4KiB b = *allocator.allocate();
  allocator.free(a);
  EXPECT_DEATH(allocator.free(a), "double free");
  allocator.free(b);  // a is now second on the list: still found
  EXPECT_DEATH(allocator.free(a), "double free");
  EXPECT_DEATH(allocator.free_zeroed(a), "double free");  // whichever list it is on
  const Frame4KiB c = *allocator.allocate();
  allocator.free_zeroed(c);
  EXPECT_DEATH(allocator.free(c), "double free");
}

}  // namespace
}  // namespace ferrite::mm
