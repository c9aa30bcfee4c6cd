// The kernel's one monotonic clock (chapter 13): nanoseconds since boot, read from the CPU's
// time-stamp counter and calibrated once against the PIT. Unlike counting timer interrupts, it
// cannot fall behind while interrupts are off: the TSC counts on regardless. `uptime`, sleeps and
// timeouts all read it.
#pragma once

#include <cstdint>

#include "time/tsc_scale.h"

namespace ferrite::time {

struct ClockInfo {
  TscScale scale;                 // TSC ticks <-> ns
  bool invariant = false;         // CPUID says the TSC runs at one rate in every power state
  std::uint32_t window_us = 0;    // length of one calibration window
  std::uint32_t windows = 0;      // how many were measured
  std::uint32_t error_ppm = 0;    // largest deviation of a middle window from the median, plus the
                                  // PIT's start uncertainty (one input clock per window)
};

// Measures the TSC frequency against PIT channel 2 (with interrupts off for a few ms) and starts
// the clock at 0. Prints one line about it. Call once, early (after the PIC/PIT are set up).
void init_clock();
[[nodiscard]] bool clock_ready();

// Nanoseconds since init_clock(); 0 before it.
[[nodiscard]] std::uint64_t now_ns();
[[nodiscard]] const ClockInfo& clock_info();

// Busy-waits (interrupts as they are) until now_ns() >= deadline.
void spin_until_ns(std::uint64_t deadline);

}  // namespace ferrite::time
