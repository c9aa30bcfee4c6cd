// A peer for the benchmark, not kernel code: blog_os's fixed-size block allocator as the series
// describes it ("Allocator Designs"), so that `make bench` compares ferrite's with the allocator
// a blog_os reader would have. Written here from that description, in C++.
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "mm/allocators/linked_list.h"

namespace ferrite::bench {

// Nine block sizes, 8 to 2048; one list head per size. A request goes to the first size that is
// at least max(size, align) (a linear search, as the series' `BLOCK_SIZES.iter().position`);
// its list is popped, or when empty a block of that size (aligned to its size) comes from the
// fallback. Freeing pushes the block on the list of the same index. Requests above 2048 bytes go
// to the fallback, a first-fit list (the series uses the linked_list_allocator crate; ours is
// ferrite's LinkedListAllocator, the same design). Like the series: no statistics, no checks
// (Rust's Layout guarantees a power-of-two alignment), and cached blocks never go back to the
// fallback. The series wraps the allocator in a spinlock; ferrite's designs are measured
// without theirs, so this is too.
class BlogOsFixedSizeBlock {
 public:
  static constexpr std::array<std::size_t, 9> kBlockSizes = {8,   16,  32,   64,  128,
                                                             256, 512, 1024, 2048};
  void init(std::span<std::byte> region) { fallback_.init(region); }
  void* allocate(std::size_t size, std::size_t align);
  void deallocate(void* pointer, std::size_t size, std::size_t align);

 private:
  struct ListNode {
    ListNode* next;
  };
  static_assert(sizeof(ListNode) <= kBlockSizes.front() && alignof(ListNode) <= kBlockSizes.front());

  std::array<ListNode*, kBlockSizes.size()> list_heads_{};
  mm::LinkedListAllocator fallback_;
};

}  // namespace ferrite::bench
