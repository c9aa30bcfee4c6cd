// The linked-list allocator (chapter 11): first fit over an address-ordered free list, with
// splitting on allocation and coalescing on free.
#include "mm/allocators/linked_list.h"

#include <algorithm>
#include <new>

#include "lib/panic.h"

namespace ferrite::mm {

using namespace allocator_detail;

namespace {
constexpr std::uintptr_t kDebugMagic = 0x11f7'b10c'a110'c8ed;
}  // namespace

void LinkedListAllocator::init(std::span<std::byte> region, DebugChecks debug) {
  std::uintptr_t begin = address_of(region.data());
  std::uintptr_t end = begin + region.size();
  first_free_ = nullptr;
  heap_start_ = align_up(begin, kGranule);
  usable_end_ = heap_start_;
  heap_end_ = end;
  free_bytes_ = 0;
  allocation_count_ = 0;
  bytes_in_use_ = 0;
  debug_ = debug == DebugChecks::on;
  extend_to(end);
}

void* LinkedListAllocator::allocate(std::size_t requested_size, std::size_t align) {
  auto size = checked_request_size(requested_size, align);
  std::size_t heap_bytes = usable_end_ - heap_start_;
  if (!size || *size > heap_bytes || align > heap_bytes) return nullptr;
  std::size_t block_size = footprint(*size);
  std::size_t tag_size = tag_bytes();
  align = std::max(align, kGranule);

  // First fit: the first region, in address order, with room for the block once aligned.
  FreeRegion** link = &first_free_;
  for (FreeRegion* region = first_free_; region != nullptr; region = region->next) {
    // What must be aligned is the address handed out, which comes after the debug tag.
    std::uintptr_t payload = region->start() + tag_size;
    std::size_t padding = (align - (payload & (align - 1))) & (align - 1);
    if (padding <= region->size && block_size <= region->size - padding) {
      std::uintptr_t start = region->start() + padding;
      carve(link, region, start, block_size);
      ++allocation_count_;
      bytes_in_use_ += requested_size;
      if (debug_) {
        ::new (pointer_at(start))
            DebugTag{.check = kDebugMagic ^ (start + tag_size), .size = requested_size};
      }
      return pointer_at(start + tag_size);
    }
    link = &region->next;
  }
  return nullptr;
}

// Takes [start, start + size) out of `region`, whose list entry is `*link`. What is left on
// either side stays on the list; by the granule rule each side is empty or holds a node.
void LinkedListAllocator::carve(FreeRegion** link, FreeRegion* region, std::uintptr_t start,
                                std::size_t size) {
  std::uintptr_t end = start + size;
  FreeRegion* after = region->next;
  if (end < region->end()) {
    after = ::new (pointer_at(end)) FreeRegion{.size = region->end() - end, .next = after};
  }
  if (start > region->start()) {
    region->size = start - region->start();  // the alignment padding stays free
    region->next = after;
  } else {
    *link = after;
  }
  free_bytes_ -= size;
}

void LinkedListAllocator::deallocate(void* pointer, std::size_t size, std::size_t align) {
  if (pointer == nullptr) return;
  std::uintptr_t payload = address_of(pointer);
  std::uintptr_t start = payload - tag_bytes();
  std::size_t block_size = footprint(size);
  if (debug_ && (payload < heap_start_ + tag_bytes() || payload >= usable_end_ ||
                 payload % kGranule != 0 || block_size > usable_end_ - start)) {
    panic_bad_free("linked_list", "free of a pointer this allocator never handed out", pointer,
                   size, align);
  }

  // Find the block's place in address order: between `previous` and `next`.
  FreeRegion* previous = nullptr;
  FreeRegion* next = first_free_;
  while (next != nullptr && next->start() < start) {
    previous = next;
    next = next->next;
  }
  if (debug_) {
    if ((previous != nullptr && previous->end() > start) ||
        (next != nullptr && start + block_size > next->start())) {
      panic_bad_free("linked_list", "double free (the block overlaps free memory)", pointer, size,
                     align);
    }
    const auto* tag = reinterpret_cast<const DebugTag*>(pointer_at(start));
    if (tag->check != (kDebugMagic ^ payload)) {
      panic_bad_free("linked_list", "free of a pointer this allocator never handed out", pointer,
                     size, align);
    }
    if (tag->size != size) {
      panic_bad_free("linked_list", "size differs from the allocation's", pointer, size, align);
    }
    poison(pointer_at(start), block_size);
  }

  insert_free_region(previous, next, start, block_size);
  --allocation_count_;
  bytes_in_use_ -= size;
}

// Puts [start, start + size) on the list between its address-order neighbours, merging with
// each one it touches, so that two free regions are never adjacent.
void LinkedListAllocator::insert_free_region(FreeRegion* previous, FreeRegion* next,
                                             std::uintptr_t start, std::size_t size) {
  FERRITE_ASSERT(size >= sizeof(FreeRegion) && size % kGranule == 0 && start % kGranule == 0);
  FreeRegion* region;
  if (previous != nullptr && previous->end() == start) {
    previous->size += size;
    region = previous;
  } else {
    region = ::new (pointer_at(start)) FreeRegion{.size = size, .next = next};
    if (previous != nullptr) {
      previous->next = region;
    } else {
      first_free_ = region;
    }
  }
  if (next != nullptr && region->end() == next->start()) {
    region->size += next->size;
    region->next = next->next;
  }
  free_bytes_ += size;
}

std::expected<void, GrowError> LinkedListAllocator::grow(std::span<std::byte> more) {
  const auto end = checked_growth(heap_end_, more);
  if (!end) return std::unexpected(end.error());
  extend_to(*end);  // nothing changes for an empty `more`
  return {};
}

// The heap now ends at `new_end`: every whole granule past the usable end becomes free.
void LinkedListAllocator::extend_to(std::uintptr_t new_end) {
  heap_end_ = new_end;
  std::uintptr_t new_usable_end = align_down(new_end, kGranule);
  if (new_usable_end <= usable_end_) return;  // less than one node so far: wait for more

  FreeRegion* last = nullptr;
  for (FreeRegion* region = first_free_; region != nullptr; region = region->next) last = region;
  insert_free_region(last, nullptr, usable_end_, new_usable_end - usable_end_);
  usable_end_ = new_usable_end;
}

AllocatorStats LinkedListAllocator::stats() const {
  return {.heap_bytes = usable_end_ - heap_start_,
          .bytes_in_use = bytes_in_use_,
          .allocation_count = allocation_count_,
          .free_bytes = free_bytes_};
}

std::size_t LinkedListAllocator::free_region_count() const {
  std::size_t count = 0;
  for (const FreeRegion* region = first_free_; region != nullptr; region = region->next) ++count;
  return count;
}

void LinkedListAllocator::check_invariants() const {
  FERRITE_ASSERT(heap_start_ % kGranule == 0 && usable_end_ % kGranule == 0);
  FERRITE_ASSERT(heap_start_ <= usable_end_);
  FERRITE_ASSERT(usable_end_ == heap_start_ || usable_end_ <= heap_end_);
  std::size_t listed_bytes = 0;
  std::uintptr_t previous_end = 0;
  for (const FreeRegion* region = first_free_; region != nullptr; region = region->next) {
    FERRITE_ASSERT(region->start() >= heap_start_ && region->end() <= usable_end_);
    FERRITE_ASSERT(region->start() % kGranule == 0 && region->size % kGranule == 0);
    FERRITE_ASSERT(region->size >= sizeof(FreeRegion));
    // Strictly after the previous one, with a gap: touching regions should have been merged.
    FERRITE_ASSERT(previous_end == 0 || region->start() > previous_end);
    previous_end = region->end();
    listed_bytes += region->size;
  }
  FERRITE_ASSERT(listed_bytes == free_bytes_);
  FERRITE_ASSERT(free_bytes_ <= usable_end_ - heap_start_);
  if (allocation_count_ == 0) {
    FERRITE_ASSERT(bytes_in_use_ == 0);
    FERRITE_ASSERT(free_bytes_ == usable_end_ - heap_start_);
  }
}

}  // namespace ferrite::mm
