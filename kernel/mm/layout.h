// The kernel's virtual address space, in one place (chapter 9).
//
//   0x0000000000000000 .. 0x00007FFFFFFFFFFF  lower half: a user address space per process
//                                             (mm/address_space.h: kUserBase .. kUserEnd); during
//                                             boot only, an identity map of 0..4 GiB
//   0xFFFF800000000000 + phys                 RAM, ACPI regions and the first MiB ("physical memory
//                                             offset"; device memory only through mm::map_mmio)
//   0xFFFFC00000000000 ..                     kernel heap (grows on demand, up to heap_max)
//   0xFFFFC04000000000 .. 0xFFFFC08000000000  large heap blocks, each its own pages and an
//                                             unmapped guard page above (mm/heap.cpp); in the
//                                             heap's level-4 entry, which mm::init prepares
//   0xFFFFD00000000000 ..                     device registers, mapped uncached (local APIC)
//   0xFFFFE00000000000 ..                     kernel thread stacks, one slot each with an
//                                             unmapped guard page below (sched/)
//   0xFFFFFFFF80000000 + phys                 the kernel image (-mcmodel=kernel: top 2 GiB)
#pragma once

#include <cstdint>

namespace ferrite::mm {

inline constexpr std::uint64_t kPhysicalMemoryOffset = 0xFFFF'8000'0000'0000;
inline constexpr std::uint64_t kKernelHeapStart = 0xFFFF'C000'0000'0000;
// The upper half of the heap's 512 GiB level-4 entry: the heap grows up from its start and never
// reaches this (init_heap holds heap_max below it).
inline constexpr std::uint64_t kLargeBlocksStart = 0xFFFF'C040'0000'0000;
inline constexpr std::uint64_t kLargeBlocksEnd = 0xFFFF'C080'0000'0000;
inline constexpr std::uint64_t kDeviceMemoryStart = 0xFFFF'D000'0000'0000;
inline constexpr std::uint64_t kThreadStacksStart = 0xFFFF'E000'0000'0000;
inline constexpr std::uint64_t kKernelVirtualOffset = 0xFFFF'FFFF'8000'0000;

// The early boot page tables (boot/entry.S) map physical 0..4 GiB at the offset; mm::init
// replaces them with a map of RAM only (mm/physical_map.h).
inline constexpr std::uint64_t kEarlyPhysicalMapLimit = 4ull << 30;

template <class T = void>
T* physical_to_virtual(std::uint64_t physical) {
  return reinterpret_cast<T*>(physical + kPhysicalMemoryOffset);
}

}  // namespace ferrite::mm
