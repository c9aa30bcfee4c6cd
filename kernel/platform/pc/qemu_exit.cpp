#include "platform/pc/qemu_exit.h"

#include "arch/x86_64/cpu.h"
#include "lib/log.h"

namespace ferrite::pc {

void exit_qemu(QemuExitCode code) {
  constexpr std::uint16_t kDebugExitPort = 0xF4;
  log::flush();  // what the log holds reaches the serial port (tests read it) before QEMU ends
  arch::outl(kDebugExitPort, static_cast<std::uint32_t>(code));
  arch::halt_forever();
}

}  // namespace ferrite::pc
