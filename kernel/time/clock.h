// The kernel's one monotonic clock (chapter 13): nanoseconds since boot, read from the CPU's
// time-stamp counter. Unlike counting timer interrupts, it cannot fall behind while interrupts
// are off: the TSC counts on regardless. `uptime`, sleeps and timeouts all read it.
// Calibrated twice: at boot against PIT channel 2 over a window that boot's other work runs in
// (nothing waits unless that work took under 1 ms), then in the background against the ACPI PM
// timer over a long window, which sharpens the rate without ever letting the clock go back.
#pragma once

#include <cstdint>
#include <optional>

#include "time/tsc_scale.h"

namespace ferrite::time {

struct ClockInfo {
  TscScale scale;                 // TSC ticks <-> ns
  bool invariant = false;         // CPUID says the TSC runs at one rate in every power state
  bool refined = false;           // the background refinement has replaced the boot calibration
  std::uint32_t window_us = 0;    // length of the calibration window the scale comes from
  std::uint32_t error_ppm = 0;    // how far the scale can be off: the reference's start
                                  // uncertainty plus how loosely the window's edges were seen
  std::uint64_t boot_hz = 0;      // what the boot calibration measured, kept after refining,
  std::uint32_t boot_error_ppm = 0;  // and the error it reported
};

// The ACPI PM timer (ACPI 6.5 4.8.3.3): a free-running 3.579545 MHz counter at an I/O port.
struct PmTimer {
  std::uint16_t port;
  std::uint8_t bits;  // 24 or 32
};

// Opens the boot calibration window: PIT channel 2 starts counting, and the TSC is read around
// the moment it starts. Call once, first thing at boot (interrupts off); init_clock() closes it.
void start_calibration();
// Starts the local APIC timer counting for its calibration, read again by init_clock(). Call once
// the local APIC is set up (arch::lapic::init), as early as possible: its window lasts until
// init_clock() (at least 1 ms, waited out if shorter). Does nothing without a local APIC.
void start_lapic_calibration();

// Measures the TSC frequency against the PIT channel 2 window start_calibration() opened (or,
// without one or if it cannot be used, against a 1 ms window it waits for), and the local APIC
// timer's against the TSC if the local APIC is enabled (its frequency is then set:
// arch/x86_64/lapic.h). The clock goes on from the PIT's uptime, so log timestamps never go back.
// With `pm_timer`, a tick handler (time/tick.h) later measures the TSC over ~250 ms against it and
// updates the scale. Prints one line about each calibration. Call once, after the PIT's tick and
// the local APIC are set up.
void init_clock(std::optional<PmTimer> pm_timer);
[[nodiscard]] bool clock_ready();

// Nanoseconds since boot; 0 before init_clock(). Never decreases, even across the refinement.
[[nodiscard]] std::uint64_t now_ns();
// A consistent copy (the refinement may change it at any tick).
[[nodiscard]] ClockInfo clock_info();

// Busy-waits (interrupts as they are) until now_ns() >= deadline.
void spin_until_ns(std::uint64_t deadline);

}  // namespace ferrite::time
