// Benchmark, not a test (chapter 7): what one interrupt costs. Two round trips through the same
// stub -> interrupt_dispatch -> iretq path:
//   - an empty `int $0x81` to a handler that does nothing;
//   - a timer interrupt (IRQ 0): PIC dispatch, the tick handler, the EOI to the 8259.
// Run it under `qemu-system-x86_64 -icount shift=0,sleep=off` (tools/bench.sh does): QEMU then
// advances the guest clock by 1 ns per instruction, so rdtsc differences count instructions and
// repeat exactly from run to run. Without -icount the numbers are host time and vary.
#include <cstdint>

#include "arch/x86_64/lapic.h"
#include "platform/pc/pic8259.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "platform/pc/pit.h"
#include "platform/pc/qemu_exit.h"
#include "boot/start.h"
#include "console/print.h"
#include "init.h"
#include "sync/spinlock.h"

namespace {

namespace arch = ferrite::arch;
namespace pc = ferrite::pc;
using ferrite::println;

constexpr std::uint8_t kBenchVector = 0x81;
constexpr int kSoftwareRounds = 100'000;
constexpr int kSpinRounds = 10'000'000;  // ~40 M instructions: ~40 timer ticks at 1000 Hz

[[gnu::noinline]] std::uint64_t empty_loop(int rounds) {
  const std::uint64_t start = arch::read_tsc();
  for (int i = 0; i < rounds; ++i) asm volatile("" ::: "memory");
  return arch::read_tsc() - start;
}

[[gnu::noinline]] std::uint64_t software_interrupt_loop(int rounds) {
  const std::uint64_t start = arch::read_tsc();
  for (int i = 0; i < rounds; ++i) asm volatile("int $0x81" ::: "memory");
  return arch::read_tsc() - start;
}

// The same loop body; with interrupts on, the timer interrupts it now and then.
[[gnu::noinline]] std::uint64_t spin_loop(int rounds) {
  const std::uint64_t start = arch::read_tsc();
  for (int i = 0; i < rounds; ++i) asm volatile("nop" ::: "memory");
  return arch::read_tsc() - start;
}

struct Result {
  std::uint64_t software_interrupt;  // per `int`, loop overhead removed
  std::uint64_t timer_interrupt;     // per timer interrupt
  std::uint64_t ticks;               // timer interrupts the measurement saw
};

Result measure() {
  Result result{};
  {
    // Interrupts off: no timer interrupt may land in the software-interrupt loop.
    ferrite::sync::InterruptGuard no_interrupts;
    const std::uint64_t with_int = software_interrupt_loop(kSoftwareRounds);
    const std::uint64_t without = empty_loop(kSoftwareRounds);
    result.software_interrupt = (with_int - without) / kSoftwareRounds;
  }
  std::uint64_t quiet = 0;
  {
    ferrite::sync::InterruptGuard no_interrupts;
    quiet = spin_loop(kSpinRounds);
  }
  const std::uint64_t ticks_before = pc::pit::ticks();
  const std::uint64_t interrupted = spin_loop(kSpinRounds);
  result.ticks = pc::pit::ticks() - ticks_before;
  result.timer_interrupt = result.ticks == 0 ? 0 : (interrupted - quiet) / result.ticks;
  return result;
}

}  // namespace

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  ferrite::init(boot_info);
  // This benchmark is about the PIT's IRQ 0 (chapter 7): stop the local APIC timer that drives
  // the tick since chapter 13, and give IRQ 0 its line back.
  if (ferrite::arch::lapic::enabled()) ferrite::arch::lapic::stop_timer();
  pc::pic::unmask(pc::pic::kTimerLine);
  arch::set_handler(kBenchVector, [](arch::InterruptFrame&) {});

  println("bench_interrupts: guest TSC units per round trip (instructions under -icount shift=0)");
  for (int run = 1; run <= 3; ++run) {
    const Result r = measure();
    // Ratio in hundredths: no floating point in the kernel.
    const std::uint64_t ratio_x100 =
        r.software_interrupt == 0 ? 0 : r.timer_interrupt * 100 / r.software_interrupt;
    println(
        "run {}: empty int ${:#x}: {}   timer IRQ 0 (dispatch + tick + EOI): {} ({} ticks)   ratio "
        "{}.{:02}",
        run, kBenchVector, r.software_interrupt, r.timer_interrupt, r.ticks, ratio_x100 / 100,
        ratio_x100 % 100);
  }
  arch::set_handler(kBenchVector, nullptr);
  pc::exit_qemu(pc::QemuExitCode::success);
}
