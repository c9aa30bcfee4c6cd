// The TSC clock: calibration against PIT channel 2, and reading it (chapter 13).
#include "lib/log.h"
#include "time/clock.h"

#include <algorithm>
#include <array>

#include "arch/x86_64/cpu.h"
#include "platform/pc/pit.h"
#include "sync/spinlock.h"

namespace ferrite::time {

namespace {

// 1 ms of the PIT's 1.193182 MHz. Boot waits for every window (issue 9 holds boot to 1.1x an
// empty kernel, which boots in ~0.1 s), so they are short: the price is the PIT's start
// uncertainty of one input clock, 1/1193 = 838 ppm of each window, which the error reports.
constexpr std::uint16_t kWindowInputClocks = 1193;
// The warm-up window, thrown away: it only has to run the polling loop once.
constexpr std::uint16_t kWarmUpInputClocks = 120;  // 0.1 ms
// An odd number, for a median. Under an emulator on a busy host the emulator's thread can be
// descheduled inside a window and stretch or shrink it; the median of five ignores two of those.
constexpr std::size_t kWindows = 5;

constinit ClockInfo info{};
constinit std::uint64_t tsc_at_boot = 0;
constinit bool ready = false;

// CPUID 8000_0007h EDX bit 8, "Invariant TSC" (Intel SDM Vol. 3B 18.17.1; AMD APM Vol. 3 E.4.19).
bool tsc_is_invariant() {
  if (arch::cpuid(0x8000'0000).eax < 0x8000'0007) return false;
  return (arch::cpuid(0x8000'0007).edx & (1u << 8)) != 0;
}

std::uint64_t read_tsc() { return arch::read_tsc(); }

// One window whose two edges together are known to within 1/kEdgeFraction of the window, or
// after kMaxTries the tightest one seen. Returns TSC ticks (edge midpoints) and the edges' widths.
// (On real hardware one `inb` from the PIT takes ~1 us, so each edge is ~1 us wide: a tighter
// bound would only make every window run kMaxTries times.)
struct Window {
  std::uint64_t ticks;
  std::uint64_t uncertainty;
};
constexpr std::uint64_t kEdgeFraction = 1'000;  // both edges within 1000 ppm of the window
constexpr int kMaxTries = 3;

// `quiet_ticks`: how long to wait on the TSC alone before polling the PIT (pit.h); a retry polls
// all the way, in case a wrong guess hid the end.
Window measure_window(std::uint16_t input_clocks, std::uint64_t quiet_ticks = 0) {
  Window best{0, ~std::uint64_t{0}};
  for (int attempt = 0; attempt < kMaxTries; ++attempt) {
    const pc::pit::Stopwatch w =
        pc::pit::time_channel2(input_clocks, read_tsc, attempt == 0 ? quiet_ticks : 0);
    const std::uint64_t start = w.start_before / 2 + w.start_after / 2;
    const std::uint64_t end = w.end_before / 2 + w.end_after / 2;
    const Window window{end - start, (w.start_after - w.start_before) + (w.end_after - w.end_before)};
    if (window.uncertainty < best.uncertainty) best = window;
    if (window.uncertainty * kEdgeFraction <= window.ticks) break;
  }
  return best;
}

}  // namespace

void init_clock() {
  std::array<std::uint64_t, kWindows> hz{};
  std::uint64_t worst_edges_ppm = 0;
  {
    sync::InterruptGuard no_interrupts;  // an interrupt inside a window would lengthen it
    // One window first, thrown away: under an emulator the first run of the polling loop also
    // pays for translating it, and the caches are cold on real hardware. It gives a first guess
    // of a window's length.
    const Window warm_up = measure_window(kWarmUpInputClocks);
    // Wait out 7/8 of the expected window on the TSC before polling the PIT: the same edges, an
    // eighth of the port reads. The guess is the warm-up's, then the shortest well-measured
    // window's.
    std::uint64_t shortest = warm_up.ticks / kWarmUpInputClocks * kWindowInputClocks;
    for (std::uint64_t& h : hz) {
      const Window window = measure_window(kWindowInputClocks, shortest - shortest / 8);
      if (window.uncertainty * kEdgeFraction <= window.ticks && window.ticks < shortest) {
        shortest = window.ticks;
      }
      h = frequency_from(window.ticks, kWindowInputClocks, pc::pit::kInputFrequencyHz);
      worst_edges_ppm = std::max(worst_edges_ppm, window.uncertainty * 1'000'000 / window.ticks);
    }
  }
  std::sort(hz.begin(), hz.end());
  const std::uint64_t median = hz[kWindows / 2];
  // The error estimate: how far the middle windows stray from the median (the outer two are the
  // ones the median exists to ignore).
  std::uint64_t deviation = 0;
  for (std::size_t i = 1; i + 1 < kWindows; ++i) {
    deviation = std::max(deviation, hz[i] > median ? hz[i] - median : median - hz[i]);
  }
  info.scale = TscScale::from_hz(median);
  info.invariant = tsc_is_invariant();
  info.windows = kWindows;
  info.window_us = static_cast<std::uint32_t>(std::uint64_t{kWindowInputClocks} * 1'000'000 /
                                              pc::pit::kInputFrequencyHz);
  // Error: the spread of the middle windows, or how loosely the worst window's edges were known,
  // whichever is larger, plus the PIT's own start uncertainty of one input clock.
  info.error_ppm = static_cast<std::uint32_t>(
      std::max(deviation * 1'000'000 / median, worst_edges_ppm) + 1'000'000 / kWindowInputClocks);
  tsc_at_boot = arch::read_tsc();
  ready = true;
  log::info("clock: TSC {}.{:03} MHz{}, PIT-calibrated {}x{} ms, error +-{} ppm", median / 1'000'000,
          median / 1000 % 1000, info.invariant ? " invariant" : " (not invariant)", kWindows,
          (info.window_us + 500) / 1000, info.error_ppm);
}

bool clock_ready() { return ready; }

std::uint64_t now_ns() {
  if (!ready) return 0;
  return info.scale.to_ns(arch::read_tsc() - tsc_at_boot);
}

const ClockInfo& clock_info() { return info; }

void spin_until_ns(std::uint64_t deadline) {
  while (now_ns() < deadline) asm volatile("pause");
}

}  // namespace ferrite::time
