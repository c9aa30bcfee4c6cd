// The console as a terminal (chapter 14): /dev/console and /dev/tty. Programs' reads go through
// the canonical-mode line discipline (tty/line_discipline.h), fed by the keyboard; their writes
// (and the echo) go to the screen through the VT100 terminal (console::write_terminal).
//
// The keyboard's way: IRQ 1 reads a byte from the 8042. While a program has the terminal open,
// the byte goes into this terminal's queue instead of the kernel shell's (task/kernel_runtime.h,
// divert_scancodes), and the thread blocked in read() is woken (sched::WaitQueue). The reading
// thread decodes the bytes into characters with its own keyboard state and layout, and feeds the
// line discipline — in thread context, where echoing to the console may wait. When the last
// descriptor on the terminal is closed (the program ended), or the terminal is hung up (its
// session's leader ended, leaving, say, a background job with dead descriptors), the bytes go
// to the shell again.
#pragma once

#include "drivers/keyboard/layout.h"

namespace ferrite::tty {

// Makes the console the kernel's terminal (fs::set_terminal), decoding keys with `layout`.
// init() calls it with the US layout; calling it again changes the layout. Keys reach the
// terminal once the keyboard interrupt feeds task/kernel_runtime (task::init_runtime).
void init_console(const drivers::keyboard::Layout& layout);

// Wakes every thread blocked reading the console. One that was asked to end (sched::kill: a
// program's thread ends on its way back to ring 3) leaves read() with EINTR and ends; the others
// go back to waiting. Call after sched::kill on a program that may be reading (`run`'s Ctrl+C).
void interrupt_console_readers();

}  // namespace ferrite::tty
