// The interface every heap allocator design of chapter 11 implements (bump, linked list,
// fixed-size block, TLSF), the rules they share for bad requests, and their statistics.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <limits>
#include <optional>
#include <source_location>
#include <span>
#include <string_view>

namespace ferrite::mm {

// What an allocator can say about itself. `free_bytes` counts every byte it could still hand
// out; fragmentation may keep a single request of that size from succeeding.
struct AllocatorStats {
  std::size_t heap_bytes = 0;        // usable bytes under management (grows with grow())
  std::size_t bytes_in_use = 0;      // sum of the sizes callers asked for, over live allocations
                                     // (fixed_block: whole blocks for the requests its lists serve)
  std::size_t allocation_count = 0;  // live allocations
  std::size_t free_bytes = 0;        // bytes not holding a live allocation or bookkeeping
};

enum class GrowError {
  not_adjacent,      // the new memory does not start where the heap ends
  address_overflow,  // the new end would wrap around the address space
};

constexpr std::string_view to_string(GrowError error) {
  switch (error) {
    case GrowError::not_adjacent:
      return "heap growth must start exactly at the current end of the heap";
    case GrowError::address_overflow:
      return "heap growth would wrap around the end of the address space";
  }
  return "unknown heap growth error";
}

// Debug checks cost time (some walk the whole heap), so they are chosen when the allocator is
// made: poison freed memory, and panic on double frees and on frees of foreign pointers.
enum class DebugChecks : bool { off, on };

// Which design the kernel heap uses; the kernel command line names it (e.g. heap=fixed_block).
enum class AllocatorKind { bump, linked_list, fixed_block, tlsf };

constexpr std::string_view to_string(AllocatorKind kind) {
  switch (kind) {
    case AllocatorKind::bump:
      return "bump";
    case AllocatorKind::linked_list:
      return "linked_list";
    case AllocatorKind::fixed_block:
      return "fixed_block";
    case AllocatorKind::tlsf:
      return "tlsf";
  }
  return "unknown";
}

constexpr std::optional<AllocatorKind> allocator_kind_from_name(std::string_view name) {
  for (auto kind : {AllocatorKind::bump, AllocatorKind::linked_list, AllocatorKind::fixed_block,
                    AllocatorKind::tlsf}) {
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

// The contract, shared by every design:
// - allocate(size, align) returns memory aligned to `align`, or nullptr when `align` is not a
//   power of two, when size + align does not fit in std::size_t, when `align` exceeds the
//   whole heap (even if the heap happens to start on such a boundary), or when the heap is
//   exhausted.
//   A zero-size request is served like a one-byte request: a distinct pointer (what C++ `new`
//   needs) that must be deallocated with size 0.
// - deallocate(p, size, align) takes back exactly what allocate(size, align) returned (C++ sized
//   delete); deallocate(nullptr, ...) does nothing.
// - grow(more) adds memory that starts exactly at the heap's current end (the kernel maps more
//   pages there). Bytes too few to use yet are kept and used once later growth adds to them.
// - Not thread-safe: the kernel heap wraps the allocator in a lock.
class Allocator {
 public:
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  [[nodiscard]] virtual void* allocate(std::size_t size, std::size_t align) = 0;
  virtual void deallocate(void* pointer, std::size_t size, std::size_t align) = 0;
  [[nodiscard]] virtual std::expected<void, GrowError> grow(std::span<std::byte> more) = 0;
  [[nodiscard]] virtual AllocatorStats stats() const = 0;
  [[nodiscard]] virtual std::string_view name() const = 0;
  // Walks every internal structure and panics on the first broken invariant. Costs O(heap);
  // for tests and for debugging a corrupted heap.
  virtual void check_invariants() const = 0;

 protected:
  constexpr Allocator() = default;
  // Allocators live in static storage and are never deleted through this interface.
  ~Allocator() = default;
};

// Small address helpers shared by the designs (named to stay out of the way of mm's own).
namespace allocator_detail {

inline std::uintptr_t address_of(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}
inline std::byte* pointer_at(std::uintptr_t address) {
  return reinterpret_cast<std::byte*>(address);
}
// `align` must be a power of two and `value + align - 1` must not overflow.
constexpr std::uintptr_t align_up(std::uintptr_t value, std::size_t align) {
  return (value + align - 1) & ~(std::uintptr_t{align} - 1);
}
constexpr std::uintptr_t align_down(std::uintptr_t value, std::size_t align) {
  return value & ~(std::uintptr_t{align} - 1);
}

// std::has_single_bit, written out: at -O0 the std version calls libgcc's __popcountdi2,
// which the kernel does not link.
constexpr bool is_power_of_two(std::size_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

// The checks every design starts with. Returns the size to serve (0 becomes 1), or nothing if
// the request can never succeed: alignment not a power of two, or size + align wraps.
constexpr std::optional<std::size_t> checked_request_size(std::size_t size, std::size_t align) {
  if (!is_power_of_two(align)) return std::nullopt;
  if (size > std::numeric_limits<std::size_t>::max() - align) return std::nullopt;
  return size == 0 ? std::size_t{1} : size;
}

// The checks every grow() starts with, for a heap that ends at `heap_end`: the new end, or why
// `more` cannot be added. An empty `more` gives `heap_end` back (nothing to do).
inline std::expected<std::uintptr_t, GrowError> checked_growth(std::uintptr_t heap_end,
                                                                std::span<std::byte> more) {
  if (more.empty()) return heap_end;
  if (address_of(more.data()) != heap_end) return std::unexpected(GrowError::not_adjacent);
  if (more.size() > std::numeric_limits<std::uintptr_t>::max() - heap_end) {
    return std::unexpected(GrowError::address_overflow);
  }
  return heap_end + more.size();
}

// Freed memory is filled with this in debug mode: a reader of freed memory sees 0xdfdf...,
// which is neither a plausible pointer nor a small integer.
inline constexpr std::byte kPoisonByte{0xdf};

inline void poison(void* start, std::size_t bytes) {
  __builtin_memset(start, static_cast<int>(kPoisonByte), bytes);
}

// Panics with "<allocator>: <problem> (pointer 0x..., size N, align N)".
[[noreturn]] void panic_bad_free(std::string_view allocator, std::string_view problem,
                                 const void* pointer, std::size_t size, std::size_t align,
                                 std::source_location where = std::source_location::current());

}  // namespace allocator_detail

}  // namespace ferrite::mm
