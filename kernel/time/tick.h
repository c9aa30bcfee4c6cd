// The kernel's periodic tick (chapter 13): the local APIC timer where the CPU has one, else the
// PIT's IRQ 0. The tick keeps no time itself — handlers read the TSC clock (time/clock.h) — it
// only gives the timer queue and the scheduler a regular chance to look at that clock.
#pragma once

#include <cstdint>
#include <string_view>

namespace ferrite::time {

inline constexpr std::uint32_t kTickHz = 1000;

enum class TickSource : std::uint8_t { none, pit, lapic };
constexpr std::string_view to_string(TickSource source) {
  switch (source) {
    case TickSource::none: return "none";
    case TickSource::pit: return "PIT IRQ 0";
    case TickSource::lapic: return "local APIC timer";
  }
  return "?";
}

// Starts the tick: the local APIC timer (periodic, kTickHz) if the local APIC is enabled and its
// timer calibrated, else a callback on the PIT's IRQ 0. Call once, after the clock.
void start_tick();
[[nodiscard]] TickSource tick_source();
[[nodiscard]] std::uint64_t tick_count();

// Functions every tick calls with the clock's time (interrupts off: keep them short). A small
// fixed set; add returns false when it is full.
using TickHandler = void (*)(std::uint64_t now_ns);
bool add_tick_handler(TickHandler handler);

}  // namespace ferrite::time
