// Chapter 11's first design: hand out memory by moving a pointer forward, and take it all back
// at once when the last live allocation is freed (blog_os's BumpAllocator).
#pragma once

#include "mm/allocators/allocator.h"

namespace ferrite::mm {

// Fast and tiny, but memory is only reused after *every* allocation has been freed: one
// long-lived allocation pins the whole heap (the seed's `many_boxes_long_lived` exhausts it).
//
// Debug mode puts a tag word in front of each allocation, recording whether it is live or
// freed; that is how a double free and a foreign pointer are told apart. Bump memory is never
// reused while anything is live, so the tag of a freed block stays intact until the reset.
class BumpAllocator final : public Allocator {
 public:
  constexpr BumpAllocator() = default;
  explicit BumpAllocator(std::span<std::byte> region, DebugChecks debug = DebugChecks::off) {
    init(region, debug);
  }

  // Takes over `region` as the heap. Call once, before the first allocation.
  void init(std::span<std::byte> region, DebugChecks debug = DebugChecks::off);

  [[nodiscard]] void* allocate(std::size_t size, std::size_t align) override;
  void deallocate(void* pointer, std::size_t size, std::size_t align) override;
  [[nodiscard]] std::expected<void, GrowError> grow(std::span<std::byte> more) override;
  [[nodiscard]] AllocatorStats stats() const override;
  [[nodiscard]] std::string_view name() const override { return "bump"; }
  void check_invariants() const override;

 private:
  std::uintptr_t heap_start_ = 0;
  std::uintptr_t heap_end_ = 0;
  std::uintptr_t next_ = 0;  // first byte never handed out since the last reset
  std::size_t allocation_count_ = 0;
  std::size_t bytes_in_use_ = 0;
  bool debug_ = false;
};

}  // namespace ferrite::mm
