// Wiring the executor, the scancode queue and the timer queue to the CPU and its interrupts.
#include "task/kernel_runtime.h"

#include "arch/x86_64/cpu.h"
#include "platform/pc/pit.h"
#include "platform/pc/ps2.h"
#include "lib/log.h"

namespace ferrite::task {

namespace {

// The executor's view of the CPU: cli, sti, and the atomic `sti; hlt` the idle loop needs.
class CpuInterruptControl final : public InterruptControl {
 public:
  // The idle protocol starts here, with nothing left to run: a good moment for the console to
  // show what interrupt handlers logged meanwhile (they only append to the log).
  void disable_interrupts() noexcept override {
    log::drain();
    arch::disable_interrupts();
  }
  void enable_interrupts() noexcept override { arch::enable_interrupts(); }
  void enable_interrupts_and_halt() noexcept override { arch::enable_interrupts_and_halt(); }
  bool save_and_disable_interrupts() noexcept override { return arch::save_and_disable_interrupts(); }
  void restore_interrupts(bool were_enabled) noexcept override { arch::restore_interrupts(were_enabled); }
};

constinit CpuInterruptControl cpu;
constinit ExecutorStorage<kMaxTasks> storage;
// Declared before the executor: sleepers point into the timer queue (see task/timer.h).
constinit KernelTimerQueue timer_queue;
constinit KernelScancodeQueue scancodes;

// IRQ 1: only move the byte and wake the keyboard task; decoding happens in the task.
void on_scancode(std::uint8_t scancode) {
  if (scancodes.push(scancode) == ScancodePush::dropped_first_of_burst) {
    log::warn("{}", scancode_queue_full_warning);
  }
}

// IRQ 0: wake the sleepers whose time has come.
void on_tick(std::uint64_t tick) { timer_queue.on_tick(tick); }

}  // namespace

void init_runtime() {
  // A second call must not hook on_tick twice (each tick would be counted twice).
  static constinit bool hooked_up = false;
  if (hooked_up) return;
  hooked_up = true;
  pc::ps2::set_keyboard_consumer(on_scancode);
  // The PIT has been ticking since arch init: start the timer queue's clock at the current tick
  // (else the first sleeps would measure from tick 0 and end at once). Interrupts stay off until
  // the callback is in, so no tick can slip in between reading the count and hooking up.
  sync::InterruptGuard no_interrupts;
  timer_queue.on_tick(pc::pit::ticks());
  if (!pc::pit::add_tick_callback(on_tick)) panic("task: no free timer callback slot");
}

Executor& executor() {
  // Built on first use (from task context, before any task exists to be woken).
  static Executor kernel_executor{storage, &cpu};
  return kernel_executor;
}
KernelScancodeQueue& scancode_queue() { return scancodes; }
KernelTimerQueue& timers() { return timer_queue; }

std::uint64_t ms_to_ticks(std::uint64_t milliseconds) {
  return (milliseconds * pc::pit::frequency_hz() + 999) / 1000;
}

KernelTimerQueue::Sleep sleep_ms(std::uint64_t milliseconds) {
  return timer_queue.sleep_for(ms_to_ticks(milliseconds));
}

KeyboardStats keyboard_stats() {
  return {pc::ps2::bytes_received(), scancodes.dropped()};
}

}  // namespace ferrite::task
