// The kernel heap (chapter 10): a virtual region at kKernelHeapStart, backed by frames mapped on
// demand, served by one of the allocator designs of chapter 11; large blocks get pages of their
// own instead, given back on free. The global operator new/delete (heap.cpp) route here.
// Configured on the kernel command line (heap_config.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mm/allocators/allocator.h"
#include "mm/heap_config.h"

namespace ferrite::mm {

// Reads the heap options and checks them against the free memory, reporting what it changed on
// the console. Call after mm::init.
HeapConfig heap_config_from(const boot::CommandLine& command_line);

void init_heap(const HeapConfig& config);

// Requests of at least this many bytes (with alignment up to a page) skip the allocator: each
// gets whole pages of its own in a window of their own (mm/layout.h, kLargeBlocksStart), and
// its free unmaps them, so the frames go back to the frame allocator at once. The heap itself
// never shrinks: a 16 MiB vector that doubled its way up would otherwise leave 31 MiB mapped in
// it for good. 128 KiB is glibc malloc's default M_MMAP_THRESHOLD: the page-rounding waste (at
// most 4 KiB less a byte) is under 3.2% there, and mapping costs a page-table walk per page,
// small next to zeroing the page and to what a block that size is used for. Linux's kmalloc
// does the same above its largest slab (kmalloc_large).
inline constexpr std::size_t kLargeBlockThreshold = 128 * 1024;

// nullptr when the request is impossible (bad alignment, size overflow) or memory is exhausted
// even after growing to heap_max. Never panics: operator new decides what failure means.
[[nodiscard]] void* heap_allocate(std::size_t size, std::size_t align);
void heap_deallocate(void* pointer, std::size_t size, std::size_t align);

struct HeapStats {
  AllocatorStats allocator;
  std::string_view allocator_name;
  std::size_t mapped_bytes = 0;  // the heap region's current size
  std::size_t max_bytes = 0;
  std::size_t grow_count = 0;  // how often the heap mapped more pages
  bool growing = false;        // a growth is mapping its pages right now
  // Large blocks (kLargeBlockThreshold): counted against max_bytes with mapped_bytes, not in
  // `allocator`'s figures.
  std::size_t large_blocks = 0;        // live blocks
  std::size_t large_bytes = 0;         // bytes their callers asked for
  std::size_t large_mapped_bytes = 0;  // their pages (guard pages have no frame)
};
HeapStats heap_stats();

}  // namespace ferrite::mm
