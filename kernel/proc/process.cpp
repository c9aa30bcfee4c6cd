// Processes (chapter 14): loading a static ELF program from the initramfs into its own address
// space, running it in ring 3 on a kernel thread, and ending it — by exit or by a fault — so that
// every frame and file goes back. The CPU side (ring 3, syscall, exceptions) is arch/x86_64/
// user_mode.h; this layer registers the hooks that give those events their meaning.
#include <array>
#include <optional>
#include <utility>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/user_mode.h"
#include "console/print.h"
#include "exec/elf.h"
#include "exec/initial_stack.h"
#include "fs/initramfs.h"
#include "lib/log.h"
#include "lib/panic.h"
#include "mm/address_space.h"
#include "mm/heap.h"
#include "mm/page.h"
#include "mm/user_copy.h"
#include "proc/pipe_waiter.h"
#include "proc/tree_lock.h"
#include "proc/process_groups.h"
#include "proc/procfs.h"
#include "proc/signal.h"
#include "proc/signals.h"
#include "proc/spawn.h"
#include "sched/scheduler.h"
#include "sync/spinlock.h"
#include "syscall/syscall.h"
#include "time/clock.h"
#include "time/tick.h"

namespace ferrite::proc {

namespace {

using mm::kPageBytes;

// A process and what only this file needs of it: its user registers (saved by the scheduler on
// every switch) and where its program starts.
// An unused slot is all zero bytes: a Process without its two non-zero defaults (allocate_slot
// makes a real one), a zeroed FPU area. So `slots` is constant-initialised into .bss (zeroed at
// boot anyway): no constructor runs over it, and the image holds no 264 KiB of zeros in .data.
struct Slot {
  Process process{.signals = {.alt_stack_flags = 0}, .umask = 0};
  arch::UserContext context{};
  std::uint64_t entry = 0;
  std::uint64_t stack_pointer = 0;
  bool in_use = false;
  // Chapter 15, a forked child: it starts by returning to ring 3 with a copy of its parent's
  // system-call frame (RAX = 0), after writing its PID at child_tid (CLONE_CHILD_SETTID).
  bool forked = false;
  arch::InterruptFrame frame{};
  std::uint64_t child_tid = 0;
};

constinit std::array<Slot, kMaxProcesses> slots;
constinit Pid next_pid = 1;
// Woken (all) whenever a process ends or a vfork child execs: wait4 and vfork parents re-check.
constinit sched::WaitQueue child_events;

// Chapter 15, interval timers: no real timer of any process expires before this (monotonic ns;
// the largest value: none is armed). It may be too early — a timer set earlier and since
// cancelled — which costs one walk of the table that finds nothing; never too late. Written
// only with interrupts off (setitimer here, the tick in its interrupt), and there is one CPU.
constinit std::uint64_t earliest_real_timer = ~std::uint64_t{0};

// The tick's check (interrupts off, every millisecond): almost always one comparison. When a
// timer is due, a walk of the table expires every due one — SIGALRM, re-armed by its interval
// or disarmed — and finds the next earliest. It takes no lock: send_signal only takes
// interrupts off, and the slots and timers it reads change only with interrupts off.
void expire_real_timers(std::uint64_t now) {
  if (now < earliest_real_timer) return;
  std::uint64_t earliest = ~std::uint64_t{0};
  for (Slot& slot : slots) {
    Process& process = slot.process;
    if (!slot.in_use || process.exiting || !process.real_timer.armed()) continue;
    if (process.real_timer.expire(now)) send_signal(process, kSigAlrm, kRaisedByKernel);
    if (process.real_timer.armed() && process.real_timer.expires_ns < earliest)
      earliest = process.real_timer.expires_ns;
  }
  earliest_real_timer = earliest;
}

// The process table as the orphaned-group rule reads it (proc/process_groups.h). Interrupts off.
std::size_t group_members_locked(std::span<GroupMember> out) {
  std::size_t count = 0;
  for (const Slot& slot : slots) {
    if (!slot.in_use || slot.process.zombie || slot.process.exiting) continue;
    const Process& p = slot.process;
    out[count++] = {p.pid, p.parent, process_group_of(p), p.sid, true, p.signals.stopped};
  }
  return count;
}

// The environment every program the kernel starts begins with (as a Linux init would hand on).
constexpr std::string_view kEnvironment[] = {"HOME=/", "PATH=/bin", "TERM=vt100"};

constexpr std::uint64_t page_floor(std::uint64_t a) {
  return a & ~(kPageBytes - 1);
}
constexpr std::uint64_t page_ceil(std::uint64_t a) {
  return page_floor(a + kPageBytes - 1);
}

std::uint32_t protection_of(const exec::Segment& segment) {
  std::uint32_t protection = mm::kProtNone;
  if (segment.readable) protection |= mm::kProtRead;
  if (segment.writable) protection |= mm::kProtWrite;
  if (segment.executable) protection |= mm::kProtExec;
  return protection;
}

Slot& slot_of(Process& process) {
  for (Slot& slot : slots) {
    if (&slot.process == &process) return slot;
  }
  panic("proc: {} is not in the process table", process.name_view());
}

// Chapter 15: the most frames `process`'s address space has held, seen now. Called where the
// count grows (a resolved fault, a new image) and before the space goes (exec, exit).
void note_rss(Process& process) {
  if (process.address_space == nullptr) return;
  const std::uint64_t frames = process.address_space->frames_in_use();
  if (frames > process.own.max_rss_frames) process.own.max_rss_frames = frames;
}

// What `process` has used itself: its ended threads' counts, its live thread's CPU time, its
// space's frames now. Interrupts off (the thread must not switch while it is read).
UsageCounts own_usage_locked(const Process& process) {
  UsageCounts counts = process.own;
  if (!process.exiting) {
    // The caller's own thread may not be in process.thread yet (a forked child can run before
    // its parent has stored it there); any other live process's thread is.
    const sched::Thread* thread = &process == current() ? &sched::current() : process.thread;
    if (thread != nullptr) counts.cpu += sched::cpu_ticks_locked(*thread);
  }
  if (process.address_space != nullptr) {
    const std::uint64_t frames = process.address_space->frames_in_use();
    if (frames > counts.max_rss_frames) counts.max_rss_frames = frames;
  }
  return counts;
}

ResourceUsage converted(const UsageCounts& counts) {
  return {sched::to_times(counts.cpu, time::clock_info().scale), counts.minor_faults,
          counts.max_rss_frames * (kPageBytes / 1024)};
}

// 16 bytes for AT_RANDOM (libc's stack-protector canary and pointer guard): the TSC stirred by
// splitmix64. Not cryptographic; different for every program started.
std::array<std::uint8_t, 16> random_bytes() {
  static constinit std::uint64_t state = 0;
  std::array<std::uint8_t, 16> out{};
  for (std::size_t half = 0; half < 2; ++half) {
    state += arch::read_tsc() + 0x9E37'79B9'7F4A'7C15ull;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBull;
    z ^= z >> 31;
    for (std::size_t i = 0; i < 8; ++i) out[half * 8 + i] = static_cast<std::uint8_t>(z >> (8 * i));
  }
  return out;
}

// Maps every PT_LOAD segment with its own permissions and copies its file bytes in; the rest
// up to memsz (.bss) stays demand-zero. Two segments may share a page at their ends (the
// linker only keeps them apart by bytes): that page keeps the first mapping and gets the union
// of both permissions, as the bytes of both must be there.
std::expected<void, abi::Errno> load_segments(mm::AddressSpace& space, const exec::ElfImage& image,
                                              std::span<const std::byte> file) {
  std::uint64_t mapped_end = 0;
  std::uint32_t last_protection = 0;
  for (const exec::Segment& segment : image.loadable()) {
    std::uint64_t start = page_floor(segment.vaddr);
    const std::uint64_t end = page_ceil(segment.vaddr + segment.memsz);
    const std::uint32_t protection = protection_of(segment);
    if (start < mapped_end) {  // the shared page (parse_elf checks that segments ascend)
      if (auto shared = space.protect(start, kPageBytes, last_protection | protection); !shared) {
        return std::unexpected(shared.error());
      }
      start = mapped_end;
    }
    if (end > start) {
      if (auto mapped = space.map_anonymous(start, end - start, protection); !mapped) {
        return std::unexpected(mapped.error());
      }
    }
    if (segment.filesz != 0) {
      if (auto written =
              space.write_initial(segment.vaddr, file.subspan(segment.offset, segment.filesz));
          !written) {
        return std::unexpected(written.error());
      }
    }
    mapped_end = end > mapped_end ? end : mapped_end;
    last_protection = protection;
  }
  return {};
}

// The new address space as the initial stack's sink: each piece is written straight into its
// stack (exec/initial_stack.h), so no kernel buffer the size of the arguments (up to 2 MiB) is
// needed. The whole initial stack must fit in the stack region.
class SpaceSink final : public exec::StackSink {
 public:
  explicit SpaceSink(mm::AddressSpace& space) : space_(space) {}
  bool room_for(std::size_t bytes) override { return bytes <= mm::kUserStackBytes; }
  bool write(std::uint64_t address, std::span<const std::byte> bytes) override {
    return space_.write_initial(address, bytes).has_value();
  }

 private:
  mm::AddressSpace& space_;
};

// The stack region and the initial stack (argc, argv, envp, auxv and their strings) at its top.
std::expected<std::uint64_t, abi::Errno> build_stack(mm::AddressSpace& space,
                                                     const exec::ElfImage& image,
                                                     std::string_view path,
                                                     const exec::StringList& argv,
                                                     const exec::StringList& envp) {
  const std::uint64_t bottom = mm::kUserStackTop - mm::kUserStackBytes;
  if (auto mapped =
          space.map_anonymous(bottom, mm::kUserStackBytes, mm::kProtRead | mm::kProtWrite);
      !mapped) {
    return std::unexpected(mapped.error());
  }
  exec::AuxValues aux;
  aux.entry = image.entry;
  aux.phdr = image.phdr_address;
  aux.phent = image.phent;
  aux.phnum = image.phnum;
  aux.page_size = kPageBytes;
  aux.hwcap = arch::cpuid(1).edx;  // what Linux reports as AT_HWCAP on x86
  aux.random = random_bytes();
  aux.execfn = path;
  SpaceSink sink(space);
  const auto stack = exec::build_initial_stack(sink, mm::kUserStackTop, argv, envp, aux);
  if (!stack) return std::unexpected(stack.error());
  return stack->stack_pointer;
}

Slot* allocate_slot() {
  sync::InterruptGuard no_interrupts;
  for (Slot& slot : slots) {
    if (slot.in_use) continue;
    slot.in_use = true;
    slot.process = Process{};
    slot.process.pid = next_pid++;
    slot.forked = false;
    slot.child_tid = 0;
    return &slot;
  }
  return nullptr;
}

void free_slot(Slot& slot) {
  sync::InterruptGuard no_interrupts;
  slot.in_use = false;
  procfs::forget(slot.process.pid);  // its /proc/<pid> goes with it (Linux's proc_flush_pid)
}

// The first code of a process's thread: it becomes a user thread (so the scheduler saves and
// loads its user state from now on) and leaves for ring 3.
std::int64_t process_main(void* argument) {
  Slot& slot = *static_cast<Slot*>(argument);
  arch::disable_interrupts();  // until iretq: a switch now would find the state half set up
  sched::Thread& self = sched::current();
  self.owner = &slot.process;
  self.user = &slot.context;
  self.address_space = slot.process.address_space;
  arch::load_user_context(slot.context, self.stack_top);
  mm::activate(slot.process.address_space);
  if (!slot.forked) arch::enter_user_mode(slot.entry, slot.stack_pointer);
  if (slot.child_tid != 0) {
    // CLONE_CHILD_SETTID: in the child's own memory (a copy-on-write fault may copy the page,
    // which may sleep: interrupts on; the scheduler keeps this thread's user state from here).
    arch::enable_interrupts();
    const auto pid = static_cast<std::uint32_t>(slot.process.pid);
    (void)mm::copy_to_user(slot.child_tid, &pid, sizeof pid);
    arch::disable_interrupts();
  }
  arch::resume_user_mode(slot.frame, self.stack_top);
}

// ---- The hooks arch calls ---------------------------------------------------------------------

void on_syscall(arch::InterruptFrame& frame) {
  // Only a user thread reaches this hook, so the scheduler runs: no running() test here.
  auto* process = static_cast<Process*>(sched::current().owner);
  if (process == nullptr) panic("proc: a system call from a thread without a process");
  process->syscall_frame = &frame;
  const syscall::Arguments arguments{
      frame.rax, {frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9}};
  frame.rax = static_cast<std::uint64_t>(syscall::dispatch(*process, arguments));
}

bool resolve_page(std::uint64_t address, mm::FaultAccess access) {
  mm::AddressSpace* space = mm::active_address_space();
  if (space == nullptr || !space->handle_fault(address, access)) return false;
  // A minor fault (getrusage's ru_minflt), and the one moment the resident set grows.
  if (Process* process = current(); process != nullptr && process->address_space == space) {
    ++process->own.minor_faults;
    note_rss(*process);
  }
  return true;
}

bool on_user_fault(arch::InterruptFrame& frame, std::uint64_t address) {
  Process* process = current();
  if (process == nullptr) panic("proc: ring 3 faulted in a thread without a process");
  const auto vector = static_cast<std::uint8_t>(frame.vector);
  const Signal signal = signal_for_exception(vector);
  // A program that catches the signal (and does not block it) gets it, with the fault's siginfo:
  // the way back to ring 3 runs its handler (Linux's force_sig_fault). Returning from the
  // handler retries the instruction. Blocked or not caught, the fault ends the program, as
  // Linux's force_sig resets a blocked or ignored fault signal to its default.
  const std::uint64_t handler = process->signals.action(signal).handler;
  if (handler != kSigDfl && handler != kSigIgn &&
      (process->signals.blocked & signal_bit(signal)) == 0) {
    const mm::AddressSpace* space = mm::active_address_space();
    const bool in_a_region = space != nullptr && space->region_at(address) != nullptr;
    send_signal(*process, signal, fault_siginfo(vector, in_a_region, address));
    return true;
  }
  // We came from ring 3: the kernel held no lock, so interrupts can go on as in a system call.
  arch::enable_interrupts();
  println("{}: killed by {} (address {:#x}, rip {:#x})", process->name_view(), signal_name(signal),
          address, frame.rip);
  exit_current(signal);
}

// Before every return to ring 3: a process whose thread was asked to end (`kill ID`) ends now,
// with SIGKILL; pending signals are delivered (proc/signals.cpp).
void before_user_return(arch::InterruptFrame& frame) {
  // The usual case, tested here without a call: nothing to deliver, nobody asked us to end.
  const sched::Thread& self = sched::current();
  if (!self.kill_requested && !self.signal_pending) return;
  deliver_signals(frame);
}

}  // namespace

Process* current() {
  if (!sched::running()) return nullptr;
  return static_cast<Process*>(sched::current().owner);
}

void init() {
  arch::set_user_mode_hooks(on_syscall, resolve_page, on_user_fault, before_user_return);
  init_pipe_waiter();
  init_tree_lock();
  if (!time::add_tick_handler(expire_real_timers)) panic("proc: no free tick handler slot");
}

std::expected<Process*, SpawnFailure> spawn(std::string_view path,
                                            std::span<const std::string_view> argv) {
  const fs::Tree* tree = fs::initramfs();
  if (tree == nullptr) return std::unexpected(SpawnFailure{abi::Errno::enoent, "no initramfs"});
  // The file is held and closed to writers until its segments are mapped, as execve holds its
  // files (syscall/process.cpp): the kernel shell is preempted too, and a program's cp or rm of
  // /tmp/x meanwhile must not free the bytes this reads (ETXTBSY for them instead).
  std::expected<fs::Node*, abi::Errno> node = std::unexpected(abi::Errno::enoent);
  {
    fs::TreeGuard guard;  // the lookup and the pin, one step
    node = tree->lookup(path, tree->root());
    if (!node) return std::unexpected(SpawnFailure{node.error(), "not found"});
    if ((*node)->type != fs::NodeType::regular) {
      return std::unexpected(SpawnFailure{abi::Errno::eacces, "not a regular file"});
    }
    if (!fs::deny_write_access(*node)) {
      return std::unexpected(SpawnFailure{abi::Errno::etxtbsy, "open for writing"});
    }
  }
  struct Unpin {
    fs::Node* node;
    ~Unpin() { fs::allow_write_access(node); }
  } unpin{*node};
  const std::span<const std::byte> file = (*node)->data;
  const auto image = exec::parse_elf(file);
  if (!image)
    return std::unexpected(SpawnFailure{abi::Errno::enoexec, exec::to_string(image.error())});

  Slot* slot = allocate_slot();
  if (slot == nullptr)
    return std::unexpected(SpawnFailure{abi::Errno::eagain, "the process table is full"});
  Process& process = slot->process;
  const std::size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  for (std::size_t i = 0; i + 1 < kProcessNameLength && i < name.size(); ++i)
    process.name[i] = name[i];
  process.cwd = tree->root();
  process.program.record(path, argv, process.cwd);
  process.kernel_waited = true;  // the kernel shell (or init's runner) joins its thread
  process.pgid = process.pid;
  process.sid = process.pid;
  arch::init_user_context(slot->context);

  mm::AddressSpace* space = mm::create_address_space();
  if (space == nullptr) {
    free_slot(*slot);
    return std::unexpected(SpawnFailure{abi::Errno::enomem, "no memory for an address space"});
  }
  process.address_space = space;
  auto fail = [&](abi::Errno error, std::string_view reason) {
    mm::destroy_address_space(space);
    free_slot(*slot);
    return std::unexpected(SpawnFailure{error, reason});
  };
  if (auto loaded = load_segments(*space, *image, file); !loaded)
    return fail(loaded.error(), "cannot map its segments");
  const std::span<const std::string_view> argv_pieces[] = {argv}, envp_pieces[] = {kEnvironment};
  const auto stack_pointer = build_stack(*space, *image, path, exec::StringList(argv_pieces),
                                         exec::StringList(envp_pieces));
  if (!stack_pointer) return fail(stack_pointer.error(), "cannot build its initial stack");
  space->set_break_base(page_ceil(image->image_end));
  slot->entry = image->entry;
  slot->stack_pointer = *stack_pointer;
  if (!syscall::attach_files(process))
    return fail(abi::Errno::enomem, "cannot open its console files");

  const auto thread = sched::spawn(process.name_view(), process_main, slot);
  if (!thread) {
    syscall::release_files(process);
    return fail(abi::Errno::eagain, sched::to_string(thread.error()));
  }
  process.thread = *thread;
  return &process;
}

Process* find_process(Pid pid) {
  sync::InterruptGuard no_interrupts;
  for (Slot& slot : slots) {
    if (slot.in_use && slot.process.pid == pid) return &slot.process;  // zombies too
  }
  return nullptr;
}

namespace {

// SIGHUP, then SIGCONT so that a stopped member wakes to see it: what both the end of a session
// and an orphaned group give a process group (Linux's tty_signal_session_leader and
// kill_orphaned_pgrp send the same pair).
void hang_up_group(Pid pgid) {
  (void)send_signal_to_group(pgid, kSigHup);
  (void)send_signal_to_group(pgid, kSigCont);
}

// A session leader's end ends its session's hold on the terminal (Linux: disassociate_ctty(1) in
// do_exit, after exit_files as here). The terminal is hung up — what the session left behind
// (`sleep 100 &`) keeps dead descriptors, and the keyboard is the kernel shell's again at once —
// and the foreground group gets SIGHUP, then SIGCONT so that a stopped one sees it. Linux sends
// this SIGCONT only with TIOCNOTTY; on exit it leaves waking stopped jobs to the orphaned process
// group rule (continue_orphaned_groups below, which ferrite has too).
void hang_up_controlling_terminal(const Process& process) {
  if (process.pid != process.sid) return;
  fs::TerminalPort* port = fs::terminal();
  if (port == nullptr) return;
  const std::optional<std::int32_t> foreground = port->hang_up_session(process.sid);
  if (!foreground || *foreground <= 0) return;
  hang_up_group(*foreground);
}

// POSIX's orphaned process groups: a group this exit leaves orphaned while a member is stopped
// would stay stopped for ever — nobody left could continue it — so each member gets SIGHUP
// (its terminal session is as good as gone) and then SIGCONT (to see the SIGHUP). Linux's
// kill_orphaned_pgrp, in exit_notify.
void continue_orphaned_groups(const Process& process) {
  std::array<GroupMember, kMaxProcesses> members;
  std::array<std::int32_t, kMaxProcesses> groups;
  std::size_t count = 0;
  {
    sync::InterruptGuard no_interrupts;
    const std::size_t size = group_members_locked(members);
    const GroupMember leaving{process.pid, process.parent, process_group_of(process), process.sid};
    count = groups_orphaned_by_exit(std::span(members.data(), size), leaving, groups);
  }
  for (std::size_t i = 0; i < count; ++i) hang_up_group(groups[i]);
}

}  // namespace

void wake_child_waiters_locked() {
  while (child_events.wake_one_locked()) {
  }
}

bool process_group_orphaned(Pid pgid) {
  std::array<GroupMember, kMaxProcesses> members;
  sync::InterruptGuard no_interrupts;
  const std::size_t size = group_members_locked(members);
  return group_orphaned(std::span(members.data(), size), pgid);
}

void exit_current(std::int32_t wait_status) {
  Process& process = *current();
  sched::Thread& self = sched::current();
  syscall::release_files(process);
  note_rss(process);  // before the address space goes
  hang_up_controlling_terminal(process);
  continue_orphaned_groups(process);
  {
    // Off this address space before it goes (destroy requires that it is not active); the
    // scheduler must not load it again either.
    sync::InterruptGuard no_interrupts;
    self.address_space = nullptr;
    mm::activate(nullptr);
  }
  // A vfork child's space is its parent's: the parent's share keeps it (mm's users count).
  mm::release_address_space(std::exchange(process.address_space, nullptr));
  // From here to the switch away, interrupts stay off: the parent may free this slot as soon
  // as it runs again, and nothing below touches the slot after that could happen.
  arch::disable_interrupts();
  // Orphans go to PID 1 (init) when it is alive, else nobody waits for them: a zombie orphan
  // is freed now, a live one when it ends.
  Process* init = nullptr;
  for (Slot& slot : slots) {
    if (slot.in_use && slot.process.pid == 1 && !slot.process.zombie && &slot.process != &process)
      init = &slot.process;
  }
  for (Slot& slot : slots) {
    if (!slot.in_use || slot.process.parent != process.pid || &slot.process == &process) continue;
    slot.process.parent = init != nullptr ? init->pid : 0;
    if (init == nullptr && slot.process.zombie && !slot.process.kernel_waited) free_slot(slot);
  }
  process.exit_status = wait_status;
  process.real_timer = {};  // its alarm goes with it (the tick skips an exiting process anyway)
  // Its thread's CPU time becomes the process's, for good (the last few hundred instructions of
  // the way out are not counted): from here on the thread may be gone at any switch.
  process.own.cpu += sched::cpu_ticks_locked(self);
  process.exiting = true;
  process.zombie = true;
  process.vfork_pending = false;
  self.user = nullptr;  // nothing of the slot is saved on the switch away
  // SIGCHLD to the parent with the child's PID and how it ended (a parent that ignores SIGCHLD
  // drops it in post). A parent that reaps its children itself (SIG_IGN, SA_NOCLDWAIT) gets no
  // zombie: the slot goes now, and its wait finds one child less (ECHILD when none is left).
  bool autoreap = process.parent == 0;
  if (process.parent != 0) {
    for (Slot& slot : slots) {
      if (!slot.in_use || slot.process.pid != process.parent || slot.process.zombie) continue;
      // si_utime/si_stime: its own times, not its children's (Linux's do_notify_parent).
      const sched::CpuTimes times = converted(process.own).cpu;
      send_signal(slot.process, kSigChld,
                  child_ended(process.pid, wait_status, sched::to_clock_ticks(times.user_ns),
                              sched::to_clock_ticks(times.system_ns)));
      autoreap = reaps_children_itself(slot.process.signals.action(kSigChld));
    }
  }
  if (autoreap && !process.kernel_waited) free_slot(slot_of(process));
  wake_child_waiters_locked();
  sched::exit(wait_status);  // wakes the waiter (join, or a task's thread_exit)
}

std::expected<Pid, abi::Errno> fork_current(std::uint64_t child_stack, std::uint64_t child_tid,
                                            bool clear_child_tid, bool wait_for_exec,
                                            bool share_memory) {
  Process& parent = *current();
  Slot& parent_slot = slot_of(parent);
  Slot* slot = allocate_slot();
  if (slot == nullptr) return std::unexpected(abi::Errno::eagain);
  Process& child = slot->process;
  const Pid pid = child.pid;
  for (std::size_t i = 0; i < kProcessNameLength; ++i) child.name[i] = parent.name[i];
  child.program = parent.program;
  child.parent = parent.pid;
  child.pgid = parent.pgid;
  child.sid = parent.sid;
  child.cwd = parent.cwd;
  child.fs_base = parent.fs_base;
  child.signals = parent.signals.for_child();
  child.umask = parent.umask;
  child.clear_child_tid = clear_child_tid ? child_tid : 0;
  child.vfork_pending = wait_for_exec;
  slot->forked = true;
  slot->child_tid = child_tid;
  slot->frame = *parent.syscall_frame;
  slot->frame.rax = 0;
  if (child_stack != 0) slot->frame.rsp = child_stack;
  {
    // The parent's live FPU/SSE registers and FS base (the kernel uses neither).
    sync::InterruptGuard no_interrupts;
    arch::save_user_context(slot->context);
  }
  (void)parent_slot;
  // vfork/CLONE_VM: the child runs in the parent's own space (one more user of it); fork: a
  // copy-on-write copy.
  child.address_space = share_memory ? mm::share_address_space(*parent.address_space)
                                     : mm::clone_address_space(*parent.address_space);
  if (child.address_space == nullptr) {
    free_slot(*slot);
    return std::unexpected(abi::Errno::enomem);
  }
  if (!syscall::clone_files(parent, child)) {
    mm::release_address_space(child.address_space);
    free_slot(*slot);
    return std::unexpected(abi::Errno::enomem);
  }
  const auto thread = sched::spawn(child.name_view(), process_main, slot);
  if (!thread) {
    syscall::release_files(child);
    mm::release_address_space(child.address_space);
    free_slot(*slot);
    return std::unexpected(abi::Errno::eagain);
  }
  child.thread = *thread;
  sched::detach(**thread);  // the slot outlives the thread as a zombie; wait4 frees the slot
  if (wait_for_exec) {
    // vfork: the child runs in this memory, on this very stack (vfork()) or one the parent
    // lent it (clone's stack, posix_spawn). The parent must not touch either until the child
    // has a space of its own (execve) or is gone (exit): it sleeps — a signal handler run now
    // would write its frame on the stack the child is using. Killably, as Linux's
    // wait_for_vfork_done: SIGKILL, or a signal whose default action ends the process and
    // that is neither caught nor blocked, ends the wait (no handler runs, the parent ends on
    // its way back to ring 3; a child that never execs nor exits kept it, and `run`, for
    // good). The child goes on in the space: the parent's exit gives back only its own share
    // of it (mm::release_address_space), and the child its own later.
    sync::InterruptGuard no_interrupts;
    while (slot->in_use && slot->process.pid == pid && slot->process.vfork_pending) {
      if (!child_events.wait_killable_locked([&] { return parent.signals.fatal_pending() != 0; }))
        break;
    }
  }
  return pid;
}

std::expected<void, abi::Errno> exec_current(std::string_view path, std::span<const std::byte> file,
                                             const exec::StringList& argv,
                                             const exec::StringList& envp) {
  Process& process = *current();
  Slot& slot = slot_of(process);
  const auto image = exec::parse_elf(file);
  if (!image) return std::unexpected(abi::Errno::enoexec);
  mm::AddressSpace* space = mm::create_address_space();
  if (space == nullptr) return std::unexpected(abi::Errno::enomem);
  if (auto loaded = load_segments(*space, *image, file); !loaded) {
    mm::destroy_address_space(space);
    return std::unexpected(loaded.error());
  }
  const auto stack_pointer = build_stack(*space, *image, path, argv, envp);
  if (!stack_pointer) {
    mm::destroy_address_space(space);
    return std::unexpected(stack_pointer.error());
  }
  space->set_break_base(page_ceil(image->image_end));
  // The point of no return: the new image takes over.
  sched::Thread& self = sched::current();
  note_rss(process);  // the old image's peak, before it goes
  mm::AddressSpace* old = process.address_space;
  {
    sync::InterruptGuard no_interrupts;
    process.address_space = space;
    self.address_space = space;
    mm::activate(space);
    arch::init_user_context(slot.context);
    arch::load_user_context(slot.context, self.stack_top);
  }
  // A vfork child's old space is its parent's, which lives on: only the last user frees it.
  mm::release_address_space(old);
  note_rss(process);  // the new image's loaded pages
  syscall::close_on_exec_files(process);
  process.fs_base = 0;
  process.clear_child_tid = 0;
  process.signals.reset_for_exec();  // caught signals back to default, ignored ones stay
  process.did_exec = true;
  const std::size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  for (std::size_t i = 0; i < kProcessNameLength; ++i)
    process.name[i] = i + 1 < kProcessNameLength && i < name.size() ? name[i] : '\0';
  process.program.record(path, argv.first_piece(), process.cwd);  // (its first 128 bytes)
  arch::InterruptFrame& frame = *process.syscall_frame;
  const std::uint64_t cs = frame.cs, ss = frame.ss;
  frame = arch::InterruptFrame{};
  frame.cs = cs;
  frame.ss = ss;
  frame.rip = image->entry;
  frame.rsp = *stack_pointer;
  frame.rflags = 0x202;  // IF, and bit 1 (always 1)
  frame.vector = arch::kSyscallFrameVector;
  if (process.vfork_pending) {
    sync::InterruptGuard no_interrupts;
    process.vfork_pending = false;
    wake_child_waiters_locked();
  }
  return {};
}

std::expected<WaitResult, abi::Errno> wait_child(Process& self, Pid pid, WaitOptions options) {
  auto matches = [&](const Process& child) {
    if (child.parent != self.pid) return false;
    if (pid > 0) return child.pid == pid;
    if (pid == -1) return true;
    if (pid == 0) return child.pgid == self.pgid;
    return child.pgid == -pid;
  };
  sync::InterruptGuard no_interrupts;
  for (;;) {
    bool any = false;
    for (Slot& slot : slots) {
      if (!slot.in_use || !matches(slot.process)) continue;
      any = true;
      if (!slot.process.zombie) {
        // A stop or continue not yet told (WUNTRACED, WCONTINUED): reported once, the child
        // stays (Linux's wait_task_stopped, wait_task_continued).
        const std::int32_t status = slot.process.signals.take_wait_report(
            options.stopped, options.continued, options.consume);
        if (status != 0) {
          UsageCounts both = own_usage_locked(slot.process);
          both.add(slot.process.children);
          return WaitResult{slot.process.pid, status, converted(both)};
        }
        continue;
      }
      if (!options.exited) continue;
      // The child's usage, with what it had of its own reaped children (Linux's RUSAGE_BOTH):
      // what wait4 reports, and, once reaped, part of this process's children's times.
      UsageCounts both = slot.process.own;
      both.add(slot.process.children);
      const WaitResult result{slot.process.pid, slot.process.exit_status, converted(both)};
      if (options.consume) {
        self.children.add(both);
        free_slot(slot);
      }
      return result;
    }
    if (!any) return std::unexpected(abi::Errno::echild);
    if (options.no_hang) return WaitResult{};
    if (!child_events.wait_interruptible_locked()) return std::unexpected(abi::Errno::eintr);
  }
}

std::expected<void, abi::Errno> set_process_group(Process& self, Pid pid, Pid pgid) {
  if (pgid < 0) return std::unexpected(abi::Errno::einval);
  sync::InterruptGuard no_interrupts;
  Process* target = pid == 0 ? &self : nullptr;
  if (target == nullptr) {
    for (Slot& slot : slots) {
      if (slot.in_use && slot.process.pid == pid) target = &slot.process;
    }
  }
  if (target == nullptr || (target != &self && target->parent != self.pid))
    return std::unexpected(abi::Errno::esrch);
  if (target->sid != self.sid) return std::unexpected(abi::Errno::eperm);
  // A child that has run execve is no longer the parent's to regroup (Linux: PF_FORKNOEXEC).
  if (target != &self && target->did_exec) return std::unexpected(abi::Errno::eacces);
  if (target->sid == target->pid) return std::unexpected(abi::Errno::eperm);  // a session leader
  const Pid group = pgid == 0 ? target->pid : pgid;
  if (group != target->pid) {
    bool exists = false;
    for (Slot& slot : slots) {
      if (slot.in_use && slot.process.pgid == group && slot.process.sid == self.sid) exists = true;
    }
    if (!exists) return std::unexpected(abi::Errno::eperm);
  }
  target->pgid = group;
  return {};
}

std::expected<Pid, abi::Errno> new_session(Process& self) {
  sync::InterruptGuard no_interrupts;
  for (Slot& slot : slots) {
    if (slot.in_use && slot.process.pgid == self.pid) return std::unexpected(abi::Errno::eperm);
  }
  self.sid = self.pid;
  self.pgid = self.pid;
  return self.pid;
}

std::size_t snapshot(std::span<ProcessInfo> out) {
  sync::InterruptGuard no_interrupts;
  std::size_t count = 0;
  for (const Slot& slot : slots) {
    if (!slot.in_use || count == out.size()) continue;
    ProcessInfo& info = out[count++];
    info.pid = slot.process.pid;
    info.parent = slot.process.parent;
    info.pgid = slot.process.pgid;
    info.zombie = slot.process.zombie;
    info.stopped = slot.process.signals.stopped && !slot.process.zombie;
    for (std::size_t i = 0; i < kProcessNameLength; ++i) info.name[i] = slot.process.name[i];
    info.frames =
        slot.process.address_space != nullptr ? slot.process.address_space->frames_in_use() : 0;
    info.cpu = converted(own_usage_locked(slot.process)).cpu;
  }
  return count;
}

time::IntervalTimer exchange_real_timer(Process& process, const time::IntervalTimer& timer,
                                        bool replace) {
  sync::InterruptGuard no_interrupts;
  const time::IntervalTimer old = process.real_timer;
  if (replace) {
    process.real_timer = timer;
    if (timer.armed() && timer.expires_ns < earliest_real_timer)
      earliest_real_timer = timer.expires_ns;
  }
  return old;
}

ResourceUsage resource_usage(const Process& process, UsageOf who) {
  UsageCounts counts;
  {
    sync::InterruptGuard no_interrupts;
    switch (who) {
      // One thread per process, which ends only with it: its thread's usage is the process's.
      case UsageOf::self:
      case UsageOf::thread: counts = own_usage_locked(process); break;
      case UsageOf::children: counts = process.children; break;
      case UsageOf::both: counts = own_usage_locked(process).add(process.children); break;
    }
  }
  return converted(counts);
}

std::int32_t wait(Process& process) {
  const std::int64_t status = sched::join(*process.thread);
  release(process);
  return static_cast<std::int32_t>(status);
}

void release(Process& process) {
  process.thread = nullptr;
  free_slot(slot_of(process));
}

// signals.h: the table as the signal layer walks it.
void for_each_process(bool (*visit)(Process& process, void* context), void* context) {
  for (Slot& slot : slots) {
    if (slot.in_use && !slot.process.exiting && slot.process.thread != nullptr &&
        !visit(slot.process, context)) {
      return;
    }
  }
}

std::size_t process_count() {
  sync::InterruptGuard no_interrupts;
  std::size_t count = 0;
  for (const Slot& slot : slots) count += slot.in_use ? 1 : 0;
  return count;
}

}  // namespace ferrite::proc
