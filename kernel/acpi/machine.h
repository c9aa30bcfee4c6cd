// This machine's ACPI tables (chapter 13), found and read once at boot: the RSDP from the
// bootloader (Multiboot2 tag, PVH start info) or the BIOS area, then acpi::parse. Later steps
// (local APIC, I/O APIC, timers, reset, power-off) ask here instead of reading tables again.
#pragma once

#include "acpi/acpi.h"
#include "boot/boot_info.h"

namespace ferrite::acpi {

// Finds and parses the tables and prints a summary (or why they are unusable). Never panics:
// a machine without usable ACPI tables still runs on the PIC and PIT.
void init(const boot::BootInfo& boot_info);

// The parsed tables, or nullptr before init() or when the RSDP or root table was unusable.
const AcpiInfo* machine_tables();

}  // namespace ferrite::acpi
