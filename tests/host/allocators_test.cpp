// Host tests of the chapter 11 allocator designs (kernel/mm/allocators): the seed's heap tests,
// every bad request, growth, coalescing, debug-mode panics, and each allocator against a
// reference model over a million random operations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <vector>

#include "mm/allocators/bump.h"
#include "mm/allocators/fixed_block.h"
#include "mm/allocators/linked_list.h"
#include "mm/allocators/tlsf.h"

namespace ferrite::mm {
namespace {

constexpr std::size_t kSeedHeapSize = 100 * 1024;  // the seed's HEAP_SIZE
constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();

std::uintptr_t address(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

// Page-aligned memory for a heap, with room to place the heap at an odd offset inside it.
class Memory {
 public:
  explicit Memory(std::size_t bytes)
      : bytes_(bytes), base_(static_cast<std::byte*>(::operator new(bytes, kAlign))) {
    std::memset(base_, 0, bytes_);
  }
  ~Memory() { ::operator delete(base_, bytes_, kAlign); }
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;

  std::span<std::byte> all() { return {base_, bytes_}; }
  std::span<std::byte> part(std::size_t offset, std::size_t length) {
    return all().subspan(offset, length);
  }

 private:
  static constexpr std::align_val_t kAlign{4096};
  std::size_t bytes_;
  std::byte* base_;
};

// ---------------------------------------------------------------------------------------------
// What differs between the designs, for the typed tests below.

template <class A>
struct Traits;

template <>
struct Traits<BumpAllocator> {
  static std::size_t bytes_counted(std::size_t size, std::size_t) { return size; }
  static constexpr bool kReusesMemory = false;  // only once everything is freed
  // A heap with nothing live has every byte free.
  static void expect_fully_free(BumpAllocator& allocator) {
    EXPECT_EQ(allocator.stats().free_bytes, allocator.stats().heap_bytes);
  }
};

template <>
struct Traits<LinkedListAllocator> {
  static std::size_t bytes_counted(std::size_t size, std::size_t) { return size; }
  static constexpr bool kReusesMemory = true;
  static void expect_fully_free(LinkedListAllocator& allocator) {
    EXPECT_EQ(allocator.stats().free_bytes, allocator.stats().heap_bytes);
    EXPECT_EQ(allocator.free_region_count(), 1u);
  }
};

template <>
struct Traits<TlsfAllocator> {
  static std::size_t bytes_counted(std::size_t size, std::size_t) { return size; }
  static constexpr bool kReusesMemory = true;
  static void expect_fully_free(TlsfAllocator& allocator) {
    // Everything but the sentinel header at the end (parked blocks count as free)...
    EXPECT_EQ(allocator.stats().free_bytes,
              allocator.stats().heap_bytes - TlsfAllocator::kHeaderBytes);
    // ... and in one block, once the parked ones have merged.
    allocator.flush_quick_lists();
    allocator.check_invariants();
    EXPECT_EQ(allocator.free_block_count(), 1u);
  }
};

template <>
struct Traits<FixedBlockAllocator> {
  // stats().bytes_in_use counts whole blocks for list requests (fixed_block.h).
  static std::size_t bytes_counted(std::size_t size, std::size_t align) {
    if (size == 0) return 0;
    std::size_t block = std::bit_ceil(std::max({size, align, FixedBlockAllocator::kSmallestBlock}));
    return block <= FixedBlockAllocator::kLargestBlock ? block : size;
  }
  static constexpr bool kReusesMemory = true;
  static void expect_fully_free(FixedBlockAllocator& allocator) {
    EXPECT_EQ(allocator.stats().allocation_count, 0u);
    allocator.release_cached_blocks();
    EXPECT_EQ(allocator.cached_block_count(), 0u);
    EXPECT_EQ(allocator.stats().free_bytes,
              allocator.stats().heap_bytes - TlsfAllocator::kHeaderBytes);
    EXPECT_EQ(allocator.fallback().free_block_count(), 1u);
  }
};

template <class A>
class AllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

using AllocatorTypes =
    ::testing::Types<BumpAllocator, LinkedListAllocator, TlsfAllocator, FixedBlockAllocator>;

class AllocatorNames {
 public:
  template <class A>
  static std::string GetName(int) {
    return std::string(A().name());
  }
};

TYPED_TEST_SUITE(AllocatorTest, AllocatorTypes, AllocatorNames);

// ---------------------------------------------------------------------------------------------
// The seed's heap tests (blog_os tests/heap_allocation.rs), through the Allocator interface.

template <class T>
T* make_box(Allocator& allocator, T value) {
  void* memory = allocator.allocate(sizeof(T), alignof(T));
  return memory == nullptr ? nullptr : ::new (memory) T(value);
}

template <class T>
void drop_box(Allocator& allocator, T* box) {
  allocator.deallocate(box, sizeof(T), alignof(T));
}

// The seed's Vec<u64>: capacity doubles (from 4, as Rust's Vec does for 8-byte elements), each
// growth allocates, copies and frees.
class U64Vec {
 public:
  explicit U64Vec(Allocator& allocator) : allocator_(allocator) {}
  ~U64Vec() {
    if (data_ != nullptr) allocator_.deallocate(data_, capacity_ * 8, 8);
  }
  U64Vec(const U64Vec&) = delete;
  U64Vec& operator=(const U64Vec&) = delete;

  [[nodiscard]] bool push(std::uint64_t value) {
    if (size_ == capacity_) {
      std::size_t new_capacity = capacity_ == 0 ? 4 : capacity_ * 2;
      auto* new_data = static_cast<std::uint64_t*>(allocator_.allocate(new_capacity * 8, 8));
      if (new_data == nullptr) return false;
      if (data_ != nullptr) {
        std::memcpy(new_data, data_, size_ * 8);
        allocator_.deallocate(data_, capacity_ * 8, 8);
      }
      data_ = new_data;
      capacity_ = new_capacity;
    }
    data_[size_++] = value;
    return true;
  }
  std::span<const std::uint64_t> items() const { return {data_, size_}; }

 private:
  Allocator& allocator_;
  std::uint64_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

TYPED_TEST(AllocatorTest, SimpleAllocation) {
  Memory memory(kSeedHeapSize);
  TypeParam typed(memory.all());
  Allocator& allocator = typed;
  auto* heap_value_1 = make_box<std::uint64_t>(allocator, 41);
  auto* heap_value_2 = make_box<std::uint64_t>(allocator, 13);
  ASSERT_NE(heap_value_1, nullptr);
  ASSERT_NE(heap_value_2, nullptr);
  EXPECT_EQ(*heap_value_1, 41u);
  EXPECT_EQ(*heap_value_2, 13u);
  EXPECT_EQ(allocator.stats().allocation_count, 2u);
  EXPECT_EQ(allocator.stats().bytes_in_use, 16u);
  drop_box(allocator, heap_value_1);
  drop_box(allocator, heap_value_2);
  EXPECT_EQ(allocator.stats().allocation_count, 0u);
  allocator.check_invariants();
  Traits<TypeParam>::expect_fully_free(typed);
}

TYPED_TEST(AllocatorTest, LargeVec) {
  Memory memory(kSeedHeapSize);
  TypeParam typed(memory.all());
  constexpr std::uint64_t n = 1000;
  {
    U64Vec vec(typed);
    for (std::uint64_t i = 0; i < n; ++i) ASSERT_TRUE(vec.push(i)) << "push " << i;
    std::uint64_t sum = 0;
    for (std::uint64_t value : vec.items()) sum += value;
    EXPECT_EQ(sum, (n - 1) * n / 2);
    EXPECT_EQ(typed.stats().allocation_count, 1u);
  }
  typed.check_invariants();
  Traits<TypeParam>::expect_fully_free(typed);
}

TYPED_TEST(AllocatorTest, ManyBoxes) {
  Memory memory(kSeedHeapSize);
  TypeParam typed(memory.all());
  for (std::uint64_t i = 0; i < kSeedHeapSize; ++i) {
    auto* x = make_box<std::uint64_t>(typed, i);
    ASSERT_NE(x, nullptr) << "iteration " << i;
    ASSERT_EQ(*x, i);
    drop_box(typed, x);
  }
  typed.check_invariants();
  Traits<TypeParam>::expect_fully_free(typed);
}

TYPED_TEST(AllocatorTest, ManyBoxesLongLived) {
  Memory memory(kSeedHeapSize);
  TypeParam typed(memory.all());
  auto* long_lived = make_box<std::uint64_t>(typed, 1);
  ASSERT_NE(long_lived, nullptr);
  for (std::uint64_t i = 0; i < kSeedHeapSize; ++i) {
    auto* x = make_box<std::uint64_t>(typed, i);
    if constexpr (!Traits<TypeParam>::kReusesMemory) {
      // The bump allocator cannot reuse memory while `long_lived` lives: it runs out exactly
      // when the heap is full of 8-byte boxes, which is the point of the seed's test.
      if (i + 1 == kSeedHeapSize / 8) {
        ASSERT_EQ(x, nullptr);
        break;
      }
    }
    ASSERT_NE(x, nullptr) << "iteration " << i;
    ASSERT_EQ(*x, i);
    drop_box(typed, x);
  }
  EXPECT_EQ(*long_lived, 1u);
  drop_box(typed, long_lived);
  typed.check_invariants();
  Traits<TypeParam>::expect_fully_free(typed);
}

// ---------------------------------------------------------------------------------------------
// Bad requests: each has one defined outcome.

TYPED_TEST(AllocatorTest, ZeroSizeRequestsGetDistinctPointers) {
  Memory memory(4096);
  TypeParam allocator(memory.all());
  void* first = allocator.allocate(0, 1);
  void* second = allocator.allocate(0, 1);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first, second);
  EXPECT_EQ(allocator.stats().allocation_count, 2u);
  EXPECT_EQ(allocator.stats().bytes_in_use, 0u);
  allocator.deallocate(first, 0, 1);
  allocator.deallocate(second, 0, 1);
  EXPECT_EQ(allocator.stats().allocation_count, 0u);
  allocator.check_invariants();
  Traits<TypeParam>::expect_fully_free(allocator);
}

TYPED_TEST(AllocatorTest, NonPowerOfTwoAlignmentIsRejected) {
  Memory memory(4096);
  TypeParam allocator(memory.all());
  AllocatorStats before = allocator.stats();
  for (std::size_t align : {std::size_t{0}, std::size_t{3}, std::size_t{6}, std::size_t{24},
                            std::size_t{48}, std::size_t{4097}, kMax}) {
    EXPECT_EQ(allocator.allocate(8, align), nullptr) << "align " << align;
  }
  AllocatorStats after = allocator.stats();
  EXPECT_EQ(after.allocation_count, before.allocation_count);
  EXPECT_EQ(after.free_bytes, before.free_bytes);
  allocator.check_invariants();
}

TYPED_TEST(AllocatorTest, SizeOverflowIsRejected) {
  Memory memory(4096);
  TypeParam allocator(memory.all());
  AllocatorStats before = allocator.stats();
  EXPECT_EQ(allocator.allocate(kMax, 1), nullptr);
  EXPECT_EQ(allocator.allocate(kMax, 16), nullptr);
  EXPECT_EQ(allocator.allocate(kMax - 8, 16), nullptr);  // size + align wraps
  EXPECT_EQ(allocator.allocate(kMax - 15, 16), nullptr);
  EXPECT_EQ(allocator.allocate(kMax / 2 + 1, std::size_t{1} << 63), nullptr);
  EXPECT_EQ(allocator.allocate(8, std::size_t{1} << 63), nullptr);  // alignment beyond the heap
  EXPECT_EQ(allocator.stats().free_bytes, before.free_bytes);
  EXPECT_EQ(allocator.stats().allocation_count, 0u);
  allocator.check_invariants();
}

TYPED_TEST(AllocatorTest, RequestLargerThanTheHeapIsRejected) {
  Memory memory(4096);
  TypeParam allocator(memory.all());
  EXPECT_EQ(allocator.allocate(allocator.stats().heap_bytes + 1, 8), nullptr);
  EXPECT_EQ(allocator.allocate(8, 8192), nullptr);
  EXPECT_EQ(allocator.stats().allocation_count, 0u);
}

TYPED_TEST(AllocatorTest, ExhaustionReturnsNullAndFreeingRecoversEverything) {
  Memory memory(kSeedHeapSize);
  TypeParam allocator(memory.all());
  std::vector<void*> blocks;
  while (void* block = allocator.allocate(64, 16)) blocks.push_back(block);
  // At most 16 bytes of bookkeeping per block, so at least 4/5 of the heap was handed out.
  EXPECT_GE(blocks.size(), allocator.stats().heap_bytes / 80 - 1);
  EXPECT_EQ(allocator.allocate(64, 16), nullptr);  // stays exhausted
  allocator.check_invariants();

  std::mt19937_64 random(7);
  std::shuffle(blocks.begin(), blocks.end(), random);
  std::size_t first_round = blocks.size();
  for (void* block : blocks) allocator.deallocate(block, 64, 16);
  allocator.check_invariants();
  Traits<TypeParam>::expect_fully_free(allocator);

  blocks.clear();
  while (void* block = allocator.allocate(64, 16)) blocks.push_back(block);
  EXPECT_EQ(blocks.size(), first_round);
  for (void* block : blocks) allocator.deallocate(block, 64, 16);
}

TYPED_TEST(AllocatorTest, DeallocatingNullDoesNothing) {
  Memory memory(4096);
  TypeParam allocator(memory.all());
  void* block = allocator.allocate(32, 8);
  ASSERT_NE(block, nullptr);
  allocator.deallocate(nullptr, 32, 8);
  EXPECT_EQ(allocator.stats().allocation_count, 1u);
  allocator.deallocate(block, 32, 8);
  EXPECT_EQ(allocator.stats().allocation_count, 0u);
}

TYPED_TEST(AllocatorTest, EveryAlignmentIsHonoured) {
  Memory memory(256 * 1024);
  TypeParam allocator(memory.all());
  std::vector<std::pair<void*, std::pair<std::size_t, std::size_t>>> blocks;
  for (std::size_t align = 1; align <= 8192; align *= 2) {
    for (std::size_t size :
         {std::size_t{1}, std::size_t{8}, std::size_t{24}, std::size_t{100}, std::size_t{3000}}) {
      void* block = allocator.allocate(size, align);
      ASSERT_NE(block, nullptr) << "size " << size << " align " << align;
      EXPECT_EQ(address(block) % align, 0u) << "size " << size << " align " << align;
      std::memset(block, 0xab, size);
      blocks.push_back({block, {size, align}});
    }
  }
  allocator.check_invariants();
  for (auto& [block, request] : blocks) allocator.deallocate(block, request.first, request.second);
  allocator.check_invariants();
  Traits<TypeParam>::expect_fully_free(allocator);
}

TEST(AllocatorKind, NamesRoundTrip) {
  for (auto kind : {AllocatorKind::bump, AllocatorKind::linked_list, AllocatorKind::fixed_block,
                    AllocatorKind::tlsf}) {
    EXPECT_EQ(allocator_kind_from_name(to_string(kind)), kind);
  }
  EXPECT_EQ(allocator_kind_from_name("slab"), std::nullopt);
  EXPECT_EQ(allocator_kind_from_name(""), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Growing the heap at its end, as the kernel heap does when it maps more pages.

TYPED_TEST(AllocatorTest, GrowAddsMemoryAtTheEnd) {
  Memory memory(64 * 1024);
  TypeParam allocator(memory.part(0, 4096));
  std::size_t heap_before = allocator.stats().heap_bytes;
  std::vector<void*> blocks;
  while (void* block = allocator.allocate(256, 16)) blocks.push_back(block);
  std::size_t first_count = blocks.size();
  ASSERT_GT(first_count, 0u);

  ASSERT_TRUE(allocator.grow(memory.part(4096, 4096)).has_value());
  EXPECT_EQ(allocator.stats().heap_bytes, heap_before + 4096);
  while (void* block = allocator.allocate(256, 16)) {
    EXPECT_GE(address(block), address(memory.all().data()) + 4096 - 512);
    blocks.push_back(block);
  }
  EXPECT_GE(blocks.size(), first_count + 4096 / 256 - 1);
  for (void* block : blocks)
    EXPECT_LT(address(block) + 256, address(memory.all().data()) + 8192 + 1);
  allocator.check_invariants();
  for (void* block : blocks) allocator.deallocate(block, 256, 16);
  allocator.check_invariants();
  Traits<TypeParam>::expect_fully_free(allocator);
}

TYPED_TEST(AllocatorTest, GrownMemoryMergesWithTheFreeEnd) {
  Memory memory(64 * 1024);
  TypeParam allocator(memory.part(0, 4096));
  ASSERT_EQ(allocator.allocate(6000, 16), nullptr);
  ASSERT_TRUE(allocator.grow(memory.part(4096, 4096)).has_value());
  // Only possible if the new pages joined the free memory before them.
  void* block = allocator.allocate(6000, 16);
  ASSERT_NE(block, nullptr);
  EXPECT_LT(address(block), address(memory.all().data()) + 4096);
  allocator.deallocate(block, 6000, 16);
  allocator.check_invariants();
  Traits<TypeParam>::expect_fully_free(allocator);
}

TYPED_TEST(AllocatorTest, GrowRejectsMemoryThatIsNotAtTheEnd) {
  Memory memory(64 * 1024);
  TypeParam allocator(memory.part(0, 4096));
  AllocatorStats before = allocator.stats();
  auto gap = allocator.grow(memory.part(8192, 4096));
  ASSERT_FALSE(gap.has_value());
  EXPECT_EQ(gap.error(), GrowError::not_adjacent);
  auto below = allocator.grow(memory.part(0, 4096));
  ASSERT_FALSE(below.has_value());
  EXPECT_EQ(below.error(), GrowError::not_adjacent);
  // A span reaching past the end of the address space (never dereferenced).
  std::byte* end = memory.all().data() + 4096;
  auto wrap = allocator.grow(std::span<std::byte>(end, kMax - address(end) + 1));
  ASSERT_FALSE(wrap.has_value());
  EXPECT_EQ(wrap.error(), GrowError::address_overflow);
  EXPECT_FALSE(to_string(GrowError::not_adjacent).empty());
  EXPECT_NE(to_string(GrowError::not_adjacent), to_string(GrowError::address_overflow));
  EXPECT_TRUE(allocator.grow({}).has_value());  // nothing to add is not an error
  EXPECT_EQ(allocator.stats().heap_bytes, before.heap_bytes);
  EXPECT_EQ(allocator.stats().free_bytes, before.free_bytes);
  allocator.check_invariants();
}

TYPED_TEST(AllocatorTest, TinyGrowthsAddUpUntilUsable) {
  Memory memory(4096);
  std::byte* base = memory.all().data();
  // Five bytes at an odd address: less than any design can use.
  TypeParam allocator(std::span<std::byte>(base + 3, 5));
  EXPECT_EQ(allocator.allocate(1, 1) == nullptr, Traits<TypeParam>::kReusesMemory);
  if constexpr (Traits<TypeParam>::kReusesMemory) {
    EXPECT_EQ(allocator.stats().free_bytes, 0u);
    std::size_t end = 8;
    void* block = nullptr;
    while (block == nullptr && end < 256) {
      ASSERT_TRUE(allocator.grow(std::span<std::byte>(base + end, 8)).has_value());
      end += 8;
      block = allocator.allocate(16, 16);
      allocator.check_invariants();
    }
    ASSERT_NE(block, nullptr);
    EXPECT_LE(end, 96u);  // usable as soon as a block and the bookkeeping fit
    EXPECT_GE(address(block), address(base + 3));
    EXPECT_LE(address(block) + 16, address(base + end));
    allocator.deallocate(block, 16, 16);
    allocator.check_invariants();
  }
}

// ---------------------------------------------------------------------------------------------
// Design-specific behaviour.

TEST(BumpAllocator, ResetsOnlyWhenEverythingIsFreed) {
  Memory memory(4096);
  BumpAllocator allocator(memory.all());
  void* a = allocator.allocate(100, 8);
  void* b = allocator.allocate(100, 8);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(address(b), address(a) + 104);  // next = align_up(a + 100, 8)
  allocator.deallocate(a, 100, 8);
  void* c = allocator.allocate(8, 8);
  EXPECT_EQ(address(c), address(b) + 104);  // a's memory is not reused while b lives
  allocator.deallocate(b, 100, 8);
  allocator.deallocate(c, 8, 8);
  EXPECT_EQ(allocator.allocate(8, 8), a);  // everything freed: back to the start
}

TEST(BumpAllocator, MoreFreesThanAllocationsPanicsEvenWithoutDebugMode) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Memory memory(4096);
  BumpAllocator allocator(memory.all());
  void* block = allocator.allocate(8, 8);
  allocator.deallocate(block, 8, 8);
  EXPECT_DEATH(allocator.deallocate(block, 8, 8), "bump: more frees than allocations");
}

TEST(LinkedListAllocator, AlignmentPaddingStaysOnTheFreeList) {
  Memory memory(64 * 1024);
  LinkedListAllocator allocator(memory.part(16, 32 * 1024));  // starts 16 bytes past a page
  void* block = allocator.allocate(8, 4096);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(address(block) % 4096, 0u);
  EXPECT_EQ(allocator.stats().free_bytes, allocator.stats().heap_bytes - allocator.footprint(8));
  EXPECT_EQ(allocator.free_region_count(), 2u);  // the padding before, the rest after
  // First fit uses the padding for the next small request.
  void* small = allocator.allocate(16, 16);
  EXPECT_LT(address(small), address(block));
  allocator.deallocate(small, 16, 16);
  allocator.deallocate(block, 8, 4096);
  EXPECT_EQ(allocator.free_region_count(), 1u);
  allocator.check_invariants();
}

TEST(LinkedListAllocator, UnalignedHeapEdgesAreLeftOut) {
  Memory memory(4096);
  std::byte* base = memory.all().data();
  LinkedListAllocator allocator(std::span<std::byte>(base + 5, 1000));
  // [5, 1005) holds whole 16-byte granules from 16 to 992.
  EXPECT_EQ(allocator.stats().heap_bytes, 992u - 16u);
  void* everything = allocator.allocate(976, 16);
  ASSERT_NE(everything, nullptr);
  EXPECT_EQ(address(everything), address(base + 16));
  allocator.deallocate(everything, 976, 16);
  allocator.check_invariants();
}

// Frees three neighbours in every order: they always end up as one region again.
TEST(LinkedListAllocator, FreedNeighboursCoalesceInEveryOrder) {
  Memory memory(16 * 1024);
  std::array<int, 3> order = {0, 1, 2};
  do {
    LinkedListAllocator allocator(memory.all());
    std::array<void*, 3> blocks;
    for (void*& block : blocks) block = allocator.allocate(1024, 16);
    void* guard = allocator.allocate(16, 16);  // keeps the three apart from the rest
    for (int index : order) {
      allocator.deallocate(blocks[index], 1024, 16);
      allocator.check_invariants();  // panics if two free regions touch
    }
    EXPECT_EQ(allocator.free_region_count(), 2u);
    // The merged hole is the first fit for a request of its whole size.
    EXPECT_EQ(allocator.allocate(3 * 1024, 16), blocks[0]);
    allocator.deallocate(blocks[0], 3 * 1024, 16);
    allocator.deallocate(guard, 16, 16);
    EXPECT_EQ(allocator.free_region_count(), 1u);
  } while (std::next_permutation(order.begin(), order.end()));
}

// Blocks above the quick-list limit (4 KiB) merge as soon as they are freed.
TEST(TlsfAllocator, FreedNeighboursCoalesceInEveryOrder) {
  Memory memory(64 * 1024);
  std::array<int, 3> order = {0, 1, 2};
  do {
    TlsfAllocator allocator(memory.all());
    std::array<void*, 3> blocks;
    for (void*& block : blocks) block = allocator.allocate(5000, 16);
    void* guard = allocator.allocate(5000, 16);
    for (int index : order) {
      allocator.deallocate(blocks[index], 5000, 16);
      allocator.check_invariants();  // panics if two free blocks touch
    }
    EXPECT_EQ(allocator.free_block_count(), 2u);
    allocator.deallocate(guard, 5000, 16);
    EXPECT_EQ(allocator.free_block_count(), 1u);
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(TlsfAllocator, SmallFreedBlocksAreParkedForTheSameSize) {
  Memory memory(64 * 1024);
  TlsfAllocator allocator(memory.all());
  void* a = allocator.allocate(100, 16);
  void* b = allocator.allocate(100, 16);
  allocator.deallocate(a, 100, 16);
  EXPECT_EQ(allocator.free_block_count(), 1u);  // a is parked, not merged into the free lists
  void* c = allocator.allocate(200, 16);        // another size: not served from a's list
  EXPECT_NE(c, a);
  EXPECT_EQ(allocator.allocate(100, 16), a);  // the same size: a comes straight back
  allocator.deallocate(a, 100, 16);
  allocator.deallocate(b, 100, 16);
  allocator.deallocate(c, 200, 16);
  allocator.check_invariants();
  EXPECT_TRUE(allocator.flush_quick_lists());
  EXPECT_FALSE(allocator.flush_quick_lists());
  EXPECT_EQ(allocator.free_block_count(), 1u);
}

TEST(TlsfAllocator, ParkedBlocksNeverMakeAnAllocationFail) {
  Memory memory(64 * 1024);
  TlsfAllocator allocator(memory.all());
  // Fill the heap with parked blocks of every small size...
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t size = 16;; size = size % 4000 + 16) {
    void* block = allocator.allocate(size, 16);
    if (block == nullptr) break;
    blocks.push_back({block, size});
  }
  for (auto [block, size] : blocks) allocator.deallocate(block, size, 16);
  // ... then ask for nearly all of it at once: the parked blocks must merge first.
  void* large = allocator.allocate(60 * 1024, 16);
  EXPECT_NE(large, nullptr);
  allocator.deallocate(large, 60 * 1024, 16);
  allocator.check_invariants();
}

TEST(TlsfAllocator, LargestAllocationSucceedsAndOneGranuleMoreFails) {
  Memory memory(64 * 1024);
  TlsfAllocator allocator(memory.all());
  std::size_t largest = allocator.largest_allocation();
  EXPECT_GT(largest, 32u * 1024);
  void* block = allocator.allocate(largest, 16);
  ASSERT_NE(block, nullptr);
  allocator.deallocate(block, largest, 16);
  EXPECT_EQ(allocator.allocate(largest + 16, 16), nullptr);
}

TEST(FixedBlockAllocator, SmallRequestsReuseTheirSizeClass) {
  Memory memory(64 * 1024);
  FixedBlockAllocator allocator(memory.all());
  void* a = allocator.allocate(20, 8);  // 32-byte class
  allocator.deallocate(a, 20, 8);
  EXPECT_EQ(allocator.cached_block_count(), 1u);
  EXPECT_EQ(allocator.allocate(32, 16), a);  // same class, same block
  EXPECT_EQ(allocator.cached_block_count(), 0u);
  void* b = allocator.allocate(33, 8);  // 64-byte class: a different block
  EXPECT_NE(b, a);
  allocator.deallocate(a, 32, 16);
  allocator.deallocate(b, 33, 8);
  allocator.check_invariants();
}

// The fast path pops a cached block after one test of the alignment: it must still refuse an
// alignment that is not a power of two, with a block right there on the list.
TEST(FixedBlockAllocator, InvalidAlignmentsFailEvenWithABlockCached) {
  Memory memory(16 * 1024);
  FixedBlockAllocator allocator(memory.all());
  for (std::size_t size : {std::size_t{8}, std::size_t{24}, std::size_t{100}}) {
    void* block = allocator.allocate(size, 8);
    ASSERT_NE(block, nullptr);
    allocator.deallocate(block, size, 8);
    for (std::size_t align : {std::size_t{0}, std::size_t{3}, std::size_t{6}, std::size_t{12}}) {
      EXPECT_EQ(allocator.allocate(size, align), nullptr) << "size " << size << " align " << align;
    }
    EXPECT_EQ(allocator.allocate(size, 8), block);  // still cached
    allocator.deallocate(block, size, 8);
  }
  allocator.check_invariants();
}

TEST(FixedBlockAllocator, OverAlignedSmallRequestsGetABlockAlignedToItsSize) {
  Memory memory(64 * 1024);
  FixedBlockAllocator allocator(memory.all());
  void* aligned = allocator.allocate(8, 256);  // the 256-byte list: blocks aligned to 256
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(address(aligned) % 256, 0u);
  allocator.deallocate(aligned, 8, 256);
  EXPECT_EQ(allocator.cached_block_count(), 1u);
  EXPECT_EQ(allocator.allocate(200, 16), aligned);  // same list, same block
  allocator.deallocate(aligned, 200, 16);
  allocator.check_invariants();
}

TEST(FixedBlockAllocator, LargeAndOverAlignedRequestsGoToTheFallback) {
  Memory memory(64 * 1024);
  FixedBlockAllocator allocator(memory.all());
  void* large = allocator.allocate(4000, 16);
  void* aligned = allocator.allocate(8, 4096);
  ASSERT_NE(large, nullptr);
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(address(aligned) % 4096, 0u);
  EXPECT_EQ(allocator.stats().bytes_in_use, 4008u);  // the fallback knows the sizes asked for
  allocator.deallocate(large, 4000, 16);
  allocator.deallocate(aligned, 8, 4096);
  EXPECT_EQ(allocator.cached_block_count(), 0u);  // went back to the fallback, not to a list
  allocator.check_invariants();
  EXPECT_EQ(allocator.fallback().stats().allocation_count, 0u);
}

TEST(FixedBlockAllocator, StatisticsCountWholeBlocksForListRequests) {
  Memory memory(64 * 1024);
  FixedBlockAllocator allocator(memory.all());
  void* a = allocator.allocate(20, 8);   // a 32-byte block
  void* b = allocator.allocate(100, 8);  // a 128-byte block
  void* empty = allocator.allocate(0, 1);
  EXPECT_EQ(allocator.stats().allocation_count, 3u);
  EXPECT_EQ(allocator.stats().bytes_in_use, 32u + 128u);
  allocator.deallocate(a, 20, 8);
  EXPECT_EQ(allocator.stats().allocation_count, 2u);
  EXPECT_EQ(allocator.stats().bytes_in_use, 128u);
  allocator.deallocate(b, 100, 8);
  allocator.deallocate(empty, 0, 1);
  EXPECT_EQ(allocator.stats().allocation_count, 0u);
  EXPECT_EQ(allocator.stats().bytes_in_use, 0u);
  allocator.check_invariants();
}

TEST(FixedBlockAllocator, CachedBlocksGoBackToTheFallbackWhenItRunsDry) {
  Memory memory(64 * 1024);
  FixedBlockAllocator allocator(memory.all());
  // Fill the heap with 8-byte boxes, free them all: they stay cached in the 8-byte list.
  std::vector<void*> boxes;
  while (void* box = allocator.allocate(8, 8)) boxes.push_back(box);
  for (void* box : boxes) allocator.deallocate(box, 8, 8);
  EXPECT_EQ(allocator.cached_block_count(), boxes.size());
  // A large request still succeeds: the cache is released and merges back.
  void* large = allocator.allocate(32 * 1024, 16);
  EXPECT_NE(large, nullptr);
  EXPECT_EQ(allocator.cached_block_count(), 0u);
  allocator.deallocate(large, 32 * 1024, 16);
  allocator.check_invariants();
}

TEST(FixedBlockAllocator, FreeWithAnInvalidAlignmentPanics) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Memory memory(4096);
  FixedBlockAllocator allocator(memory.all());
  void* block = allocator.allocate(8, 8);
  // An alignment of 0 reaches no list, in any mode. Other invalid alignments are caught by
  // debug mode only: without it a free is trusted (see fixed_block.h).
  EXPECT_DEATH(allocator.deallocate(block, 8, 0), "fixed_block: free with an alignment");
  FixedBlockAllocator checked(memory.all(), DebugChecks::on);
  void* checked_block = checked.allocate(8, 8);
  EXPECT_DEATH(checked.deallocate(checked_block, 8, 3), "fixed_block: free with an alignment");
}

// ---------------------------------------------------------------------------------------------
// Debug mode: poisoning, and a clear panic for each kind of bad free.

TYPED_TEST(AllocatorTest, DebugModePoisonsFreedMemory) {
  Memory memory(16 * 1024);
  TypeParam allocator(memory.all(), DebugChecks::on);
  auto* block = static_cast<std::byte*>(allocator.allocate(256, 16));
  ASSERT_NE(block, nullptr);
  std::memset(block, 0x11, 256);
  allocator.deallocate(block, 256, 16);
  // The first bytes may hold free-list links now; the rest must be poison.
  for (std::size_t i = 32; i < 256; ++i) {
    ASSERT_EQ(block[i], allocator_detail::kPoisonByte) << "byte " << i;
  }
}

TYPED_TEST(AllocatorTest, DebugModeCatchesDoubleFree) {
  Memory memory(16 * 1024);
  TypeParam allocator(memory.all(), DebugChecks::on);
  void* keep = allocator.allocate(64, 16);  // so that the bump heap does not reset
  void* block = allocator.allocate(64, 16);
  allocator.deallocate(block, 64, 16);
  EXPECT_DEATH(allocator.deallocate(block, 64, 16), "double free");
  allocator.deallocate(keep, 64, 16);
}

TYPED_TEST(AllocatorTest, DebugModeCatchesFreeOfAPointerOutsideTheHeap) {
  Memory memory(16 * 1024);
  TypeParam allocator(memory.all(), DebugChecks::on);
  void* keep = allocator.allocate(64, 16);
  alignas(16) std::uint64_t on_the_stack[8] = {};
  EXPECT_DEATH(allocator.deallocate(on_the_stack, 64, 16),
               "free of a pointer this allocator never handed out");
  allocator.deallocate(keep, 64, 16);
}

TYPED_TEST(AllocatorTest, DebugModeCatchesFreeOfAPointerInsideABlock) {
  Memory memory(16 * 1024);
  TypeParam allocator(memory.all(), DebugChecks::on);
  auto* block = static_cast<std::byte*>(allocator.allocate(64, 16));
  ASSERT_NE(block, nullptr);
  std::memset(block, 0, 64);
  EXPECT_DEATH(allocator.deallocate(block + 16, 16, 16),
               "free of a pointer this allocator never handed out");
  allocator.deallocate(block, 64, 16);
}

TEST(LinkedListAllocator, DebugModeCatchesFreeWithTheWrongSize) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Memory memory(16 * 1024);
  LinkedListAllocator allocator(memory.all(), DebugChecks::on);
  void* block = allocator.allocate(64, 16);
  EXPECT_DEATH(allocator.deallocate(block, 48, 16), "linked_list: size differs");
}

TEST(TlsfAllocator, DebugModeCatchesFreeWithTheWrongSize) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Memory memory(16 * 1024);
  TlsfAllocator allocator(memory.all(), DebugChecks::on);
  void* block = allocator.allocate(64, 16);
  EXPECT_DEATH(allocator.deallocate(block, 1000, 16), "tlsf: size or alignment differs");
}

TEST(FixedBlockAllocator, DebugModeCatchesFreeWithALargerSizeClass) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Memory memory(16 * 1024);
  FixedBlockAllocator allocator(memory.all(), DebugChecks::on);
  void* block = allocator.allocate(8, 8);
  EXPECT_DEATH(allocator.deallocate(block, 512, 8), "fixed_block: size or alignment differs");
}

TEST(TlsfAllocator, DoubleFreeIsCaughtEvenWithoutDebugMode) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Memory memory(64 * 1024);
  TlsfAllocator allocator(memory.all());
  void* parked = allocator.allocate(64, 16);
  void* merged = allocator.allocate(5000, 16);
  allocator.deallocate(parked, 64, 16);
  allocator.deallocate(merged, 5000, 16);
  EXPECT_DEATH(allocator.deallocate(parked, 64, 16), "tlsf: double free");
  EXPECT_DEATH(allocator.deallocate(merged, 5000, 16), "tlsf: double free");
}

TEST(TlsfAllocator, UserDataThatLooksLikeTheParkedMarkIsNotADoubleFree) {
  Memory memory(16 * 1024);
  TlsfAllocator allocator(memory.all());
  auto* a = static_cast<void**>(allocator.allocate(64, 16));
  allocator.deallocate(a, 64, 16);
  // b is parked; copying its second word into a live block fakes the mark.
  auto* b = static_cast<void**>(allocator.allocate(64, 16));
  auto* c = static_cast<void**>(allocator.allocate(64, 16));
  allocator.deallocate(b, 64, 16);
  c[1] = b[1];
  allocator.deallocate(c, 64, 16);  // must not panic
  allocator.check_invariants();
}

// ---------------------------------------------------------------------------------------------
// Each allocator against a reference model: random allocations and frees, checking after every
// operation that blocks are aligned, inside the heap, disjoint, and hold what was written into
// them, and that the statistics agree with the model; every `full_check_every` operations the
// allocator also walks its own structures (check_invariants). At the end everything is freed
// and the heap must be whole again.

struct LiveBlock {
  std::size_t size;
  std::size_t align;
  std::uint8_t fill;
};

struct RandomRun {
  std::size_t operations;
  std::size_t max_live;
  std::size_t heap_bytes;
  std::size_t full_check_every;
  DebugChecks debug = DebugChecks::off;
  std::size_t grow_step = 0;  // when not 0: start with one step of heap and grow on demand
};

template <class A>
class ModelTest {
 public:
  explicit ModelTest(const RandomRun& run) : run_(run), memory_(run.heap_bytes) {
    std::size_t initial = run.grow_step == 0 ? run.heap_bytes : run.grow_step;
    heap_end_ = initial;
    allocator_.init(memory_.part(0, initial), run.debug);
  }

  void run(std::uint64_t seed) {
    std::mt19937_64 random(seed);
    std::uniform_real_distribution<double> log_size(0.0, std::log(4096.0));
    for (std::size_t op = 0; op < run_.operations; ++op) {
      bool allocate = live_.size() < run_.max_live && (live_.empty() || random() % 100 < 52);
      if (allocate) {
        std::size_t size =
            random() % 50 == 0 ? 0 : static_cast<std::size_t>(std::exp(log_size(random)));
        std::size_t align = random() % 10 == 0 ? std::size_t{32} << (random() % 8)
                                               : std::size_t{1} << (random() % 5);
        allocate_checked(size, align, static_cast<std::uint8_t>(random()));
      } else {
        free_checked(random() % live_.size());
      }
      expect_stats_match();
      if (op % run_.full_check_every == 0) allocator_.check_invariants();
      if (::testing::Test::HasFatalFailure()) return;
    }
    while (!live_.empty()) free_checked(live_.size() - 1);
    allocator_.check_invariants();
    expect_stats_match();
    Traits<A>::expect_fully_free(allocator_);
  }

  std::size_t grow_count() const { return grow_count_; }

 private:
  void allocate_checked(std::size_t size, std::size_t align, std::uint8_t fill) {
    void* pointer = allocator_.allocate(size, align);
    while (pointer == nullptr && run_.grow_step != 0 && heap_end_ < run_.heap_bytes) {
      ASSERT_TRUE(allocator_.grow(memory_.part(heap_end_, run_.grow_step)).has_value());
      heap_end_ += run_.grow_step;
      ++grow_count_;
      pointer = allocator_.allocate(size, align);
    }
    // The runs keep live data far below the heap size, so a failure is a bug.
    ASSERT_NE(pointer, nullptr) << "size " << size << " align " << align << " with " << live_.size()
                                << " live blocks";
    std::uintptr_t start = address(pointer);
    std::size_t extent = std::max<std::size_t>(size, 1);
    ASSERT_EQ(start % align, 0u) << "size " << size << " align " << align;
    ASSERT_GE(start, address(memory_.all().data()));
    ASSERT_LE(start + extent, address(memory_.all().data()) + heap_end_);
    // Disjoint from its neighbours in address order, hence from every live block.
    auto next = blocks_.lower_bound(start);
    if (next != blocks_.end()) {
      ASSERT_LE(start + extent, next->first) << "overlaps the next block";
    }
    if (next != blocks_.begin()) {
      auto previous = std::prev(next);
      ASSERT_LE(previous->first + std::max<std::size_t>(previous->second.size, 1), start)
          << "overlaps the previous block";
    }
    std::memset(pointer, fill, size);
    blocks_.emplace(start, LiveBlock{size, align, fill});
    live_.push_back(start);
    bytes_in_use_ += Traits<A>::bytes_counted(size, align);
  }

  void free_checked(std::size_t index) {
    std::uintptr_t start = live_[index];
    live_[index] = live_.back();
    live_.pop_back();
    auto found = blocks_.find(start);
    LiveBlock block = found->second;
    blocks_.erase(found);
    auto* bytes = reinterpret_cast<const std::uint8_t*>(start);
    // Every byte still holds what was written: nothing else wrote into this block.
    if (block.size > 0) {
      ASSERT_EQ(bytes[0], block.fill);
      ASSERT_EQ(std::memcmp(bytes, bytes + 1, block.size - 1), 0) << "block was overwritten";
    }
    allocator_.deallocate(reinterpret_cast<void*>(start), block.size, block.align);
    bytes_in_use_ -= Traits<A>::bytes_counted(block.size, block.align);
  }

  void expect_stats_match() {
    AllocatorStats stats = allocator_.stats();
    ASSERT_EQ(stats.allocation_count, live_.size());
    ASSERT_EQ(stats.bytes_in_use, bytes_in_use_);
    ASSERT_LE(stats.free_bytes, stats.heap_bytes);
    if constexpr (std::is_same_v<A, LinkedListAllocator>) {
      // All bytes accounted for: free ones plus the footprint of every live block.
      std::size_t footprints = 0;
      if (live_.size() < 64 || live_.size() % 16 == 0) {
        for (auto& [start, block] : blocks_) footprints += allocator_.footprint(block.size);
        ASSERT_EQ(stats.free_bytes + footprints, stats.heap_bytes);
      }
    }
  }

  RandomRun run_;
  Memory memory_;
  A allocator_;
  std::size_t heap_end_ = 0;
  std::map<std::uintptr_t, LiveBlock> blocks_;
  std::vector<std::uintptr_t> live_;
  std::size_t bytes_in_use_ = 0;
  std::size_t grow_count_ = 0;
};

// The bump allocator cannot serve the general model (it reuses nothing while anything lives),
// so its model is exact: predicted addresses, predicted exhaustion, and the reset.
TEST(BumpAllocator, MatchesAnExactModelOverAMillionOperations) {
  Memory memory(64 * 1024);
  BumpAllocator allocator(memory.all());
  std::uintptr_t start = address(memory.all().data());
  std::uintptr_t end = start + 64 * 1024;
  std::mt19937_64 random(11);
  std::size_t operations = 0;
  std::size_t exhaustions = 0;
  while (operations < 1'000'000) {
    std::uintptr_t next = start;
    std::vector<std::pair<void*, std::size_t>> live;
    std::size_t batch = 1 + random() % 300;
    for (std::size_t i = 0; i < batch; ++i, ++operations) {
      std::size_t size = random() % 600;
      std::size_t align = std::size_t{1} << (random() % 7);
      std::uintptr_t expected = (next + align - 1) & ~(align - 1);
      void* pointer = allocator.allocate(size, align);
      if (expected + std::max<std::size_t>(size, 1) > end) {
        ASSERT_EQ(pointer, nullptr);
        ++exhaustions;
        continue;
      }
      ASSERT_EQ(address(pointer), expected);
      next = expected + std::max<std::size_t>(size, 1);
      live.push_back({pointer, size});
      ASSERT_EQ(allocator.stats().free_bytes, end - next);
    }
    std::shuffle(live.begin(), live.end(), random);
    for (auto [pointer, size] : live) {
      allocator.deallocate(pointer, size, 1);
      ++operations;
    }
    allocator.check_invariants();
    ASSERT_EQ(allocator.stats().allocation_count, 0u);
    ASSERT_EQ(allocator.stats().free_bytes, 64u * 1024);
  }
  EXPECT_GT(exhaustions, 0u);  // the batches were big enough to reach the end sometimes
}

template <class A>
class ModelTestSuite : public ::testing::Test {};
using ReusingTypes = ::testing::Types<LinkedListAllocator, TlsfAllocator, FixedBlockAllocator>;
TYPED_TEST_SUITE(ModelTestSuite, ReusingTypes, AllocatorNames);

TYPED_TEST(ModelTestSuite, MillionRandomOperations) {
  ModelTest<TypeParam> test(
      {.operations = 1'000'000, .max_live = 500, .heap_bytes = 2 << 20, .full_check_every = 32});
  test.run(1);
}

TYPED_TEST(ModelTestSuite, FullChecksAfterEveryOperation) {
  ModelTest<TypeParam> test(
      {.operations = 50'000, .max_live = 100, .heap_bytes = 512 * 1024, .full_check_every = 1});
  test.run(2);
}

TYPED_TEST(ModelTestSuite, RandomOperationsInDebugMode) {
  ModelTest<TypeParam> test({.operations = 50'000,
                             .max_live = 200,
                             .heap_bytes = 1 << 20,
                             .full_check_every = 64,
                             .debug = DebugChecks::on});
  test.run(3);
}

TYPED_TEST(ModelTestSuite, RandomOperationsGrowingTheHeapOnDemand) {
  ModelTest<TypeParam> test({.operations = 50'000,
                             .max_live = 200,
                             .heap_bytes = 1 << 20,
                             .full_check_every = 64,
                             .grow_step = 4096});
  test.run(4);
  EXPECT_GT(test.grow_count(), 10u);
}

}  // namespace
}  // namespace ferrite::mm
