// Chapter 11's third design: round each small request up to a power-of-two block and keep one
// free list per block size, so allocating and freeing are a list pop and push (blog_os's
// FixedSizeBlockAllocator). Everything else goes to a TLSF fallback.
#pragma once

#include <array>
#include <bit>

#include "mm/allocators/allocator.h"
#include "mm/allocators/tlsf.h"

namespace ferrite::mm {

// A request gets the smallest power-of-two block of at least 8 bytes that holds `size` and is
// a multiple of `align`; blocks of up to 2048 bytes come from free lists, as in blog_os. Blocks
// are carved from the fallback one at a time when a list is empty, 16-byte aligned (or aligned as
// an over-aligned request asks), and freed blocks stay on their list for the next request of that
// size: the fastest path there is, at the price of up to half a block of rounding and of memory
// cached per size. When the fallback runs dry, the cached blocks go back to it (and merge) before
// giving up. (blog_os aligns every block to its own size instead; with a fallback that puts a
// header in front of each block, that nearly doubles the memory a list of 256-byte blocks takes.)
//
// Larger requests go straight to the fallback. Which path a pointer took is decided again from
// (size, align) on free: sized deallocation is what makes this work without a header.
//
// The fast paths are what this design exists for, and must cost no more than blog_os's
// (docs/ARCHITECTURE.md, "Measurements"): the list is one bit scan of (size - 1) | (align - 1),
// with a head for every power of two so that no range check is needed (lists above 2048 bytes stay
// empty, so a request there finds no block and takes the slow path). Nothing else runs on them: no
// statistics are counted (stats() works them out from the fallback's and from the lists, which it
// walks), and debug mode sends every free down the slow path, where a free is checked (double free,
// foreign pointer, wrong size or alignment) and poisoned. Without debug mode a free is trusted, as
// with any fast allocator: one with an alignment allocate() would refuse, like one with the wrong
// size, is not caught.
class FixedBlockAllocator final : public Allocator {
 public:
  static constexpr std::size_t kSmallestBlock = 8;
  static constexpr std::size_t kLargestBlock = 2048;
  static constexpr std::size_t kBlockAlign = 16;  // every block, at least

  constexpr FixedBlockAllocator() = default;
  explicit FixedBlockAllocator(std::span<std::byte> region, DebugChecks debug = DebugChecks::off) {
    init(region, debug);
  }

  // Takes over `region` as the heap. Call once, on a fresh allocator, before the first allocation.
  void init(std::span<std::byte> region, DebugChecks debug = DebugChecks::off);

  [[nodiscard]] void* allocate(std::size_t size, std::size_t align) override;
  void deallocate(void* pointer, std::size_t size, std::size_t align) override;
  [[nodiscard]] std::expected<void, GrowError> grow(std::span<std::byte> more) override;
  // bytes_in_use counts whole blocks for list requests (the fast path does not record the size
  // asked for). Walks the free lists: O(cached blocks).
  [[nodiscard]] AllocatorStats stats() const override;
  [[nodiscard]] std::string_view name() const override { return "fixed_block"; }
  void check_invariants() const override;

  // Gives every cached free block back to the fallback, where it merges with its neighbours.
  void release_cached_blocks();
  // Blocks waiting on the free lists.
  [[nodiscard]] std::size_t cached_block_count() const;
  [[nodiscard]] const TlsfAllocator& fallback() const { return fallback_; }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  // The list for (size, align) is the top bit of (size - 1) | (align - 1), at least 2: list k
  // holds blocks of 2^(k+1) bytes (one bit scan, no adjustment). A size of 0 or an alignment of
  // 0 wraps to list 63, which stays empty.
  static constexpr std::size_t kFirstList = std::countr_zero(kSmallestBlock) - 1;
  static constexpr std::size_t kLastList = std::countr_zero(kLargestBlock) - 1;
  static constexpr std::size_t kListCount = 64;
  static std::size_t list_for(std::size_t size, std::size_t align) {
    const std::size_t bits = (size - 1) | (align - 1) | (kSmallestBlock - 1);
    return 63 - static_cast<std::size_t>(std::countl_zero(bits));  // bsr: `bits` is not 0
  }
  static constexpr std::size_t block_size(std::size_t list) { return std::size_t{2} << list; }

  void* allocate_slow(std::size_t size, std::size_t align);
  void* allocate_from_fallback(std::size_t list, std::size_t size, std::size_t align);
  void deallocate_slow(void* pointer, std::size_t size, std::size_t align);
  void check_block_free(std::size_t list, void* pointer, std::size_t size, std::size_t align) const;
  void push_block(std::size_t list, void* pointer);
  std::size_t cached_bytes() const;

  std::array<FreeBlock*, kListCount> free_lists_ = {};
  // The highest list deallocate() pushes to directly: kLastList, or 0 in debug mode (all frees
  // take the slow path, which checks them), so that the fast path tests no debug flag.
  std::size_t fast_free_limit_ = kLastList;
  TlsfAllocator fallback_;
  std::size_t zero_size_bytes_ = 0;  // blocks held by live zero-size allocations (slow path)
  bool debug_ = false;
};

}  // namespace ferrite::mm
