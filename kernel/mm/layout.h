// The kernel's virtual address space, in one place (chapter 9).
//
//   0x0000000000000000 .. 0x00007FFFFFFFFFFF  lower half: a user address space per process
//                                             (mm/address_space.h: kUserBase .. kUserEnd); during
//                                             boot only, an identity map of 0..4 GiB
//   0xFFFF800000000000 + phys                 RAM, ACPI regions and the first MiB ("physical memory
//                                             offset"; device memory only through mm::map_mmio)
//   0xFFFFC00000000000 ..                     kernel heap (grows on demand)
//   0xFFFFD00000000000 ..                     device registers, mapped uncached (local APIC)
//   0xFFFFE00000000000 ..                     kernel thread stacks, one slot each with an
//                                             unmapped guard page below (sched/)
//   0xFFFFFFFF80000000 + phys                 the kernel image (-mcmodel=kernel: top 2 GiB)
#pragma once

#include <cstdint>

namespace ferrite::mm {

inline constexpr std::uint64_t kPhysicalMemoryOffset = 0xFFFF'8000'0000'0000;
inline constexpr std::uint64_t kKernelHeapStart = 0xFFFF'C000'0000'0000;
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
