// Leaving QEMU with a status code (chapter 4): QEMU's isa-debug-exit device, configured with
// `-device isa-debug-exit,iobase=0xf4,iosize=0x04`, ends the emulator when a value is written
// to its port; QEMU's exit status is then (value << 1) | 1. On real hardware (no such device)
// the write does nothing and we halt.
#pragma once

#include <cstdint>

namespace ferrite::pc {

enum class QemuExitCode : std::uint32_t {
  success = 0x10,  // QEMU exits with 33
  failure = 0x11,  // QEMU exits with 35
};

[[noreturn]] void exit_qemu(QemuExitCode code);

}  // namespace ferrite::pc
