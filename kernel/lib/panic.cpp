// The kernel's panic: the message, file and line go to the log, and the log's consumer shows
// everything still unshown on the screen and serial port without taking any lock (the
// panicking code may hold the console); then the test hook (if any) has its say, then the CPU
// halts with interrupts off.
#include "arch/x86_64/cpu.h"
#include "lib/format.h"
#include "lib/log.h"
#include "lib/panic.h"
#include "lib/panic_hook.h"

namespace ferrite {

namespace {
constinit PanicHook panic_hook = nullptr;
constinit NestedPanicHook nested_panic_hook = nullptr;
constinit bool panicking = false;
}  // namespace

void set_panic_hook(PanicHook hook) { panic_hook = hook; }
void set_nested_panic_hook(NestedPanicHook hook) { nested_panic_hook = hook; }

void panic_at(std::source_location where, std::string_view message) {
  arch::disable_interrupts();
  if (panicking) {
    // A panic while handling a panic (in the console, in a hook): say the least possible, on the
    // UART alone, touching no lock and no console state, and stop.
    log::emergency_write("\nKERNEL PANIC (nested): ");
    log::emergency_write(message);
    log::emergency_write("\n");
    if (nested_panic_hook != nullptr) nested_panic_hook();
    arch::halt_forever();
  }
  panicking = true;

  log::error("\nKERNEL PANIC: {}\n  at {}:{} ({})", message, where.file_name(), where.line(),
             where.function_name());
  log::emergency_flush();

  if (panic_hook != nullptr) panic_hook(where, message);
  arch::halt_forever();
}

}  // namespace ferrite
