// Chapter 11's third design: round each small request up to one of nine block sizes and keep
// one free list per size, so allocating and freeing are a list pop and push (blog_os's
// FixedSizeBlockAllocator). Everything else goes to a TLSF fallback.
#pragma once

#include <array>

#include "mm/allocators/allocator.h"
#include "mm/allocators/tlsf.h"

namespace ferrite::mm {

// A request with size <= 2048 and alignment <= 16 gets a block of the next power of two
// (at least 8). Blocks are carved from the fallback one at a time when a list is empty, and
// freed blocks stay on their list for the next request of that size: the fastest path there
// is, at the price of up to half a block of rounding and of memory cached per size. When the
// fallback runs dry, the cached blocks go back to it (and merge) before giving up.
//
// Larger or over-aligned requests go straight to the fallback. Which path a pointer took is
// decided again from (size, align) on free: sized deallocation is what makes this work without
// a header.
//
// Debug mode poisons freed blocks, checks that a freed block is not already on its list
// (double free) and that it is a live allocation of the fallback (foreign pointer).
class FixedBlockAllocator final : public Allocator {
 public:
  static constexpr std::array<std::size_t, 9> kBlockSizes = {8,   16,  32,   64,  128,
                                                             256, 512, 1024, 2048};
  static constexpr std::size_t kMaxBlockAlign = 16;

  constexpr FixedBlockAllocator() = default;
  explicit FixedBlockAllocator(std::span<std::byte> region, DebugChecks debug = DebugChecks::off) {
    init(region, debug);
  }

  // Takes over `region` as the heap. Call once, before the first allocation.
  void init(std::span<std::byte> region, DebugChecks debug = DebugChecks::off);

  [[nodiscard]] void* allocate(std::size_t size, std::size_t align) override;
  void deallocate(void* pointer, std::size_t size, std::size_t align) override;
  [[nodiscard]] std::expected<void, GrowError> grow(std::span<std::byte> more) override;
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

  void* allocate_slow(std::size_t size, std::size_t align);
  void* allocate_from_fallback(std::size_t size, std::size_t align);
  void deallocate_slow(void* pointer, std::size_t size, std::size_t align);
  void check_block_free(std::size_t index, void* pointer, std::size_t size,
                        std::size_t align) const;
  void push_block(std::size_t index, void* pointer);

  std::array<FreeBlock*, kBlockSizes.size()> free_lists_ = {};
  TlsfAllocator fallback_;
  std::size_t cached_bytes_ = 0;
  std::size_t allocation_count_ = 0;
  std::size_t bytes_in_use_ = 0;
  bool debug_ = false;
};

}  // namespace ferrite::mm
