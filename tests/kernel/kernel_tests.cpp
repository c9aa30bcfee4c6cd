// The main in-kernel test image: the whole kernel comes up as usual, then every registered test
// runs in one boot (a boot costs ~0.25 s under QEMU). `test=<substring>` on the command line
// selects tests by name.
#include "boot/command_line.h"
#include "boot/start.h"
#include "init.h"
#include "task/kernel_runtime.h"
#include "test/ktest.h"

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  ferrite::init(boot_info);
  ferrite::task::init_runtime();  // the executor, timer and keyboard hookup the async tests use
  const ferrite::boot::CommandLine command_line(boot_info.command_line());
  ferrite::ktest::run_all_and_exit(command_line.get("test").value_or(""));
}
