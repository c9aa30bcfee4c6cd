// The Programmable Interval Timer, an Intel 8253/8254 (chapter 7 "Hardware Interrupts"). Its
// channel 0 drives IRQ 0; we program it as a rate generator so IRQ 0 fires at a fixed frequency,
// and count the ticks (the log's timestamps; the tick where there is no local APIC, time/tick.h).
// Channel 2 calibrates the kernel's clock, the TSC (time/clock.h).
#pragma once

#include <cstdint>

namespace ferrite::pc::pit {

// The PC feeds the PIT with 1.193182 MHz (a third of the 3.579545 MHz NTSC colour-burst crystal;
// IBM PC AT Technical Reference, "System Timers").
inline constexpr std::uint32_t kInputFrequencyHz = 1'193'182;
// 1000 Hz: a millisecond clock. Divisor 1193, so one tick is really 0.99985 ms; uptime_ms()
// corrects for that.
inline constexpr std::uint32_t kDefaultFrequencyHz = 1000;

// Programs channel 0 to `frequency_hz` (19 .. 596591 Hz) and installs the IRQ 0 handler
// (which unmasks the line). Call after pic::init(); ticks start once interrupts are enabled.
void init(std::uint32_t frequency_hz = kDefaultFrequencyHz);

// IRQ 0 interrupts since init(). Monotonic; stops while interrupts are disabled, and for good
// once time::start_tick() masks IRQ 0 because the local APIC timer ticks instead.
[[nodiscard]] std::uint64_t ticks();
// Milliseconds since init(), from ticks() and the exact divisor.
[[nodiscard]] std::uint64_t uptime_ms();
// Nanoseconds since init() (with a tick's resolution): the log's timestamps.
[[nodiscard]] std::uint64_t uptime_ns();
// The frequency asked for in init() and the divisor programmed for it.
[[nodiscard]] std::uint32_t frequency_hz();
[[nodiscard]] std::uint32_t divisor();

// Functions the timer interrupt calls on every tick, with the new tick count (interrupts are
// disabled while they run: keep them short). A small fixed set; add returns false when full.
using TickCallback = void (*)(std::uint64_t tick);
inline constexpr unsigned kMaxTickCallbacks = 4;
bool add_tick_callback(TickCallback callback);
void remove_tick_callback(TickCallback callback);

// Channel 2 as a stopwatch (its gate is port 0x61 bit 0, its output readable at bit 5; the
// speaker stays off): counts `input_clocks` (1..65535) of the 1.193182 MHz input in mode 0
// ("interrupt on terminal count") and busy-waits until the output goes high. Independent of
// interrupts, so it measures time even with them off: the TSC clock is calibrated against it.
// `read_counter` (e.g. rdtsc) is read around the start and around the end, and the result
// brackets both moments: the start lies in [start_before, start_after], the end in
// [end_before, end_after]. A wide bracket means the CPU was away (an emulator's thread
// descheduled, an SMI): the caller should measure again.
// `quiet_counts`: how long (in `read_counter` units) after the start to wait on the counter alone
// before polling the PIT. Every `inb` is an exit to the device model under an emulator (~283,000
// of them in 6 ms of calibration, most of the boot's device accesses), so a caller that knows
// roughly when the end comes skips the reads that cannot see it; the end is polled as before.
struct Stopwatch {
  std::uint64_t start_before, start_after, end_before, end_after;
};
Stopwatch time_channel2(std::uint16_t input_clocks, std::uint64_t (*read_counter)(),
                        std::uint64_t quiet_counts = 0);

// Channel 2 as a stopwatch that runs while the caller does other work (boot's calibration
// window, time/clock.h): start_channel2() loads the largest count, kChannel2MaxClocks input
// clocks (54.9 ms), in mode 0 and returns when counting started; read_channel2() latches the
// count and says how many input clocks have passed since, and when it latched them. Nothing
// waits. Each moment lies in [before, after] of `read_counter`; the count itself is known to one
// input clock (0.84 us), plus up to one more at the start (the load waits for the next clock).
// Once the count runs out the output goes high and stays high: `expired` then says the reading
// means nothing (the counter wrapped). Call both with interrupts off.
inline constexpr std::uint32_t kChannel2MaxClocks = 0xFFFF;
struct Moment {
  std::uint64_t before, after;
};
Moment start_channel2(std::uint64_t (*read_counter)());
struct Channel2Reading {
  Moment at;
  std::uint32_t elapsed_clocks;
  bool expired;
};
Channel2Reading read_channel2(std::uint64_t (*read_counter)());

}  // namespace ferrite::pc::pit
