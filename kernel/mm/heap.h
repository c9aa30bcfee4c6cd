// The kernel heap (chapter 10): a virtual region at kKernelHeapStart, backed by frames mapped on
// demand, served by one of the allocator designs of chapter 11. The global operator new/delete
// (heap.cpp) route here. Configured on the kernel command line (heap_config.h).
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
};
HeapStats heap_stats();

}  // namespace ferrite::mm
