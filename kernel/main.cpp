// The kernel users boot with `make run`: a banner, "Hello World!", the machine comes up, and the
// shell runs as a task on the executor (chapter 12) until the machine is switched off.
#include "arch/x86_64/cpu.h"
#include "platform/pc/qemu_exit.h"
#include "boot/command_line.h"
#include "boot/start.h"
#include "console/print.h"
#include "drivers/keyboard/layout.h"
#include "tty/console.h"
#include "init.h"
#include "proc/signal.h"
#include "proc/spawn.h"
#include "lib/log.h"
#include "shell/shell.h"
#include "task/kernel_runtime.h"

namespace {

using ferrite::console::Color;
using ferrite::console::ColorCode;

void print_banner(const ferrite::boot::BootInfo& boot_info) {
  ferrite::println_colored(ColorCode(Color::white, Color::blue),
                           " ferrite - a small x86_64 kernel in C++                                         ");
  ferrite::println_colored(ColorCode(Color::yellow, Color::black), "Hello World{}", "!");
  ferrite::log::info("booted by {} via {}", boot_info.bootloader_name().empty() ? "QEMU" : boot_info.bootloader_name(),
                   boot_info.protocol() == ferrite::boot::Protocol::pvh ? "PVH" : "Multiboot2");
  ferrite::log::info("{} MiB of usable memory; command line: \"{}\"", boot_info.usable_bytes() >> 20,
                   boot_info.command_line());
}

const ferrite::drivers::keyboard::Layout& keyboard_layout(const ferrite::boot::CommandLine& command_line) {
  const std::string_view name = command_line.get("layout").value_or("us");
  if (const auto* layout = ferrite::drivers::keyboard::layout_by_name(name)) return *layout;
  ferrite::log::warn("keyboard: unknown layout \"{}\" (us, uk, de); using us", name);
  return ferrite::drivers::keyboard::kUsLayout;
}

[[noreturn]] void run_init(std::string_view path) {
  using namespace ferrite;
  const std::string_view argv[] = {path};
  const auto process = proc::spawn(path, argv);
  if (!process) {
    println("init: cannot start {}: {} ({})", path, process.error().reason, abi::name(process.error().error));
  } else {
    const std::int32_t status = proc::wait(**process);
    if (proc::exited_normally(status)) {
      println("init exited with status {}", proc::exit_code_of(status));
    } else {
      println("init killed by {}", proc::signal_name(proc::signal_of(status)));
    }
  }
  shell::shutdown();
}

}  // namespace

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  using namespace ferrite;
  print_banner(boot_info);
  init(boot_info);
  println("ferrite: ready");

  const boot::CommandLine command_line(boot_info.command_line());
  if (command_line.has("exit_when_ready")) {
    // For tools/bench_boot.py --icount: under -icount the TSC counts guest instructions.
    serial_println("boot tsc: {}", arch::read_tsc());
    pc::exit_qemu(pc::QemuExitCode::success);
  }

  task::init_runtime();
  // Chapter 14: programs type into /dev/console with the same layout as the shell. Before
  // init=: the first process may read the console too.
  tty::init_console(keyboard_layout(command_line));

  // `init=PATH` (chapter 14): the program is the first process instead of the kernel shell, as
  // under Linux; when it ends the machine powers off.
  if (const auto init_path = command_line.get("init")) {
    run_init(*init_path);
  }

  if (auto spawned = task::executor().spawn(shell::run(keyboard_layout(command_line))); !spawned) {
    panic("cannot start the shell: {}", task::to_string(spawned.error()));
  }
  task::executor().run();
}
