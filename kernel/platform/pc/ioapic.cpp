// Programming the I/O APICs: indirect register access, redirection entries, ISA routing
// (82093AA datasheet, 3.0 "Register Description"; ACPI 6.5 5.2.12.5 for the overrides).
#include "platform/pc/ioapic.h"

#include <array>

#include "lib/log.h"
#include "platform/pc/pic8259.h"  // kMasterVectorOffset: the IRQ vectors stay where they were
#include "sync/spinlock.h"

namespace ferrite::pc::ioapic {

namespace {

// Two registers in memory (datasheet 3.1): IOREGSEL at +0x00 picks a register, IOWIN at +0x10
// reads or writes it (32 bits). Register 0x01 is the version register: bits 16-23 hold the
// highest redirection entry's index (pins - 1). Entry n is registers 0x10 + 2n (low half) and
// 0x11 + 2n (high half).
constexpr std::uint32_t kRegisterSelect = 0x00 / 4;
constexpr std::uint32_t kRegisterWindow = 0x10 / 4;
constexpr std::uint8_t kVersionRegister = 0x01;
constexpr std::uint8_t kRedirectionTable = 0x10;

struct Chip {
  volatile std::uint32_t* registers = nullptr;
  std::uint8_t id = 0;
  std::uint32_t gsi_base = 0;
  unsigned pins = 0;
};

struct Route {
  bool present = false;
  std::uint8_t chip = 0;
  std::uint8_t pin = 0;
  std::uint32_t gsi = 0;
};

constinit std::array<Chip, acpi::Madt::max_io_apics> chips{};
constinit unsigned chip_count = 0;
constinit std::array<Route, kIsaLineCount> routes_by_irq{};

std::uint32_t read(const Chip& chip, std::uint8_t reg) {
  volatile std::uint32_t* const registers = chip.registers;
  registers[kRegisterSelect] = reg;
  return registers[kRegisterWindow];
}

void write(const Chip& chip, std::uint8_t reg, std::uint32_t value) {
  volatile std::uint32_t* const registers = chip.registers;
  registers[kRegisterSelect] = reg;
  registers[kRegisterWindow] = value;
}

std::uint64_t read_entry(const Chip& chip, unsigned pin) {
  const auto low = static_cast<std::uint8_t>(kRedirectionTable + 2 * pin);
  return read(chip, low) | std::uint64_t{read(chip, static_cast<std::uint8_t>(low + 1))} << 32;
}

// The mask bit lives in the low half: writing the high half (destination) first and the low
// half last means a half-written entry is never live with a new vector and an old destination.
void write_entry(const Chip& chip, unsigned pin, std::uint64_t entry) {
  const auto low = static_cast<std::uint8_t>(kRedirectionTable + 2 * pin);
  write(chip, low, static_cast<std::uint32_t>(entry) | static_cast<std::uint32_t>(kEntryMasked));
  write(chip, static_cast<std::uint8_t>(low + 1), static_cast<std::uint32_t>(entry >> 32));
  write(chip, low, static_cast<std::uint32_t>(entry));
}

const Route* route_of(std::uint8_t irq) {
  if (irq >= kIsaLineCount || !routes_by_irq[irq].present) return nullptr;
  return &routes_by_irq[irq];
}

// Out of line: mask() and unmask() share one copy.
[[gnu::noinline]] void set_masked(std::uint8_t irq, bool masked) {
  const Route* route = route_of(irq);
  if (route == nullptr) return;
  sync::InterruptGuard no_interrupts;  // IOREGSEL then IOWIN: no interrupt in between
  const Chip& chip = chips[route->chip];
  const auto low = static_cast<std::uint8_t>(kRedirectionTable + 2 * route->pin);
  std::uint32_t value = read(chip, low);
  value = masked ? (value | static_cast<std::uint32_t>(kEntryMasked))
                 : (value & ~static_cast<std::uint32_t>(kEntryMasked));
  write(chip, low, value);
}

}  // namespace

unsigned add_chip(std::uint8_t id, std::uintptr_t registers, std::uint32_t gsi_base) {
  if (chip_count == chips.size()) return 0;
  sync::InterruptGuard no_interrupts;
  Chip& chip = chips[chip_count++];
  chip.registers = reinterpret_cast<volatile std::uint32_t*>(registers);
  chip.id = id;
  chip.gsi_base = gsi_base;
  chip.pins = (read(chip, kVersionRegister) >> 16 & 0xFF) + 1;
  // Firmware may leave entries live (the 82093AA resets them masked; a warm boot may not).
  for (unsigned pin = 0; pin < chip.pins; ++pin) {
    write(chip, static_cast<std::uint8_t>(kRedirectionTable + 2 * pin),
          static_cast<std::uint32_t>(kEntryMasked));
  }
  return chip.pins;
}

unsigned route_isa_irqs(const acpi::Madt& madt, std::uint8_t destination) {
  sync::InterruptGuard no_interrupts;
  unsigned routed = 0;
  for (std::uint8_t irq = 0; irq < kIsaLineCount; ++irq) {
    routes_by_irq[irq] = {};
    const std::optional<acpi::IsaRoute> route = madt.isa_route(irq);
    if (!route) continue;
    unsigned c = 0;
    for (; c < chip_count; ++c) {
      const Chip& chip = chips[c];
      if (route->gsi < chip.gsi_base || route->gsi - chip.gsi_base >= chip.pins) continue;
      const auto pin = static_cast<std::uint8_t>(route->gsi - chip.gsi_base);
      write_entry(chip, pin, redirection_entry(pic::vector_of(irq), *route, destination, true));
      // What differs from the ISA wiring (an override moved the IRQ or changed its flags): a
      // detail of a boot that went as expected, for `dmesg` and `log=debug`.
      if (*route != acpi::IsaRoute{.gsi = irq}) {
        log::debug("ioapic: ISA IRQ {} -> GSI {}, {}, active {}", irq, route->gsi,
                   route->level_triggered ? "level" : "edge", route->active_low ? "low" : "high");
      }
      routes_by_irq[irq] = {.present = true, .chip = static_cast<std::uint8_t>(c), .pin = pin, .gsi = route->gsi};
      ++routed;
      break;
    }
    if (c == chip_count) {
      log::warn("ioapic: ISA IRQ {} -> GSI {}: no I/O APIC has that input; the IRQ stays off", irq,
                route->gsi);
    }
  }
  return routed;
}

bool routes(std::uint8_t irq) { return route_of(irq) != nullptr; }
void mask(std::uint8_t irq) { set_masked(irq, true); }
void unmask(std::uint8_t irq) { set_masked(irq, false); }

bool is_masked(std::uint8_t irq) {
  const std::optional<std::uint64_t> raw = entry(irq);
  return !raw || (*raw & kEntryMasked) != 0;
}

std::optional<std::uint64_t> entry(std::uint8_t irq) {
  const Route* route = route_of(irq);
  if (route == nullptr) return std::nullopt;
  sync::InterruptGuard no_interrupts;
  return read_entry(chips[route->chip], route->pin);
}

std::optional<std::uint32_t> gsi(std::uint8_t irq) {
  const Route* route = route_of(irq);
  if (route == nullptr) return std::nullopt;
  return route->gsi;
}

}  // namespace ferrite::pc::ioapic
