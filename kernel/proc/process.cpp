// Processes (chapter 14): loading a static ELF program from the initramfs into its own address
// space, running it in ring 3 on a kernel thread, and ending it — by exit or by a fault — so that
// every frame and file goes back. The CPU side (ring 3, syscall, exceptions) is arch/x86_64/
// user_mode.h; this layer registers the hooks that give those events their meaning.
#include <array>
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
#include "proc/signal.h"
#include "proc/signals.h"
#include "proc/spawn.h"
#include "sched/scheduler.h"
#include "sync/spinlock.h"
#include "syscall/syscall.h"

namespace ferrite::proc {

namespace {

using mm::kPageBytes;

// A process and what only this file needs of it: its user registers (saved by the scheduler on
// every switch) and where its program starts.
struct Slot {
  Process process;
  arch::UserContext context;
  std::uint64_t entry = 0;
  std::uint64_t stack_pointer = 0;
  bool in_use = false;
};

std::array<Slot, kMaxProcesses> slots;
constinit Pid next_pid = 1;

// The environment every program starts with (as a Linux init would hand on).
constexpr std::string_view kEnvironment[] = {"HOME=/", "PATH=/bin", "TERM=vt100"};
// Bytes set aside to build the initial stack in (argv, envp, auxv and their strings).
constexpr std::size_t kInitialStackBuffer = 16 * 1024;

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
    if (start < mapped_end) {  // the shared page (segments come sorted by address)
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

// Copies a built initial stack (the last `stack->size` bytes of `buffer`) to the top of the user
// stack; returns the program's first RSP.
std::expected<std::uint64_t, abi::Errno> write_stack(
    mm::AddressSpace& space, const std::expected<exec::InitialStack, abi::Errno>& stack,
    std::span<const std::byte> buffer) {
  if (!stack) return std::unexpected(stack.error());
  const auto used = buffer.last(stack->size);
  if (auto written = space.write_initial(mm::kUserStackTop - stack->size, used); !written) {
    return std::unexpected(written.error());
  }
  return stack->stack_pointer;
}

// The stack region and the initial stack (argc, argv, envp, auxv and their strings) at its top.
std::expected<std::uint64_t, abi::Errno> build_stack(mm::AddressSpace& space,
                                                     const exec::ElfImage& image,
                                                     std::string_view path,
                                                     std::span<const std::string_view> argv) {
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
  auto* buffer = static_cast<std::byte*>(mm::heap_allocate(kInitialStackBuffer, 16));
  if (buffer == nullptr) return std::unexpected(abi::Errno::enomem);
  const auto stack = exec::build_initial_stack({buffer, kInitialStackBuffer}, mm::kUserStackTop,
                                               argv, kEnvironment, aux);
  auto written = write_stack(space, stack, {buffer, kInitialStackBuffer});  // not const: moved out
  mm::heap_deallocate(buffer, kInitialStackBuffer, 16);
  return written;
}

Slot* allocate_slot() {
  sync::InterruptGuard no_interrupts;
  for (Slot& slot : slots) {
    if (slot.in_use) continue;
    slot.in_use = true;
    slot.process = Process{};
    slot.process.pid = next_pid++;
    return &slot;
  }
  return nullptr;
}

void free_slot(Slot& slot) {
  sync::InterruptGuard no_interrupts;
  slot.in_use = false;
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
  arch::enter_user_mode(slot.entry, slot.stack_pointer);
}

// ---- The hooks arch calls ---------------------------------------------------------------------

void on_syscall(arch::InterruptFrame& frame) {
  Process* process = current();
  if (process == nullptr) panic("proc: a system call from a thread without a process");
  const syscall::Arguments arguments{
      frame.rax, {frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9}};
  frame.rax = static_cast<std::uint64_t>(syscall::dispatch(*process, arguments));
}

bool resolve_page(std::uint64_t address, mm::FaultAccess access) {
  mm::AddressSpace* space = mm::active_address_space();
  return space != nullptr && space->handle_fault(address, access);
}

void on_user_fault(arch::InterruptFrame& frame, std::uint64_t address) {
  Process* process = current();
  if (process == nullptr) panic("proc: ring 3 faulted in a thread without a process");
  const Signal signal = signal_for_exception(static_cast<std::uint8_t>(frame.vector));
  // We came from ring 3: the kernel held no lock, so interrupts can go on as in a system call.
  arch::enable_interrupts();
  println("{}: killed by {} (address {:#x}, rip {:#x})", process->name_view(), signal_name(signal),
          address, frame.rip);
  exit_current(signal);
}

// Before every return to ring 3: a process whose thread was asked to end (`kill ID`) ends now,
// with SIGKILL; pending signals are delivered (proc/signals.cpp).
void before_user_return(arch::InterruptFrame& frame) {
  deliver_signals(frame);
}

}  // namespace

Process* current() {
  if (!sched::running()) return nullptr;
  return static_cast<Process*>(sched::current().owner);
}

void init() {
  arch::set_user_mode_hooks(on_syscall, resolve_page, on_user_fault, before_user_return);
}

std::expected<Process*, SpawnFailure> spawn(std::string_view path,
                                            std::span<const std::string_view> argv) {
  const fs::Tree* tree = fs::initramfs();
  if (tree == nullptr) return std::unexpected(SpawnFailure{abi::Errno::enoent, "no initramfs"});
  const auto node = tree->lookup(path, tree->root());
  if (!node) return std::unexpected(SpawnFailure{node.error(), "not found"});
  if ((*node)->type != fs::NodeType::regular) {
    return std::unexpected(SpawnFailure{abi::Errno::eacces, "not a regular file"});
  }
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
  const auto stack_pointer = build_stack(*space, *image, path, argv);
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

void exit_current(std::int32_t wait_status) {
  Process& process = *current();
  sched::Thread& self = sched::current();
  syscall::release_files(process);
  {
    // Off this address space before it goes (destroy requires that it is not active); the
    // scheduler must not load it again either.
    sync::InterruptGuard no_interrupts;
    self.address_space = nullptr;
    mm::activate(nullptr);
  }
  mm::destroy_address_space(std::exchange(process.address_space, nullptr));
  process.exit_status = wait_status;
  process.exiting = true;
  sched::exit(wait_status);  // wakes the waiter (join, or a task's thread_exit)
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

Process* find_process(Pid pid) {
  for (Slot& slot : slots) {
    if (slot.in_use && !slot.process.exiting && slot.process.pid == pid) return &slot.process;
  }
  return nullptr;
}

std::size_t process_count() {
  sync::InterruptGuard no_interrupts;
  std::size_t count = 0;
  for (const Slot& slot : slots) count += slot.in_use ? 1 : 0;
  return count;
}

}  // namespace ferrite::proc
