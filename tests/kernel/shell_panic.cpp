// The shell's `panic` command, typed through QMP: the panic must reach serial with a plain
// function name (issue 9: it named the compiler's coroutine frame function of the command,
// "execute(execute(std::string_view)::_ZN...Frame*)"). The panic hook ends QEMU once the
// message is out, so the test need not wait for its time limit.
#include "boot/start.h"
#include "console/console.h"
#include "drivers/keyboard/layout.h"
#include "init.h"
#include "lib/panic.h"
#include "lib/panic_hook.h"
#include "platform/pc/qemu_exit.h"
#include "shell/shell.h"
#include "task/kernel_runtime.h"

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  using namespace ferrite;
  init(boot_info);
  set_panic_hook([](std::source_location, std::string_view) {
    console::write_serial("shell_panic: the panic reached serial\n");
    pc::exit_qemu(pc::QemuExitCode::success);
  });
  task::init_runtime();
  if (auto spawned = task::executor().spawn(shell::run(drivers::keyboard::kUsLayout)); !spawned) {
    pc::exit_qemu(pc::QemuExitCode::failure);
  }
  task::executor().run();
}
