// The Global Descriptor Table and the TSS (chapter 6 "Double Faults"). Long mode ignores segment
// bases and limits, but the CPU still needs a 64-bit code segment for CS, and a TSS whose
// Interrupt Stack Table gives the double-fault, NMI and machine-check handlers stacks of their
// own — so that a kernel stack overflow ends in the double-fault handler, not a triple fault.
#pragma once

#include <cstdint>
#include <span>

#include "arch/x86_64/segment_selectors.h"
#include "arch/x86_64/tss.h"

namespace ferrite::arch {

// Segment selectors: GDT index * 8 | table indicator (0 = GDT) | requested privilege level
// (Intel SDM Vol. 3A 3.4.2 "Segment Selectors"). The user selectors come in the order that
// `syscall`/`sysret` will need (data before code; SDM Vol. 2B SYSRET).
inline constexpr std::uint16_t kKernelCodeSelector = 1 * 8;
inline constexpr std::uint16_t kKernelDataSelector = 2 * 8;
inline constexpr std::uint16_t kUserDataSelector = 3 * 8 | 3;
inline constexpr std::uint16_t kUserCodeSelector = 4 * 8 | 3;
// The assembler's copies (segment_selectors.h) agree.
static_assert(kKernelCodeSelector == FERRITE_KERNEL_CODE_SELECTOR);
static_assert(kKernelDataSelector == FERRITE_KERNEL_DATA_SELECTOR);
static_assert(kUserDataSelector == FERRITE_USER_DATA_SELECTOR);
static_assert(kUserCodeSelector == FERRITE_USER_CODE_SELECTOR);
// SYSRET's rule (SDM Vol. 2B SYSRET): SS = base + 8, CS = base + 16, base = user data - 8.
static_assert(kUserCodeSelector == kUserDataSelector + 8);
inline constexpr std::uint16_t kTssSelector = 5 * 8;  // a 16-byte descriptor: entries 5 and 6

// The operand of lgdt/lidt: limit (size - 1) and linear base address (SDM Vol. 3A 3.5.1
// "Segment Descriptor Tables", figure 3-11 "Pseudo-Descriptor Formats").
struct [[gnu::packed]] DescriptorTablePointer {
  std::uint16_t limit;
  std::uint64_t base;
};
static_assert(sizeof(DescriptorTablePointer) == 10);

// Builds the TSS (IST stacks) and the GDT, loads it with lgdt, reloads CS and the data segment
// registers, and loads the task register with ltr. Call once, before init_idt().
void init_gdt();

// A stack as the half-open address range [bottom, top).
struct StackRange {
  std::uintptr_t bottom;
  std::uintptr_t top;
  constexpr bool contains(std::uintptr_t address) const {
    return address >= bottom && address < top;
  }
};

// TSS.RSP0: the stack the CPU switches to when an interrupt or exception arrives in ring 3
// (SDM Vol. 3A 7.14.2 "64-Bit Mode Stack Frame"). The scheduler sets it to the running user
// thread's kernel stack on every switch (chapter 14).
void set_privilege_stack(std::uint64_t top);

// The stack the CPU switches to for the given IST entry (valid before init_gdt() too).
StackRange interrupt_stack(InterruptStack which);

// The 4 KiB guard page directly below each kernel stack: the boot stack (boot/entry.S) and the
// IST stacks. The memory code unmaps them, so running off the end of a stack page-faults
// instead of silently overwriting whatever lies below.
std::span<const std::uintptr_t> stack_guard_pages();

}  // namespace ferrite::arch
