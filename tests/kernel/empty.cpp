// The boot-cost baseline: the same boot path, but kernel_main exits QEMU at once. It prints the
// guest TSC first, as the real kernel does at its ready marker (tools/bench_boot.py --icount).
#include "arch/x86_64/cpu.h"
#include "platform/pc/qemu_exit.h"
#include "boot/start.h"
#include "console/print.h"

void kernel_main(const ferrite::boot::BootInfo&) {
  ferrite::serial_println("boot tsc: {}", ferrite::arch::read_tsc());
  ferrite::pc::exit_qemu(ferrite::pc::QemuExitCode::success);
}
