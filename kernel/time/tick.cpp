// The periodic tick on the local APIC timer or the PIT.
#include "platform/pc/pic8259.h"
#include "time/tick.h"

#include <array>
#include <atomic>

#include "arch/x86_64/idt.h"
#include "arch/x86_64/lapic.h"
#include "platform/pc/pit.h"
#include "time/clock.h"

namespace ferrite::time {

namespace {

// The kernel uses four (sched, task, proc's interval timers, the clock's refinement): room for
// a test image's or a new subsystem's without a panic at boot. An empty slot costs no tick time.
constexpr unsigned kMaxHandlers = 8;
constinit std::array<std::atomic<TickHandler>, kMaxHandlers> handlers{};
constinit std::atomic<std::uint64_t> ticks{0};
constinit TickSource source = TickSource::none;

void run_handlers() {
  ticks.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t now = now_ns();
  // Handlers are only ever added, in slot order: the first empty slot ends the list.
  for (auto& slot : handlers) {
    const TickHandler handler = slot.load(std::memory_order_acquire);
    if (handler == nullptr) break;
    handler(now);
  }
}

}  // namespace

void start_tick() {
  if (source != TickSource::none) return;
  if (arch::lapic::enabled() && arch::lapic::timer_hz() != 0) {
    arch::set_handler(arch::lapic::kTimerVector, [](arch::InterruptFrame&) {
      // EOI first: a handler may switch to another thread (sched/), and the APIC must not wait
      // for this one to come back before it delivers the next tick.
      arch::lapic::eoi();
      run_handlers();
    });
    source = TickSource::lapic;
    arch::lapic::start_periodic(1'000'000'000 / kTickHz);
    // The PIT keeps counting (channel 2 still measures), but its IRQ 0 would only be a second
    // timer interrupt every millisecond: mask it (the chapter-7 tests unmask it for themselves).
    pc::pic::mask(pc::pic::kTimerLine);
  } else {
    source = TickSource::pit;
    pc::pit::add_tick_callback([](std::uint64_t) { run_handlers(); });
  }
}

TickSource tick_source() { return source; }
std::uint64_t tick_count() { return ticks.load(std::memory_order_relaxed); }

bool add_tick_handler(TickHandler handler) {
  for (auto& slot : handlers) {
    TickHandler empty = nullptr;
    if (slot.compare_exchange_strong(empty, handler, std::memory_order_acq_rel)) return true;
  }
  return false;
}

}  // namespace ferrite::time
