// Programming PIT channel 0 and counting its interrupts (chapter 7). The reference is Intel's
// "8254 Programmable Interval Timer" datasheet (order number 231164-005): "Control Word Format"
// (figure 7), "Mode 2 - Rate Generator", and "Write Operations" for the count's byte order.
#include "platform/pc/pit.h"

#include <array>
#include <atomic>

#include "arch/x86_64/cpu.h"
#include "platform/pc/pic8259.h"
#include "lib/log.h"
#include "lib/panic.h"
#include "sync/spinlock.h"

namespace ferrite::pc::pit {

namespace {

constexpr std::uint16_t kChannel0DataPort = 0x40;
constexpr std::uint16_t kChannel2DataPort = 0x42;
constexpr std::uint16_t kControlWordPort = 0x43;
// The PC's "port B" (IBM PC AT Technical Reference, "System Timers" / 8255 port B): bit 0 gates
// channel 2, bit 1 connects its output to the speaker, bit 5 reads its output back.
constexpr std::uint16_t kPortB = 0x61;
constexpr std::uint8_t kChannel2Gate = 1u << 0;
constexpr std::uint8_t kSpeakerData = 1u << 1;
constexpr std::uint8_t kChannel2Output = 1u << 5;

// Control word (figure 7): bits 7..6 select the counter, 5..4 the access mode, 3..1 the mode,
// bit 0 BCD (0 = a 16-bit binary count).
constexpr std::uint8_t kSelectCounter0 = 0b00 << 6;
constexpr std::uint8_t kAccessLowThenHighByte = 0b11 << 4;
constexpr std::uint8_t kSelectCounter2 = 0b10 << 6;
constexpr std::uint8_t kMode0InterruptOnTerminalCount = 0b000 << 1;
constexpr std::uint8_t kMode2RateGenerator = 0b010 << 1;
constexpr std::uint8_t kBinaryCount = 0;
// Access mode 00 in a control word is the "Counter Latch Command" (figure 7 and "Read
// Operations"): the counter's value is frozen at that moment until it has been read.
constexpr std::uint8_t kLatchCount = 0b00 << 4;

// A count of 0 means 65536; "a count of 1 is illegal in mode 2".
constexpr std::uint32_t kMinDivisor = 2;
constexpr std::uint32_t kMaxDivisor = 65536;

constinit std::atomic<std::uint64_t> tick_count{0};
constinit std::uint32_t requested_frequency_hz = 0;
constinit std::uint32_t programmed_divisor = 0;
constinit std::array<std::atomic<TickCallback>, kMaxTickCallbacks> callbacks{};
// Slots [0, slots_used) have ever held a callback (a removal leaves a hole, so this only grows).
// Since the local APIC timer drives the tick (chapter 13) IRQ 0 usually has no callback at all,
// and the handler then skips the slots instead of testing four empty ones on every interrupt.
constinit std::atomic<unsigned> slots_used{0};

// Out of line, so that the interrupt without callbacks saves no registers for this loop
// (make bench's timer IRQ round trip: 114 -> 103 instructions).
[[gnu::noinline]] void run_callbacks(std::uint64_t tick, unsigned used) {
  for (unsigned i = 0; i < used; ++i) {
    if (const TickCallback callback = callbacks[i].load(std::memory_order_acquire)) callback(tick);
  }
}

void on_timer_interrupt(arch::InterruptFrame&) {
  const std::uint64_t tick = tick_count.fetch_add(1, std::memory_order_relaxed) + 1;
  const unsigned used = slots_used.load(std::memory_order_acquire);
  if (used != 0) run_callbacks(tick, used);
}

}  // namespace

void init(std::uint32_t frequency_hz) {
  FERRITE_ASSERT(frequency_hz > 0);
  const std::uint32_t divisor = (kInputFrequencyHz + frequency_hz / 2) / frequency_hz;
  FERRITE_ASSERT(divisor >= kMinDivisor && divisor <= kMaxDivisor);
  {
    sync::InterruptGuard no_interrupts;
    arch::outb(kControlWordPort,
         kSelectCounter0 | kAccessLowThenHighByte | kMode2RateGenerator | kBinaryCount);
    arch::outb(kChannel0DataPort, static_cast<std::uint8_t>(divisor));  // 65536 is written as 0, 0
    arch::outb(kChannel0DataPort, static_cast<std::uint8_t>(divisor >> 8));
    requested_frequency_hz = frequency_hz;
    programmed_divisor = divisor;
  }
  pic::set_irq_handler(pic::kTimerLine, on_timer_interrupt);
  log::set_clock(uptime_ns);
}

std::uint64_t ticks() {
  return tick_count.load(std::memory_order_relaxed);
}

std::uint64_t uptime_ms() {
  // ticks * divisor is the number of input clocks elapsed; times 1000 it overflows 64 bits after
  // 2^64 / 1000 clocks of 1.19 MHz: about 490 years, whatever the frequency.
  return ticks() * programmed_divisor * 1000 / kInputFrequencyHz;
}

std::uint64_t uptime_ns() {
  // Split so that nothing overflows: clocks * 10^9 would after 4.3 hours.
  const std::uint64_t clocks = ticks() * programmed_divisor;
  return clocks / kInputFrequencyHz * 1'000'000'000 +
         clocks % kInputFrequencyHz * 1'000'000'000 / kInputFrequencyHz;
}

std::uint32_t frequency_hz() {
  return requested_frequency_hz;
}
std::uint32_t divisor() {
  return programmed_divisor;
}

namespace {

// Loads `input_clocks` into channel 2 in mode 0 and says when counting started. Gate high,
// speaker off; mode 0 drives the output low at once and high at terminal count ("Mode 0 -
// Interrupt on Terminal Count"). Counting starts on the clock after the count's high byte is
// written: up to one input clock (0.84 us) later.
Moment load_channel2(std::uint16_t input_clocks, std::uint64_t (*read_counter)()) {
  arch::outb(kPortB, static_cast<std::uint8_t>((arch::inb(kPortB) & ~kSpeakerData) | kChannel2Gate));
  arch::outb(kControlWordPort,
             kSelectCounter2 | kAccessLowThenHighByte | kMode0InterruptOnTerminalCount | kBinaryCount);
  arch::outb(kChannel2DataPort, static_cast<std::uint8_t>(input_clocks));
  Moment start{};
  start.before = read_counter();
  arch::outb(kChannel2DataPort, static_cast<std::uint8_t>(input_clocks >> 8));
  start.after = read_counter();
  return start;
}

}  // namespace

Moment start_channel2(std::uint64_t (*read_counter)()) {
  return load_channel2(static_cast<std::uint16_t>(kChannel2MaxClocks), read_counter);
}

Channel2Reading read_channel2(std::uint64_t (*read_counter)()) {
  Channel2Reading reading{};
  reading.at.before = read_counter();
  arch::outb(kControlWordPort, kSelectCounter2 | kLatchCount);
  reading.at.after = read_counter();
  const std::uint8_t low = arch::inb(kChannel2DataPort);  // low byte, then high (the access mode)
  const std::uint8_t high = arch::inb(kChannel2DataPort);
  // Read after the latch: a count that ran out just after it is thrown away too (harmless).
  reading.expired = (arch::inb(kPortB) & kChannel2Output) != 0;
  reading.elapsed_clocks = kChannel2MaxClocks - (std::uint32_t{high} << 8 | low);
  return reading;
}

Stopwatch time_channel2(std::uint16_t input_clocks, std::uint64_t (*read_counter)(),
                        std::uint64_t quiet_counts) {
  FERRITE_ASSERT(input_clocks > 0);
  const Moment start = load_channel2(input_clocks, read_counter);
  Stopwatch result{};
  result.start_before = start.before;
  result.start_after = start.after;
  while (read_counter() - result.start_after < quiet_counts) asm volatile("pause");
  // The output is sampled at some moment inside each `inb`: the end lies after the counter read
  // *before* the last `inb` that saw it low, and before the read *after* the one that saw it high.
  std::uint64_t before_last_low = result.start_before;
  for (;;) {
    const std::uint64_t before = read_counter();
    const bool high = (arch::inb(kPortB) & kChannel2Output) != 0;
    const std::uint64_t after = read_counter();
    if (high) {
      result.end_before = before_last_low;
      result.end_after = after;
      return result;
    }
    before_last_low = before;
  }
}

bool add_tick_callback(TickCallback callback) {
  for (unsigned i = 0; i < callbacks.size(); ++i) {
    TickCallback empty = nullptr;
    if (callbacks[i].compare_exchange_strong(empty, callback, std::memory_order_acq_rel)) {
      // Published after the slot (release), so the handler never sees a count without its slot.
      unsigned used = slots_used.load(std::memory_order_relaxed);
      while (used < i + 1 &&
             !slots_used.compare_exchange_weak(used, i + 1, std::memory_order_release)) {
      }
      return true;
    }
  }
  return false;
}

void remove_tick_callback(TickCallback callback) {
  // On this single CPU the timer arch::handler either ran before this store or runs after it; it is
  // never half-way through a callback that is being removed.
  for (auto& slot : callbacks) {
    TickCallback expected = callback;
    slot.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel);
  }
}

}  // namespace ferrite::pc::pit
