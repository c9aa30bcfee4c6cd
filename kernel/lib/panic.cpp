// The kernel's panic: print the message, file and line in red on the console and serial, then
// give the test hook (if any) its say, then halt with interrupts off.
#include "arch/x86_64/cpu.h"
#include "console/console.h"
#include "lib/format.h"
#include "lib/panic.h"
#include "lib/panic_hook.h"

namespace ferrite {

namespace {
constinit PanicHook panic_hook = nullptr;
constinit bool panicking = false;
}  // namespace

void set_panic_hook(PanicHook hook) { panic_hook = hook; }

void panic_at(std::source_location where, std::string_view message) {
  arch::disable_interrupts();
  if (panicking) {  // a panic while printing a panic: say the least possible
    console::write_serial("\nKERNEL PANIC (nested)\n");
    arch::halt_forever();
  }
  panicking = true;

  char text[512];
  fmt::format_to_buffer(text, "\nKERNEL PANIC: {}\n  at {}:{} ({})\n", message, where.file_name(),
                        where.line(), where.function_name());
  console::write_for_panic(text, console::ColorCode(console::Color::light_red, console::Color::black));

  if (panic_hook != nullptr) panic_hook(where, message);
  arch::halt_forever();
}

}  // namespace ferrite
