// The 64-bit Task State Segment (chapter 6 "Double Faults"). In long mode the TSS no longer
// switches tasks; it only holds stack pointers the CPU loads on an interrupt: RSP0-2 for a change
// of privilege level, and the seven Interrupt Stack Table entries that an IDT gate can select to
// run its handler on a known-good stack (Intel SDM Vol. 3A 8.7 "Task Management in 64-bit Mode",
// figure 8-11 "64-Bit TSS Format"; 7.14.5 "Interrupt Stack Table". Editions before 2023 number
// these chapters one lower: 7.7 and 6.14.5).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferrite::arch {

inline constexpr std::uint16_t kTaskStateSegmentSize = 104;

// Byte layout fixed by the CPU; the 64-bit fields sit at 4-byte offsets, hence packed.
struct [[gnu::packed]] TaskStateSegment {
  std::uint32_t reserved0 = 0;
  std::uint64_t privilege_stack[3] = {};  // RSP0..RSP2: RSP0: used on entry from ring 3 (chapter 14)
  std::uint64_t reserved1 = 0;
  std::uint64_t interrupt_stack[7] = {};  // IST1..IST7 (IDT gates say 1..7; 0 = "no switch")
  std::uint64_t reserved2 = 0;
  std::uint16_t reserved3 = 0;
  // Offset of the I/O permission bitmap. Pointing it at the end of the TSS means "no bitmap":
  // every port access from ring 3 then faults (SDM Vol. 1 19.5.2 "I/O Permission Bit Map").
  std::uint16_t io_map_base = kTaskStateSegmentSize;
};
static_assert(sizeof(TaskStateSegment) == kTaskStateSegmentSize);
static_assert(offsetof(TaskStateSegment, privilege_stack) == 4);
static_assert(offsetof(TaskStateSegment, interrupt_stack) == 36);
static_assert(offsetof(TaskStateSegment, io_map_base) == 102);

// Which IST entry each critical exception uses. Each gets its own stack so that, for example, a
// machine check during a double fault does not overwrite the double-fault handler's frame.
enum class InterruptStack : std::uint8_t {
  none = 0,
  double_fault = 1,   // #DF: the kernel stack itself may be what overflowed
  nmi = 2,            // NMI: can arrive anywhere, even at the first instruction of a handler
  machine_check = 3,  // #MC: the current stack may be unusable
};
inline constexpr std::size_t kInterruptStackCount = 3;

}  // namespace ferrite::arch
