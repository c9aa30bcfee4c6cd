// Reading the firmware's ACPI tables (chapter 13): where the CPUs, I/O APICs and timers are, how
// ISA interrupts are wired, how to reset and switch off. Read-only, no AML interpreter. Every
// byte is read through a PhysicalReader and checked against both the table's declared length
// and what the reader can map, so damaged tables give an AcpiError, never a stray read.
// Portable: compiled into the kernel and into host tests (tests/host/acpi_test.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string_view>

#include "boot/boot_info.h"  // PhysicalReader

namespace ferrite::acpi {

using boot::PhysicalReader;

enum class AcpiError : std::uint8_t {
  rsdp_out_of_range,
  rsdp_bad_signature,
  rsdp_bad_checksum,
  rsdp_bad_length,
  rsdp_bad_extended_checksum,
  no_root_table,
  table_out_of_range,
  table_bad_signature,
  table_too_short,
  table_too_long,
  table_bad_checksum,
  root_not_whole_entries,
  table_missing,
  madt_entry_too_short,
  madt_entry_past_end,
  fadt_no_dsdt,
  s5_not_found,
  s5_bad_encoding,
  s5_type_too_large,
  fadt_no_pm1_control,
  not_found_in_bios_area,
};

constexpr std::string_view to_string(AcpiError error) {
  switch (error) {
    case AcpiError::rsdp_out_of_range:
      return "RSDP lies outside readable physical memory";
    case AcpiError::rsdp_bad_signature:
      return "RSDP signature is not \"RSD PTR \"";
    case AcpiError::rsdp_bad_checksum:
      return "RSDP checksum (first 20 bytes) does not add up to 0";
    case AcpiError::rsdp_bad_length:
      return "RSDP revision 2+ length is below 36 bytes";
    case AcpiError::rsdp_bad_extended_checksum:
      return "RSDP extended checksum does not add up to 0";
    case AcpiError::no_root_table:
      return "RSDP gives neither an RSDT nor an XSDT address";
    case AcpiError::table_out_of_range:
      return "table runs past readable physical memory";
    case AcpiError::table_bad_signature:
      return "table signature is not the one expected";
    case AcpiError::table_too_short:
      return "table length is shorter than its fixed fields";
    case AcpiError::table_too_long:
      return "table length is implausibly large (over 1 MiB)";
    case AcpiError::table_bad_checksum:
      return "table checksum does not add up to 0";
    case AcpiError::root_not_whole_entries:
      return "RSDT/XSDT length is not a whole number of entries";
    case AcpiError::table_missing:
      return "table not present";
    case AcpiError::madt_entry_too_short:
      return "MADT entry shorter than its type's fields (or 2 bytes)";
    case AcpiError::madt_entry_past_end:
      return "MADT entry runs past the end of the table";
    case AcpiError::fadt_no_dsdt:
      return "FADT gives no DSDT address";
    case AcpiError::s5_not_found:
      return "DSDT defines no _S5_ package that a simple scan can find";
    case AcpiError::s5_bad_encoding:
      return "DSDT _S5_ package is not two or more integer constants";
    case AcpiError::s5_type_too_large:
      return "DSDT _S5_ sleep type does not fit SLP_TYP's 3 bits";
    case AcpiError::fadt_no_pm1_control:
      return "FADT gives no PM1a control register in I/O space";
    case AcpiError::not_found_in_bios_area:
      return "no RSDP in the EBDA or 0xE0000-0xFFFFF";
  }
  return "unknown ACPI error";
}

// MPS INTI flags (ACPI 6.5 5.2.12, Interrupt Source Override): "conforms" means the bus's own
// convention (ISA: active high, edge triggered).
enum class Polarity : std::uint8_t { conforms = 0, active_high = 1, reserved = 2, active_low = 3 };
enum class Trigger : std::uint8_t { conforms = 0, edge = 1, reserved = 2, level = 3 };

struct LocalApic {
  std::uint32_t processor_uid = 0;
  std::uint32_t apic_id = 0;  // x2APIC ids come from type-9 entries
  bool enabled = false;
  bool online_capable = false;  // disabled now, but may be brought online later
  bool x2apic_entry = false;
};

struct IoApic {
  std::uint8_t id = 0;
  std::uint32_t address = 0;
  std::uint32_t gsi_base = 0;
};

struct InterruptOverride {
  std::uint8_t bus = 0;  // 0: ISA
  std::uint8_t source_irq = 0;
  std::uint32_t gsi = 0;
  Polarity polarity = Polarity::conforms;
  Trigger trigger = Trigger::conforms;
};

// How an ISA IRQ reaches an I/O APIC input: its GSI and the signal's electrical form, with the
// overrides' "conforms" already resolved to the ISA convention (active high, edge triggered).
struct IsaRoute {
  std::uint32_t gsi = 0;
  bool active_low = false;
  bool level_triggered = false;
  friend bool operator==(const IsaRoute&, const IsaRoute&) = default;
};

struct LocalApicNmi {
  static constexpr std::uint32_t all_processors = 0xFFFF'FFFF;  // also for a type-4 uid of 0xFF
  // Zero by default like every other field, so that a blank Madt is all zero bytes.
  std::uint32_t processor_uid = 0;
  std::uint8_t lint = 0;
  Polarity polarity = Polarity::conforms;
  Trigger trigger = Trigger::conforms;
};

struct NmiSource {
  std::uint32_t gsi = 0;
  Polarity polarity = Polarity::conforms;
  Trigger trigger = Trigger::conforms;
};

// What the MADT says. Fixed capacity (it lives in a constinit global and on early stacks):
// entries beyond it are dropped and counted in `dropped_entries`.
struct Madt {
  static constexpr std::size_t max_local_apics = 64;
  static constexpr std::size_t max_io_apics = 8;
  static constexpr std::size_t max_overrides = 24;
  static constexpr std::size_t max_local_apic_nmis = 16;
  static constexpr std::size_t max_nmi_sources = 4;

  std::uint64_t local_apic_address = 0;  // after a type-5 override, if any
  bool local_apic_address_overridden = false;
  bool has_8259s =
      false;  // PCAT_COMPAT: the legacy PIC pair must be masked when the APIC takes over

  std::array<LocalApic, max_local_apics> local_apics{};
  std::size_t local_apic_count = 0;
  std::array<IoApic, max_io_apics> io_apics{};
  std::size_t io_apic_count = 0;
  std::array<InterruptOverride, max_overrides> overrides{};
  std::size_t override_count = 0;
  std::array<LocalApicNmi, max_local_apic_nmis> local_apic_nmis{};
  std::size_t local_apic_nmi_count = 0;
  std::array<NmiSource, max_nmi_sources> nmi_sources{};
  std::size_t nmi_source_count = 0;

  std::size_t skipped_entries = 0;  // entry types ferrite does not read (ACPI has ~25)
  std::size_t dropped_entries = 0;  // known types beyond the capacities above

  std::span<const LocalApic> cpus() const { return {local_apics.data(), local_apic_count}; }
  std::span<const IoApic> ioapics() const { return {io_apics.data(), io_apic_count}; }
  std::span<const InterruptOverride> isos() const { return {overrides.data(), override_count}; }
  std::span<const LocalApicNmi> lapic_nmis() const {
    return {local_apic_nmis.data(), local_apic_nmi_count};
  }
  std::size_t enabled_cpus() const;
  // Where ISA IRQ `irq` arrives: an override's GSI, else the identity mapping (ACPI 6.5 5.2.13).
  std::uint32_t gsi_for_isa_irq(std::uint8_t irq) const;
  // The whole route of ISA IRQ `irq`: an override's GSI and flags (ACPI 6.5 table 5.50, MPS INTI
  // flags; "conforms" and the reserved values mean the ISA default), else GSI = irq, edge, active
  // high. Empty when another IRQ's override takes the GSI this IRQ would have by identity and
  // no override of its own moves it: on PCs, IRQ 2 (the 8259 cascade, never a device) whose
  // GSI 2 carries the PIT's IRQ 0.
  std::optional<IsaRoute> isa_route(std::uint8_t irq) const;
};

// A register as the Generic Address Structure (ACPI 6.5 5.2.3.2) describes it.
struct Register {
  enum class Space : std::uint8_t { memory = 0, io = 1, pci_config = 2, other = 0xFF };
  Space space = Space::other;
  std::uint8_t raw_space = 0;
  std::uint8_t bit_width = 0;
  std::uint64_t address = 0;
};

struct Fadt {
  std::uint8_t revision = 0;  // of the table, from its header
  std::uint16_t sci_interrupt = 0;
  std::uint32_t flags = 0;
  std::uint16_t iapc_boot_arch = 0;  // 0 in ACPI 1.0 tables (the field was reserved)
  bool hardware_reduced = false;
  // ACPI PM timer: 3.579545 MHz, 24 or 32 bits wide. Absent on hardware-reduced machines.
  std::optional<Register> pm_timer;
  std::uint8_t pm_timer_bits = 0;
  // Writing reset_value to reset_register resets the machine (only if RESET_REG_SUP is set).
  std::optional<Register> reset_register;
  std::uint8_t reset_value = 0;
  // PM1 control blocks, I/O ports (0: none): power-off writes SLP_TYPx and SLP_EN to them (ACPI
  // 6.5 4.8.3.2.1, the PM1 control register's fixed hardware bits). X_PM1x_CNT_BLK when the
  // firmware sets it (a block in another address space counts as none), else PM1x_CNT_BLK if
  // PM1_CNT_LEN is at least 2 bytes.
  std::uint32_t pm1a_control_port = 0;
  std::uint32_t pm1b_control_port = 0;
  std::uint64_t dsdt_address = 0;  // X_DSDT if set, else DSDT
};

// The values for SLP_TYPa / SLP_TYPb that put the machine into S5 (soft off), from the DSDT's
// `Name (_S5_, Package () { a, b, ... })` (ACPI 6.5 7.4.2).
struct SleepType {
  std::uint8_t a = 0;
  std::uint8_t b = 0;
  friend constexpr bool operator==(const SleepType&, const SleepType&) = default;
};

// Everything writing S5 needs: the FADT's PM1a (and PM1b, 0 if none) control ports and the
// \_S5_ package's SLP_TYPa/SLP_TYPb. (ACPI defines these blocks as system I/O ports.)
struct SleepControl {
  std::uint16_t pm1a_control_port = 0;
  std::uint16_t pm1b_control_port = 0;
  SleepType type;
  friend constexpr bool operator==(const SleepControl&, const SleepControl&) = default;
};

struct Hpet {
  std::uint64_t address = 0;  // memory space, the register block
  std::uint8_t number = 0;
  std::uint16_t minimum_tick = 0;
  std::uint32_t event_timer_block_id = 0;
};

// One table the RSDT/XSDT lists, checked or not.
struct TableEntry {
  std::array<char, 4> signature{};
  std::uint64_t address = 0;
  std::uint32_t length = 0;
  std::optional<AcpiError> error;  // why it cannot be used (checksum, range, length)
  std::string_view name() const { return {signature.data(), signature.size()}; }
};

struct AcpiInfo {
  static constexpr std::size_t max_tables = 32;

  std::uint64_t rsdp_address = 0;
  std::uint8_t revision = 0;  // of the RSDP: 0 for ACPI 1.0, 2 for 2.0 and later
  std::array<char, 6> oem_id{};
  bool uses_xsdt = false;
  std::uint64_t root_address = 0;
  // When the XSDT is broken but the RSDT is fine, the RSDT is used and this says why.
  std::optional<AcpiError> xsdt_error;

  std::array<TableEntry, max_tables> table_list{};
  std::size_t table_count = 0;
  std::size_t dropped_tables = 0;  // listed beyond max_tables
  std::size_t null_table_pointers = 0;

  // Each table on its own: one damaged optional table does not lose the others, and a bad
  // or missing MADT is an error the caller sees (table_missing if it is not listed at all).
  std::expected<Madt, AcpiError> madt = std::unexpected(AcpiError::table_missing);
  std::expected<Fadt, AcpiError> fadt = std::unexpected(AcpiError::table_missing);

  std::span<const TableEntry> tables() const { return {table_list.data(), table_count}; }
  std::string_view oem() const;  // without trailing spaces
};

// Reads the RSDP at `rsdp_phys`, its RSDT or XSDT, the headers and checksums of the tables they
// list, and the two tables boot needs: the MADT (CPUs, I/O APICs, ISA overrides) and the FADT (PM
// timer, power registers, where the DSDT is). Fails only if the RSDP or the root table is
// unusable; every other table's outcome is in its own field. Fills `info` in place (a few KiB,
// which the kernel keeps in a global); after a failure its contents mean nothing.
[[nodiscard]] std::expected<void, AcpiError> parse(const PhysicalReader& memory,
                                                   std::uint64_t rsdp_phys, AcpiInfo& info);

// The tables nothing needs at boot, read when asked (power-off, the shell's `acpi`): the HPET
// table (table_missing if the root table does not list one), and the DSDT's \_S5_ (scanning the
// DSDT checks and reads all of it, ~8 KiB under QEMU; the FADT's error if there is no FADT).
[[nodiscard]] std::expected<Hpet, AcpiError> read_hpet(const PhysicalReader& memory,
                                                       const AcpiInfo& info);
[[nodiscard]] std::expected<SleepType, AcpiError> read_s5(const PhysicalReader& memory,
                                                          const AcpiInfo& info);

// What entering S5 takes, checked (ACPI 6.5 7.4.2): a PM1a control port that fits in 16 bits (and
// a PM1b one if the FADT has it), and sleep types that fit SLP_TYP's 3 bits.
[[nodiscard]] std::expected<SleepControl, AcpiError> sleep_control(const Fadt& fadt, SleepType s5);

// ACPI 6.5 5.2.5.1: on IA-PC BIOS machines the RSDP lies on a 16-byte boundary in the first
// KiB of the EBDA (segment at 0x40E) or in 0xE0000-0xFFFFF. Returns the first one whose
// checksum is right. Not for UEFI machines: there the bootloader passes it (Multiboot2 tags).
[[nodiscard]] std::expected<std::uint64_t, AcpiError> find_rsdp_in_bios_area(
    const PhysicalReader& memory);

// The S5 scan on its own (for tests): `aml` is the DSDT's body after the header.
[[nodiscard]] std::expected<SleepType, AcpiError> find_s5_in_aml(std::span<const std::byte> aml);

}  // namespace ferrite::acpi
