#include "arch/x86_64/qemu_exit.h"

#include "arch/x86_64/cpu.h"

namespace ferrite::arch {

void exit_qemu(QemuExitCode code) {
  constexpr std::uint16_t kDebugExitPort = 0xF4;
  outl(kDebugExitPort, static_cast<std::uint32_t>(code));
  halt_forever();
}

}  // namespace ferrite::arch
