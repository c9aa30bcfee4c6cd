// Turning the machine off (chapters 11 and 14): the shell's `shutdown` and reboot(2)'s
// LINUX_REBOOT_CMD_POWER_OFF both end here.
#pragma once

namespace ferrite::pc {

// Asks for ACPI sleep state S5 (off) through QEMU's PM1a control ports. Returns only if no
// device answered within 100 ms per port.
void power_off();

}  // namespace ferrite::pc
