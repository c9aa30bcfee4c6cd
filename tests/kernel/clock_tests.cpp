// Chapter 13's clock in the shared test image: the TSC clock keeps time while interrupts are off
// (the PIT's interrupt count does not), measured against the PIT's channel 2, a hardware counter
// that runs regardless of interrupts.
#include <cstdint>

#include "arch/x86_64/cpu.h"
#include "console/print.h"
#include "lib/log.h"
#include "platform/pc/pit.h"
#include "sync/spinlock.h"
#include "test/ktest.h"
#include "time/clock.h"
#include "time/tick.h"
#include "arch/x86_64/lapic.h"

namespace pc = ferrite::pc;
namespace ktime = ferrite::time;

KTEST(clock_is_calibrated_and_monotonic) {
  KASSERT(ktime::clock_ready());
  KEXPECT(ktime::clock_info().scale.hz() >= 100'000'000);  // any x86_64 TSC runs faster
  std::uint64_t previous = ktime::now_ns();
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t now = ktime::now_ns();
    KASSERT(now >= previous);
    previous = now;
  }
}

// 50 ms of busy work with interrupts off, timed by PIT channel 2, a hardware countdown that runs
// regardless of interrupts. The timer interrupts' tick count stalls (at most the one pending tick arrives
// after `sti`), while the TSC clock advances the full 50 ms: uptime and sleeps read it, so lost
// ticks cannot slow them down. (The stopwatch brackets both edges with clock readings; a run
// with a wide bracket — the emulator's thread descheduled — is measured again.)
KTEST(clock_keeps_time_with_interrupts_off) {
  constexpr std::uint16_t k50msOfPit = 59'659;
  constexpr std::uint64_t kExpectedUs = 50'000;
  const std::uint64_t ticks_before = ferrite::time::tick_count();
  pc::pit::Stopwatch best{};
  std::uint64_t best_width = ~std::uint64_t{0};
  {
    ferrite::sync::InterruptGuard no_interrupts;
    for (int attempt = 0; attempt < 10 && best_width > 100'000; ++attempt) {  // 100 us
      const pc::pit::Stopwatch w = pc::pit::time_channel2(k50msOfPit, ktime::now_ns);
      const std::uint64_t width = (w.start_after - w.start_before) + (w.end_after - w.end_before);
      if (width < best_width) best = w, best_width = width;
    }
  }
  const std::uint64_t ticks = ferrite::time::tick_count() - ticks_before;
  const std::uint64_t elapsed_us = ((best.end_before + best.end_after) / 2 -
                                    (best.start_before + best.start_after) / 2) / 1000;
  ferrite::println("  50 ms with interrupts off: TSC clock +{}.{:03} ms (+-{} us), timer ticks +{}",
                   elapsed_us / 1000, elapsed_us % 1000, best_width / 2000, ticks);
  // Right to within the calibration error the clock reported at boot, the bracket, and 100 us.
  const std::uint64_t tolerance_us =
      kExpectedUs * ktime::clock_info().error_ppm / 1'000'000 + best_width / 2000 + 100;
  KEXPECT(elapsed_us + tolerance_us >= kExpectedUs);
  KEXPECT(elapsed_us <= kExpectedUs + tolerance_us);
  KEXPECT(ticks <= 2);  // the interrupt-counting clock would have lost ~48 ms
}

// The boot calibration is one window of 1 to 54.9 ms (error ~1000 ppm at 1 ms, ~170 at 10 ms: boot's
// own work runs inside it, time/clock.cpp); ~250 ms later a tick handler measures
// the TSC again over the ACPI PM timer (QEMU's machines have one) and updates the scale without
// the clock ever going back.
KTEST(clock_is_refined_against_the_pm_timer) {
  std::uint64_t previous = ktime::now_ns();
  const std::uint64_t give_up = previous + 2'000'000'000;
  while (!ktime::clock_info().refined && ktime::now_ns() < give_up) {
    const std::uint64_t now = ktime::now_ns();
    KASSERT(now >= previous);
    previous = now;
    ferrite::arch::halt();
  }
  const ktime::ClockInfo info = ktime::clock_info();
  ferrite::println("  boot: {} Hz +-{} ppm; refined: {} Hz +-{} ppm over {} us", info.boot_hz,
                   info.boot_error_ppm, info.scale.hz(), info.error_ppm, info.window_us);
  KASSERT(info.refined);
  KEXPECT(info.window_us >= 200'000);
  KEXPECT(info.error_ppm < 100);
  // Two PIT input clocks (one at each end) of the longest window, 65535 clocks, at least.
  KEXPECT(info.boot_error_ppm >= 2 * 1'000'000 / 65'535);
  // Both calibrations measure the same TSC: they agree within their errors.
  const std::uint64_t a = info.boot_hz, b = info.scale.hz();
  const std::uint64_t apart_ppm = (a > b ? a - b : b - a) * 1'000'000 / b;
  KEXPECT(apart_ppm <= std::uint64_t{info.boot_error_ppm} + info.error_ppm);
}

// The local APIC timer drives the tick at kTickHz, measured by the TSC clock.
KTEST(lapic_timer_drives_the_tick) {
  KEXPECT(ferrite::time::tick_source() == ferrite::time::TickSource::lapic);
  KEXPECT(ferrite::arch::lapic::timer_hz() > 1'000'000);
  const std::uint64_t ticks = ferrite::time::tick_count();
  const std::uint64_t start = ktime::now_ns();
  while (ktime::now_ns() - start < 20'000'000) ferrite::arch::halt();
  const std::uint64_t counted = ferrite::time::tick_count() - ticks;
  ferrite::println("  20 ms of the clock: {} ticks of the {}", counted,
                   ferrite::time::to_string(ferrite::time::tick_source()));
  // 20 expected at 1000 Hz. On a busy host QEMU merges ticks its thread could not deliver in
  // time (seen: 13) — one more reason the clock reads the TSC instead of counting ticks.
  KEXPECT(counted >= 5 && counted <= 25);
  KEXPECT_EQ(ferrite::arch::lapic::spurious_count(), 0u);
}

// One-shot mode: the periodic tick is swapped for a single interrupt 2 ms ahead. It fires, and
// then nothing more (the PIT's IRQ 0 is masked too) until the periodic tick is restarted.
KTEST(lapic_one_shot_timer_fires_once) {
  const std::uint64_t before = ferrite::time::tick_count();
  const std::uint64_t start = ktime::now_ns();
  ferrite::arch::lapic::start_one_shot(2'000'000);
  ktime::spin_until_ns(start + 10'000'000);  // no `hlt`: after the one shot nothing would wake us
  const std::uint64_t at_10ms = ferrite::time::tick_count();
  ktime::spin_until_ns(start + 20'000'000);
  const std::uint64_t at_20ms = ferrite::time::tick_count();
  ferrite::arch::lapic::start_periodic(1'000'000'000 / ferrite::time::kTickHz);
  ferrite::println("  one-shot: {} interrupt(s) by 10 ms, {} more by 20 ms", at_10ms - before,
                   at_20ms - at_10ms);
  KEXPECT(at_10ms - before >= 1 && at_10ms - before <= 2);  // a periodic tick may have been due
  KEXPECT_EQ(at_20ms, at_10ms);
}

// The log's timestamps come from the TSC clock: they keep advancing after the APIC timer takes
// the tick and the PIT's IRQ 0 is masked (they once stood still from then on).
KTEST(log_timestamps_advance_after_the_apic_tick_starts) {
  const std::uint64_t first = ferrite::log::ring().head();
  ferrite::log::debug("clock test: first record");
  ferrite::time::spin_until_ns(ferrite::time::now_ns() + 2'000'000);
  ferrite::log::debug("clock test: second record");
  ferrite::log::Reader reader(ferrite::log::ring(), first);
  ferrite::log::Record a, b;
  KASSERT(reader.next(a));
  KASSERT(reader.next(b));
  KEXPECT(b.timestamp_ns - a.timestamp_ns >= 2'000'000);
}
