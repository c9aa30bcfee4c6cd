// The TSC clock: a short boot calibration against PIT channel 2 (with the local APIC timer in the
// same window), a background refinement against the ACPI PM timer, and reading it (chapter 13).
#include "time/clock.h"

#include <array>
#include <atomic>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/lapic.h"
#include "lib/log.h"
#include "lib/panic.h"
#include "platform/pc/pit.h"
#include "sync/spinlock.h"
#include "time/tick.h"

namespace ferrite::time {

namespace {

// The boot calibration window is open from start_calibration() (the start of init()) to
// init_clock(): the page tables, the heap and the ACPI tables are set up inside it instead of the
// CPU waiting in it (issue 9 holds boot to 1.1x an empty kernel, which boots in ~0.1 s). Its
// length is whatever that work took, at least 1 ms of the PIT's 1.193182 MHz (waited out, mostly
// on the TSC, if boot was quicker) and at most the 54.9 ms channel 2 can count. The price is the
// PIT's uncertainty of one input clock at each end (2/1193 = 1677 ppm of a 1 ms window, 168 ppm of
// 10 ms), which the error reports and the refinement removes. If the window cannot be used (it ran
// out, or its edges were seen too loosely) one 1 ms window is waited for instead, as before.
constexpr std::uint16_t kWindowInputClocks = 1193;
constexpr std::uint32_t kOverlappedEndClocks = 2;  // uncertainty of the two ends, in input clocks
// The local APIC timer counts from start_lapic_calibration() to init_clock(), at least this long.
constexpr std::uint64_t kMinLapicWindowNs = 1'000'000;
// The warm-up window, thrown away: it only has to run the polling loop once.
constexpr std::uint16_t kWarmUpInputClocks = 120;  // 0.1 ms

// The refinement: ~250 ms of the ACPI PM timer (3.579545 MHz, ACPI 6.5 4.8.3.3), one count
// = 1.1 ppm of it, measured by a tick handler without holding anything up.
constexpr std::uint64_t kPmTimerHz = 3'579'545;
constexpr std::uint64_t kRefineAfterNs = 250'000'000;
// Edges (the two port reads, each bracketed by rdtsc) known within 1/kRefineEdgeFraction of the
// window, or the tightest of kRefineTries ticks' tries.
constexpr std::uint64_t kRefineEdgeFraction = 100'000;  // 10 ppm
constexpr int kRefineTries = 20;
// A refinement further than this from the boot calibration means a broken reference (a PM timer
// of the wrong width, a window that wrapped it): the boot calibration stays.
constexpr std::uint64_t kRefineMaxChangePpm = 20'000;

constinit bool ready = false;

// The clock's state, double-buffered so that a reader never waits for the refinement, even in an
// NMI that interrupted it: the writer fills the slot readers are not using, then publishes it by
// bumping `version`; a reader that saw `version` change during its read reads again.
struct State {
  ClockEpoch epoch;
  ClockInfo info;
};
constinit std::array<State, 2> states{};
constinit std::atomic<std::uint32_t> version{0};

template <typename Read>
auto read_consistent(Read read) {
  for (;;) {
    const std::uint32_t seen = version.load(std::memory_order_acquire);
    const auto value = read(states[seen & 1]);
    std::atomic_signal_fence(std::memory_order_acq_rel);  // one CPU: only the compiler reorders
    if (version.load(std::memory_order_acquire) == seen) return value;
  }
}

// The writer: interrupts off (a tick handler, or boot), so nothing else writes meanwhile.
void publish(const State& next) {
  const std::uint32_t current = version.load(std::memory_order_relaxed);
  states[(current + 1) & 1] = next;
  version.store(current + 1, std::memory_order_release);
}

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

// A reading of another counter bracketed by two TSC reads: it happened at `tsc` +- width / 2.
struct Sample {
  std::uint64_t tsc;
  std::uint64_t width;
  std::uint32_t count;
};
// Not inlined: one copy serves the local APIC timer's and the PM timer's readings.
[[gnu::noinline]] Sample sample(std::uint32_t (*read_count)()) {
  const std::uint64_t before = arch::read_tsc();
  const std::uint32_t count = read_count();
  const std::uint64_t after = arch::read_tsc();
  return {before / 2 + after / 2, after - before, count};
}

// The windows opened by start_calibration() and start_lapic_calibration().
constinit pc::pit::Moment window_start{};
constinit bool window_open = false;
constinit Sample lapic_start{};
constinit bool lapic_counting = false;

// A window measured against the PIT: TSC ticks over `input_clocks` of it, and how many input
// clocks of uncertainty the PIT's own ends add. `readings` counts the reads of channel 2 that
// closed an overlapped window (0: the fallback's window, waited for).
struct PitWindow {
  Window window;
  std::uint32_t input_clocks;
  std::uint32_t uncertain_clocks;
  std::uint32_t readings = 0;
};

// Boot's work took less than the window (a fast CPU, or QEMU's -icount, where boot runs in
// ~0.3 ms of guest time): waits out 7/8 of what is left on the TSC, at the rate the window has
// shown so far, so that the PIT is polled only near the end, as wait_for_window() does. Each
// reading waits 7/8 of what is left again, so a handful of readings close the window. Polling all
// the way would be a latch and three port reads per loop, each an exit to QEMU's device model
// (~9,800 readings, ~39,000 accesses per boot under -icount) or ~1 us on real hardware.
// The rate is taken from the start edge's later side: it can only come out low (by the edge's
// width), so the wait never overshoots. A reading too early to give a rate (under
// kMinClocksForRate) waits for nothing: the next one is soon. Returns false, without waiting,
// when the start edge is too wide for any window of this length to be used (an SMI or a
// preempted vCPU inside it): the caller falls back at once.
bool wait_out_most_of_window(const pc::pit::Moment& start,
                             const pc::pit::Channel2Reading& reading) {
  constexpr std::uint32_t kMinClocksForRate = 64;
  FERRITE_ASSERT(reading.elapsed_clocks < kWindowInputClocks);
  if (reading.elapsed_clocks < kMinClocksForRate || reading.at.before <= start.after) return true;
  const std::uint64_t ticks_per_clock = (reading.at.before - start.after) / reading.elapsed_clocks;
  const std::uint64_t window_ticks = kWindowInputClocks * ticks_per_clock;
  if ((start.after - start.before) * kEdgeFraction > window_ticks) return false;
  const std::uint64_t left = (kWindowInputClocks - reading.elapsed_clocks) * ticks_per_clock;
  const std::uint64_t until = reading.at.after + left - left / 8;
  while (read_tsc() < until) asm volatile("pause");
  return true;
}

// Closes the window start_calibration() opened: reads channel 2's count, waiting first if less
// than kWindowInputClocks have passed. Nothing if none was opened, it ran out, or its edges stay
// too loosely known (a later reading lengthens the window, so it is read again, kMaxTries times).
std::optional<PitWindow> close_window() {
  if (!window_open) return std::nullopt;
  window_open = false;
  const std::uint64_t start = window_start.before / 2 + window_start.after / 2;
  const std::uint64_t start_width = window_start.after - window_start.before;
  std::uint32_t readings = 0;
  for (int attempt = 0; attempt < kMaxTries;) {
    const pc::pit::Channel2Reading reading = pc::pit::read_channel2(read_tsc);
    ++readings;
    if (reading.expired) return std::nullopt;
    if (reading.elapsed_clocks < kWindowInputClocks) {
      if (!wait_out_most_of_window(window_start, reading)) return std::nullopt;
      continue;
    }
    ++attempt;
    const std::uint64_t end = reading.at.before / 2 + reading.at.after / 2;
    const Window window{end - start, start_width + (reading.at.after - reading.at.before)};
    if (window.uncertainty * kEdgeFraction <= window.ticks) {
      return PitWindow{window, reading.elapsed_clocks, kOverlappedEndClocks, readings};
    }
  }
  return std::nullopt;
}

// The fallback: one window of kWindowInputClocks, waited for.
PitWindow wait_for_window() {
  // One window first, thrown away: under an emulator the first run of the polling loop also
  // pays for translating it, and the caches are cold on real hardware. It gives a first guess
  // of a window's length, so that the real one waits out 7/8 of it on the TSC before polling
  // the PIT: the same edges, an eighth of the port reads.
  const Window warm_up = measure_window(kWarmUpInputClocks);
  const std::uint64_t guess = warm_up.ticks / kWarmUpInputClocks * kWindowInputClocks;
  return {measure_window(kWindowInputClocks, guess - guess / 8), kWindowInputClocks, 1};
}

void start_lapic_count() {
  arch::lapic::start_count();
  lapic_start = sample(arch::lapic::counted);
  lapic_counting = true;
}

struct Refinement {
  PmTimer timer;
  Sample start;
  std::uint64_t due_ticks;  // TSC ticks after start.tsc, by the boot calibration
  Sample best;
  int tries;
};
constinit Refinement refinement{};
constinit bool refining = false;

std::uint32_t read_pm_timer() { return arch::inl(refinement.timer.port); }

void start_refinement(PmTimer timer, const TscScale& boot_scale) {
  refinement = Refinement{timer, {}, boot_scale.to_ticks(kRefineAfterNs), {}, 0};
  refinement.start = sample(read_pm_timer);
  for (int i = 0; i < kMaxTries && refinement.start.width * kRefineEdgeFraction * 2 >
                                        refinement.due_ticks; ++i) {
    refinement.start = sample(read_pm_timer);
  }
  refining = true;
}

// Every tick (interrupts off): a few instructions until the window is due, then one port read a
// tick until an edge is tight enough.
void refine_on_tick(std::uint64_t) {
  if (!refining) return;
  const std::uint64_t elapsed = arch::read_tsc() - refinement.start.tsc;
  if (elapsed < refinement.due_ticks) return;
  const ClockInfo boot = clock_info();
  // A 24-bit PM timer wraps after 4.7 s: a window that long (ticks stopped) starts over.
  const std::uint64_t wrap_ns = (std::uint64_t{1} << refinement.timer.bits) * 1'000'000'000 /
                                kPmTimerHz;
  if (boot.scale.to_ns(elapsed) >= wrap_ns / 2) {
    start_refinement(refinement.timer, boot.scale);
    return;
  }
  const Sample end = sample(read_pm_timer);
  if (refinement.tries == 0 || end.width < refinement.best.width) refinement.best = end;
  ++refinement.tries;
  const std::uint64_t window = end.tsc - refinement.start.tsc;
  if (end.width * kRefineEdgeFraction * 2 > window && refinement.tries < kRefineTries) return;
  refining = false;

  const Sample& chosen = refinement.best;
  const std::uint64_t ticks = chosen.tsc - refinement.start.tsc;
  const std::uint64_t mask = refinement.timer.bits >= 32 ? 0xFFFF'FFFFull
                                                         : (std::uint64_t{1} << refinement.timer.bits) - 1;
  const std::uint64_t counts = (chosen.count - refinement.start.count) & mask;
  if (counts == 0) {
    log::warn("clock: the ACPI PM timer does not count; keeping the PIT calibration");
    return;
  }
  const std::uint64_t hz = frequency_from(ticks, counts, kPmTimerHz);
  const std::uint64_t old_hz = boot.scale.hz();
  const std::uint64_t change_ppm = (hz > old_hz ? hz - old_hz : old_hz - hz) * 1'000'000 / old_hz;
  if (change_ppm > kRefineMaxChangePpm) {
    log::warn("clock: the ACPI PM timer says TSC {} Hz, {} ppm from the PIT's {} Hz; keeping the "
              "PIT calibration", hz, change_ppm, old_hz);
    return;
  }
  ClockInfo info = boot;
  info.scale = TscScale::from_hz(hz);
  info.refined = true;
  const std::uint64_t window_ns = info.scale.to_ns(ticks);
  info.window_us = static_cast<std::uint32_t>(window_ns / 1000);
  // Each end: the count is read somewhere inside its bracket (width / 2 either side of the
  // midpoint) and is a whole count (one count of uncertainty over the window).
  info.error_ppm = static_cast<std::uint32_t>(
      (refinement.start.width + chosen.width) / 2 * 1'000'000 / ticks + 1'000'000 / counts + 1);
  const State current = read_consistent([](const State& s) { return s; });
  publish({current.epoch.rescaled(arch::read_tsc(), info.scale), info});
  // Debug level: it comes when the shell is up, whose screen it would scroll (`dmesg` shows it).
  log::debug(
      "clock: refined against the ACPI PM timer over {} ms: TSC {} MHz, error +-{} ppm "
      "(boot calibration was off by {} ppm)",
      window_ns / 1'000'000, fmt::Thousandths{hz / 1000}, info.error_ppm, change_ppm);
}

// Where the boot calibration's window came from, as its log line says it.
struct WindowSource {
  std::uint32_t readings;  // of channel 2, to close boot's window; 0 for the fallback's
};

}  // namespace

}  // namespace ferrite::time

template <>
struct ferrite::fmt::Formatter<ferrite::time::WindowSource> {
  static void format(Sink& sink, const ferrite::time::WindowSource& source, const FormatSpec&) {
    if (source.readings == 0) {
      sink.write("a window waited for");
    } else {
      format_to(sink, "boot's work, readings: {}", source.readings);
    }
  }
};

namespace ferrite::time {

void start_calibration() {
  sync::InterruptGuard no_interrupts;  // nothing between the two reads of the start
  window_start = pc::pit::start_channel2(read_tsc);
  window_open = true;
}

void start_lapic_calibration() {
  if (!arch::lapic::enabled()) return;
  sync::InterruptGuard no_interrupts;
  start_lapic_count();
}

void init_clock(std::optional<PmTimer> pm_timer) {
  const bool lapic = arch::lapic::enabled();
  std::uint32_t readings = 0;  // of channel 2, to close boot's window; 0 for the fallback's
  Sample lapic_end{};
  State state{};
  {
    sync::InterruptGuard no_interrupts;  // an interrupt inside a reading would widen its edges
    const std::optional<PitWindow> overlapped = close_window();
    const PitWindow pit = overlapped ? *overlapped : wait_for_window();
    readings = pit.readings;
    const std::uint64_t hz =
        frequency_from(pit.window.ticks, pit.input_clocks, pc::pit::kInputFrequencyHz);
    state.info.scale = TscScale::from_hz(hz);
    state.info.invariant = tsc_is_invariant();
    state.info.window_us = static_cast<std::uint32_t>(std::uint64_t{pit.input_clocks} *
                                                      1'000'000 / pc::pit::kInputFrequencyHz);
    // Error: how loosely the window's edges were known, plus the PIT's own uncertainty.
    state.info.error_ppm = static_cast<std::uint32_t>(
        pit.window.uncertainty * 1'000'000 / pit.window.ticks +
        std::uint64_t{pit.uncertain_clocks} * 1'000'000 / pit.input_clocks);
    // The local APIC timer's count is read at both ends of its own window, each read placed on
    // the TSC, and the TSC's rate converts (no wait on the PIT for it, as in Linux). (Both ends
    // are reads of the running count: one register access each, where the start's three writes
    // would blur the first edge.) A window shorter than kMinLapicWindowNs is waited out.
    if (lapic) {
      if (!lapic_counting) start_lapic_count();
      const std::uint64_t min_ticks = state.info.scale.to_ticks(kMinLapicWindowNs);
      while (read_tsc() - lapic_start.tsc < min_ticks) asm volatile("pause");
      lapic_end = sample(arch::lapic::counted);
      lapic_counting = false;
    }
    // The clock goes on from the PIT's count of ticks, which the log's timestamps read so far:
    // no timestamp goes back when the log switches to this clock.
    state.info.boot_hz = hz;
    state.info.boot_error_ppm = state.info.error_ppm;
    state.epoch = ClockEpoch{arch::read_tsc(), pc::pit::uptime_ns(), state.info.scale};
    publish(state);
    ready = true;
    if (pm_timer) start_refinement(*pm_timer, state.info.scale);
  }
  const std::uint64_t hz = state.info.scale.hz();
  std::uint64_t lapic_hz = 0;
  if (lapic) {
    lapic_hz = frequency_from(lapic_end.count - lapic_start.count, lapic_end.tsc - lapic_start.tsc,
                              hz);
    arch::lapic::set_timer_hz(lapic_hz);
  }
  if (pm_timer && !add_tick_handler(refine_on_tick)) refining = false;
  // Debug level, as the other details of a boot that went as expected (init.cpp,
  // report_local_apic): `dmesg` shows it. What went wrong is logged as a warning.
  log::debug("clock: TSC {} MHz{}, PIT-calibrated over {} ms ({}), error +-{} ppm{}",
             fmt::Thousandths{hz / 1000}, state.info.invariant ? " invariant" : " (not invariant)",
             fmt::Thousandths{state.info.window_us}, WindowSource{readings}, state.info.error_ppm,
             refining ? "; refining against the ACPI PM timer" : "");
}

bool clock_ready() { return ready; }

std::uint64_t now_ns() {
  if (!ready) return 0;
  // The TSC is read inside: a reading taken after a new epoch began must use it.
  return read_consistent([](const State& s) { return s.epoch.ns_at(arch::read_tsc()); });
}

ClockInfo clock_info() {
  return read_consistent([](const State& s) { return s.info; });
}

void spin_until_ns(std::uint64_t deadline) {
  while (now_ns() < deadline) asm volatile("pause");
}

}  // namespace ferrite::time
