// The shell task and its commands.
#include "shell/shell.h"

#include <cstdint>
#include <span>
#include <string_view>

#include "arch/x86_64/cpu.h"
#include "platform/pc/pit.h"
#include "platform/pc/ps2.h"
#include "console/print.h"
#include "drivers/keyboard/keyboard.h"
#include "mm/heap.h"
#include "mm/memory.h"
#include "shell/line_editor.h"
#include "task/kernel_runtime.h"

namespace ferrite::shell {

namespace {

constexpr std::string_view kPrompt = "ferrite> ";

// Scancodes this task took from the queue (for `keys`: every byte is consumed, queued or dropped).
constinit std::uint64_t scancodes_consumed = 0;

std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

void help() {
  println("commands:");
  println("  help            this list");
  println("  clear           clear the screen (also Ctrl+L)");
  println("  echo TEXT       print TEXT");
  println("  uptime          time since boot");
  println("  mem             physical frames and heap use");
  println("  tasks           executor statistics");
  println("  keys            keyboard bytes received and dropped");
  println("  alloc N         allocate, check and free N blocks of 8..4096 bytes");
  println("  sleep MS        sleep MS milliseconds (other tasks keep running)");
  println("  busy MS         spin MS milliseconds without yielding (keys pile up, may drop)");
  println("  fault [bp]      a page fault (halts), or `fault bp`: a breakpoint (returns)");
  println("  panic           a kernel panic");
  println("  reboot          reset through the keyboard controller");
  println("  shutdown        power off (QEMU's ACPI)");
  println("keys: Left/Right/Home/End move, Up/Down history, Ctrl+C drops the line");
}

void uptime() {
  const std::uint64_t ms = pc::pit::uptime_ms();
  println("uptime: {}.{:03} s ({} ticks at {} Hz)", ms / 1000, ms % 1000, pc::pit::ticks(),
          pc::pit::frequency_hz());
}

void mem() {
  const mm::FrameAllocator& frames = mm::frame_allocator();
  println("frames: {} total, {} used, {} free ({} MiB free)", frames.total_frames(), frames.used_frames(),
          frames.free_frames(), frames.free_frames() * 4096 >> 20);
  const mm::HeapStats heap = mm::heap_stats();
  println("heap ({}): {} KiB mapped of {} KiB max, {} bytes in {} allocations, {} bytes free, grew {} times",
          heap.allocator_name, heap.mapped_bytes / 1024, heap.max_bytes / 1024, heap.allocator.bytes_in_use,
          heap.allocator.allocation_count, heap.allocator.free_bytes, heap.grow_count);
}

void tasks() {
  const task::ExecutorStats stats = task::executor().stats();
  println("tasks: {} live, {} spawned, {} completed, {} polls", stats.live(), stats.spawned,
          stats.completed, stats.polls);
}

// Every byte IRQ 1 received was either consumed by this task, is still queued, or was dropped
// (and counted) because the queue was full. Read with interrupts off, so the counts agree.
void keys() {
  task::KeyboardStats stats;
  std::uint64_t consumed = 0, queued = 0;
  sync::without_interrupts([&] {
    stats = task::keyboard_stats();
    consumed = scancodes_consumed;
    queued = task::scancode_queue().size();
  });
  const bool accounted = stats.received == consumed + queued + stats.dropped;
  println("keyboard: {} bytes received = {} consumed + {} queued + {} dropped (queue of {}): {}",
          stats.received, consumed, queued, stats.dropped, task::kScancodeQueueCapacity,
          accounted ? "all accounted for" : "MISMATCH");
}

// Allocates `count` blocks of pseudo-random sizes (8..4096, log-uniform), fills each with a
// pattern, checks every pattern, frees everything, and reports. A small heap stress test.
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
  const std::uint64_t start = pc::pit::ticks();
  std::uint64_t bytes = 0, allocated = 0, bad = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    random ^= random << 13, random ^= random >> 7, random ^= random << 17;  // xorshift64
    const std::uint32_t base = 8u << (random % 9);                          // 8..2048
    const std::uint32_t size = base + static_cast<std::uint32_t>((random >> 8) % base);  // ..4095
    auto* data = static_cast<std::uint8_t*>(mm::heap_allocate(size, 8));
    blocks[i] = {data, size};
    if (data == nullptr) continue;
    ++allocated;
    bytes += size;
    for (std::uint32_t b = 0; b < size; ++b) data[b] = static_cast<std::uint8_t>(i + b);
  }
  for (std::uint64_t i = 0; i < count; ++i) {
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
  const std::uint64_t ms = (pc::pit::ticks() - start) * 1000 / pc::pit::frequency_hz();
  println("alloc: {} of {} blocks, {} KiB, {} corrupted, {} ms ({})", allocated, count, bytes / 1024, bad, ms,
          bad == 0 && allocated == count ? "ok" : "FAILED");
}

[[noreturn]] void shutdown() {
  println("shutting down");
  // QEMU's ACPI PM1a control register (i440fx and q35): SLP_EN with sleep type 0 = S5 (off);
  // then the port older QEMU and Bochs use. The machine stops a moment after the write, so give
  // it 100 timer ticks before concluding nobody answered.
  for (const std::uint16_t port : {std::uint16_t{0x604}, std::uint16_t{0xB004}}) {
    arch::outw(port, 0x2000);
    const std::uint64_t until = pc::pit::ticks() + 100;
    while (pc::pit::ticks() < until) arch::halt();
  }
  println("shutdown: no ACPI power-off device answered; halting");
  arch::halt_forever();
}

task::Task<void> execute(std::string_view line) {
  std::string_view words[4];
  const std::size_t count = split_words(line, words);
  if (count == 0) co_return;
  const std::string_view command = words[0];
  if (command == "help") {
    help();
  } else if (command == "clear") {
    console::Locked().clear();
  } else if (command == "echo") {
    const std::size_t start = line.find("echo") + 4;
    println("{}", line.substr(start < line.size() ? start + 1 : line.size()));
  } else if (command == "uptime") {
    uptime();
  } else if (command == "mem") {
    mem();
  } else if (command == "tasks") {
    tasks();
  } else if (command == "keys") {
    keys();
  } else if (command == "alloc") {
    if (auto n = count > 1 ? parse_number(words[1]) : std::nullopt) {
      alloc(*n);
    } else {
      println("usage: alloc N");
    }
  } else if (command == "sleep") {
    if (auto ms = count > 1 ? parse_number(words[1]) : std::nullopt) {
      const std::uint64_t before = pc::pit::ticks();
      const std::uint64_t woke = co_await task::sleep_ms(*ms);
      println("slept {} ms: {} ticks requested, {} elapsed", *ms, task::ms_to_ticks(*ms),
              woke - before);
    } else {
      println("usage: sleep MS");
    }
  } else if (command == "busy") {
    // Cooperative multitasking's weak spot: a task that does not yield starves the others.
    // Interrupts still run, so typed keys land in the scancode queue until it is full.
    if (auto ms = count > 1 ? parse_number(words[1]) : std::nullopt) {
      const std::uint64_t end = pc::pit::uptime_ms() + *ms;
      while (pc::pit::uptime_ms() < end) arch::halt();
      println("busy for {} ms", *ms);
    } else {
      println("usage: busy MS");
    }
  } else if (command == "fault") {
    if (count > 1 && words[1] == "bp") {
      arch::breakpoint();
      println("back from the breakpoint handler");
    } else {
      println("reading unmapped address 0xdeadbeef000...");
      (void)*reinterpret_cast<volatile std::uint64_t*>(0xdeadbeef000);
    }
  } else if (command == "panic") {
    panic("panic requested from the shell");
  } else if (command == "reboot") {
    println("rebooting");
    pc::ps2::reboot();
  } else if (command == "shutdown") {
    shutdown();
  } else {
    println("{}: unknown command (try help)", command);
  }
}

// Redraws the input line on the screen, with the cursor cell highlighted (or none).
void show_line(std::string_view text, std::optional<std::size_t> cursor) {
  char line[kPrompt.size() + LineEditor::kMaxLine * 4 + 1];
  const std::size_t length = fmt::format_to_buffer(line, "{}{}", kPrompt, text);
  console::Locked().show_input_line({line, std::min(length, sizeof(line) - 1)},
                                    cursor ? std::optional(kPrompt.size() + *cursor) : std::nullopt);
}

void show_line(const LineEditor& editor) { show_line(editor.text(), editor.cursor()); }

}  // namespace

task::Task<void> run(const drivers::keyboard::Layout& layout) {
  drivers::keyboard::Keyboard keyboard(layout);
  LineEditor editor;
  println("type `help` for commands");
  print("{}", kPrompt);
  show_line(editor);
  for (;;) {
    const std::uint8_t scancode = co_await task::scancode_queue().next();
    ++scancodes_consumed;
    const std::optional<drivers::keyboard::KeyEvent> event = keyboard.feed(scancode);
    if (!event) continue;
    switch (editor.feed(*event)) {
      case LineEditor::Action::none:
      case LineEditor::Action::full: break;
      case LineEditor::Action::redraw: show_line(editor); break;
      case LineEditor::Action::cancel:
        println("^C");
        print("{}", kPrompt);
        show_line(editor);
        break;
      case LineEditor::Action::clear_screen:
        console::Locked().clear();
        print("{}", kPrompt);
        show_line(editor);
        break;
      case LineEditor::Action::submit: {
        show_line(editor.submitted(), std::nullopt);  // the line stays, without the cursor
        console::write_serial(editor.submitted());
        println();
        co_await execute(editor.submitted());
        print("{}", kPrompt);
        show_line(editor);
        break;
      }
    }
  }
}

}  // namespace ferrite::shell
