// The kernel users boot with `make run`: a banner, "Hello World!", then the machine comes up.
#include "boot/start.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/qemu_exit.h"
#include "boot/command_line.h"
#include "console/print.h"
#include "init.h"

namespace {

using ferrite::console::Color;
using ferrite::console::ColorCode;

void print_banner(const ferrite::boot::BootInfo& boot_info) {
  ferrite::println_colored(ColorCode(Color::white, Color::blue),
                           " ferrite - a small x86_64 kernel in C++                                         ");
  ferrite::println_colored(ColorCode(Color::yellow, Color::black), "Hello World{}", "!");
  ferrite::println("booted by {} via {}", boot_info.bootloader_name().empty() ? "QEMU" : boot_info.bootloader_name(),
                   boot_info.protocol() == ferrite::boot::Protocol::pvh ? "PVH" : "Multiboot2");
  ferrite::println("{} MiB of usable memory; command line: \"{}\"", boot_info.usable_bytes() >> 20,
                   boot_info.command_line());
}

}  // namespace

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  print_banner(boot_info);
  ferrite::init(boot_info);
  ferrite::println("ferrite: ready");

  const ferrite::boot::CommandLine command_line(boot_info.command_line());
  if (command_line.has("exit_when_ready")) ferrite::arch::exit_qemu(ferrite::arch::QemuExitCode::success);

  for (;;) ferrite::arch::enable_interrupts_and_halt();
}
