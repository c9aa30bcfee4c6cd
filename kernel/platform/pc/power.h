// Turning the machine off (chapters 11 and 14): the shell's `shutdown` and reboot(2)'s
// LINUX_REBOOT_CMD_POWER_OFF both end here.
#pragma once

#include <optional>

#include "acpi/acpi.h"

namespace ferrite::pc {

// Asks for ACPI sleep state S5 (off). With `s5` (acpi::machine_s5_control: the FADT's PM1
// control ports and the DSDT's sleep types), through those registers only, as ACPI says: a
// machine that has the tables gets no writes to ports they do not name. Without it (no usable
// tables), through QEMU's PM1a control ports: 0x604 (i440fx and q35 with SeaBIOS, q35 with OVMF)
// and 0xB004 (i440fx with OVMF, older QEMU and Bochs). Returns only if the machine ignored it
// for 100 ms.
void power_off(const std::optional<acpi::SleepControl>& s5);

}  // namespace ferrite::pc
