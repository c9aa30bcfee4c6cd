// The kernel console shell (beyond the seed): a task on top of the keyboard stream. It reads
// scancodes as they arrive, decodes them (drivers/keyboard), edits the line (shell/line_editor)
// and runs commands (the table in shell.cpp; `help` lists them). Ctrl+C stops a running command.
#pragma once

#include "drivers/keyboard/layout.h"
#include "task/task.h"

namespace ferrite::shell {

task::Task<void> run(const drivers::keyboard::Layout& layout);

// The `shutdown` command: powers the machine off through ACPI, as the FADT and the DSDT's \_S5_
// say (pc::power_off; also used when an `init=` program ends).
[[noreturn]] void shutdown();

}  // namespace ferrite::shell
