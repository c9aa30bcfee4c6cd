// blog_os's fixed-size block allocator (see blog_os_fixed_block.h). Its own translation unit, as
// ferrite's allocators are, so that the benchmark calls it and cannot inline it into the trace.
#include "blog_os_fixed_block.h"

#include <algorithm>
#include <new>

namespace ferrite::bench {

namespace {
// The series' list_index: the first block size that fits, or none (kBlockSizes.size()).
std::size_t list_index(std::size_t size, std::size_t align) {
  std::size_t required_block_size = std::max(size, align);
  std::size_t index = 0;
  while (index < BlogOsFixedSizeBlock::kBlockSizes.size() &&
         BlogOsFixedSizeBlock::kBlockSizes[index] < required_block_size) {
    ++index;
  }
  return index;
}
}  // namespace

void* BlogOsFixedSizeBlock::allocate(std::size_t size, std::size_t align) {
  std::size_t index = list_index(size, align);
  if (index == kBlockSizes.size()) return fallback_.allocate(size, align);
  if (ListNode* node = list_heads_[index]) {
    list_heads_[index] = node->next;
    return node;
  }
  // No block of this size: a new one, aligned to its size.
  return fallback_.allocate(kBlockSizes[index], kBlockSizes[index]);
}

void BlogOsFixedSizeBlock::deallocate(void* pointer, std::size_t size, std::size_t align) {
  std::size_t index = list_index(size, align);
  if (index == kBlockSizes.size()) return fallback_.deallocate(pointer, size, align);
  list_heads_[index] = new (pointer) ListNode{list_heads_[index]};
}

}  // namespace ferrite::bench
