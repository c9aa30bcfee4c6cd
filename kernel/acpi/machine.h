// This machine's ACPI tables (chapter 13), found and read once at boot: the RSDP from the
// bootloader (Multiboot2 tag, PVH start info) or the BIOS area, then acpi::parse. Later steps
// (local APIC, I/O APIC, timers, reset, power-off) ask here instead of reading tables again. The
// tables boot does not need (the HPET's, the DSDT's \_S5_) are read when asked for.
#pragma once

#include "acpi/acpi.h"
#include "boot/boot_info.h"

namespace ferrite::acpi {

// Finds and parses the tables and prints a summary (or why they are unusable). Never panics:
// a machine without usable ACPI tables still runs on the PIC and PIT.
void init(const boot::BootInfo& boot_info);

// The parsed tables, or nullptr before init() or when the RSDP or root table was unusable.
const AcpiInfo* machine_tables();

// acpi::read_hpet and acpi::read_s5 on this machine's tables, read now (table_missing when there
// are none). Task context: reading may map the tables' pages.
std::expected<Hpet, AcpiError> machine_hpet();
std::expected<SleepType, AcpiError> machine_s5();

// What powering off through ACPI needs (acpi::sleep_control on the FADT and the DSDT's \_S5_);
// nullopt, with a warning in the log saying why, when the tables do not give it. Task context,
// like machine_s5().
std::optional<SleepControl> machine_s5_control();

}  // namespace ferrite::acpi
