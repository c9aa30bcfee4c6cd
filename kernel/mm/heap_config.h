// The heap's command-line options (chapters 10-11), checked against the machine before anything
// is mapped: whatever the user types, the kernel boots with a heap that fits and says what it
// changed. Portable, so host tests feed it hostile values.
//   allocator=bump|linked_list|fixed_block|tlsf   (default fixed_block)
//   heap=100K        initial size (the seed's 100 KiB)
//   heap_max=64M     how far it may grow by mapping more pages (its region and its large
//                    blocks together, mm/heap.h)
//   heap_debug       poison freed memory, catch double and foreign frees
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/format.h"
#include "mm/allocators/allocator.h"

namespace ferrite::boot {
class CommandLine;
}

namespace ferrite::mm {

struct HeapConfig {
  // Bounds the options are held to (besides the machine's free memory). Below these the kernel
  // cannot start its tasks and shell: heap=4K heap_max=4K used to boot into a dead end.
  static constexpr std::size_t kMinInitialBytes = 64 * 1024;
  static constexpr std::size_t kMinMaxBytes = 1024 * 1024;
  static constexpr std::size_t kDefaultInitialBytes = 100 * 1024;
  static constexpr std::size_t kDefaultMaxBytes = 64 * 1024 * 1024;

  AllocatorKind kind = AllocatorKind::fixed_block;
  std::size_t initial_bytes = kDefaultInitialBytes;  // a multiple of 4 KiB
  std::size_t max_bytes = kDefaultMaxBytes;          // a multiple of 4 KiB, >= initial_bytes
  DebugChecks debug = DebugChecks::off;
};

// Reads the options above. `free_memory_bytes` is what the frame allocator has left: the initial
// heap may take at most half of it (the rest is for page tables and everything else), heap_max
// at most all of it. A value that is malformed or out of bounds is replaced by the nearest value
// that works, and a line starting "heap: " saying so goes to `messages`.
HeapConfig heap_config_from(const boot::CommandLine& command_line, std::uint64_t free_memory_bytes,
                            fmt::Sink& messages);

}  // namespace ferrite::mm
