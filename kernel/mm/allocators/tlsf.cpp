// TLSF (see tlsf.h): boundary-tagged blocks in one contiguous heap; free blocks in two-level
// segregated lists that two bitmaps index.
#include "mm/allocators/tlsf.h"

#include <algorithm>

#include "lib/panic.h"

namespace ferrite::mm {

using namespace allocator_detail;

// Header (boundary tag) first, payload after it. The list links overlay the first payload
// bytes, which a free block does not use. The heap ends with a sentinel: a header of size 0
// that is never free, so merging forward always stops.
struct TlsfAllocator::Block {
  static constexpr std::size_t kFree = 1;          // this block is free
  static constexpr std::size_t kPreviousFree = 2;  // the block just before it is free
  static constexpr std::size_t kFlags = kFree | kPreviousFree;

  Block* previous_physical;    // valid only while kPreviousFree is set
  std::size_t size_and_flags;  // whole block, header included; a multiple of 16 frees 2 bits
  Block* next_in_list;         // free and parked blocks only
  Block* previous_in_list;     // free blocks only; a parked block holds parked_mark() here

  static Block* at(std::uintptr_t address) { return reinterpret_cast<Block*>(address); }

  std::size_t size() const { return size_and_flags & ~kFlags; }
  bool is_free() const { return (size_and_flags & kFree) != 0; }
  bool is_previous_free() const { return (size_and_flags & kPreviousFree) != 0; }
  void set_size(std::size_t size) { size_and_flags = size | (size_and_flags & kFlags); }
  void set_free(bool free) { size_and_flags = (size_and_flags & ~kFree) | (free ? kFree : 0); }
  void set_previous_free(bool free) {
    size_and_flags = (size_and_flags & ~kPreviousFree) | (free ? kPreviousFree : 0);
  }
  std::byte* payload() { return reinterpret_cast<std::byte*>(this) + kHeaderBytes; }
  Block* next_physical() const { return at(address_of(this) + size()); }
};

void TlsfAllocator::init(std::span<std::byte> region, DebugChecks debug) {
  static_assert(sizeof(Block) == kMinBlockBytes);
  // The lists, maps and counters are still empty from construction (init runs once).
  FERRITE_ASSERT(sentinel_ == nullptr);
  std::uintptr_t begin = address_of(region.data());
  heap_start_ = align_up(begin, kGranule);
  usable_end_ = heap_start_;
  heap_end_ = begin + region.size();
  debug_ = debug == DebugChecks::on;
  extend_to(heap_end_);
}

// The helpers below run on every allocate and free. They are forced inline: a call each
// would cost about as much as the work they do.

// The list a free block of this size belongs in.
[[gnu::always_inline]] inline TlsfAllocator::ListIndex TlsfAllocator::list_for(
    std::size_t block_size) {
  if (block_size < (std::size_t{1} << kSmallBlockLog2)) {
    return {0, static_cast<unsigned>(block_size / kGranule)};
  }
  unsigned top_bit = static_cast<unsigned>(std::bit_width(block_size)) - 1;
  return {top_bit - kSmallBlockLog2 + 1,
          static_cast<unsigned>(block_size >> (top_bit - kSecondLevelLog2)) - kSecondLevelCount};
}

[[gnu::always_inline]] inline std::size_t TlsfAllocator::block_size_for(std::size_t payload_size) {
  return std::max(align_up(payload_size + kHeaderBytes, kGranule), kMinBlockBytes);
}

[[gnu::always_inline]] inline void TlsfAllocator::insert_free(Block* block) {
  ListIndex index = list_for(block->size());
  Block*& head = free_lists_[index.first][index.second];
  block->next_in_list = head;
  block->previous_in_list = nullptr;
  if (head != nullptr) head->previous_in_list = block;
  head = block;
  first_level_map_ |= std::uint64_t{1} << index.first;
  second_level_maps_[index.first] |= 1u << index.second;
}

[[gnu::always_inline]] inline void TlsfAllocator::remove_free(Block* block, ListIndex index) {
  if (block->previous_in_list != nullptr) {
    block->previous_in_list->next_in_list = block->next_in_list;
  } else {
    free_lists_[index.first][index.second] = block->next_in_list;
    if (block->next_in_list == nullptr) {
      second_level_maps_[index.first] &= ~(1u << index.second);
      if (second_level_maps_[index.first] == 0) {
        first_level_map_ &= ~(std::uint64_t{1} << index.first);
      }
    }
  }
  if (block->next_in_list != nullptr) {
    block->next_in_list->previous_in_list = block->previous_in_list;
  }
}

[[gnu::always_inline]] inline void TlsfAllocator::remove_free(Block* block) {
  remove_free(block, list_for(block->size()));
}

// Finds the first block in the smallest non-empty list whose every block is at least
// `block_size`, and takes it off that list.
[[gnu::always_inline]] inline TlsfAllocator::Block* TlsfAllocator::take_free_block(
    std::size_t block_size) {
  std::size_t search_size = block_size;
  if (block_size >= (std::size_t{1} << kSmallBlockLog2)) {
    // Round up to the next list boundary: the request's own list may hold smaller blocks.
    unsigned top_bit = static_cast<unsigned>(std::bit_width(block_size)) - 1;
    search_size += (std::size_t{1} << (top_bit - kSecondLevelLog2)) - 1;
  }
  ListIndex index = list_for(search_size);
  std::uint32_t second_map = second_level_maps_[index.first] & (~0u << index.second);
  if (second_map == 0) {
    if (index.first + 1 >= kFirstLevelCount) return nullptr;
    std::uint64_t first_map = first_level_map_ & (~std::uint64_t{0} << (index.first + 1));
    if (first_map == 0) return nullptr;
    index.first = static_cast<unsigned>(std::countr_zero(first_map));
    second_map = second_level_maps_[index.first];
  }
  index.second = static_cast<unsigned>(std::countr_zero(second_map));
  Block* block = free_lists_[index.first][index.second];
  remove_free(block, index);
  return block;
}

// Cuts a free block that is off the lists in two; returns the second part, also free and off
// the lists. The caller decides what becomes of each part.
[[gnu::always_inline]] inline TlsfAllocator::Block* TlsfAllocator::split(Block* block,
                                                                         std::size_t first_size) {
  Block* rest = Block::at(address_of(block) + first_size);
  rest->size_and_flags = (block->size() - first_size) | Block::kFree | Block::kPreviousFree;
  rest->previous_physical = block;
  block->set_size(first_size);
  // The successor already knows its predecessor is free; only which block that is changed.
  rest->next_physical()->previous_physical = rest;
  return rest;
}

// Makes a block free, merges it with free physical neighbours, and lists the result.
[[gnu::always_inline]] inline void TlsfAllocator::release(Block* block) {
  block->set_free(true);
  if (block->is_previous_free()) {
    Block* previous = block->previous_physical;
    remove_free(previous);
    previous->set_size(previous->size() + block->size());
    block = previous;
  }
  Block* next = block->next_physical();
  if (next->is_free()) {
    remove_free(next);
    block->set_size(block->size() + next->size());
    next = block->next_physical();
  }
  next->previous_physical = block;
  next->set_previous_free(true);
  insert_free(block);
}

// The common case, a parked block of exactly the right size, runs without a single call;
// everything else takes allocate_slow().
void* TlsfAllocator::allocate(std::size_t size, std::size_t align) {
  if (size <= kQuickMaxBlockBytes - kHeaderBytes && align - 1 < kGranule &&
      (align & (align - 1)) == 0) {
    std::size_t index = block_size_for(size) / kGranule;
    if (Block* block = quick_lists_[index]; block != nullptr) {
      quick_lists_[index] = block->next_in_list;
      --quick_counts_[index];
      block->previous_in_list = nullptr;  // no longer carries the parked mark
      used_bytes_ += block->size();
      ++allocation_count_;
      bytes_in_use_ += size;
      return block->payload();
    }
  }
  return allocate_slow(size, align);
}

void* TlsfAllocator::allocate_slow(std::size_t requested_size, std::size_t align) {
  auto size = checked_request_size(requested_size, align);
  std::size_t heap_bytes = usable_end_ - heap_start_;
  if (!size || *size > heap_bytes || align > heap_bytes) return nullptr;
  std::size_t block_size = block_size_for(*size);

  Block* block = take_and_trim(block_size, align);
  // Parked blocks may be what is missing, once merged with their neighbours.
  if (block == nullptr && flush_quick_lists()) block = take_and_trim(block_size, align);
  if (block == nullptr) return nullptr;
  used_bytes_ += block->size();
  ++allocation_count_;
  bytes_in_use_ += requested_size;
  return block->payload();
}

// The two-level search: a free block of at least `block_size` whose payload can be aligned to
// `align`, cut to size (what is left over goes back on the lists) and marked used.
TlsfAllocator::Block* TlsfAllocator::take_and_trim(std::size_t block_size, std::size_t align) {
  // An over-aligned payload may have to start further into the block: ask for room to move
  // it, plus room for the gap in front to become a free block of its own.
  bool over_aligned = align > kGranule;
  Block* block = take_free_block(over_aligned ? block_size + align + kMinBlockBytes : block_size);
  if (block == nullptr) return nullptr;

  if (over_aligned) {
    std::uintptr_t payload = address_of(block->payload());
    std::uintptr_t aligned = align_up(payload, align);
    if (aligned != payload && aligned - payload < kMinBlockBytes) {
      aligned = align_up(payload + kMinBlockBytes, align);
    }
    if (aligned != payload) {
      Block* moved = split(block, aligned - payload);
      insert_free(block);
      block = moved;
    }
  }
  if (block->size() - block_size >= kMinBlockBytes) insert_free(split(block, block_size));

  block->set_free(false);
  block->next_physical()->set_previous_free(false);
  return block;
}

// The common case, parking a small block whose quick list has room, runs without a call;
// everything else takes deallocate_slow().
void TlsfAllocator::deallocate(void* pointer, std::size_t size, std::size_t align) {
  Block* block = Block::at(address_of(pointer) - kHeaderBytes);
  if (pointer != nullptr && !debug_) {
    std::size_t block_size = block->size();
    // A block that is free or parked already is a double free: deallocate_slow() reports it.
    if (has_parking_room(block_size) && !block->is_free() &&
        block->previous_in_list != parked_mark()) {
      park(block);
      used_bytes_ -= block_size;
      --allocation_count_;
      bytes_in_use_ -= size;
      return;
    }
  }
  deallocate_slow(pointer, size, align);
}

void TlsfAllocator::deallocate_slow(void* pointer, std::size_t size, std::size_t align) {
  if (pointer == nullptr) return;
  Block* block = Block::at(address_of(pointer) - kHeaderBytes);
  if (debug_) {
    check_free(pointer, size, align);
  } else if (block->is_free() || block->previous_in_list == parked_mark()) {
    // Reading the tag is free, so the commonest double frees are caught even without debug.
    check_not_free(block, pointer, size, align);
  }
  --allocation_count_;
  bytes_in_use_ -= size;
  used_bytes_ -= block->size();
  if (!debug_ && has_parking_room(block->size())) {
    park(block);
  } else {
    release(block);
  }
}

bool TlsfAllocator::has_parking_room(std::size_t block_size) const {
  return block_size <= kQuickMaxBlockBytes &&
         quick_counts_[block_size / kGranule] < kQuickListCapacity;
}

// Puts a used block on the quick list for its exact size, still marked used.
void TlsfAllocator::park(Block* block) {
  std::size_t index = block->size() / kGranule;
  block->next_in_list = quick_lists_[index];
  block->previous_in_list = parked_mark();
  quick_lists_[index] = block;
  ++quick_counts_[index];
}

// Debug mode: the pointer must start a live block that fits (size, align); then it is poisoned.
void TlsfAllocator::check_free(void* pointer, std::size_t size, std::size_t align) const {
  Block* block = block_with_payload(pointer);
  if (block == nullptr) {
    panic_bad_free("tlsf", "free of a pointer this allocator never handed out", pointer, size,
                   align);
  }
  if (block->is_free()) panic_bad_free("tlsf", "double free", pointer, size, align);
  if (!is_power_of_two(align) || address_of(pointer) % align != 0 ||
      size > block->size() - kHeaderBytes) {
    panic_bad_free("tlsf", "size or alignment differs from the allocation's", pointer, size, align);
  }
  poison(pointer, block->size() - kHeaderBytes);
}

// The block looks free or parked. Free is certain; the parked mark could also be user data,
// so the quick list decides.
void TlsfAllocator::check_not_free(const Block* block, void* pointer, std::size_t size,
                                   std::size_t align) const {
  if (block->is_free()) panic_bad_free("tlsf", "double free", pointer, size, align);
  if (block->size() <= kQuickMaxBlockBytes) {
    for (const Block* parked = quick_lists_[block->size() / kGranule]; parked != nullptr;
         parked = parked->next_in_list) {
      if (parked == block) panic_bad_free("tlsf", "double free", pointer, size, align);
    }
  }
}

bool TlsfAllocator::flush_quick_lists() {
  bool flushed = false;
  for (std::size_t index = 0; index < kQuickListCount; ++index) {
    while (Block* block = quick_lists_[index]) {
      quick_lists_[index] = block->next_in_list;
      release(block);
      flushed = true;
    }
    quick_counts_[index] = 0;
  }
  return flushed;
}

std::expected<void, GrowError> TlsfAllocator::grow(std::span<std::byte> more) {
  const auto end = checked_growth(heap_end_, more);
  if (!end) return std::unexpected(end.error());
  extend_to(*end);  // nothing changes for an empty `more`
  return {};
}

// The heap now ends at `new_end`. The old sentinel's header becomes the header of a new block
// covering the added memory, a new sentinel closes the heap, and the block is freed (merging
// it with a free last block).
void TlsfAllocator::extend_to(std::uintptr_t new_end) {
  heap_end_ = new_end;
  std::uintptr_t new_usable_end = align_down(new_end, kGranule);
  if (sentinel_ == nullptr) {
    if (new_usable_end < heap_start_ || new_usable_end - heap_start_ < kHeaderBytes) return;
    sentinel_ = Block::at(heap_start_);
    sentinel_->previous_physical = nullptr;
    sentinel_->size_and_flags = 0;
    usable_end_ = heap_start_ + kHeaderBytes;
  }
  if (new_usable_end < usable_end_ + kMinBlockBytes) return;  // too few bytes for a block yet

  Block* block = sentinel_;  // keeps its flags about the block before it
  block->set_size(new_usable_end - usable_end_);
  sentinel_ = Block::at(new_usable_end - kHeaderBytes);
  sentinel_->size_and_flags = 0;
  usable_end_ = new_usable_end;
  release(block);
}

bool TlsfAllocator::contains(const void* pointer) const {
  std::uintptr_t address = address_of(pointer);
  return sentinel_ != nullptr && address >= heap_start_ && address < usable_end_;
}

// The block whose payload starts at `pointer`, found by walking the heap; nullptr if none.
TlsfAllocator::Block* TlsfAllocator::block_with_payload(const void* pointer) const {
  std::uintptr_t address = address_of(pointer);
  if (!contains(pointer) || address % kGranule != 0) return nullptr;
  for (Block* block = Block::at(heap_start_); block != sentinel_; block = block->next_physical()) {
    if (address_of(block) + kHeaderBytes == address) return block;
    if (address_of(block) > address) break;
  }
  return nullptr;
}

// Every byte between the heap start and the sentinel is in a used block or a free one.
std::size_t TlsfAllocator::free_bytes() const {
  if (sentinel_ == nullptr) return 0;
  return address_of(sentinel_) - heap_start_ - used_bytes_;
}

std::optional<std::size_t> TlsfAllocator::allocation_capacity(const void* pointer) const {
  Block* block = block_with_payload(pointer);
  if (block == nullptr || block->is_free()) return std::nullopt;
  return block->size() - kHeaderBytes;
}

std::size_t TlsfAllocator::free_block_count() const {
  std::size_t count = 0;
  for (const auto& lists : free_lists_) {
    for (const Block* head : lists) {
      for (const Block* block = head; block != nullptr; block = block->next_in_list) ++count;
    }
  }
  return count;
}

std::size_t TlsfAllocator::largest_allocation() const {
  if (first_level_map_ == 0) return 0;
  // take_free_block() only takes a list whose smallest size fits the request, so the answer
  // is the smallest size of the highest non-empty list, not the largest free block.
  unsigned first = 63 - static_cast<unsigned>(std::countl_zero(first_level_map_));
  unsigned second = 31 - static_cast<unsigned>(std::countl_zero(second_level_maps_[first]));
  std::size_t smallest_in_list = first == 0
                                     ? second * kGranule
                                     : std::size_t{kSecondLevelCount + second}
                                           << (first + kSmallBlockLog2 - 1 - kSecondLevelLog2);
  return smallest_in_list - kHeaderBytes;
}

AllocatorStats TlsfAllocator::stats() const {
  return {.heap_bytes = usable_end_ - heap_start_,
          .bytes_in_use = bytes_in_use_,
          .allocation_count = allocation_count_,
          .free_bytes = free_bytes()};
}

void TlsfAllocator::check_invariants() const {
  if (sentinel_ == nullptr) {
    FERRITE_ASSERT(first_level_map_ == 0 && used_bytes_ == 0 && allocation_count_ == 0);
    return;
  }
  FERRITE_ASSERT(heap_start_ % kGranule == 0 && usable_end_ % kGranule == 0);
  FERRITE_ASSERT(address_of(sentinel_) + kHeaderBytes == usable_end_ && usable_end_ <= heap_end_);
  FERRITE_ASSERT(sentinel_->size() == 0 && !sentinel_->is_free());

  // Walk the blocks in address order: they must tile the heap exactly, with correct tags.
  std::size_t free_blocks = 0;
  std::size_t free_total = 0;
  std::size_t used_blocks = 0;
  std::size_t used_total = 0;
  const Block* previous = nullptr;
  const Block* block = Block::at(heap_start_);
  for (; block != sentinel_; block = block->next_physical()) {
    FERRITE_ASSERT(block->size() >= kMinBlockBytes && block->size() % kGranule == 0);
    FERRITE_ASSERT(block->size() <= address_of(sentinel_) - address_of(block));
    bool previous_free = previous != nullptr && previous->is_free();
    FERRITE_ASSERT(block->is_previous_free() == previous_free);
    if (previous_free) {
      FERRITE_ASSERT(block->previous_physical == previous);
      FERRITE_ASSERT(!block->is_free());  // two free neighbours should have been merged
    }
    if (block->is_free()) {
      ++free_blocks;
      free_total += block->size();
    } else {
      ++used_blocks;
      used_total += block->size();
    }
    previous = block;
  }
  bool last_free = previous != nullptr && previous->is_free();
  FERRITE_ASSERT(sentinel_->is_previous_free() == last_free);
  if (last_free) FERRITE_ASSERT(sentinel_->previous_physical == previous);
  // Parked blocks are used in their tags but count as free memory.
  std::size_t parked_blocks = 0;
  std::size_t parked_bytes = 0;
  for (std::size_t index = 0; index < kQuickListCount; ++index) {
    std::size_t count = 0;
    for (const Block* parked = quick_lists_[index]; parked != nullptr;
         parked = parked->next_in_list) {
      FERRITE_ASSERT(address_of(parked) >= heap_start_ &&
                     address_of(parked) < address_of(sentinel_));
      FERRITE_ASSERT(!parked->is_free() && parked->size() == index * kGranule);
      FERRITE_ASSERT(parked->previous_in_list == parked_mark());
      ++count;
      FERRITE_ASSERT(count <= kQuickListCapacity);  // also stops a cycle
    }
    FERRITE_ASSERT(count == quick_counts_[index]);
    parked_blocks += count;
    parked_bytes += count * index * kGranule;
  }
  FERRITE_ASSERT(free_total + parked_bytes == free_bytes());
  FERRITE_ASSERT(used_total == used_bytes_ + parked_bytes);
  FERRITE_ASSERT(used_blocks == allocation_count_ + parked_blocks);

  // Every free block is in the list for its size, and the bitmaps match the lists.
  std::size_t listed = 0;
  for (unsigned first = 0; first < kFirstLevelCount; ++first) {
    FERRITE_ASSERT(((first_level_map_ >> first) & 1) == (second_level_maps_[first] != 0));
    for (unsigned second = 0; second < kSecondLevelCount; ++second) {
      const Block* head = free_lists_[first][second];
      FERRITE_ASSERT(((second_level_maps_[first] >> second) & 1) == (head != nullptr));
      const Block* before = nullptr;
      for (const Block* listed_block = head; listed_block != nullptr;
           listed_block = listed_block->next_in_list) {
        FERRITE_ASSERT(listed_block->is_free());
        FERRITE_ASSERT(address_of(listed_block) >= heap_start_ &&
                       address_of(listed_block) < address_of(sentinel_));
        ListIndex index = list_for(listed_block->size());
        FERRITE_ASSERT(index.first == first && index.second == second);
        FERRITE_ASSERT(listed_block->previous_in_list == before);
        before = listed_block;
        ++listed;
        FERRITE_ASSERT(listed <= free_blocks);  // also stops a cycle
      }
    }
  }
  FERRITE_ASSERT(listed == free_blocks);
}

}  // namespace ferrite::mm
