// Power-off through the ACPI PM1a control register (see power.h).
#include "platform/pc/power.h"

#include <cstdint>
#include <initializer_list>

#include "arch/x86_64/cpu.h"
#include "time/clock.h"

namespace ferrite::pc {

void power_off() {
  // QEMU's ACPI PM1a control register (i440fx and q35): SLP_EN with sleep type 0 = S5 (off);
  // then the port older QEMU and Bochs use. The machine stops a moment after the write, so give
  // it 100 ms before concluding nobody answered.
  for (const std::uint16_t port : {std::uint16_t{0x604}, std::uint16_t{0xB004}}) {
    arch::outw(port, 0x2000);
    const std::uint64_t until = time::now_ns() + 100'000'000;
    while (time::now_ns() < until) arch::halt();
  }
}

}  // namespace ferrite::pc
