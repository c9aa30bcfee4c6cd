// The fixed-size block allocator (chapter 11): a free list per block size in front of TLSF.
#include "mm/allocators/fixed_block.h"

#include <algorithm>

#include "lib/panic.h"

namespace ferrite::mm {

using namespace allocator_detail;

namespace {

constexpr std::size_t kSmallestBlock = FixedBlockAllocator::kBlockSizes.front();
constexpr std::size_t kLargestBlock = FixedBlockAllocator::kBlockSizes.back();
constexpr std::size_t kNoList = FixedBlockAllocator::kBlockSizes.size();

// The list serving (size, align), or kNoList for the fallback. `align` is a power of two.
// Sizes are powers of two from 8, so the list is log2 of the rounded-up size, minus 3.
constexpr std::size_t list_index(std::size_t size, std::size_t align) {
  if (size > kLargestBlock || align > FixedBlockAllocator::kMaxBlockAlign) return kNoList;
  std::size_t needed = std::max({size, align, kSmallestBlock});
  return static_cast<std::size_t>(std::bit_width(needed - 1)) - std::countr_zero(kSmallestBlock);
}

static_assert(list_index(1, 1) == 0 && list_index(8, 8) == 0 && list_index(9, 1) == 1);
static_assert(list_index(1, 16) == 1 && list_index(2048, 16) == 8 &&
              list_index(2049, 1) == kNoList);
static_assert(list_index(8, 32) == kNoList);

// Whether (size, align) is served from a list. Also rejects an alignment that is not a power
// of two (0 included: align - 1 wraps), so that the fast paths need no other check.
constexpr bool is_list_request(std::size_t size, std::size_t align) {
  return size <= kLargestBlock && align - 1 < FixedBlockAllocator::kMaxBlockAlign &&
         (align & (align - 1)) == 0;
}

// Blocks of 8 bytes need only 8-byte alignment; all others are 16-byte aligned.
constexpr std::size_t block_align(std::size_t block_size) {
  return std::min(block_size, FixedBlockAllocator::kMaxBlockAlign);
}

}  // namespace

void FixedBlockAllocator::init(std::span<std::byte> region, DebugChecks debug) {
  free_lists_.fill(nullptr);
  fallback_.init(region, debug);
  cached_bytes_ = 0;
  allocation_count_ = 0;
  bytes_in_use_ = 0;
  debug_ = debug == DebugChecks::on;
}

// The case this design exists for, a small request whose list has a block, runs without a
// single call; everything else takes allocate_slow().
void* FixedBlockAllocator::allocate(std::size_t size, std::size_t align) {
  if (is_list_request(size, align)) {
    std::size_t index = list_index(size, align);
    if (FreeBlock* block = free_lists_[index]; block != nullptr) {
      free_lists_[index] = block->next;
      cached_bytes_ -= kBlockSizes[index];
      ++allocation_count_;
      bytes_in_use_ += size;
      return block;
    }
  }
  return allocate_slow(size, align);
}

void* FixedBlockAllocator::allocate_slow(std::size_t requested_size, std::size_t align) {
  auto size = checked_request_size(requested_size, align);
  if (!size) return nullptr;
  void* block = allocate_from_fallback(*size, align);
  if (block == nullptr && cached_bytes_ != 0) {
    // Memory cached for other sizes may be what the fallback needs, once merged.
    release_cached_blocks();
    block = allocate_from_fallback(*size, align);
  }
  if (block == nullptr) return nullptr;
  ++allocation_count_;
  bytes_in_use_ += requested_size;
  return block;
}

// A new block for an empty list, or the whole request if it is not for a list.
void* FixedBlockAllocator::allocate_from_fallback(std::size_t size, std::size_t align) {
  std::size_t index = list_index(size, align);
  if (index == kNoList) return fallback_.allocate(size, align);
  return fallback_.allocate(kBlockSizes[index], block_align(kBlockSizes[index]));
}

void FixedBlockAllocator::deallocate(void* pointer, std::size_t size, std::size_t align) {
  if (pointer != nullptr && is_list_request(size, align) && !debug_) {
    push_block(list_index(size, align), pointer);
    --allocation_count_;
    bytes_in_use_ -= size;
    return;
  }
  deallocate_slow(pointer, size, align);
}

void FixedBlockAllocator::deallocate_slow(void* pointer, std::size_t size, std::size_t align) {
  if (pointer == nullptr) return;
  auto checked_size = checked_request_size(size, align);
  if (!checked_size) {
    // allocate() never succeeds for these, so this pointer cannot be ours; and without a
    // valid alignment we cannot even tell which path it would have taken.
    panic_bad_free("fixed_block", "free with an alignment or size allocate() rejects", pointer,
                   size, align);
  }
  std::size_t index = list_index(*checked_size, align);
  if (index == kNoList) {
    fallback_.deallocate(pointer, *checked_size, align);
  } else {
    if (debug_) check_block_free(index, pointer, size, align);
    push_block(index, pointer);
  }
  --allocation_count_;
  bytes_in_use_ -= size;
}

// Debug mode's checks before a block goes back on list `index`; then it is poisoned.
void FixedBlockAllocator::check_block_free(std::size_t index, void* pointer, std::size_t size,
                                           std::size_t align) const {
  std::size_t block_size = kBlockSizes[index];
  for (const FreeBlock* cached = free_lists_[index]; cached != nullptr; cached = cached->next) {
    if (cached == pointer) panic_bad_free("fixed_block", "double free", pointer, size, align);
  }
  // Every block was one allocation of the fallback, of at least the block size.
  auto capacity = fallback_.allocation_capacity(pointer);
  if (!capacity || address_of(pointer) % block_align(block_size) != 0) {
    panic_bad_free("fixed_block", "free of a pointer this allocator never handed out", pointer,
                   size, align);
  }
  if (*capacity < block_size) {
    panic_bad_free("fixed_block", "size differs from the allocation's", pointer, size, align);
  }
  poison(pointer, block_size);
}

void FixedBlockAllocator::push_block(std::size_t index, void* pointer) {
  auto* block = static_cast<FreeBlock*>(pointer);
  block->next = free_lists_[index];
  free_lists_[index] = block;
  cached_bytes_ += kBlockSizes[index];
}

void FixedBlockAllocator::release_cached_blocks() {
  for (std::size_t index = 0; index < kBlockSizes.size(); ++index) {
    while (FreeBlock* block = free_lists_[index]) {
      free_lists_[index] = block->next;
      fallback_.deallocate(block, kBlockSizes[index], block_align(kBlockSizes[index]));
    }
  }
  cached_bytes_ = 0;
  fallback_.flush_quick_lists();
}

std::size_t FixedBlockAllocator::cached_block_count() const {
  std::size_t count = 0;
  for (const FreeBlock* head : free_lists_) {
    for (const FreeBlock* block = head; block != nullptr; block = block->next) ++count;
  }
  return count;
}

std::expected<void, GrowError> FixedBlockAllocator::grow(std::span<std::byte> more) {
  return fallback_.grow(more);
}

AllocatorStats FixedBlockAllocator::stats() const {
  AllocatorStats fallback_stats = fallback_.stats();
  return {.heap_bytes = fallback_stats.heap_bytes,
          .bytes_in_use = bytes_in_use_,
          .allocation_count = allocation_count_,
          .free_bytes = fallback_stats.free_bytes + cached_bytes_};
}

void FixedBlockAllocator::check_invariants() const {
  fallback_.check_invariants();
  std::size_t listed_bytes = 0;
  std::size_t listed_blocks = 0;
  for (std::size_t index = 0; index < kBlockSizes.size(); ++index) {
    for (const FreeBlock* block = free_lists_[index]; block != nullptr; block = block->next) {
      FERRITE_ASSERT(fallback_.contains(block));
      FERRITE_ASSERT(address_of(block) % block_align(kBlockSizes[index]) == 0);
      listed_bytes += kBlockSizes[index];
      ++listed_blocks;
      FERRITE_ASSERT(listed_blocks <= fallback_.stats().allocation_count);  // also stops a cycle
    }
  }
  FERRITE_ASSERT(listed_bytes == cached_bytes_);
  // Every live allocation and every cached block is one live allocation of the fallback.
  FERRITE_ASSERT(fallback_.stats().allocation_count == allocation_count_ + listed_blocks);
  if (allocation_count_ == 0) FERRITE_ASSERT(bytes_in_use_ == 0);
}

}  // namespace ferrite::mm
