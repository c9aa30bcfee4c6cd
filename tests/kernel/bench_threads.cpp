// Benchmark, not a test (chapter 13): what switching threads costs, in guest instructions under
// `qemu-system-x86_64 -icount shift=0,sleep=off` (tools/bench.sh), where rdtsc differences count
// instructions and repeat exactly from run to run.
//   yield_switch          two threads ping-ponging through yield(): one switch
//   timer_preempt_switch  a tick that preempts one busy thread for another: interrupt entry,
//                         tick handlers, schedule(), switch, and the way back out through iretq
//   timer_tick_no_switch  the same tick when there is nobody to switch to (for comparison)
//   mutex_handoff         A unlocks a mutex B waits for and yields: until B returns from lock()
// Prints `bench_threads: <name> <value>` lines that tools/bench.sh gathers into kernel.json.
#include <cstdint>

#include "arch/x86_64/cpu.h"
#include "boot/start.h"
#include "console/print.h"
#include "init.h"
#include "platform/pc/qemu_exit.h"
#include "sched/scheduler.h"
#include "sched/sync.h"
#include "sync/spinlock.h"
#include "time/tick.h"

namespace {

namespace arch = ferrite::arch;
namespace sched = ferrite::sched;
using ferrite::println;

constexpr int kYieldRounds = 20'000;
constexpr int kMutexRounds = 5'000;
constexpr std::uint64_t kSpinRounds = 20'000'000;  // ~60 M instructions per thread: 60 ticks

sched::Thread* spawn_bench(sched::ThreadEntry entry, void* argument = nullptr) {
  auto thread = sched::spawn("bench", entry, argument);
  if (!thread) ferrite::panic("bench_threads: spawn: {}", sched::to_string(thread.error()));
  return *thread;
}

// ---- yield ping-pong ----
constinit std::uint64_t yield_start = 0, yield_end = 0;

std::int64_t yielder(void* first) {
  if (first != nullptr) yield_start = arch::read_tsc();
  for (int i = 0; i < kYieldRounds; ++i) sched::yield();
  yield_end = arch::read_tsc();
  return 0;
}

std::uint64_t measure_yield() {
  sched::Thread* a = spawn_bench(yielder, reinterpret_cast<void*>(1));
  sched::Thread* b = spawn_bench(yielder);
  (void)sched::join(*a);
  (void)sched::join(*b);
  return (yield_end - yield_start) / (2 * kYieldRounds);
}

// ---- timer preemption ----
[[gnu::noinline]] void spin(std::uint64_t rounds) {
  for (std::uint64_t i = 0; i < rounds; ++i) asm volatile("" ::: "memory");
}
// The measurement runs from the first spinner's start to the last one's end, so that spawning
// and joining (stack zeroing, ...) stay out of it.
constinit std::uint64_t spin_first_start = 0, spin_last_end = 0;
constinit std::uint64_t ticks_at_start = 0, ticks_at_end = 0;
constinit std::uint64_t switches_at_start = 0, switches_at_end = 0;

std::int64_t spinner(void*) {
  if (spin_first_start == 0) {
    spin_first_start = arch::read_tsc();
    ticks_at_start = ferrite::time::tick_count();
    switches_at_start = sched::context_switches();
  }
  spin(kSpinRounds);
  spin_last_end = arch::read_tsc();
  ticks_at_end = ferrite::time::tick_count();
  switches_at_end = sched::context_switches();
  return 0;
}

struct TickCost {
  std::uint64_t per_tick;
  std::uint64_t ticks;
  std::uint64_t switches;
};

// Work W alone with interrupts off takes `quiet`; the same work as two threads that the tick
// switches between takes `quiet + ticks * cost`.
TickCost measure_preempt(std::uint64_t quiet) {
  sched::set_time_slice(1);  // every tick finds the slice used up
  spin_first_start = 0;
  sched::Thread* a = spawn_bench(spinner);
  sched::Thread* b = spawn_bench(spinner);
  (void)sched::join(*a);
  (void)sched::join(*b);
  sched::set_time_slice(sched::kDefaultTimeSliceNs);
  const std::uint64_t elapsed = spin_last_end - spin_first_start;
  const std::uint64_t ticks = ticks_at_end - ticks_at_start;
  return {ticks == 0 ? 0 : (elapsed - quiet) / ticks, ticks, switches_at_end - switches_at_start};
}

TickCost measure_tick_alone(std::uint64_t quiet) {
  const std::uint64_t ticks0 = ferrite::time::tick_count(), switches0 = sched::context_switches();
  const std::uint64_t start = arch::read_tsc();
  spin(2 * kSpinRounds);  // on main, nobody else ready: ticks interrupt but never switch
  const std::uint64_t elapsed = arch::read_tsc() - start;
  const std::uint64_t ticks = ferrite::time::tick_count() - ticks0;
  return {ticks == 0 ? 0 : (elapsed - quiet) / ticks, ticks, sched::context_switches() - switches0};
}

// ---- mutex handoff ----
constinit sched::Mutex handoff_mutex{"handoff"};
constinit std::uint64_t unlock_at = 0, handoff_total = 0;

std::int64_t mutex_holder(void*) {
  for (int i = 0; i < kMutexRounds; ++i) {
    handoff_mutex.lock();
    sched::yield();  // the waiter runs, finds the mutex taken, and blocks
    unlock_at = arch::read_tsc();
    handoff_mutex.unlock();  // handed to the waiter, which becomes ready
    sched::yield();          // ... and runs
  }
  return 0;
}

std::int64_t mutex_waiter(void*) {
  for (int i = 0; i < kMutexRounds; ++i) {
    handoff_mutex.lock();
    handoff_total += arch::read_tsc() - unlock_at;
    handoff_mutex.unlock();
    sched::yield();
  }
  return 0;
}

std::uint64_t measure_mutex() {
  handoff_total = 0;
  sched::Thread* a = spawn_bench(mutex_holder);
  sched::Thread* b = spawn_bench(mutex_waiter);
  (void)sched::join(*a);
  (void)sched::join(*b);
  return handoff_total / kMutexRounds;
}

}  // namespace

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  ferrite::init(boot_info);
  println("bench_threads: guest TSC units (instructions under -icount shift=0) per operation");
  std::uint64_t quiet = 0;
  {
    ferrite::sync::InterruptGuard no_interrupts;
    const std::uint64_t start = arch::read_tsc();
    spin(2 * kSpinRounds);
    quiet = arch::read_tsc() - start;
  }
  for (int run = 1; run <= 3; ++run) {
    const std::uint64_t yield_switch = measure_yield();
    const TickCost preempt = measure_preempt(quiet);
    const TickCost tick = measure_tick_alone(quiet);
    const std::uint64_t handoff = measure_mutex();
    println("run {}: yield switch {}, timer preempt+switch {} ({} ticks, {} switches), tick without "
            "switch {} ({} ticks), mutex handoff {}",
            run, yield_switch, preempt.per_tick, preempt.ticks, preempt.switches, tick.per_tick,
            tick.ticks, handoff);
    if (run == 3) {
      println("bench_threads: yield_switch {}", yield_switch);
      println("bench_threads: timer_preempt_switch {}", preempt.per_tick);
      println("bench_threads: timer_tick_no_switch {}", tick.per_tick);
      println("bench_threads: mutex_handoff {}", handoff);
    }
  }
  ferrite::pc::exit_qemu(ferrite::pc::QemuExitCode::success);
}
