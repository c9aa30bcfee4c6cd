// The fixed-size block allocator (chapter 11): a free list per block size in front of TLSF.
#include "mm/allocators/fixed_block.h"

#include <algorithm>

#include "lib/panic.h"

namespace ferrite::mm {

using namespace allocator_detail;

void FixedBlockAllocator::init(std::span<std::byte> region, DebugChecks debug) {
  fallback_.init(region, debug);  // the free lists are still empty from construction
  debug_ = debug == DebugChecks::on;
  fast_free_limit_ = debug_ ? 0 : kLastList;
}

// The case this design exists for, a request whose list has a suitably aligned block, runs
// without a single call; everything else takes allocate_slow(). Sizes above 2048 bytes, a size
// of 0 and an alignment of 0 all land on lists that stay empty. One test does the rest: the
// alignment is a power of two (align & (align - 1) == 0) and the block is aligned to it (blocks
// are 16-byte aligned; an over-aligned request may find one that is not, and carves its own).
void* FixedBlockAllocator::allocate(std::size_t size, std::size_t align) {
  const std::size_t list = list_for(size, align);
  const std::size_t misaligned_bits = align - 1;
  FreeBlock* block = free_lists_[list];
  if (block != nullptr && ((align | address_of(block)) & misaligned_bits) == 0) [[likely]] {
    free_lists_[list] = block->next;
    return block;
  }
  return allocate_slow(size, align);
}

void* FixedBlockAllocator::allocate_slow(std::size_t requested_size, std::size_t align) {
  auto size = checked_request_size(requested_size, align);
  if (!size) return nullptr;
  const std::size_t list = list_for(*size, align);
  // A zero-size request (served as 1) may find a block the fast path could not look at.
  if (FreeBlock* block = list <= kLastList ? free_lists_[list] : nullptr;
      block != nullptr && address_of(block) % align == 0) {
    free_lists_[list] = block->next;
    zero_size_bytes_ += block_size(list);
    return block;
  }
  void* block = allocate_from_fallback(list, requested_size, align);
  if (block == nullptr && cached_block_count() != 0) {
    // Memory cached for other sizes may be what the fallback needs, once merged.
    release_cached_blocks();
    block = allocate_from_fallback(list, requested_size, align);
  }
  if (block != nullptr && requested_size == 0 && list <= kLastList) {
    zero_size_bytes_ += block_size(list);
  }
  return block;
}

// A new block for list `list` (16-byte aligned, or more if the request wants more); or the whole
// request if it is not for a list (then the fallback records the size asked for, so that
// stats() can report it).
void* FixedBlockAllocator::allocate_from_fallback(std::size_t list, std::size_t size,
                                                  std::size_t align) {
  if (list > kLastList) return fallback_.allocate(size, align);
  return fallback_.allocate(block_size(list), std::max(align, kBlockAlign));
}

// A free whose list takes blocks is pushed on it without a call; debug mode makes
// fast_free_limit_ 0, so every free takes deallocate_slow() and its checks.
void FixedBlockAllocator::deallocate(void* pointer, std::size_t size, std::size_t align) {
  const std::size_t list = list_for(size, align);
  if (list <= fast_free_limit_ && pointer != nullptr) [[likely]] {
    push_block(list, pointer);
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
  const std::size_t list = list_for(*checked_size, align);
  if (list > kLastList) {
    fallback_.deallocate(pointer, size, align);
    return;
  }
  if (debug_) check_block_free(list, pointer, size, align);
  if (size == 0) zero_size_bytes_ -= block_size(list);
  push_block(list, pointer);
}

// Debug mode's checks before a block goes back on list `list`; then it is poisoned.
void FixedBlockAllocator::check_block_free(std::size_t list, void* pointer, std::size_t size,
                                           std::size_t align) const {
  for (const FreeBlock* cached = free_lists_[list]; cached != nullptr; cached = cached->next) {
    if (cached == pointer) panic_bad_free("fixed_block", "double free", pointer, size, align);
  }
  // Every block was one allocation of the fallback, of at least the block size, aligned as asked.
  auto capacity = fallback_.allocation_capacity(pointer);
  if (!capacity) {
    panic_bad_free("fixed_block", "free of a pointer this allocator never handed out", pointer,
                   size, align);
  }
  if (*capacity < block_size(list) || address_of(pointer) % align != 0) {
    panic_bad_free("fixed_block", "size or alignment differs from the allocation's", pointer,
                   size, align);
  }
  poison(pointer, block_size(list));
}

void FixedBlockAllocator::push_block(std::size_t list, void* pointer) {
  auto* block = static_cast<FreeBlock*>(pointer);
  block->next = free_lists_[list];
  free_lists_[list] = block;
}

void FixedBlockAllocator::release_cached_blocks() {
  for (std::size_t list = kFirstList; list <= kLastList; ++list) {
    while (FreeBlock* block = free_lists_[list]) {
      free_lists_[list] = block->next;
      fallback_.deallocate(block, block_size(list), kBlockAlign);
    }
  }
  fallback_.flush_quick_lists();
}

std::size_t FixedBlockAllocator::cached_block_count() const {
  std::size_t count = 0;
  for (const FreeBlock* head : free_lists_) {
    for (const FreeBlock* block = head; block != nullptr; block = block->next) ++count;
  }
  return count;
}

std::size_t FixedBlockAllocator::cached_bytes() const {
  std::size_t bytes = 0;
  for (std::size_t list = kFirstList; list <= kLastList; ++list) {
    for (const FreeBlock* block = free_lists_[list]; block != nullptr; block = block->next) {
      bytes += block_size(list);
    }
  }
  return bytes;
}

std::expected<void, GrowError> FixedBlockAllocator::grow(std::span<std::byte> more) {
  return fallback_.grow(more);
}

// Every live allocation and every cached block is one live allocation of the fallback, which
// recorded a cached or list block at its block size. So the figures are the fallback's, less the
// cached blocks, less the blocks behind zero-size requests (which count as 0 bytes).
AllocatorStats FixedBlockAllocator::stats() const {
  AllocatorStats fallback_stats = fallback_.stats();
  const std::size_t cached = cached_bytes();
  return {.heap_bytes = fallback_stats.heap_bytes,
          .bytes_in_use = fallback_stats.bytes_in_use - cached - zero_size_bytes_,
          .allocation_count = fallback_stats.allocation_count - cached_block_count(),
          .free_bytes = fallback_stats.free_bytes + cached};
}

void FixedBlockAllocator::check_invariants() const {
  fallback_.check_invariants();
  std::size_t listed_blocks = 0;
  for (std::size_t list = 0; list < kListCount; ++list) {
    if (list < kFirstList || list > kLastList) FERRITE_ASSERT(free_lists_[list] == nullptr);
    for (const FreeBlock* block = free_lists_[list]; block != nullptr; block = block->next) {
      FERRITE_ASSERT(fallback_.contains(block));
      FERRITE_ASSERT(address_of(block) % std::min(block_size(list), kBlockAlign) == 0);
      ++listed_blocks;
      FERRITE_ASSERT(listed_blocks <= fallback_.stats().allocation_count);  // also stops a cycle
    }
  }
  FERRITE_ASSERT(zero_size_bytes_ <= fallback_.stats().bytes_in_use);
}

}  // namespace ferrite::mm
