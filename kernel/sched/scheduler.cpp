// Kernel threads and the scheduler: creating, switching, blocking, sleeping, ending (chapter 13).
#include "lib/log.h"
#include "sched/scheduler.h"
#include "sched/sync.h"

#include <array>
#include <cstddef>
#include <utility>

#include "arch/x86_64/context.h"
#include "arch/x86_64/cpu_local.h"
#include "arch/x86_64/user_mode.h"
#include "mm/address_space.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/exceptions.h"
#include "arch/x86_64/idt.h"
#include "lib/panic.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "sync/spinlock.h"
#include "time/clock.h"
#include "time/tick.h"

// boot/entry.S: the boot stack, which becomes the stack of thread 1 "main".
extern "C" std::byte boot_stack_guard[], boot_stack_bottom[], boot_stack_top[];

namespace ferrite::sched {

namespace {

constexpr std::size_t kMaxCpus = 1;  // one PerCpu block per CPU; only CPU 0 runs threads today
constexpr std::uint64_t kPageBytes = 4096;
// Each table slot owns this much address space: guard page, stack, and unmapped room above.
constexpr std::uint64_t kStackSlotBytes = 64 * 1024;
static_assert(kPageBytes + kThreadStackBytes <= kStackSlotBytes);

constinit std::array<PerCpu, kMaxCpus> cpus{};
constinit std::array<Thread, kMaxThreads> threads{};
constinit ThreadId next_id = 1;
constinit bool is_running = false;
constinit Thread* main_thread = nullptr;

static_assert(offsetof(PerCpu, self) == 0, "`mov %gs:0` must load the block's own address");
static_assert(offsetof(PerCpu, current) == FERRITE_CPU_LOCAL_CURRENT);
static_assert(offsetof(PerCpu, self) == FERRITE_CPU_LOCAL_SELF);
static_assert(offsetof(PerCpu, kernel_stack_top) == FERRITE_CPU_LOCAL_KERNEL_STACK);
static_assert(offsetof(PerCpu, user_stack_scratch) == FERRITE_CPU_LOCAL_USER_RSP);
static_assert(offsetof(PerCpu, user_tsc) == FERRITE_CPU_LOCAL_USER_TSC);

void copy_name(Thread& thread, std::string_view name) {
  std::size_t i = 0;
  for (; i + 1 < kThreadNameLength && i < name.size(); ++i) thread.name[i] = name[i];
  for (; i < kThreadNameLength; ++i) thread.name[i] = '\0';
}

// The bookkeeping of a new thread in a claimed slot, the same for "main" and created threads:
// everything a previous thread in the slot left behind starts over. `thread.in_use` is set.
// Not inlined: one copy serves both callers.
[[gnu::noinline]] void set_up(Thread& thread, std::string_view name, Priority priority, State state,
                              std::uintptr_t guard, std::uintptr_t bottom, std::uintptr_t top) {
  copy_name(thread, name);
  thread.priority = priority;
  thread.state = state;
  thread.next = nullptr;
  thread.guard_page = guard;
  thread.stack_bottom = bottom;
  thread.stack_top = top;
  thread.exit_value = 0;
  thread.detached = false;
  thread.kill_requested = false;
  thread.cpu_tsc = 0;
  thread.user_tsc = 0;
  thread.cpu = 0;
  thread.exit_notify = nullptr;
  thread.exit_notify_context = nullptr;
  thread.user = nullptr;
  thread.address_space = nullptr;
  thread.owner = nullptr;
}

// The thread's slot is free for the next spawn. Its stack is not in use any more: it has
// switched away for the last time.
void release(Thread& thread) {
  thread.in_use = false;
  thread.state = State::dead;
}

// A thread ends: joiners wake, and a detached thread that is not running is freed.
void mark_dead_locked(Thread& thread, std::int64_t value) {
  thread.exit_value = value;
  thread.state = State::dead;
  while (SchedNode* joiner = thread.joiners.pop_front()) wake_locked(static_cast<Thread&>(*joiner));
  if (thread.exit_notify != nullptr) std::exchange(thread.exit_notify, nullptr)(thread.exit_notify_context);
}

// Runs on the new thread right after every switch: frees the thread we left if it was a
// detached one that exited (we are off its stack now).
void finish_switch() {
  PerCpu& cpu = this_cpu();
  Thread* previous = cpu.previous;
  cpu.previous = nullptr;
  if (previous != nullptr && previous->state == State::dead && previous->detached) release(*previous);
}

// Chapter 14: what a switch between threads that run programs adds to the dozen instructions of
// switch.S. The user registers the kernel does not use itself (FPU/SSE/AVX, FS base) stay in the
// CPU while a thread is in the kernel, so they are saved when it leaves the CPU and loaded when
// it comes back; the next thread's kernel stack becomes the one ring 3 enters on; and its
// address space becomes the active one. Kernel threads need none of it.
void switch_user_state(Thread& previous, Thread& next) {
  if (previous.user != nullptr) arch::save_user_context(*previous.user);
  if (next.user == nullptr) return;
  arch::load_user_context(*next.user, next.stack_top);
  if (next.address_space != nullptr && mm::active_address_space() != next.address_space) {
    mm::activate(next.address_space);
  }
}

// The heart of it. Interrupts off. The running thread has set its state already: still
// `running` (it yields, or is `preempting`: back into the run queue), or blocked / sleeping /
// dead (it is in a wait queue, the sleep list, or gone). `now_ns` is the clock's time: read
// just now, or (a preempting tick) the tick's own reading a few hundred instructions ago.
void schedule_at(bool preempting, std::uint64_t now_ns) {
  PerCpu& cpu = this_cpu();
  Thread* const previous = cpu.current;
  if (previous->state == State::running) {
    if (previous->kill_requested && previous->user == nullptr) {
      mark_dead_locked(*previous, kKilledExitValue);
    } else if (previous == cpu.idle) {
      // never queued: schedule() falls back on it
    } else if (preempting) {  // front of the queue if its slice is not used up (run_queue.h)
      cpu.run_queue.preempted(*previous, previous->slice_used + (now_ns - cpu.slice_start_ns));
    } else {
      cpu.run_queue.make_ready(*previous);
    }
  }
  Thread* next = nullptr;
  while (SchedNode* node = cpu.run_queue.pick_next()) {
    auto* candidate = static_cast<Thread*>(node);
    // Killed while it waited. (A user thread must end itself on its way back to ring 3, where
    // its process gives back its memory and files: it runs once more.)
    if (candidate->kill_requested && candidate != previous && candidate->user == nullptr) {
      mark_dead_locked(*candidate, kKilledExitValue);
      if (candidate->detached) release(*candidate);
      continue;
    }
    next = candidate;
    break;
  }
  if (next == nullptr) next = cpu.idle;
  cpu.need_resched = false;
  cpu.slice_start_ns = now_ns;
  if (next == previous) {
    previous->state = State::running;
    return;
  }
  if (previous == cpu.idle) previous->state = State::ready;  // idle is never queued
  const std::uint64_t now = arch::read_tsc();
  previous->cpu_tsc += now - previous->switched_in_tsc;
  next->switched_in_tsc = now;
  previous->user_tsc = cpu.user_tsc;  // both in the kernel now: the sums are their user times
  cpu.user_tsc = next->user_tsc;
  next->state = State::running;
  cpu.current = next;
  cpu.previous = previous;
  ++cpu.switches;
  switch_user_state(*previous, *next);
  context_switch(&previous->saved_rsp, next->saved_rsp);
  finish_switch();
}

void schedule(bool preempting) {
  schedule_at(preempting, time::now_ns());
}

// The idle thread: runs when nothing else is ready. A wake-up can only come from an interrupt
// while it runs, and the interrupt-return hook switches away at once; `sti; hlt` cannot miss an
// interrupt that arrives between the check and the halt (STI's one-instruction shadow).
std::int64_t idle_loop(void*) {
  for (;;) {
    arch::disable_interrupts();
    if (this_cpu().run_queue.has_ready()) {
      schedule(false);
      arch::enable_interrupts();
    } else {
      arch::enable_interrupts_and_halt();
    }
  }
}

// A thread in a free slot, with its stack ready, not yet in any queue.
std::expected<Thread*, SpawnError> create(std::string_view name, ThreadEntry entry, void* argument,
                                          Priority priority) {
  Thread* thread = nullptr;
  ThreadId id = 0;
  {
    sync::InterruptGuard no_interrupts;
    for (Thread& slot : threads) {
      if (slot.in_use) continue;
      slot.in_use = true;
      thread = &slot;
      id = next_id++;
      break;
    }
  }
  if (thread == nullptr) return std::unexpected(SpawnError::table_full);
  const std::size_t index = static_cast<std::size_t>(thread - threads.data());
  const std::uintptr_t guard = mm::kThreadStacksStart + index * kStackSlotBytes;
  const std::uintptr_t bottom = guard + kPageBytes;
  if (!thread->stack_mapped) {
    // The guard page below stays unmapped: running off the stack faults there. With interrupts
    // as the caller has them: map_fresh_pages locks the kernel tables page by page and zeroes
    // the 16 KiB outside the lock (mm/memory.h), and the slot is ours since in_use was set.
    const auto mapped = mm::map_fresh_pages(
        mm::VirtAddr(bottom), kThreadStackBytes / kPageBytes,
        mm::PageTableFlags::present | mm::PageTableFlags::writable | mm::no_execute_flag());
    if (!mapped) {
      thread->in_use = false;
      return std::unexpected(SpawnError::out_of_memory);
    }
    thread->stack_mapped = true;
  } else {
    // The high-water mark needs the stack zeroed again, but only the pages the last thread
    // wrote are not zero any more — usually just the top one (mm/memory.h).
    mm::zero_written_pages(mm::VirtAddr(bottom), kThreadStackBytes / kPageBytes);
  }
  thread->id = id;
  set_up(*thread, name, priority, State::blocked /* not in any queue yet */, guard, bottom,
         bottom + kThreadStackBytes);
  thread->saved_rsp = arch::prepare_thread_stack(thread->stack_top, reinterpret_cast<std::uint64_t>(entry),
                                                 reinterpret_cast<std::uint64_t>(argument));
  return thread;
}

// The tick: wake sleepers, and decide whether the running thread's time is up.
// (Installed by init(), after the scheduler runs: no "is it running?" check needed.)
void on_tick(std::uint64_t now) {
  PerCpu& cpu = this_cpu();
  cpu.run_queue.wake_expired(now);
  Thread* const running = cpu.current;
  const SchedNode* as_node = running == cpu.idle ? nullptr : running;
  const std::uint64_t ran = running->slice_used + (now - cpu.slice_start_ns);
  if (running->kill_requested || cpu.run_queue.should_preempt(as_node, ran)) {
    cpu.need_resched = true;
    cpu.resched_tick_ns = now;
  }
}

// At the end of every interrupt. When the tick asked for the switch, its clock reading serves
// (one seqlock read and conversion fewer on the preempting path: ~25 instructions).
void on_interrupt_return() {
  // (Only a tick sets resched_tick_ns, always with need_resched, and this hook runs at the end
  // of that same interrupt: clearing it here keeps the store off the yield path.)
  PerCpu& cpu = this_cpu();
  if (!cpu.need_resched) return;
  const std::uint64_t tick_ns = std::exchange(cpu.resched_tick_ns, 0);
  schedule_at(true, tick_ns != 0 ? tick_ns : time::now_ns());
}

std::uint64_t stack_high_water(const Thread& thread) {
  // Stacks start zeroed; the lowest word that is not zero any more is as deep as it went.
  const auto* word = reinterpret_cast<const std::uint64_t*>(thread.stack_bottom);
  const auto* end = reinterpret_cast<const std::uint64_t*>(thread.stack_top);
  while (word < end && *word == 0) ++word;
  return thread.stack_top - reinterpret_cast<std::uintptr_t>(word);
}

// A thread's CPU time at TSC `now`. The running thread is in the kernel (it is the reader, or,
// on one CPU, the reader runs instead of it): its user time is this CPU's sum, and the interval
// since it was switched in is running time.
CpuTicks cpu_ticks_at(const Thread& thread, std::uint64_t now) {
  const PerCpu& cpu = cpus[thread.cpu];
  if (&thread != cpu.current) return split(thread.cpu_tsc, thread.user_tsc);
  return split(thread.cpu_tsc + (now - thread.switched_in_tsc), cpu.user_tsc);
}

// For exception reports: which thread's guard page an address is in, and who was running.
void describe_fault(fmt::Sink& out, std::uintptr_t cr2, std::uintptr_t rsp) {
  if (!is_running) return;
  for (const Thread& thread : threads) {
    if (!thread.in_use) continue;
    for (const std::uintptr_t address : {cr2, rsp}) {
      if (address >= thread.guard_page && address < thread.guard_page + kPageBytes) {
        fmt::format_to(out,
                       "  {:#x} is in the guard page below the stack of thread {} \"{}\": "
                       "a stack overflow\n",
                       address, thread.id, thread.name_view());
        break;
      }
    }
  }
  const Thread& running = current();
  fmt::format_to(out, "  running thread: {} \"{}\", stack [{:#x}, {:#x})\n", running.id,
                 running.name_view(), running.stack_bottom, running.stack_top);
}

}  // namespace

bool running() { return is_running; }

void set_time_slice(std::uint64_t ns) {
  sync::InterruptGuard no_interrupts;
  this_cpu().run_queue.set_time_slice(ns);
}

void init(std::uint64_t time_slice_ns) {
  FERRITE_ASSERT(!is_running);
  PerCpu& cpu = cpus[0];
  cpu.self = &cpu;
  cpu.cpu_id = 0;
  cpu.run_queue.set_time_slice(time_slice_ns);
  arch::set_cpu_local_base(&cpu);

  // The code running now becomes thread "main", on the boot stack (which has its guard page).
  Thread& main = threads[0];
  main.in_use = true;
  main.id = next_id++;
  // Priority high: it runs the executor, so the shell answers before busy threads.
  set_up(main, "main", Priority::high, State::running,
         reinterpret_cast<std::uintptr_t>(boot_stack_guard),
         reinterpret_cast<std::uintptr_t>(boot_stack_bottom),
         reinterpret_cast<std::uintptr_t>(boot_stack_top));
  main.stack_mapped = true;
  main.switched_in_tsc = arch::read_tsc();
  cpu.current = &main;
  main_thread = &main;
  is_running = true;

  const auto idle = create("idle", idle_loop, nullptr, Priority::normal);
  if (!idle) panic("sched: cannot create the idle thread: {}", to_string(idle.error()));
  cpu.idle = *idle;
  cpu.idle->state = State::ready;  // but never in the run queue: schedule() falls back on it
  cpu.slice_start_ns = time::now_ns();

  arch::set_fault_describer(describe_fault);
  arch::set_interrupt_return_hook(on_interrupt_return);
  if (!time::add_tick_handler(on_tick)) panic("sched: no free tick handler slot");
  log::info("sched: threads on CPU 0 (per-CPU data at GS), time slice {} ms, tick {}",
          time_slice_ns / 1'000'000, time::to_string(time::tick_source()));
}

std::expected<Thread*, SpawnError> spawn(std::string_view name, ThreadEntry entry, void* argument,
                                         Priority priority) {
  if (!is_running) return std::unexpected(SpawnError::not_running);
  auto thread = create(name, entry, argument, priority);
  if (!thread) return thread;
  sync::InterruptGuard no_interrupts;
  wake_locked(**thread);
  return thread;
}

std::int64_t join(Thread& thread) {
  sync::InterruptGuard no_interrupts;
  FERRITE_ASSERT(&thread != &current() && !thread.detached && thread.in_use);
  while (thread.state != State::dead) block_on_locked(thread.joiners);
  const std::int64_t value = thread.exit_value;
  release(thread);
  return value;
}

void detach(Thread& thread) {
  sync::InterruptGuard no_interrupts;
  thread.detached = true;
  if (thread.state == State::dead && &thread != this_cpu().previous) release(thread);
}

void exit(std::int64_t value) {
  arch::disable_interrupts();  // for good: the next thread restores its own flag
  Thread& self = current();
  if (&self == main_thread || &self == this_cpu().idle) panic("sched: thread \"{}\" cannot exit", self.name_view());
  mark_dead_locked(self, value);
  schedule(false);
  panic("sched: a dead thread was scheduled");
}

void yield() {
  sync::InterruptGuard no_interrupts;
  schedule(false);
}

void sleep_until_ns(std::uint64_t deadline_ns) {
  sync::InterruptGuard no_interrupts;
  if (time::now_ns() >= deadline_ns) return;  // nothing to wait for
  this_cpu().run_queue.sleep_until(current(), deadline_ns);
  schedule(false);
}

void sleep_for_ns(std::uint64_t ns) { sleep_until_ns(time::now_ns() + ns); }

KillResult kill(ThreadId id) {
  sync::InterruptGuard no_interrupts;
  Thread* target = nullptr;
  for (Thread& thread : threads) {
    if (thread.in_use && thread.id == id && thread.state != State::dead) target = &thread;
  }
  if (target == nullptr) return KillResult::no_such_thread;
  PerCpu& cpu = this_cpu();
  if (target == main_thread || target == cpu.idle) return KillResult::refused;
  if (target == cpu.current) exit(kKilledExitValue);
  target->kill_requested = true;
  if (target->user != nullptr) {  // ends itself before ring 3 (proc); an interruptible wait ends now
    interrupt_wait_locked<KernelSyncEnv>(*target);
    return KillResult::pending;
  }
  if (cpu.run_queue.remove(*target)) {  // ready or sleeping: it holds nothing, end it now
    mark_dead_locked(*target, kKilledExitValue);
    if (target->detached) release(*target);
    return KillResult::killed;
  }
  return KillResult::pending;  // blocked: it ends when it is woken
}

void block_on_locked(NodeList& queue) {
  Thread& self = current();
  FERRITE_ASSERT(&self != this_cpu().idle);
  self.state = State::blocked;
  queue.push_back(self);
  schedule(false);
}

void wake_locked(Thread& thread) {
  if (thread.state != State::blocked) return;
  PerCpu& cpu = cpus[thread.cpu];
  cpu.run_queue.make_ready(thread);
  if (cpu.current == cpu.idle || thread.priority < cpu.current->priority) cpu.need_resched = true;
}

void preempt_if_needed_locked() {
  if (this_cpu().need_resched) schedule(true);
}

CpuTicks cpu_ticks_locked(const Thread& thread) {
  return cpu_ticks_at(thread, arch::read_tsc());
}

std::size_t snapshot(std::span<ThreadInfo> out) {
  const time::TscScale scale = time::clock_info().scale;
  sync::InterruptGuard no_interrupts;
  const std::uint64_t now = arch::read_tsc();
  std::size_t count = 0;
  for (const Thread& thread : threads) {
    if (!thread.in_use || count == out.size()) continue;
    ThreadInfo& info = out[count++];
    info.id = thread.id;
    for (std::size_t i = 0; i < kThreadNameLength; ++i) info.name[i] = thread.name[i];
    info.state = thread.state;
    info.priority = thread.priority;
    info.cpu = to_times(cpu_ticks_at(thread, now), scale);
    info.stack_used = stack_high_water(thread);
    info.stack_size = thread.stack_top - thread.stack_bottom;
  }
  return count;
}

std::uint64_t context_switches() { return is_running ? this_cpu().switches : 0; }

}  // namespace ferrite::sched

extern "C" void thread_start(std::uint64_t entry, std::uint64_t argument) {
  using namespace ferrite;
  sched::finish_switch();
  arch::enable_interrupts();
  sched::exit(reinterpret_cast<sched::ThreadEntry>(entry)(reinterpret_cast<void*>(argument)));
}
