// Issue 9, bug 5: a panic while the console is held, and then a panic inside that panic (here:
// in the panic hook). The first must reach serial although the console is taken; the nested one
// must print its line on the UART and get to the halt without waiting for any lock. The nested
// hook (which runs just before that halt) reports success.
#include "boot/start.h"
#include "console/console.h"
#include "init.h"
#include "lib/panic.h"
#include "lib/panic_hook.h"
#include "platform/pc/qemu_exit.h"

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  using namespace ferrite;
  init(boot_info);  // interrupts on, serial sent by its interrupt: the normal state to panic in
  set_panic_hook([](std::source_location, std::string_view) { panic("second panic, from the hook"); });
  set_nested_panic_hook([] {
    console::write_serial("nested_panic: [ok]\n");
    pc::exit_qemu(pc::QemuExitCode::success);
  });
  console::Locked held;  // as if the panic came from inside the console
  panic("first panic, console held");
}
