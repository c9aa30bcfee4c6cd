// The I/O APIC (chapter 13): the chipset's interrupt router. Each of its inputs ("pins", numbered
// system-wide as global system interrupts, GSIs) has a 64-bit redirection entry that says which
// vector goes to which CPU, how the signal looks (polarity, edge or level) and whether it is
// masked. Once it is active, ISA IRQ n arrives as vector 32 + n as it did from the 8259 (the
// MADT's interrupt source overrides say which pin carries it), and the local APIC takes the EOI.
// The reference is Intel's "82093AA I/O Advanced Programmable Interrupt Controller (IOAPIC)"
// datasheet (order number 290566-001), 3.0 "Register Description".
#pragma once

#include <cstdint>
#include <optional>

#include "acpi/acpi.h"

namespace ferrite::pc::ioapic {

inline constexpr unsigned kIsaLineCount = 16;

// Redirection table entry (datasheet 3.2.4, IOREDTBL): vector in bits 0-7, delivery mode bits
// 8-10 (000 fixed), destination mode bit 11 (0 physical: bits 56-63 are a local APIC id),
// polarity bit 13 (1 active low), trigger mode bit 15 (1 level), mask bit 16.
inline constexpr std::uint64_t kEntryActiveLow = 1ull << 13;
inline constexpr std::uint64_t kEntryLevel = 1ull << 15;
inline constexpr std::uint64_t kEntryMasked = 1ull << 16;
inline constexpr unsigned kEntryDestinationShift = 56;

constexpr std::uint64_t redirection_entry(std::uint8_t vector, const acpi::IsaRoute& route,
                                          std::uint8_t destination_apic_id, bool masked) {
  return std::uint64_t{vector} | (route.active_low ? kEntryActiveLow : 0) |
         (route.level_triggered ? kEntryLevel : 0) | (masked ? kEntryMasked : 0) |
         std::uint64_t{destination_apic_id} << kEntryDestinationShift;
}

// Registers an I/O APIC whose register window is mapped (uncached) at `registers`; masks all its
// pins. Returns its pin count (from the version register), or 0 if the table is full.
unsigned add_chip(std::uint8_t id, std::uintptr_t registers, std::uint32_t gsi_base);

// Programs a redirection entry for each ISA IRQ that has a pin on a registered chip (vector
// 32 + irq, to local APIC `destination`, all masked), and logs (debug) those an override moved
// or gave other flags. Returns the number of IRQs routed.
unsigned route_isa_irqs(const acpi::Madt& madt, std::uint8_t destination);

// The ISA line API that pic8259.h forwards to once the I/O APIC has taken over (pic::use_ioapic).
[[nodiscard]] bool routes(std::uint8_t irq);  // an entry exists for this IRQ
void mask(std::uint8_t irq);
void unmask(std::uint8_t irq);
[[nodiscard]] bool is_masked(std::uint8_t irq);  // true for an IRQ without a route
// The IRQ's redirection entry as the chip holds it (read back, for tests), and its GSI.
[[nodiscard]] std::optional<std::uint64_t> entry(std::uint8_t irq);
[[nodiscard]] std::optional<std::uint32_t> gsi(std::uint8_t irq);

}  // namespace ferrite::pc::ioapic
