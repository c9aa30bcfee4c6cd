// The two cascaded Intel 8259A interrupt controllers of the PC (chapter 7 "Hardware Interrupts").
// The master takes IRQ 0-7, the slave IRQ 8-15 and reports to the master's line 2. After a reset
// they deliver IRQs on vectors 8-15, which collide with CPU exceptions, so init() moves them to
// 32-47. A line is unmasked only while it has a handler.
// Since chapter 13 the I/O APIC can take the lines over (use_ioapic): the line API below then
// forwards to it, with the same vectors, and the 8259s stay fully masked.
#pragma once

#include <cstdint>

#include "arch/x86_64/idt.h"
#include "arch/x86_64/interrupt_frame.h"

namespace ferrite::pc::pic {

inline constexpr std::uint8_t kMasterVectorOffset = 32;
inline constexpr std::uint8_t kSlaveVectorOffset = kMasterVectorOffset + 8;
inline constexpr unsigned kLineCount = 16;

// The lines of a PC (IBM PC AT Technical Reference, "System Interrupts").
inline constexpr std::uint8_t kTimerLine = 0;     // PIT channel 0
inline constexpr std::uint8_t kKeyboardLine = 1;  // 8042 port 1
inline constexpr std::uint8_t kCascadeLine = 2;   // the slave's output

constexpr bool is_irq_vector(std::uint8_t vector) {
  return vector >= kMasterVectorOffset && vector < kMasterVectorOffset + kLineCount;
}
constexpr std::uint8_t vector_of(std::uint8_t line) {
  return static_cast<std::uint8_t>(kMasterVectorOffset + line);
}

// Remaps both controllers to 32-47 and masks every line except the cascade.
void init();

// Hands every line to the I/O APIC, whose ISA routes (ioapic::route_isa_irqs) must be in place:
// lines unmasked here are unmasked there, then both 8259s are masked entirely (IMR 0xFF) and the
// local APIC's LINT0 (the 8259's virtual wire) is masked. From then on handle_irq sends the EOI
// to the local APIC. Without an I/O APIC, never called: the 8259 path stays as it was.
void use_ioapic();
[[nodiscard]] bool ioapic_active();
// Both controllers' interrupt mask registers as the hardware holds them (master low byte).
[[nodiscard]] std::uint16_t read_hardware_masks();

// Registers the handler of an IRQ line and unmasks it; nullptr masks the line and removes it.
// The handler runs with interrupts disabled; handle_irq sends the EOI after it returns.
void set_irq_handler(std::uint8_t line, arch::InterruptHandler handler);

void mask(std::uint8_t line);
void unmask(std::uint8_t line);
[[nodiscard]] bool is_masked(std::uint8_t line);

// Called by interrupt_dispatch for vectors 32-47: filters spurious IRQs (8259 path), runs the
// line's handler (or reports an unexpected interrupt) and acknowledges the IRQ with an EOI (to
// the 8259, or to the local APIC once the I/O APIC delivers).
void handle_irq(arch::InterruptFrame& frame);

// Interrupts a controller raised and then withdrew before the CPU acknowledged them (noise on a
// line, or a line masked at the wrong moment). The 8259A then answers with its lowest-priority
// line, 7, without setting its in-service bit.
struct SpuriousCounts {
  std::uint64_t master_irq7 = 0;
  std::uint64_t slave_irq15 = 0;
};
[[nodiscard]] SpuriousCounts spurious_counts();

}  // namespace ferrite::pc::pic
