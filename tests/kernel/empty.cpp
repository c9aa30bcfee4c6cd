// The boot-cost baseline: the same boot path, but kernel_main exits QEMU at once.
#include "arch/x86_64/qemu_exit.h"
#include "boot/start.h"

void kernel_main(const ferrite::boot::BootInfo&) {
  ferrite::arch::exit_qemu(ferrite::arch::QemuExitCode::success);
}
