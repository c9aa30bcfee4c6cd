// The running kernel's async runtime (chapter 12): one executor that halts the CPU when idle,
// the scancode queue (the seed's keyboard stream) fed by IRQ 1, and sleeping driven by the
// tick (time/tick.h) and the TSC clock. The portable pieces live beside this file; this is
// where they meet the hardware.
#pragma once

#include <cstdint>
#include <optional>

#include "drivers/keyboard/layout.h"
#include "sync/spinlock.h"
#include "task/cancel_signal.h"
#include "task/executor.h"
#include "task/scancode_queue.h"
#include "task/timer.h"

namespace ferrite::task {

inline constexpr std::size_t kMaxTasks = 64;

using KernelTimerQueue = TimerQueue<sync::InterruptGuard>;
using KernelScancodeQueue = ScancodeQueue<>;  // the seed's capacity
inline constexpr std::size_t kScancodeQueueCapacity = KernelScancodeQueue::capacity();

// Hooks the keyboard and timer interrupts up to the queues. Call after arch init; calling it
// again does nothing.
void init_runtime();

Executor& executor();
KernelScancodeQueue& scancode_queue();
KernelTimerQueue& timers();

// Nanoseconds covering `milliseconds`, or std::nullopt if the count does not fit in 64 bits
// (task/timer.h, ticks_for_ms).
[[nodiscard]] std::optional<std::uint64_t> ms_to_ns(std::uint64_t milliseconds);

// `co_await sleep_ms(100)`: suspends the task for at least that long (a count too large for
// 64 bits of nanoseconds sleeps until the end of time); gives the time it woke at, in
// nanoseconds of the TSC clock (time/clock.h). The timer queue counts in those units.
[[nodiscard]] KernelTimerQueue::Sleep sleep_ms(std::uint64_t milliseconds);

// Ctrl+C while a shell command runs. The shell's task is busy with the command and reads no
// keys until it ends, so the keyboard interrupt watches for Ctrl+C itself (decoding the bytes
// with its own Keyboard for `layout`) and requests the command's cancellation through this
// signal, which the shell arms while a command runs. Call watch_for_ctrl_c once, from the task
// that reads the scancode queue.
void watch_for_ctrl_c(const drivers::keyboard::Layout& layout);
CancelSignal& command_cancel_signal();
// Whether the `index`-th byte taken from the scancode queue (counting from 0) is the Ctrl+C that
// cancelled a command. It did its job; the reader should not act on that key again.
[[nodiscard]] bool cancelled_a_command(std::uint64_t index);

// Chapter 14: while a program has the terminal (tty/console.h), IRQ 1 hands each byte to
// `consumer` instead of the shell's queue (nullptr: back to the queue). The consumer runs in the
// interrupt handler: it may only store the byte and wake a thread. Ctrl+C is still watched.
using ScancodeConsumer = void (*)(std::uint8_t scancode);
void divert_scancodes(ScancodeConsumer consumer);
// Bytes the terminal took but never decoded (keys typed ahead while a program that did not read
// them ran) go back to the shell's queue, after what is already there: the shell then sees them
// as if typed now. Interrupts must be off (IRQ 1 is the queue's other producer).
void give_back_scancode(std::uint8_t scancode);

// Keyboard bytes that reached the queue and bytes dropped because it was full.
struct KeyboardStats {
  std::uint64_t received = 0;  // bytes IRQ 1 read from port 0x60
  std::uint64_t dropped = 0;   // of those, dropped because the queue was full
  std::uint64_t to_terminal = 0;  // typed into a program's terminal (or the Ctrl+C that ended it)
};
KeyboardStats keyboard_stats();

}  // namespace ferrite::task
