// Chapter 11's second design: the free memory itself holds a list of free regions, kept in
// address order so that a freed block can be merged with free neighbours (blog_os's
// LinkedListAllocator, with coalescing and without its leak of alignment padding).
#pragma once

#include "mm/allocators/allocator.h"

namespace ferrite::mm {

// First fit over an address-ordered list: allocation walks the list until a region has room,
// freeing walks it to the block's place and merges with the neighbours. Both are O(number of
// free regions), which is why this design gets slow once a few hundred blocks are live (see
// tlsf.h for the O(1) design the kernel uses by default). It is written to be read.
//
// Every block and every free region is a multiple of 16 bytes (the size of a list node) and
// starts on a 16-byte boundary. That one rule is how "regions too small to hold a node" are
// handled: they cannot arise. The padding before an aligned block and the rest after it are
// each either empty or at least one node, and both go back on the list. Only the unaligned
// edges of the heap itself are unusable; init() and grow() leave them out (and a later grow()
// picks up the bytes at the end once they add up to a node).
//
// Debug mode poisons freed blocks and puts a 16-byte tag in front of each block (its address
// mixed with a magic number, and the size asked for). A freed block that overlaps free memory
// is a double free; a pointer outside the heap, off the 16-byte grid or without its tag was
// never handed out.
class LinkedListAllocator final : public Allocator {
 public:
  constexpr LinkedListAllocator() = default;
  explicit LinkedListAllocator(std::span<std::byte> region, DebugChecks debug = DebugChecks::off) {
    init(region, debug);
  }

  // Takes over `region` as the heap. Call once, before the first allocation.
  void init(std::span<std::byte> region, DebugChecks debug = DebugChecks::off);

  [[nodiscard]] void* allocate(std::size_t size, std::size_t align) override;
  void deallocate(void* pointer, std::size_t size, std::size_t align) override;
  [[nodiscard]] std::expected<void, GrowError> grow(std::span<std::byte> more) override;
  [[nodiscard]] AllocatorStats stats() const override;
  [[nodiscard]] std::string_view name() const override { return "linked_list"; }
  void check_invariants() const override;

  // The bytes an allocation of `size` takes out of the free list (alignment padding is not
  // lost: it stays on the list).
  [[nodiscard]] std::size_t footprint(std::size_t size) const {
    return allocator_detail::align_up(size == 0 ? 1 : size, kGranule) + tag_bytes();
  }
  // Number of free regions; 1 means no fragmentation at all.
  [[nodiscard]] std::size_t free_region_count() const;

 private:
  struct FreeRegion {
    std::size_t size;
    FreeRegion* next;  // the next free region at a higher address

    std::uintptr_t start() const { return allocator_detail::address_of(this); }
    std::uintptr_t end() const { return start() + size; }
  };
  static constexpr std::size_t kGranule = sizeof(FreeRegion);

  // In front of every block in debug mode.
  struct DebugTag {
    std::uintptr_t check;  // kDebugMagic ^ the address handed out
    std::size_t size;      // what allocate() was asked for
  };
  static_assert(sizeof(DebugTag) == kGranule);
  std::size_t tag_bytes() const { return debug_ ? sizeof(DebugTag) : 0; }

  void carve(FreeRegion** link, FreeRegion* region, std::uintptr_t start, std::size_t size);
  void insert_free_region(FreeRegion* previous, FreeRegion* next, std::uintptr_t start,
                          std::size_t size);
  void extend_to(std::uintptr_t new_end);

  FreeRegion* first_free_ = nullptr;  // lowest address first
  std::uintptr_t heap_start_ = 0;     // first usable byte (16-byte aligned)
  std::uintptr_t usable_end_ = 0;     // end of the part cut into whole granules
  std::uintptr_t heap_end_ = 0;       // end of the memory we were given
  std::size_t free_bytes_ = 0;
  std::size_t allocation_count_ = 0;
  std::size_t bytes_in_use_ = 0;
  bool debug_ = false;
};

}  // namespace ferrite::mm
