// The byte layouts of the ACPI tables ferrite reads, written down once. Firmware builds these
// tables in memory; acpi.cpp copies bytes into these structs only after checking that the table
// really holds them. Sources: ACPI Specification 6.5 (chapter 5.2, "ACPI System Description
// Tables") and the IA-PC HPET Specification 1.0a. All fields are little-endian.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ferrite::acpi::layout {

// ACPI 6.5 5.2.5.3: the Root System Description Pointer. Revision 0 (ACPI 1.0) ends
// after rsdt_address; revision 2 adds the fields from `length` on (`length` counts them all).
struct [[gnu::packed]] Rsdp {
  std::array<char, 8> signature;  // "RSD PTR " (note the space)
  std::uint8_t checksum;          // the first 20 bytes sum to 0 (mod 256)
  std::array<char, 6> oem_id;
  std::uint8_t revision;  // 0: ACPI 1.0, RSDT only; 2: ACPI 2.0 and later, XSDT too
  std::uint32_t rsdt_address;
  // Revision 2 and later:
  std::uint32_t length;  // of this structure
  std::uint64_t xsdt_address;
  std::uint8_t extended_checksum;  // all `length` bytes sum to 0
  std::array<std::uint8_t, 3> reserved;
};
static_assert(sizeof(Rsdp) == 36);
inline constexpr std::size_t rsdp_v1_size = 20;  // up to and including rsdt_address
static_assert(offsetof(Rsdp, length) == rsdp_v1_size);
static_assert(offsetof(Rsdp, xsdt_address) == 24);

// ACPI 6.5 5.2.6: the header every table but the RSDP and FACS starts with.
struct [[gnu::packed]] TableHeader {
  std::array<char, 4> signature;  // "APIC" for the MADT, "FACP" for the FADT, ...
  std::uint32_t length;           // of the whole table, header included
  std::uint8_t revision;
  std::uint8_t checksum;  // the whole table sums to 0
  std::array<char, 6> oem_id;
  std::array<char, 8> oem_table_id;
  std::uint32_t oem_revision;
  std::uint32_t creator_id;
  std::uint32_t creator_revision;
};
static_assert(sizeof(TableHeader) == 36);

// ACPI 6.5 5.2.7 / 5.2.8: after the header, the RSDT holds 32-bit and the XSDT 64-bit physical
// addresses of the other tables (only 4-byte aligned in the XSDT: read them with memcpy).
inline constexpr std::size_t rsdt_entry_size = 4;
inline constexpr std::size_t xsdt_entry_size = 8;

// ACPI 6.5 5.2.3.2: Generic Address Structure, a register in some address space.
struct [[gnu::packed]] GenericAddress {
  std::uint8_t address_space;  // 0 system memory, 1 system I/O, 2 PCI configuration, ...
  std::uint8_t bit_width;
  std::uint8_t bit_offset;
  std::uint8_t access_size;  // 0 undefined, 1 byte, 2 word, 3 dword, 4 qword
  std::uint64_t address;
};
static_assert(sizeof(GenericAddress) == 12);
inline constexpr std::uint8_t address_space_memory = 0;
inline constexpr std::uint8_t address_space_io = 1;

// ACPI 6.5 5.2.9: the Fixed ACPI Description Table, signature "FACP". It grew with
// every revision: ACPI 1.0 tables end after `flags` (116 bytes), so every field past the
// table's own length must be treated as absent (acpi.cpp zero-fills the copy).
struct [[gnu::packed]] Fadt {
  TableHeader header;
  std::uint32_t firmware_ctrl;  // FACS
  std::uint32_t dsdt;
  std::uint8_t reserved0;
  std::uint8_t preferred_pm_profile;
  std::uint16_t sci_interrupt;
  std::uint32_t smi_command;
  std::uint8_t acpi_enable, acpi_disable, s4bios_request, pstate_control;
  std::uint32_t pm1a_event_block, pm1b_event_block;
  std::uint32_t pm1a_control_block, pm1b_control_block;
  std::uint32_t pm2_control_block;
  std::uint32_t pm_timer_block;  // I/O port of the ACPI PM timer (3.579545 MHz), 0 if none
  std::uint32_t gpe0_block, gpe1_block;
  std::uint8_t pm1_event_length, pm1_control_length, pm2_control_length;
  std::uint8_t pm_timer_length;  // 4 if there is a PM timer
  std::uint8_t gpe0_length, gpe1_length, gpe1_base, cstate_control;
  std::uint16_t worst_c2_latency, worst_c3_latency, flush_size, flush_stride;
  std::uint8_t duty_offset, duty_width, day_alarm, month_alarm, century;
  std::uint16_t iapc_boot_arch;  // bit 0 legacy devices, bit 1 8042, bit 5 CMOS RTC absent
  std::uint8_t reserved1;
  std::uint32_t flags;  // fixed feature flags: the fadt_* constants below
  // ACPI 2.0 and later:
  GenericAddress reset_register;
  std::uint8_t reset_value;
  std::uint16_t arm_boot_arch;
  std::uint8_t minor_version;
  std::uint64_t x_firmware_ctrl;
  std::uint64_t x_dsdt;  // used instead of `dsdt` when non-zero
  GenericAddress x_pm1a_event_block, x_pm1b_event_block;
  GenericAddress x_pm1a_control_block, x_pm1b_control_block;
  GenericAddress x_pm2_control_block;
  GenericAddress x_pm_timer_block;
  GenericAddress x_gpe0_block, x_gpe1_block;
  GenericAddress sleep_control_register, sleep_status_register;
  std::uint64_t hypervisor_vendor_id;
};
static_assert(sizeof(Fadt) == 276);
static_assert(offsetof(Fadt, pm_timer_block) == 76 && offsetof(Fadt, pm_timer_length) == 91);
static_assert(offsetof(Fadt, flags) == 112 && offsetof(Fadt, reset_register) == 116);
static_assert(offsetof(Fadt, reset_value) == 128 && offsetof(Fadt, x_dsdt) == 140);
static_assert(offsetof(Fadt, x_pm_timer_block) == 208);
inline constexpr std::size_t fadt_v1_size = offsetof(Fadt, reset_register);  // 116
// FADT fixed feature flags (ACPI 6.5 5.2.9, the Flags field).
inline constexpr std::uint32_t fadt_timer_32_bits = 1u << 8;      // TMR_VAL_EXT: 32-bit, else 24
inline constexpr std::uint32_t fadt_reset_supported = 1u << 10;   // RESET_REG_SUP
inline constexpr std::uint32_t fadt_hardware_reduced = 1u << 20;  // HW_REDUCED_ACPI

// ACPI 6.5 5.2.12: the Multiple APIC Description Table, signature "APIC". After
// these fields come entries, each starting with a type and a length byte.
struct [[gnu::packed]] Madt {
  TableHeader header;
  std::uint32_t local_apic_address;  // physical, the same for every CPU
  std::uint32_t flags;               // bit 0 PCAT_COMPAT: a pair of 8259s is present too
};
static_assert(sizeof(Madt) == 44);
inline constexpr std::uint32_t madt_pcat_compat = 1u << 0;

struct [[gnu::packed]] MadtEntryHeader {
  std::uint8_t type;
  std::uint8_t length;  // of the whole entry, these two bytes included
};
static_assert(sizeof(MadtEntryHeader) == 2);

// The entry types ferrite reads; these are the ones ferrite reads (x86, APIC model).
enum class MadtEntryType : std::uint8_t {
  local_apic = 0,
  io_apic = 1,
  interrupt_source_override = 2,
  nmi_source = 3,
  local_apic_nmi = 4,
  local_apic_address_override = 5,
  local_x2apic = 9,
  local_x2apic_nmi = 10,
};

// Type 0, Processor Local APIC.
struct [[gnu::packed]] MadtLocalApic {
  MadtEntryHeader header;
  std::uint8_t processor_uid;  // matches a processor object's _UID in the namespace
  std::uint8_t apic_id;
  std::uint32_t flags;
};
static_assert(sizeof(MadtLocalApic) == 8);
inline constexpr std::uint32_t local_apic_enabled = 1u << 0;
inline constexpr std::uint32_t local_apic_online_capable = 1u << 1;  // may be enabled later

// Type 1, I/O APIC.
struct [[gnu::packed]] MadtIoApic {
  MadtEntryHeader header;
  std::uint8_t io_apic_id;
  std::uint8_t reserved;
  std::uint32_t address;   // physical, of its register window
  std::uint32_t gsi_base;  // the global system interrupt of its input 0
};
static_assert(sizeof(MadtIoApic) == 12);

// Type 2, Interrupt Source Override: ISA IRQ `source` arrives at `gsi`, with the
// MPS INTI flags (bits 0-1 polarity, bits 2-3 trigger mode).
struct [[gnu::packed]] MadtInterruptSourceOverride {
  MadtEntryHeader header;
  std::uint8_t bus;  // 0: ISA
  std::uint8_t source;
  std::uint32_t gsi;
  std::uint16_t flags;
};
static_assert(sizeof(MadtInterruptSourceOverride) == 10);

// Type 3, Non-Maskable Interrupt Source: an I/O APIC input wired to NMI.
struct [[gnu::packed]] MadtNmiSource {
  MadtEntryHeader header;
  std::uint16_t flags;  // MPS INTI flags
  std::uint32_t gsi;
};
static_assert(sizeof(MadtNmiSource) == 8);

// Type 4, Local APIC NMI: which LINT pin of which processor is NMI.
struct [[gnu::packed]] MadtLocalApicNmi {
  MadtEntryHeader header;
  std::uint8_t processor_uid;  // 0xFF: all processors
  std::uint16_t flags;         // MPS INTI flags
  std::uint8_t lint;           // 0 or 1
};
static_assert(sizeof(MadtLocalApicNmi) == 6);

// Type 5, Local APIC Address Override: a 64-bit local APIC address.
struct [[gnu::packed]] MadtLocalApicAddressOverride {
  MadtEntryHeader header;
  std::uint16_t reserved;
  std::uint64_t address;
};
static_assert(sizeof(MadtLocalApicAddressOverride) == 12);

// Type 9, Processor Local x2APIC: for APIC ids above 254.
struct [[gnu::packed]] MadtLocalX2Apic {
  MadtEntryHeader header;
  std::uint16_t reserved;
  std::uint32_t x2apic_id;
  std::uint32_t flags;  // as for type 0
  std::uint32_t processor_uid;
};
static_assert(sizeof(MadtLocalX2Apic) == 16);

// Type 10, Local x2APIC NMI.
struct [[gnu::packed]] MadtLocalX2ApicNmi {
  MadtEntryHeader header;
  std::uint16_t flags;
  std::uint32_t processor_uid;  // 0xFFFFFFFF: all processors
  std::uint8_t lint;
  std::array<std::uint8_t, 3> reserved;
};
static_assert(sizeof(MadtLocalX2ApicNmi) == 12);

// IA-PC HPET (High Precision Event Timers) Specification 1.0a, 3.2.4 "The ACPI 2.0 HPET
// Description Table": signature "HPET".
struct [[gnu::packed]] Hpet {
  TableHeader header;
  std::uint32_t event_timer_block_id;  // a copy of the HPET's capabilities register, low half
  GenericAddress base_address;         // memory space: the register block
  std::uint8_t hpet_number;
  std::uint16_t minimum_tick;  // in main counter ticks, for periodic mode
  std::uint8_t page_protection;
};
static_assert(sizeof(Hpet) == 56);

// ACPI 6.5 5.2.10: the Firmware ACPI Control Structure has no header checksum.
inline constexpr std::size_t facs_min_size = 64;

}  // namespace ferrite::acpi::layout
