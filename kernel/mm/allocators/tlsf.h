// The general-purpose design: TLSF ("Two-Level Segregated Fit", Masmano, Ripoll, Crespo and
// Real, ECRTS 2004). Every allocate and free is O(1); it backs the fixed-size block allocator.
#pragma once

#include <optional>

#include "mm/allocators/allocator.h"

namespace ferrite::mm {

// How it works. Free blocks live in one of many lists, each holding a narrow range of sizes:
// a first level per power of two, split into 16 second-level lists (so a list's sizes differ
// by at most 1/16), and one list per 16-byte size below 256 bytes. A bitmap per level records
// which lists are non-empty, so "the smallest list that surely fits" is two find-first-set
// instructions instead of a walk. Every block starts with a boundary tag (its size, whether it
// and its predecessor are free, and a pointer to its predecessor while that one is free), so a
// freed block finds and merges both physical neighbours in O(1).
//
// The trade-off, against the other ways to get past the linked list's O(n) walk:
// - Address-ordered first fit (linked_list.h) needs no header and wastes nothing on rounding,
//   but each operation walks the list. TLSF pays 16 bytes of header per block, up to 6% of
//   slack in the search (it only takes blocks from a list whose *smallest* size fits, so a
//   block in the request's own list that would have fitted can be passed over), and ~9 KiB
//   of list heads; in exchange the worst case is bounded, which a kernel (and an
//   interrupt-disabling lock around it) wants more than the best average.
// - Segregated lists of exact size classes without merging (fixed_block.h) are faster still,
//   but memory once cut for one size never serves another; that is why they sit in front of
//   this allocator rather than replace it.
// - A size-ordered tree (best fit, as in dlmalloc's large bins) fits tighter but costs
//   O(log n) pointer chasing and far more code for a chapter.
// Blocks come from one contiguous heap that only grows at its end, which keeps the block
// walk used by the invariant checks and by debug mode trivial.
//
// Quick lists ("quick fit", Weinstock and Wulf 1988; glibc's tcache is the same idea): a
// freed block of at most 4 KiB is first parked, still marked used, on a short LIFO list of
// blocks of exactly its size, and the next request of that size takes it back without
// searching, splitting or merging; in the benchmark's random trace most requests are such
// repeats (the numbers: docs/ARCHITECTURE.md, "Measurements").
// The price is fragmentation: up to 8 blocks per size stay unmerged. All of them go back to
// the merging lists before an allocation is refused, so a request only fails if it also fails
// with every parked block merged. Debug mode does not park.
//
// Debug mode poisons freed payloads and, on every free, walks the heap to check that the
// pointer is the start of a live block: anything else is a double free or a foreign pointer.
// Without debug mode, a free of a block already free or parked still panics (one tag read).
class TlsfAllocator final : public Allocator {
 public:
  static constexpr std::size_t kGranule = 16;        // block sizes and payloads align to this
  static constexpr std::size_t kHeaderBytes = 16;    // boundary tag in front of every payload
  static constexpr std::size_t kMinBlockBytes = 32;  // header + the two free-list links

  constexpr TlsfAllocator() = default;
  explicit TlsfAllocator(std::span<std::byte> region, DebugChecks debug = DebugChecks::off) {
    init(region, debug);
  }

  // Takes over `region` as the heap. Call once, on a fresh allocator, before the first allocation.
  void init(std::span<std::byte> region, DebugChecks debug = DebugChecks::off);

  [[nodiscard]] void* allocate(std::size_t size, std::size_t align) override;
  void deallocate(void* pointer, std::size_t size, std::size_t align) override;
  [[nodiscard]] std::expected<void, GrowError> grow(std::span<std::byte> more) override;
  [[nodiscard]] AllocatorStats stats() const override;
  [[nodiscard]] std::string_view name() const override { return "tlsf"; }
  void check_invariants() const override;

  // If `pointer` starts a live allocation, the bytes it can hold (at least what was asked
  // for). Walks the heap: for debug checks.
  [[nodiscard]] std::optional<std::size_t> allocation_capacity(const void* pointer) const;
  // Gives every parked block (see "Quick lists" above) back to the merging lists.
  // Returns whether there was any.
  bool flush_quick_lists();
  // Number of free blocks, not counting parked ones; 1 means no fragmentation at all.
  [[nodiscard]] std::size_t free_block_count() const;
  // Whether `pointer` lies inside the heap at all. O(1).
  [[nodiscard]] bool contains(const void* pointer) const;
  // Size of the largest single allocation (alignment 16) that would succeed right now
  // without flushing the quick lists.
  [[nodiscard]] std::size_t largest_allocation() const;

 private:
  struct Block;
  struct ListIndex {
    unsigned first;
    unsigned second;
  };

  static constexpr unsigned kSecondLevelLog2 = 4;
  static constexpr unsigned kSecondLevelCount = 1u << kSecondLevelLog2;
  // Below this size (256) the first level would be finer than the granule: one list per
  // granule-sized size instead, all in first-level slot 0.
  static constexpr unsigned kSmallBlockLog2 = kSecondLevelLog2 + 4;
  static constexpr unsigned kFirstLevelCount = 64 - kSmallBlockLog2 + 1;

  static constexpr std::size_t kQuickMaxBlockBytes = 4096 + kHeaderBytes;
  static constexpr std::size_t kQuickListCount = kQuickMaxBlockBytes / kGranule + 1;
  static constexpr std::uint8_t kQuickListCapacity = 8;

  // The two-level lists.
  static ListIndex list_for(std::size_t block_size);
  static std::size_t block_size_for(std::size_t payload_size);
  void insert_free(Block* block);
  void remove_free(Block* block, ListIndex index);
  void remove_free(Block* block);
  Block* take_free_block(std::size_t block_size);
  Block* take_and_trim(std::size_t block_size, std::size_t align);
  Block* split(Block* block, std::size_t first_size);
  void release(Block* block);
  // The quick lists.
  bool has_parking_room(std::size_t block_size) const;
  void park(Block* block);
  // What a parked block holds in its previous_in_list link: no block has this address.
  Block* parked_mark() const {
    return reinterpret_cast<Block*>(const_cast<Block**>(&quick_lists_[0]));
  }
  // The rest.
  void* allocate_slow(std::size_t size, std::size_t align);
  void deallocate_slow(void* pointer, std::size_t size, std::size_t align);
  void check_free(void* pointer, std::size_t size, std::size_t align) const;
  void check_not_free(const Block* block, void* pointer, std::size_t size, std::size_t align) const;
  Block* block_with_payload(const void* pointer) const;
  std::size_t free_bytes() const;
  void extend_to(std::uintptr_t new_end);

  Block* free_lists_[kFirstLevelCount][kSecondLevelCount] = {};
  std::uint64_t first_level_map_ = 0;                       // bit f: some list [f][*] is non-empty
  std::uint32_t second_level_maps_[kFirstLevelCount] = {};  // bit s of [f]: list [f][s] non-empty
  Block* quick_lists_[kQuickListCount] = {};                // parked blocks, by exact size / 16
  std::uint8_t quick_counts_[kQuickListCount] = {};         // at most kQuickListCapacity each
  std::uintptr_t heap_start_ = 0;                           // first block (16-byte aligned)
  std::uintptr_t usable_end_ = 0;  // end of the sentinel that closes the block sequence
  std::uintptr_t heap_end_ = 0;    // end of the memory we were given
  Block* sentinel_ = nullptr;      // zero-size "used" block: merging stops there
  std::size_t used_bytes_ = 0;     // sizes of the blocks callers hold (not parked), with headers
  std::size_t allocation_count_ = 0;
  std::size_t bytes_in_use_ = 0;
  bool debug_ = false;
};

}  // namespace ferrite::mm
