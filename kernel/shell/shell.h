// The kernel console shell (beyond the seed): a task on top of the keyboard stream. It reads
// scancodes as they arrive, decodes them (drivers/keyboard), edits the line (shell/line_editor)
// and runs commands: help, clear, echo, uptime, mem, tasks, keys, alloc N, sleep MS, threads,
// spin N, kill ID, fault, panic, reboot, shutdown.
#pragma once

#include "drivers/keyboard/layout.h"
#include "task/task.h"

namespace ferrite::shell {

task::Task<void> run(const drivers::keyboard::Layout& layout);

}  // namespace ferrite::shell
