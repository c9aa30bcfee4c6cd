// The seed's should_panic test: a failing assertion must panic, and the panic is the success.
#include "platform/pc/qemu_exit.h"
#include "boot/start.h"
#include "console/console.h"
#include "console/print.h"
#include "lib/panic.h"
#include "lib/panic_hook.h"

namespace {

void should_fail() {
  ferrite::print("should_panic::should_fail... ");
  FERRITE_ASSERT(0 == 1);
}

}  // namespace

void kernel_main(const ferrite::boot::BootInfo&) {
  ferrite::set_panic_hook([](std::source_location, std::string_view) {
    ferrite::console::write_serial("[ok]\n1 passed, 0 failed\n");
    ferrite::pc::exit_qemu(ferrite::pc::QemuExitCode::success);
  });
  should_fail();
  ferrite::println("[test did not panic]");
  ferrite::println("0 passed, 1 failed");
  ferrite::pc::exit_qemu(ferrite::pc::QemuExitCode::failure);
}
