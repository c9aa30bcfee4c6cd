// The shell task and its commands. One table (kCommands) holds each command's name, usage, help
// and handler: `help` is generated from it, and the usage line says how many arguments the
// command takes, which is checked before the handler runs.
#include "shell/shell.h"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include "acpi/machine.h"
#include "acpi/summary.h"
#include "arch/x86_64/cpu.h"
#include "console/print.h"
#include "drivers/keyboard/keyboard.h"
#include "exec/elf.h"
#include "fs/initramfs.h"
#include "mm/heap.h"
#include "mm/address_space.h"
#include "mm/memory.h"
#include "proc/signal.h"
#include "proc/signals.h"
#include "proc/spawn.h"
#include "task/frame_cache.h"
#include "task/thread_exit.h"
#include "platform/pc/pit.h"
#include "platform/pc/power.h"
#include "platform/pc/ps2.h"
#include "shell/line_editor.h"
#include "sched/scheduler.h"
#include "task/kernel_runtime.h"
#include "time/clock.h"
#include "time/tick.h"
#include "tty/console.h"

namespace ferrite::shell {

namespace {

constexpr std::string_view kPrompt = "ferrite> ";

// Scancodes this task took from the queue (for `keys`: every byte is consumed, queued or dropped).
constinit std::uint64_t scancodes_consumed = 0;

// A decimal number that fits in 64 bits, or nothing.
std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (__builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, static_cast<std::uint64_t>(c - '0'), &value)) {
      return std::nullopt;
    }
  }
  return value;
}

// What a handler gets: the words after the command's name, and the rest of the line as typed.
struct Arguments {
  std::span<const std::string_view> words;
  std::string_view text;
};

// A handler that finds its arguments wrong says so; the shell then prints the usage line.
enum class Outcome : std::uint8_t { done, bad_arguments };

struct Command {
  std::string_view name;
  // The name, then its arguments: WORD is required, [WORD] optional, and a word with "..."
  // stands for any number of words.
  std::string_view usage;
  std::string_view help;
  task::Task<Outcome> (*handler)(Arguments);
};

// How many words may follow a command's name, read from its usage line.
struct Arity {
  std::size_t min = 0;
  std::size_t max = 0;
};

constexpr Arity arity_of(std::string_view usage) {
  std::array<std::string_view, 8> words{};
  const std::size_t count = split_words(usage, words);
  Arity arity;
  for (std::size_t i = 1; i < count; ++i) {  // words[0] is the name
    if (words[i].front() != '[') ++arity.min;
    arity.max = words[i].find("...") != std::string_view::npos
                    ? std::numeric_limits<std::size_t>::max()
                    : arity.max + 1;
  }
  return arity;
}
static_assert(arity_of("help").max == 0);
static_assert(arity_of("alloc N").min == 1 && arity_of("alloc N").max == 1);
static_assert(arity_of("fault [bp]").min == 0 && arity_of("fault [bp]").max == 1);
static_assert(arity_of("echo [TEXT...]").min == 0 &&
              arity_of("echo [TEXT...]").max == std::numeric_limits<std::size_t>::max());

// Set while a command runs; the keyboard interrupt requests it on Ctrl+C (task/kernel_runtime.h).
task::CancelSignal& cancel() {
  return task::command_cancel_signal();
}

// From the TSC clock (chapter 13); the PIT's tick count beside it falls behind whenever
// interrupts were off for longer than a tick.
void uptime() {
  const std::uint64_t ms = time::now_ns() / 1'000'000;
  println("uptime: {} s (TSC clock; {} ticks of the {})", fmt::Thousandths{ms}, time::tick_count(),
          time::to_string(time::tick_source()));
}

void mem() {
  const mm::FrameAllocator& frames = mm::frame_allocator();
  println("frames: {} total, {} used, {} free ({} MiB free)", frames.total_frames(), frames.used_frames(),
          frames.free_frames(), frames.free_frames() * 4096 >> 20);
  // Cached coroutine frames (task/frame_cache.h) are free memory kept for the next task: given
  // back first, so the heap's live bytes are what is in use (the same after a program as before).
  const task::FrameCache::Trimmed cached = task::trim_coroutine_frame_cache();
  const mm::HeapStats heap = mm::heap_stats();
  println("heap ({}): {} KiB mapped of {} KiB max, {} bytes in {} allocations, {} bytes free, grew {} times",
          heap.allocator_name, heap.mapped_bytes / 1024, heap.max_bytes / 1024, heap.allocator.bytes_in_use,
          heap.allocator.allocation_count, heap.allocator.free_bytes, heap.grow_count);
  // Blocks of 128 KiB and more have pages of their own (mm/heap.h), given back when freed.
  println("large blocks: {} ({} bytes, {} pages mapped), outside the heap's region, within its max",
          heap.large_blocks, heap.large_bytes, heap.large_mapped_bytes / 4096);
  println("coroutine frame cache: {} frames ({} bytes) given back to the heap before counting",
          cached.frames, cached.bytes);
  // Made by the first fork and kept (mm/address_space.cpp): in the heap's bytes above from then on.
  if (const std::size_t shares = mm::frame_shares_bytes(); shares != 0) {
    println("fork's frame owner counts: {} bytes of the heap's, made by the first fork, kept", shares);
  } else {
    println("fork's frame owner counts: not made yet (the first fork makes them)");
  }
}

// Chapter 13: what the firmware's ACPI tables say. Boot's summary line (the MADT and FADT), the
// details boot does not read (the HPET table, the DSDT's \_S5_, read now), and every table the
// RSDT or XSDT lists, with what was wrong with it.
void acpi_tables() {
  const acpi::AcpiInfo* tables = acpi::machine_tables();
  if (tables == nullptr) {
    println("acpi: no usable tables (dmesg says why)");
    return;
  }
  const acpi::Summary boot = acpi::summarize(*tables);
  for (std::size_t i = 0; i < boot.count; ++i) println("{}", boot.line(i));
  const acpi::Summary details =
      acpi::summarize_details(*tables, acpi::machine_hpet(), acpi::machine_s5());
  for (std::size_t i = 0; i < details.count; ++i) println("{}", details.line(i));
  println("acpi: {} at {:#x} lists {} tables{}:", tables->uses_xsdt ? "XSDT" : "RSDT",
          tables->root_address, tables->table_count + tables->dropped_tables,
          tables->dropped_tables != 0 ? " (the first ones)" : "");
  for (const acpi::TableEntry& entry : tables->tables()) {
    println("  {} at {:#x}, {} bytes{}{}", entry.name(), entry.address, entry.length,
            entry.error ? ": " : "", entry.error ? acpi::to_string(*entry.error) : "");
  }
}

void tasks() {
  const task::ExecutorStats stats = task::executor().stats();
  println("tasks: {} live, {} spawned, {} completed, {} polls", stats.live(), stats.spawned,
          stats.completed, stats.polls);
}

// Every byte IRQ 1 received was either consumed by this task, is still queued, or was dropped
// (and counted) because the queue was full. Read with interrupts off, so the counts agree.
// ---- Chapter 14: the initramfs's files ----

// "drwxr-xr-x"-style type and permission letters, as ls -l shows them.
std::array<char, 10> mode_letters(const fs::Node& node) {
  std::array<char, 10> letters{};
  switch (node.type) {
    case fs::NodeType::directory: letters[0] = 'd'; break;
    case fs::NodeType::symlink: letters[0] = 'l'; break;
    case fs::NodeType::char_device: letters[0] = 'c'; break;
    case fs::NodeType::regular: letters[0] = '-'; break;
    case fs::NodeType::fifo: letters[0] = 'p'; break;
  }
  constexpr char kRwx[] = "rwxrwxrwx";
  for (std::size_t i = 0; i < 9; ++i) letters[1 + i] = (node.mode >> (8 - i) & 1) != 0 ? kRwx[i] : '-';
  return letters;
}

void list_entry(const fs::Node& node) {
  const std::array<char, 10> mode = mode_letters(node);
  const std::string_view mode_text(mode.data(), mode.size());
  if (node.type == fs::NodeType::char_device) {
    const fs::DeviceNumbers numbers = fs::numbers_of(node.device);
    println("{} {:>4}, {:>4} {}", mode_text, numbers.major, numbers.minor, node.name);
  } else if (node.type == fs::NodeType::symlink) {
    const std::string_view target(reinterpret_cast<const char*>(node.data.data()), node.data.size());
    println("{} {:>10} {} -> {}", mode_text, node.size(), node.name, target);
  } else {
    println("{} {:>10} {}{}", mode_text, node.size(), node.name,
            node.type == fs::NodeType::directory ? "/" : "");
  }
}

// ls [PATH]: a directory's entries, or one file's line.
void list(std::string_view path) {
  const fs::Tree* tree = fs::initramfs();
  if (tree == nullptr) {
    println("ls: no initramfs (boot the ISO, or -kernel ... -initrd build/initramfs.cpio)");
    return;
  }
  // Programs change /tmp meanwhile (the shell is preempted too): the listing holds the tree lock.
  const fs::TreeGuard guard;
  // A symbolic link is listed itself (as `ls -l` does), not what it points to.
  const auto node = tree->lookup(path, tree->root(), fs::FollowLast::no);
  if (!node) {
    println("ls: {}: {}", path, abi::name(node.error()));
    return;
  }
  if ((*node)->type != fs::NodeType::directory) {
    list_entry(**node);
    return;
  }
  for (const fs::Node* child : (*node)->children) list_entry(*child);
}

// programs: the files in /bin that pass the ELF checks a program must pass to run.
void programs() {
  const fs::Tree* tree = fs::initramfs();
  const auto bin = tree != nullptr ? tree->lookup("/bin", tree->root()) : std::unexpected(abi::Errno::enoent);
  if (!bin || (*bin)->type != fs::NodeType::directory) {
    println("programs: no /bin in the initramfs");
    return;
  }
  std::size_t count = 0, links = 0;
  for (const fs::Node* child : (*bin)->children) {
    if (child->type == fs::NodeType::symlink) {
      ++links;
      continue;
    }
    if (child->type != fs::NodeType::regular) continue;
    const auto image = exec::parse_elf(child->data);
    if (image) {
      ++count;
      println("  /bin/{:<12} {:>8} bytes, {}, {} loadable segments, entry {:#x}", child->name,
              child->size(), image->load_bias != 0 ? "static-PIE" : "static", image->segment_count,
              image->entry);
    } else {
      println("  /bin/{:<12} not runnable: {}", child->name, exec::to_string(image.error()));
    }
  }
  println("{} programs, {} links (busybox applets)", count, links);
}

void keys() {
  task::KeyboardStats stats;
  std::uint64_t consumed = 0, queued = 0;
  sync::without_interrupts([&] {
    stats = task::keyboard_stats();
    consumed = scancodes_consumed;
    queued = task::scancode_queue().size();
  });
  const bool accounted = stats.received == consumed + queued + stats.dropped + stats.to_terminal;
  println("keyboard: {} bytes received = {} consumed + {} queued + {} dropped (queue of {}) + {} "
          "typed into programs: {}",
          stats.received, consumed, queued, stats.dropped, task::kScancodeQueueCapacity,
          stats.to_terminal, accounted ? "all accounted for" : "MISMATCH");
}

// Allocates `count` blocks of pseudo-random sizes (8..4096, log-uniform), fills each with a
// pattern, checks every pattern, frees everything, and reports. A small heap stress test.
// Ctrl+C stops the allocating; what was allocated is still checked and freed.
void alloc(std::uint64_t count) {
  struct Block {
    std::uint8_t* data;
    std::uint32_t size;
  };
  constexpr std::uint64_t kMaxBlocks = 4096;
  if (count == 0 || count > kMaxBlocks) {
    println("alloc: N must be 1..{}", kMaxBlocks);
    return;
  }
  auto* blocks = static_cast<Block*>(mm::heap_allocate(sizeof(Block) * count, alignof(Block)));
  if (blocks == nullptr) {
    println("alloc: out of memory for the block table");
    return;
  }
  std::uint64_t random = 0x9E3779B97F4A7C15 ^ arch::read_tsc();
  const std::uint64_t start = time::now_ns();
  std::uint64_t tried = 0, bytes = 0, allocated = 0, bad = 0;
  for (; tried < count && !cancel().cancelled(); ++tried) {
    random ^= random << 13, random ^= random >> 7, random ^= random << 17;  // xorshift64
    const std::uint32_t base = 8u << (random % 9);                          // 8..2048
    const std::uint32_t size = base + static_cast<std::uint32_t>((random >> 8) % base);  // ..4095
    auto* data = static_cast<std::uint8_t*>(mm::heap_allocate(size, 8));
    blocks[tried] = {data, size};
    if (data == nullptr) continue;
    ++allocated;
    bytes += size;
    for (std::uint32_t b = 0; b < size; ++b) data[b] = static_cast<std::uint8_t>(tried + b);
  }
  for (std::uint64_t i = 0; i < tried; ++i) {
    if (blocks[i].data == nullptr) continue;
    for (std::uint32_t b = 0; b < blocks[i].size; ++b) {
      if (blocks[i].data[b] != static_cast<std::uint8_t>(i + b)) {
        ++bad;
        break;
      }
    }
    mm::heap_deallocate(blocks[i].data, blocks[i].size, 8);
  }
  mm::heap_deallocate(blocks, sizeof(Block) * count, alignof(Block));
  const std::uint64_t ms = (time::now_ns() - start) / 1'000'000;
  if (tried < count) println("^C\nalloc: cancelled after {} of {} blocks; all freed", tried, count);
  println("alloc: {} of {} blocks, {} KiB, {} corrupted, {} ms ({})", allocated, tried,
          bytes / 1024, bad, ms, bad == 0 && allocated == tried ? "ok" : "FAILED");
}

// ---- Chapter 13: kernel threads. Each command is one function, easy to move into a table. ----

void threads_command() {
  std::array<sched::ThreadInfo, sched::kMaxThreads> info{};
  const std::size_t count = sched::snapshot(info);
  println("  ID NAME                    STATE    PRIO     CPU ms  STACK used/size");
  for (std::size_t i = 0; i < count; ++i) {
    const sched::ThreadInfo& t = info[i];
    std::size_t length = 0;
    while (length < sched::kThreadNameLength && t.name[length] != '\0') ++length;
    println("{:>4} {:<23} {:<8} {:<6} {:>8}  {}/{}", t.id, std::string_view(t.name, length),
            sched::to_string(t.state), sched::to_string(t.priority), t.cpu.total_ns() / 1'000'000,
            t.stack_used, t.stack_size);
  }
  println("{} threads, {} context switches", count, sched::context_switches());
}

void spin(std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    auto thread = sched::spawn("spin", [](void*) -> std::int64_t {
      volatile std::uint64_t spins = 0;
      for (;;) spins = spins + 1;  // never yields, never blocks: only preemption stops it
    }, nullptr);
    if (!thread) {
      println("spin: {}", sched::to_string(thread.error()));
      return;
    }
    sched::detach(**thread);
    println("spin: started thread {}", (*thread)->id);
  }
}

void kill_thread(std::uint64_t id) {
  switch (sched::kill(static_cast<sched::ThreadId>(id))) {
    case sched::KillResult::killed: println("kill: thread {} ended", id); break;
    case sched::KillResult::pending: println("kill: thread {} ends when it next runs", id); break;
    case sched::KillResult::no_such_thread: println("kill: no thread {}", id); break;
    case sched::KillResult::refused: println("kill: thread {} cannot be killed", id); break;
  }
}

}  // namespace

void shutdown() {
  println("shutting down");
  pc::power_off(acpi::machine_s5_control());
  println("shutdown: no ACPI power-off device answered; halting");
  arch::halt_forever();
}

namespace {

// Not a coroutine: a panic names the function it was called in, and a coroutine's name is its
// compiler-generated frame function.
[[noreturn]] void panic_on_request() {
  panic("panic requested from the shell");
}

void reboot() {
  println("rebooting");
  pc::ps2::reboot();
}

void clear() {
  console::Locked().clear();
}

// ---------------------------------------------------------------------------------------------
// The handlers. Coroutines all, so that one signature fits the commands that wait (sleep).

void help();  // reads the table below

// A command without arguments that does not wait: a plain function.
template <void (*command)()>
task::Task<Outcome> run_plain(Arguments) {
  command();
  co_return Outcome::done;
}

task::Task<Outcome> run_echo(Arguments arguments) {
  println("{}", arguments.text);
  co_return Outcome::done;
}

task::Task<Outcome> run_ls(Arguments arguments) {
  list(arguments.words.empty() ? std::string_view("/") : arguments.words[0]);
  co_return Outcome::done;
}

// A command that takes one number and does not wait: a plain function of it.
template <void (*command)(std::uint64_t)>
task::Task<Outcome> run_with_number(Arguments arguments) {
  const std::optional<std::uint64_t> n = parse_number(arguments.words[0]);
  if (!n) co_return Outcome::bad_arguments;
  command(*n);
  co_return Outcome::done;
}

task::Task<Outcome> run_sleep(Arguments arguments) {
  const std::optional<std::uint64_t> ms = parse_number(arguments.words[0]);
  if (!ms) co_return Outcome::bad_arguments;
  const std::uint64_t before = time::now_ns();
  // More than 64 bits of nanoseconds (584 years) sleeps until the end of time; Ctrl+C ends it.
  auto sleep = task::sleep_ms(*ms);
  const std::optional<std::uint64_t> woke = co_await cancel().unless_cancelled(sleep);
  const std::uint64_t slept_us = (time::now_ns() - before) / 1000;
  if (!woke) {
    println("^C\nsleep: cancelled after {} of {} ms", fmt::Thousandths{slept_us}, *ms);
  } else {
    println("slept {} ms: {} ms elapsed", *ms, fmt::Thousandths{slept_us});
  }
  co_return Outcome::done;
}

// Cooperative multitasking's weak spot: a task that does not yield starves the others (here the
// executor's own tasks; other threads still get the CPU by preemption). Interrupts still run, so
// typed keys land in the scancode queue until it is full, and Ctrl+C, which the keyboard
// interrupt recognises itself, ends the spinning.
task::Task<Outcome> run_busy(Arguments arguments) {
  const std::optional<std::uint64_t> ms = parse_number(arguments.words[0]);
  if (!ms) co_return Outcome::bad_arguments;
  const std::uint64_t start = time::now_ns();
  std::uint64_t end = 0;  // saturates: `busy 18446744073709` must not wrap to "already over"
  if (__builtin_add_overflow(start, task::ms_to_ns(*ms).value_or(~std::uint64_t{0}), &end)) {
    end = ~std::uint64_t{0};
  }
  while (time::now_ns() < end && !cancel().cancelled()) arch::halt();
  if (cancel().cancelled()) {
    println("^C\nbusy: cancelled after {} ms", (time::now_ns() - start) / 1'000'000);
  } else {
    println("busy for {} ms", *ms);
  }
  co_return Outcome::done;
}


task::Task<Outcome> run_fault(Arguments arguments) {
  if (arguments.words.empty()) {
    println("reading unmapped address 0xdeadbeef000...");
    (void)*reinterpret_cast<volatile std::uint64_t*>(0xdeadbeef000);
  } else if (arguments.words[0] == "bp") {
    arch::breakpoint();
    println("back from the breakpoint handler");
  } else {
    co_return Outcome::bad_arguments;
  }
  co_return Outcome::done;
}

// The end of `run` and `sh`: the program's slot goes back, and its wait status is told the way
// a shell would ("exit status N", or the signal that ended it).
void release_and_report(proc::Process& process, std::int32_t status) {
  proc::release(process);
  if (proc::exited_normally(status)) {
    println("exit status {}", proc::exit_code_of(status));
  } else {
    println("killed by {}", proc::signal_name(proc::signal_of(status)));
  }
}

// Chapter 14: a program from the initramfs as a process; the shell task waits for its thread to
// end without blocking the executor (task::thread_exit), then reports how it ended. Ctrl+C sends
// the program SIGINT; a second Ctrl+C sends SIGKILL, for a program that catches or ignores the
// first — without it such a program kept the kernel shell, and with it the only console, for good.
task::Task<Outcome> run_program(Arguments arguments) {
  const std::string_view path = arguments.words[0];
  const auto process = proc::spawn(path, arguments.words);
  if (!process) {
    println("run: {}: {} ({})", path, process.error().reason, abi::name(process.error().error));
    co_return Outcome::done;
  }
  sched::Thread& thread = *(*process)->thread;
  std::int32_t status = 0;
  task::ThreadExit ended(thread);
  if (const std::optional<std::int64_t> value = co_await cancel().unless_cancelled(ended)) {
    status = static_cast<std::int32_t>(*value);
  } else {  // Ctrl+C: SIGINT for the program (chapter 15), as a terminal's ISIG sends it; a
            // program that catches or ignores it carries on, and `run` waits for it still
    println("^C");
    proc::send_signal(**process, proc::kSigInt, proc::kRaisedByKernel);
    cancel().arm();  // the next Ctrl+C is a request again
    task::ThreadExit still_running(thread);
    if (const std::optional<std::int64_t> value = co_await cancel().unless_cancelled(still_running)) {
      status = static_cast<std::int32_t>(*value);
    } else {  // SIGKILL cannot be caught, ignored or blocked
      println("^C");
      proc::send_signal(**process, proc::kSigKill, proc::kRaisedByKernel);
      status = static_cast<std::int32_t>(co_await task::thread_exit(thread));
    }
  }
  release_and_report(**process, status);
  co_return Outcome::done;
}

// Chapter 15: `sh` starts busybox's shell on the console and waits for it; back to `ferrite> `
// when it exits. Ctrl+C is the terminal's, as under init=/bin/sh: the shell's command is not
// cancellable, so the key reaches the console terminal, whose ISIG sends SIGINT to its
// foreground process group (tty/console.cpp) — the job busybox put there, or the shell itself.
task::Task<Outcome> run_sh(Arguments arguments) {
  std::string_view words[8] = {"/bin/sh"};
  std::size_t count = 1;
  for (std::string_view word : arguments.words) {
    if (count < 8) words[count++] = word;
  }
  const auto process = proc::spawn("/bin/sh", std::span<const std::string_view>(words, count));
  if (!process) {
    println("sh: {} ({})", process.error().reason, abi::name(process.error().error));
    co_return Outcome::done;
  }
  sched::Thread& thread = *(*process)->thread;
  (void)cancel().disarm();  // the keyboard interrupt's Ctrl+C watcher lets the key through
  const auto status = static_cast<std::int32_t>(co_await task::thread_exit(thread));
  cancel().arm();           // as the command loop expects to find it
  release_and_report(**process, status);
  co_return Outcome::done;
}

// Chapter 15: the process table — PID, parent, group, state (R running or sleeping, T stopped
// by job control, Z zombie), the memory its address space maps, the CPU time it has used (user
// plus system, as ps's TIME; getrusage's numbers: proc::resource_usage), and its name.
void ps() {
  static proc::ProcessInfo infos[proc::kMaxProcesses];
  const std::size_t count = proc::snapshot(infos);
  println("  PID  PPID  PGID S      MEM     TIME NAME");
  for (std::size_t i = 0; i < count; ++i) {
    const proc::ProcessInfo& info = infos[i];
    std::size_t length = 0;
    while (length < proc::kProcessNameLength && info.name[length] != '\0') ++length;
    const std::uint64_t centiseconds = info.cpu.total_ns() / 10'000'000;
    println("{:>5} {:>5} {:>5} {} {:>7}K {:>2}:{:02}.{:02} {}", info.pid, info.parent, info.pgid,
            info.zombie ? 'Z' : (info.stopped ? 'T' : 'R'), info.frames * 4,
            centiseconds / 6000, centiseconds / 100 % 60, centiseconds % 100,
            std::string_view(info.name, length));
  }
}

// Chapter 15: SIGKILL to every process, what Linux's SysRq+i does ("kill all tasks"). The way
// out when processes outlive the shell that started them and hold on: a fork bomb left running
// in the background fills the process table, and then `sh` cannot start to kill it. (While a
// program holds the keyboard, Alt+SysRq+I does the same: tty/console.cpp.)
void killall() {
  const std::size_t count = proc::kill_all();
  println("killall: SIGKILL sent to {} process{}", count, count == 1 ? "" : "es");
}

constexpr Command kCommands[] = {
    {"help", "help", "this list", run_plain<help>},
    {"clear", "clear", "clear the screen (also Ctrl+L)", run_plain<clear>},
    {"echo", "echo [TEXT...]", "print TEXT", run_echo},
    {"uptime", "uptime", "time since boot", run_plain<uptime>},
    {"mem", "mem", "physical frames and heap use", run_plain<mem>},
    {"tasks", "tasks", "executor statistics", run_plain<tasks>},
    {"acpi", "acpi", "the firmware's ACPI tables and what they say", run_plain<acpi_tables>},
    {"keys", "keys", "keyboard bytes received and dropped", run_plain<keys>},
    {"dmesg", "dmesg", "the kernel log (boot messages, warnings), with timestamps",
     run_plain<console::show_log>},
    {"alloc", "alloc N", "allocate, check and free N blocks of 8..4096 bytes", run_with_number<alloc>},
    {"sleep", "sleep MS", "sleep MS milliseconds (other tasks keep running)", run_sleep},
    {"busy", "busy MS", "spin MS milliseconds without yielding (keys pile up, may drop)", run_busy},
    {"ls", "ls [PATH]", "list a directory of the initramfs (default /)", run_ls},
    {"programs", "programs", "the programs in /bin and what their ELF headers say", run_plain<programs>},
    {"run", "run PATH [ARGS...]", "run a program from the initramfs and wait for it (Ctrl+C kills it)", run_program},
    {"sh", "sh [ARGS...]", "start /bin/sh (busybox) on the console and wait for it", run_sh},
    {"ps", "ps", "processes: PID, parent, group, state, memory, CPU time, name", run_plain<ps>},
    {"killall", "killall", "send SIGKILL to every process (Linux's SysRq+i)", run_plain<killall>},
    {"threads", "threads", "kernel threads: state, priority, CPU time, stack use", run_plain<threads_command>},
    {"spin", "spin N", "start N threads that busy-loop forever (preempted)", run_with_number<spin>},
    {"kill", "kill ID", "end thread ID", run_with_number<kill_thread>},
    {"fault", "fault [bp]", "a page fault (halts), or `fault bp`: a breakpoint (returns)",
     run_fault},
    {"panic", "panic", "a kernel panic", run_plain<panic_on_request>},
    {"reboot", "reboot", "reset through the keyboard controller", run_plain<reboot>},
    {"shutdown", "shutdown", "power off through ACPI (S5)", run_plain<shutdown>},
};

constexpr bool usages_start_with_names() {
  for (const Command& command : kCommands) {
    if (command.usage.substr(0, command.name.size()) != command.name) return false;
    if (command.usage.size() > command.name.size() && command.usage[command.name.size()] != ' ')
      return false;
  }
  return true;
}
static_assert(usages_start_with_names(), "each usage line begins with its command's name");

void help() {
  println("commands:");
  for (const Command& command : kCommands) println("  {:<16}{}", command.usage, command.help);
  println("keys: Left/Right/Home/End move, Up/Down history, Ctrl+C drops the line or stops a");
  println("      command, Ctrl+L clears the screen");
}

// Runs one command line: finds the command, checks the number of arguments against its usage,
// and runs the handler with Ctrl+C armed to cancel it.
task::Task<void> execute(std::string_view line) {
  std::array<std::string_view, 8> words;
  const std::size_t count = split_words(line, words);
  if (count == 0) co_return;
  const Command* command = nullptr;
  for (const Command& candidate : kCommands) {
    if (candidate.name == words[0]) command = &candidate;
  }
  if (command == nullptr) {
    println("{}: unknown command (try help)", words[0]);
    co_return;
  }
  const Arity arity = arity_of(command->usage);
  if (count - 1 < arity.min || count - 1 > arity.max) {
    println("usage: {}", command->usage);
    co_return;
  }
  std::string_view text =
      line.substr(static_cast<std::size_t>(words[0].data() - line.data()) + words[0].size());
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  cancel().arm();
  const std::expected<Outcome, task::TaskError> outcome =
      co_await command->handler({std::span(words).subspan(1, count - 1), text}).checked();
  cancel().disarm();
  if (!outcome) {
    println("{}: {}", command->name, task::to_string(outcome.error()));
  } else if (*outcome == Outcome::bad_arguments) {
    println("usage: {}", command->usage);
  }
}

// Redraws the input line on the screen, with the cursor cell highlighted (or none).
void show_line(std::string_view text, std::optional<std::size_t> cursor) {
  char line[kPrompt.size() + LineEditor::kMaxLine * 4 + 1];
  const std::size_t length = fmt::format_to_buffer(line, "{}{}", kPrompt, text);
  console::Locked().show_input_line(
      {line, std::min(length, sizeof(line) - 1)},
      cursor ? std::optional(kPrompt.size() + *cursor) : std::nullopt);
}

void show_line(const LineEditor& editor) { show_line(editor.text(), editor.cursor()); }

}  // namespace

task::Task<void> run(const drivers::keyboard::Layout& layout) {
  drivers::keyboard::Keyboard keyboard(layout);
  LineEditor editor;
  task::watch_for_ctrl_c(layout);
  println("type `help` for commands");
  print("{}", kPrompt);
  show_line(editor);
  for (;;) {
    const std::uint8_t scancode = co_await task::scancode_queue().next();
    const std::uint64_t index = scancodes_consumed++;
    const std::optional<drivers::keyboard::KeyEvent> event = keyboard.feed(scancode);
    if (!event) continue;
    // The Ctrl+C that stopped a command has done its job; it does not also drop the next line.
    if (event->pressed && event->character == drivers::keyboard::kCtrlC &&
        task::cancelled_a_command(index))
      continue;
    switch (editor.feed(*event)) {
      case LineEditor::Action::none:
      case LineEditor::Action::full: break;
      case LineEditor::Action::redraw: show_line(editor); break;
      case LineEditor::Action::cancel:
        println("^C");
        print("{}", kPrompt);
        show_line(editor);
        break;
      case LineEditor::Action::clear_screen:  // the screen only: serial has the prompt already
        console::Locked().clear();
        show_line(editor);
        break;
      case LineEditor::Action::submit: {
        show_line(editor.submitted(), std::nullopt);  // the line stays, without the cursor
        console::write_serial(editor.submitted());
        println();
        if (auto ran = co_await execute(editor.submitted()).checked(); !ran) {
          println("{}", task::to_string(ran.error()));
        }
        print("{}", kPrompt);
        show_line(editor);
        break;
      }
    }
  }
}

}  // namespace ferrite::shell
