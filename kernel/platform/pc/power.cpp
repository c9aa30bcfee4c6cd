// Power-off through the ACPI PM1 control registers (see power.h).
#include "platform/pc/power.h"

#include <cstdint>
#include <initializer_list>

#include "arch/x86_64/cpu.h"
#include "platform/pc/pit.h"

namespace ferrite::pc {

namespace {

// PM1 control register, ACPI 6.5 4.8.3.2.1 (table 4.14): SLP_TYP in bits 12-10, SLP_EN bit 13.
// SLP_EN and GBL_RLS (bit 2) are write-only: what reads back there must not be written back
// (ACPI 6.5 4.8.3.2.1; a GBL_RLS written as 1 raises an SMI to the firmware).
constexpr std::uint16_t kSleepTypeShift = 10;
constexpr std::uint16_t kSleepTypeMask = 0x7 << kSleepTypeShift;
constexpr std::uint16_t kSleepEnable = 1 << 13;
constexpr std::uint16_t kGlobalRelease = 1 << 2;

// The machine stops a moment after the write: give it ~110 ms, two of PIT channel 2's longest
// counts, before concluding nobody answered. (The PIT, not the kernel's clock: time/ is a layer
// above this one.)
void wait_for_power_off() {
  for (int count = 0; count < 2; ++count) {
    (void)pit::time_channel2(static_cast<std::uint16_t>(pit::kChannel2MaxClocks), arch::read_tsc);
  }
}

// ACPI 6.5 7.4.2 (\_S5_): SLP_TYPx with the register's other bits kept (SCI_EN among them), then
// the same with SLP_EN set, to PM1a and, if the machine has one, PM1b, as Linux's
// acpi_hw_legacy_sleep does. Left out, because S5 does not need them: clearing WAK_STS first
// (the wake status matters to sleep states the machine wakes from) and switching the machine
// into ACPI mode through SMI_CMD (QEMU's firmware leaves SCI_EN set).
void enter_s5(const acpi::SleepControl& s5) {
  const auto write = [](std::uint16_t port, std::uint8_t type, std::uint16_t enable) {
    const auto kept = static_cast<std::uint16_t>(arch::inw(port) &
                                                 ~(kSleepTypeMask | kSleepEnable | kGlobalRelease));
    const auto sleep_type = static_cast<std::uint16_t>((type << kSleepTypeShift) & kSleepTypeMask);
    arch::outw(port, static_cast<std::uint16_t>(kept | sleep_type | enable));
  };
  for (const std::uint16_t enable : {std::uint16_t{0}, kSleepEnable}) {
    write(s5.pm1a_control_port, s5.type.a, enable);
    if (s5.pm1b_control_port != 0) write(s5.pm1b_control_port, s5.type.b, enable);
  }
  wait_for_power_off();
}

}  // namespace

void power_off(const std::optional<acpi::SleepControl>& s5) {
  if (s5) {
    enter_s5(*s5);
    return;
  }
  // SLP_EN with sleep type 0, which is S5 on QEMU's chipsets.
  for (const std::uint16_t port : {std::uint16_t{0x604}, std::uint16_t{0xB004}}) {
    arch::outw(port, kSleepEnable);
    wait_for_power_off();
  }
}

}  // namespace ferrite::pc
