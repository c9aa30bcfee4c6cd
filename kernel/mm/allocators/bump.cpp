// The bump allocator (chapter 11): a pointer that only moves forward, and a live count.
#include "mm/allocators/bump.h"

#include "lib/panic.h"

namespace ferrite::mm {

using namespace allocator_detail;

namespace {

// Debug mode's tag in front of each allocation. Mixed with the allocation's address so that a
// tag copied elsewhere (or user data that happens to look like one) does not match.
using Tag = std::uintptr_t;
constexpr Tag kLiveTag = 0xa110'c8ed'b10c'0000;
constexpr Tag kFreedTag = 0xf1ee'd0ff'b10c'0000;

Tag read_tag(std::uintptr_t payload) {
  Tag tag;
  __builtin_memcpy(&tag, pointer_at(payload - sizeof(Tag)), sizeof(Tag));  // may be unaligned
  return tag;
}

void write_tag(std::uintptr_t payload, Tag tag) {
  __builtin_memcpy(pointer_at(payload - sizeof(Tag)), &tag, sizeof(Tag));
}

}  // namespace

void BumpAllocator::init(std::span<std::byte> region, DebugChecks debug) {
  heap_start_ = address_of(region.data());
  heap_end_ = heap_start_ + region.size();
  next_ = heap_start_;
  allocation_count_ = 0;
  bytes_in_use_ = 0;
  debug_ = debug == DebugChecks::on;
}

void* BumpAllocator::allocate(std::size_t requested_size, std::size_t align) {
  auto size = checked_request_size(requested_size, align);
  if (!size || align > heap_end_ - heap_start_) return nullptr;
  // Measure against what is left before adding anything, so that no sum can wrap.
  std::size_t tag_bytes = debug_ ? sizeof(Tag) : 0;
  if (tag_bytes > heap_end_ - next_) return nullptr;
  std::uintptr_t earliest = next_ + tag_bytes;
  std::size_t padding = (align - (earliest & (align - 1))) & (align - 1);
  std::size_t remaining = heap_end_ - earliest;
  if (padding > remaining || *size > remaining - padding) return nullptr;
  std::uintptr_t start = earliest + padding;

  next_ = start + *size;
  ++allocation_count_;
  bytes_in_use_ += requested_size;
  if (debug_) write_tag(start, kLiveTag ^ start);
  return pointer_at(start);
}

void BumpAllocator::deallocate(void* pointer, std::size_t size, std::size_t align) {
  if (pointer == nullptr) return;
  // Always checked: letting the count wrap would make the heap reset while blocks are live.
  if (allocation_count_ == 0) {
    panic_bad_free("bump", "more frees than allocations", pointer, size, align);
  }
  if (debug_) {
    std::uintptr_t start = address_of(pointer);
    if (start < heap_start_ + sizeof(Tag) || start >= next_ ||
        (size != 0 && size > next_ - start)) {
      panic_bad_free("bump", "free of a pointer this allocator never handed out", pointer, size,
                     align);
    }
    Tag tag = read_tag(start);
    if (tag == (kFreedTag ^ start)) panic_bad_free("bump", "double free", pointer, size, align);
    if (tag != (kLiveTag ^ start)) {
      panic_bad_free("bump", "free of a pointer this allocator never handed out", pointer, size,
                     align);
    }
    write_tag(start, kFreedTag ^ start);
    poison(pointer, size);
  }

  --allocation_count_;
  bytes_in_use_ -= size;
  if (allocation_count_ == 0) next_ = heap_start_;  // everything is free again
}

std::expected<void, GrowError> BumpAllocator::grow(std::span<std::byte> more) {
  const auto end = checked_growth(heap_end_, more);
  if (!end) return std::unexpected(end.error());
  heap_end_ = *end;
  return {};
}

AllocatorStats BumpAllocator::stats() const {
  return {.heap_bytes = heap_end_ - heap_start_,
          .bytes_in_use = bytes_in_use_,
          .allocation_count = allocation_count_,
          .free_bytes = heap_end_ - next_};
}

void BumpAllocator::check_invariants() const {
  FERRITE_ASSERT(heap_start_ <= next_ && next_ <= heap_end_);
  FERRITE_ASSERT(bytes_in_use_ <= next_ - heap_start_);
  if (allocation_count_ == 0) {
    FERRITE_ASSERT(next_ == heap_start_);
    FERRITE_ASSERT(bytes_in_use_ == 0);
  }
}

}  // namespace ferrite::mm
