// Benchmark, not a test (chapter 12): how long a key takes from the keyboard interrupt to the
// decoded KeyEvent in the task that waits for it, on the kernel's own runtime (task/
// kernel_runtime.h): IRQ 1 -> port 0x60 -> scancode queue -> waker -> EOI, iretq -> the executor
// leaves `sti; hlt` -> resumes the task -> the decoder (drivers/keyboard) -> KeyEvent.
//
// Keys come from QEMU's monitor (tools/bench.sh: ktest.py --keys), so they are real 8042
// interrupts. Run under `-icount shift=0,sleep=off`: QEMU then advances the guest's virtual clock,
// which rdtsc reads, by exactly 1 per instruction (1 ns of virtual time), so a difference of two
// rdtsc with no `hlt` between them counts the guest instructions executed between them. The
// image checks that with a loop of known length and prints the result.
//
// The first timestamp is taken at the earliest point reachable without changing the assembly
// stubs: the PS/2 driver's consumer callback. What comes before it (stub, dispatcher, PIC
// dispatch, the port read) is measured on its own by `int $0x21`, which enters through the
// same IRQ 1 vector and handlers.
//
// Command line: keys=N (default 32): key presses to expect; each press and each release is one
// sample, and the image exits after 2N samples.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "arch/x86_64/cpu.h"
#include "platform/pc/pic8259.h"
#include "platform/pc/ps2.h"
#include "platform/pc/qemu_exit.h"
#include "boot/command_line.h"
#include "boot/start.h"
#include "console/print.h"
#include "drivers/keyboard/keyboard.h"
#include "drivers/keyboard/layout.h"
#include "init.h"
#include "sync/spinlock.h"
#include "task/kernel_runtime.h"

namespace {

namespace arch = ferrite::arch;
namespace pc = ferrite::pc;
namespace keyboard = ferrite::drivers::keyboard;
namespace task = ferrite::task;
using ferrite::println;

constexpr std::size_t kMaxSamples = 512;
constexpr std::uint64_t kDefaultKeys = 32;
constexpr int kEntryProbes = 1000;

// ----- timestamps taken in the interrupt --------------------------------------------------------

// One timestamp per scancode, in arrival order. The queue is FIFO and nothing may be dropped
// (checked at the end), so the n-th scancode the task pops arrived at timestamps[n].
constexpr std::size_t kTimestampRing = 256;  // far more than can be in flight
constinit std::array<std::uint64_t, kTimestampRing> scancode_arrived_at{};
constinit std::atomic<std::uint64_t> scancodes_pushed{0};
constinit std::atomic<std::uint64_t> scancodes_dropped{0};

// While set, the consumer only records when it was reached (for the `int $0x21` probe).
constinit std::atomic<bool> probing_entry{false};
constinit std::atomic<std::uint64_t> probe_reached_at{0};

// Replaces the runtime's consumer: the same push into the runtime's scancode queue, with a
// timestamp first.
void timed_consumer(std::uint8_t scancode) {
  const std::uint64_t now = arch::read_tsc();
  if (probing_entry.load(std::memory_order_relaxed)) {
    probe_reached_at.store(now, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t index = scancodes_pushed.load(std::memory_order_relaxed);
  scancode_arrived_at[index % kTimestampRing] = now;
  scancodes_pushed.store(index + 1, std::memory_order_relaxed);
  if (task::scancode_queue().push(scancode) != task::ScancodePush::queued) {
    scancodes_dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

// ----- what a timestamp pair costs, and proof that the unit is one instruction -----------------

// Two back-to-back reads: the instructions of read_tsc itself, subtracted from every result.
[[gnu::noinline]] std::uint64_t timer_overhead() {
  const std::uint64_t start = arch::read_tsc();
  return arch::read_tsc() - start;
}

// 1 + 2 * kLoopRounds instructions (the mov, then dec + jnz per round) between the reads.
constexpr std::uint64_t kLoopRounds = 1000;
constexpr std::uint64_t kLoopInstructions = 1 + 2 * kLoopRounds;
[[gnu::noinline]] std::uint64_t known_loop() {
  const std::uint64_t start = arch::read_tsc();
  asm volatile(
      "mov %0, %%ecx\n"
      "1: dec %%ecx\n"
      "jnz 1b"
      :
      : "i"(kLoopRounds)
      : "ecx", "cc", "memory");
  return arch::read_tsc() - start;
}

// `int $0x21` takes the IRQ 1 path (stub, interrupt_dispatch, pic::handle_irq, the PS/2 handler
// reading port 0x60) up to the consumer. Interrupts are off, so no real interrupt interferes;
// the EOI the dispatch sends (to the local APIC; to the 8259 with ioapic=off) finds nothing in
// service and does nothing. Returns the median.
std::uint64_t entry_to_consumer(std::uint64_t overhead) {
  constexpr std::uint8_t kKeyboardVector = pc::pic::vector_of(pc::pic::kKeyboardLine);
  static constinit std::array<std::uint64_t, kEntryProbes> probes{};
  ferrite::sync::InterruptGuard no_interrupts;
  probing_entry.store(true, std::memory_order_relaxed);
  for (std::uint64_t& probe : probes) {
    const std::uint64_t start = arch::read_tsc();
    asm volatile("int %0" : : "i"(kKeyboardVector) : "memory");
    probe = probe_reached_at.load(std::memory_order_relaxed) - start - overhead;
  }
  probing_entry.store(false, std::memory_order_relaxed);
  std::sort(probes.begin(), probes.end());
  return probes[probes.size() / 2];
}

// ----- the waiting task -------------------------------------------------------------------------

struct Samples {
  std::array<std::uint64_t, kMaxSamples> resumed{};  // consumer -> task resumed with the scancode
  std::array<std::uint64_t, kMaxSamples> decoded{};  // consumer -> task holds the KeyEvent
  std::size_t count = 0;
};
constinit Samples samples{};
constinit bool finished = false;

task::Task<> wait_for_keys(std::size_t wanted, std::uint64_t overhead) {
  keyboard::Keyboard decoder(keyboard::kUsLayout);
  std::uint64_t popped = 0;
  while (samples.count < wanted) {
    const std::uint8_t scancode = co_await task::scancode_queue().next();
    const std::uint64_t resumed_at = arch::read_tsc();
    const std::optional<keyboard::KeyEvent> event = decoder.feed(scancode);
    const std::uint64_t decoded_at = arch::read_tsc();
    const std::uint64_t arrived_at = scancode_arrived_at[popped++ % kTimestampRing];
    if (!event) continue;  // a prefix byte (E0): the key is not complete yet
    samples.resumed[samples.count] = resumed_at - arrived_at - overhead;
    samples.decoded[samples.count] = decoded_at - arrived_at - 2 * overhead;
    ++samples.count;
  }
  finished = true;
}

struct Summary {
  std::uint64_t min, median, max;
};
Summary summarize(std::span<std::uint64_t> values) {
  std::sort(values.begin(), values.end());
  return {values.front(), values[values.size() / 2], values.back()};
}

}  // namespace

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  ferrite::init(boot_info);
  task::init_runtime();
  const ferrite::boot::CommandLine command_line(boot_info.command_line());
  const std::uint64_t keys =
      ferrite::boot::parse_size(command_line.get("keys").value_or("")).value_or(kDefaultKeys);
  const std::size_t wanted = std::min<std::uint64_t>(2 * keys, kMaxSamples);

  const std::uint64_t overhead = timer_overhead();
  const std::uint64_t loop = known_loop() - overhead;
  println("bench_keyboard: unit: guest TSC (QEMU virtual ns); a loop of {} instructions read {}{}",
          kLoopInstructions, loop,
          loop == kLoopInstructions ? ": 1 unit = 1 instruction"
                                    : " (not 1 per instruction: run under -icount shift=0)");
  println("bench_keyboard: timestamp overhead {} units, subtracted below", overhead);

  pc::ps2::set_keyboard_consumer(timed_consumer);
  const std::uint64_t entry = entry_to_consumer(overhead);
  println("bench_keyboard: IRQ 1 entry (int $0x21: stub, dispatch, PIC, port 0x60) -> consumer: {}",
          entry);

  if (auto spawned = task::executor().spawn(wait_for_keys(wanted, overhead)); !spawned) {
    println("bench_keyboard: cannot spawn the task: {}", task::to_string(spawned.error()));
    pc::exit_qemu(pc::QemuExitCode::failure);
  }
  println("bench_keyboard: ready for {} keys ({} samples: presses and releases)", keys, wanted);
  task::executor().run_until([] { return finished; });

  const Summary resumed = summarize(std::span(samples.resumed).first(samples.count));
  const Summary decoded = summarize(std::span(samples.decoded).first(samples.count));
  println("bench_keyboard: {} keyboard interrupts, min / median / max:", samples.count);
  println("bench_keyboard:   consumer -> waiting task resumed with the scancode: {} / {} / {}",
          resumed.min, resumed.median, resumed.max);
  println("bench_keyboard:   consumer -> task holds the decoded KeyEvent:       {} / {} / {}",
          decoded.min, decoded.median, decoded.max);
  println("bench_keyboard:   IRQ 1 entry -> decoded KeyEvent (entry + median):  {}",
          entry + decoded.median);
  const std::uint64_t dropped = scancodes_dropped.load();
  println("bench_keyboard: {} scancodes, {} dropped", scancodes_pushed.load(), dropped);
  pc::exit_qemu(dropped == 0 ? pc::QemuExitCode::success : pc::QemuExitCode::failure);
}
