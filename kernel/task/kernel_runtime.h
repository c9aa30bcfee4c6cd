// The running kernel's async runtime (chapter 12): one executor that halts the CPU when idle,
// the keyboard stream fed by IRQ 1, and sleeping driven by the timer's IRQ 0. The portable
// pieces live beside this file; this is where they meet the hardware.
#pragma once

#include <cstdint>

#include "sync/spinlock.h"
#include "task/executor.h"
#include "task/scancode_queue.h"
#include "task/timer.h"

namespace ferrite::task {

inline constexpr std::size_t kMaxTasks = 64;
inline constexpr std::size_t kScancodeQueueCapacity = 100;  // the seed's capacity

using KernelTimerQueue = TimerQueue<sync::InterruptGuard>;
using KernelScancodeQueue = ScancodeQueue<kScancodeQueueCapacity>;

// Hooks the keyboard and timer interrupts up to the queues. Call after arch init; calling it
// again does nothing.
void init_runtime();

Executor& executor();
KernelScancodeQueue& scancode_queue();
KernelTimerQueue& timers();

// Whole timer ticks covering `milliseconds` (rounded up, so a sleep is never shorter).
[[nodiscard]] std::uint64_t ms_to_ticks(std::uint64_t milliseconds);

// `co_await sleep_ms(100)`: suspends the task for at least that long (rounded up to whole
// timer ticks); gives the tick it woke at.
[[nodiscard]] KernelTimerQueue::Sleep sleep_ms(std::uint64_t milliseconds);

// Keyboard bytes that reached the queue and bytes dropped because it was full.
struct KeyboardStats {
  std::uint64_t received = 0;  // bytes IRQ 1 read from port 0x60
  std::uint64_t dropped = 0;   // of those, dropped because the queue was full
};
KeyboardStats keyboard_stats();

}  // namespace ferrite::task
