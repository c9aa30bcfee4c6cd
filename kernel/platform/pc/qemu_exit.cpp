#include "platform/pc/qemu_exit.h"

#include "arch/x86_64/cpu.h"

namespace ferrite::pc {

void exit_qemu(QemuExitCode code) {
  constexpr std::uint16_t kDebugExitPort = 0xF4;
  arch::outl(kDebugExitPort, static_cast<std::uint32_t>(code));
  arch::halt_forever();
}

}  // namespace ferrite::pc
