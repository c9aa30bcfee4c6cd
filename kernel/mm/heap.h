// The kernel heap (chapter 10): a virtual region at kKernelHeapStart, backed by frames mapped on
// demand, served by one of the allocator designs of chapter 11. The global operator new/delete
// (heap.cpp) route here. Configured on the kernel command line:
//   allocator=bump|linked_list|fixed_block|tlsf   (default fixed_block)
//   heap=100K        initial size (the seed's 100 KiB)
//   heap_max=64M     how far it may grow by mapping more pages
//   heap_debug       poison freed memory, catch double and foreign frees
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mm/allocators/allocator.h"

namespace ferrite::boot {
class CommandLine;
}

namespace ferrite::mm {

struct HeapConfig {
  AllocatorKind kind = AllocatorKind::fixed_block;
  std::size_t initial_bytes = 100 * 1024;
  std::size_t max_bytes = 64 * 1024 * 1024;
  DebugChecks debug = DebugChecks::off;
};

// Reads the options above; unknown values are reported and the default kept.
HeapConfig heap_config_from(const boot::CommandLine& command_line);

void init_heap(const HeapConfig& config);

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
};
HeapStats heap_stats();

}  // namespace ferrite::mm
