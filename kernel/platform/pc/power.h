// Turning the machine off (chapters 11 and 14): the shell's `shutdown` and reboot(2)'s
// LINUX_REBOOT_CMD_POWER_OFF both end here.
#pragma once

#include <optional>

#include "acpi/acpi.h"

namespace ferrite::pc {

// Asks for ACPI sleep state S5 (off): through `s5`, the FADT's PM1 control ports and the DSDT's
// sleep types (acpi::machine_s5_control), when the tables gave them; then through QEMU's PM1a
// control ports (i440fx 0x604, q35 and older QEMU/Bochs 0xB004). Returns only if no device
// answered within 100 ms per attempt.
void power_off(const std::optional<acpi::SleepControl>& s5);

}  // namespace ferrite::pc
