// How portable code reaches the bytes of a physical frame (chapter 9, "map the complete physical
// memory"): page tables hold physical addresses, but code can only dereference virtual ones.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mm/address.h"

namespace ferrite::mm {

// The kernel maps physical memory (its RAM) at one fixed virtual offset, so physical address p is
// readable at virtual address p + offset. Host tests use the same struct over a buffer that
// stands in for RAM: offset = buffer address - simulated physical base (unsigned arithmetic
// wraps, so a base above the buffer's address works too).
//
// A plain offset rather than an interface: this is exactly what the kernel does, and it costs
// one addition, no call.
struct PhysicalMemoryView {
  std::uint64_t offset = 0;

  template <class T = std::byte>
  T* pointer_to(PhysAddr address) const {
    return reinterpret_cast<T*>(address.value() + offset);
  }
};

}  // namespace ferrite::mm
