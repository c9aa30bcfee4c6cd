// Wiring the executor, the scancode queue and the timer queue to the CPU and its interrupts.
#include "task/kernel_runtime.h"

#include <atomic>
#include <limits>
#include <optional>

#include "arch/x86_64/cpu.h"
#include "console/console.h"
#include "drivers/keyboard/keyboard.h"
#include "platform/pc/pit.h"
#include "platform/pc/ps2.h"
#include "console/console.h"
#include "sched/scheduler.h"
#include "time/clock.h"
#include "time/tick.h"
#include "lib/log.h"

namespace ferrite::task {

namespace {

// The executor's view of the CPU: cli, sti, and the atomic `sti; hlt` the idle loop needs.
// Once there are threads (chapter 13), an idle executor does not halt the CPU — other threads may
// want it — but blocks its own thread; the wake-up of a task (from an interrupt handler or
// another thread) makes that thread ready again.
class CpuInterruptControl final : public InterruptControl {
 public:
  // The idle protocol starts here, with nothing left to run: a good moment for the console to
  // show what interrupt handlers logged meanwhile (they only append to the log).
  void disable_interrupts() noexcept override {
    log::drain();
    arch::disable_interrupts();
  }
  void enable_interrupts() noexcept override { arch::enable_interrupts(); }
  void enable_interrupts_and_halt() noexcept override {
    if (!sched::running()) return arch::enable_interrupts_and_halt();
    // Interrupts are off since the executor found its ready queue empty: no wake-up can slip in
    // before we are in the parking queue.
    sched::block_on_locked(parked_);
    arch::enable_interrupts();
  }
  void task_became_ready() noexcept override { unpark(); }
  // Interrupts off. Also called on every tick: like `hlt`, which any interrupt ended, a parked
  // executor looks at its `done()` condition again (run_until's timeouts rely on that).
  void unpark() noexcept {
    if (sched::SchedNode* executor_thread = parked_.pop_front()) {
      sched::wake_locked(static_cast<sched::Thread&>(*executor_thread));
    }
  }
  bool save_and_disable_interrupts() noexcept override { return arch::save_and_disable_interrupts(); }
  void restore_interrupts(bool were_enabled) noexcept override { arch::restore_interrupts(were_enabled); }

 private:
  sched::NodeList parked_;  // the executor's thread while it has nothing to do
};

constinit CpuInterruptControl cpu;
constinit ExecutorStorage<kMaxTasks> storage;
// Declared before the executor: sleepers point into the timer queue (see task/timer.h).
constinit KernelTimerQueue timer_queue;
constinit KernelScancodeQueue scancodes;

// Ctrl+C while a command runs (watch_for_ctrl_c). The watcher and the count of queued bytes are
// touched only by IRQ 1 once the watcher is in place.
constinit CancelSignal command_cancel;
constinit std::optional<drivers::keyboard::Keyboard> ctrl_c_watcher;
constinit std::uint64_t scancodes_queued = 0;
constexpr std::uint64_t kNoScancode = std::numeric_limits<std::uint64_t>::max();
constinit std::atomic<std::uint64_t> cancelling_scancode{kNoScancode};

// IRQ 1: move the byte and wake the keyboard task; decoding happens in the task — except that,
// once watch_for_ctrl_c is on, a Ctrl+C is also recognised here, to stop a command that keeps
// the task from reading keys.
constinit std::atomic<ScancodeConsumer> diverted_to{nullptr};
constinit std::uint64_t scancodes_to_terminal = 0;  // diverted minus given back

void on_scancode(std::uint8_t scancode) {
  // The watcher decodes every byte (its modifier state must follow the keyboard, wherever the
  // byte goes): a Ctrl+C that stops a running command is known before the byte is routed.
  bool cancels = false;
  if (ctrl_c_watcher) {
    const std::optional<drivers::keyboard::KeyEvent> event = ctrl_c_watcher->feed(scancode);
    cancels = event && event->pressed && event->character == drivers::keyboard::kCtrlC &&
              command_cancel.request();
  }
  // A program has the terminal (chapter 14): the byte is typed into it — except the Ctrl+C
  // that stops the command running the program: it has done its job and goes nowhere (the
  // shell would see a bare 'c', its Ctrl press having gone to the terminal). Counted with the
  // terminal's bytes.
  if (const ScancodeConsumer consumer = diverted_to.load(std::memory_order_acquire)) {
    if (!cancels) consumer(scancode);
    ++scancodes_to_terminal;
    return;
  }
  const ScancodePush pushed = scancodes.push(scancode);
  if (pushed == ScancodePush::dropped_first_of_burst) {
    log::warn("{}", scancode_queue_full_warning);
  }
  if (cancels && pushed == ScancodePush::queued) {
    cancelling_scancode.store(scancodes_queued, std::memory_order_relaxed);
  }
  if (pushed == ScancodePush::queued) ++scancodes_queued;
}

// The tick: wake the sleepers whose time has come, by the TSC clock (chapter 13), so ticks lost
// while interrupts were off delay a wake-up but never stretch time.
void on_tick(std::uint64_t now_ns) {
  timer_queue.on_tick(now_ns);
  cpu.unpark();
}

}  // namespace

void init_runtime() {
  // A second call must not hook on_tick twice (each tick would be counted twice).
  static constinit bool hooked_up = false;
  if (hooked_up) return;
  hooked_up = true;
  pc::ps2::set_keyboard_consumer(on_scancode);
  // The clock has been running since init(): start the timer queue's clock at the current time
  // (else the first sleeps would measure from 0 and end at once). Interrupts stay off until
  // the callback is in, so no tick can slip in between reading the count and hooking up.
  sync::InterruptGuard no_interrupts;
  timer_queue.on_tick(time::now_ns());
  if (!time::add_tick_handler(on_tick)) panic("task: no free tick handler slot");
}

Executor& executor() {
  // Built on first use (from task context, before any task exists to be woken).
  static Executor kernel_executor{storage, &cpu};
  return kernel_executor;
}
KernelScancodeQueue& scancode_queue() { return scancodes; }
KernelTimerQueue& timers() { return timer_queue; }

std::optional<std::uint64_t> ms_to_ns(std::uint64_t milliseconds) {
  return ticks_for_ms(milliseconds, 1'000'000'000);  // nanoseconds: ticks of a 1 GHz clock
}

KernelTimerQueue::Sleep sleep_ms(std::uint64_t milliseconds) {
  // From the clock as it reads now, not from the queue's last tick (up to a tick earlier).
  return timer_queue.sleep_for(
      ms_to_ns(milliseconds).value_or(std::numeric_limits<std::uint64_t>::max()), time::now_ns());
}

void watch_for_ctrl_c(const drivers::keyboard::Layout& layout) {
  sync::InterruptGuard no_interrupts;  // IRQ 1 reads the watcher
  ctrl_c_watcher.emplace(layout);
}

CancelSignal& command_cancel_signal() {
  return command_cancel;
}

bool cancelled_a_command(std::uint64_t index) {
  std::uint64_t expected = index;
  return cancelling_scancode.compare_exchange_strong(expected, kNoScancode,
                                                     std::memory_order_relaxed);
}

void divert_scancodes(ScancodeConsumer consumer) {
  diverted_to.store(consumer, std::memory_order_release);
}

void give_back_scancode(std::uint8_t scancode) {
  --scancodes_to_terminal;
  const ScancodePush pushed = scancodes.push(scancode);
  if (pushed == ScancodePush::queued) ++scancodes_queued;
}

KeyboardStats keyboard_stats() {
  return {pc::ps2::bytes_received(), scancodes.dropped(), scancodes_to_terminal};
}

}  // namespace ferrite::task
