// The keyboard end to end (chapter 7): keys typed through QEMU's monitor travel through the
// emulated 8042 as real scancodes; the IRQ 1 handler only pushes each byte into a lock-free ring;
// this image's main loop pops, decodes (drivers/keyboard) and prints every event on serial:
//
//   key: A pressed char 'A'      key: ArrowLeft pressed      key: A released
//
// Command line: layout=us|uk|de; expect_keys=N (a burst test: compare N typed keys with what
// arrived); consumer_delay_ms=N (a deliberately slow main loop, so the ring overflows and the
// drops can be seen being counted); quiet (summary only). Escape, or 2 s without a key after the
// first one, ends the run with a summary; it exits with success if every byte the IRQ handler
// read was decoded or counted as dropped, and, when nothing was dropped, all expected keys came.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

#include "time/clock.h"
#include "arch/x86_64/cpu.h"
#include "platform/pc/pit.h"
#include "platform/pc/ps2.h"
#include "platform/pc/qemu_exit.h"
#include "boot/command_line.h"
#include "boot/start.h"
#include "console/print.h"
#include "drivers/keyboard/keyboard.h"
#include "drivers/keyboard/layout.h"
#include "init.h"
#include "task/spsc_ring.h"

namespace {

namespace arch = ferrite::arch;
namespace pc = ferrite::pc;
namespace keyboard = ferrite::drivers::keyboard;
using ferrite::println;

// Small on purpose: the slow-consumer run must be able to fill it.
constexpr std::size_t kRingCapacity = 64;
constexpr std::uint64_t kIdleMs = 2000;

constinit ferrite::task::SpscRing<std::uint8_t, kRingCapacity> scancodes;
constinit std::atomic<std::uint64_t> ring_drops{0};

// Interrupt context: one push, never a lock, never a wait.
void on_scancode(std::uint8_t byte) {
  if (!scancodes.try_push(byte)) ring_drops.fetch_add(1, std::memory_order_relaxed);
}

void print_event(const keyboard::KeyEvent& event) {
  const std::string_view key = keyboard::to_string(event.key);
  if (!event.pressed) {
    println("key: {} released", key);
  } else if (event.character >= U' ' && event.character < 0x7F) {
    println("key: {} pressed char '{}'", key, static_cast<char>(event.character));
  } else if (event.character != 0) {
    println("key: {} pressed char U+{:04X}", key, static_cast<std::uint32_t>(event.character));
  } else {
    println("key: {} pressed", key);
  }
}

// Sleeps until the next interrupt unless a byte is already waiting. Interrupts are off between
// the check and the `sti; hlt`, so a byte that arrives in between still wakes the hlt.
void wait_for_interrupt_unless_bytes_waiting() {
  arch::disable_interrupts();
  if (scancodes.empty()) {
    arch::enable_interrupts_and_halt();
  } else {
    arch::enable_interrupts();
  }
}

std::uint64_t uptime_ms() { return ferrite::time::now_ns() / 1'000'000; }

void sleep_ms(std::uint64_t ms) {
  const std::uint64_t end = uptime_ms() + ms;
  while (uptime_ms() < end) arch::halt();
}

// A line of text as the keys type it: printable characters append, Backspace removes one.
struct TypedText {
  char text[128] = {};
  std::size_t length = 0;

  void apply(const keyboard::KeyEvent& event) {
    if (!event.pressed) return;
    if (event.key == keyboard::KeyCode::Backspace) {
      if (length > 0) --length;
    } else if (event.character >= U' ' && event.character < 0x7F && length < sizeof(text)) {
      text[length++] = static_cast<char>(event.character);
    }
  }
  std::string_view view() const { return {text, length}; }
};

}  // namespace

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  ferrite::init(boot_info);
  const ferrite::boot::CommandLine command_line(boot_info.command_line());

  const std::string_view layout_name = command_line.get("layout").value_or("us");
  const keyboard::Layout* layout = keyboard::layout_by_name(layout_name);
  if (layout == nullptr) {
    println("keyboard_echo: unknown layout \"{}\"; known layouts:", layout_name);
    for (const keyboard::Layout* known : keyboard::all_layouts()) println("  {}", known->name);
    pc::exit_qemu(pc::QemuExitCode::failure);
  }
  const std::uint64_t expected_keys =
      ferrite::boot::parse_size(command_line.get("expect_keys").value_or("0")).value_or(0);
  const std::uint64_t consumer_delay_ms =
      ferrite::boot::parse_size(command_line.get("consumer_delay_ms").value_or("0")).value_or(0);
  const bool quiet = command_line.has("quiet");

  keyboard::Keyboard decoder(*layout);
  TypedText line;
  std::uint64_t bytes_decoded = 0, presses = 0, releases = 0;
  pc::ps2::set_keyboard_consumer(on_scancode);
  println("keyboard_echo: ready, layout {} ({})", layout->name, layout->description);

  std::uint64_t last_received = pc::ps2::bytes_received();
  std::uint64_t last_activity_ms = uptime_ms();
  bool escape = false;
  while (!escape) {
    if (const std::optional<std::uint8_t> byte = scancodes.try_pop()) {
      ++bytes_decoded;
      if (const std::optional<keyboard::KeyEvent> event = decoder.feed(*byte)) {
        if (!quiet) print_event(*event);
        line.apply(*event);
        (event->pressed ? presses : releases) += 1;
        if (event->pressed && event->key == keyboard::KeyCode::Enter) {
          println("text: \"{}\"", line.view());
          line = {};
        }
        escape = event->pressed && event->key == keyboard::KeyCode::Escape;
      }
      if (consumer_delay_ms != 0) sleep_ms(consumer_delay_ms);
      continue;
    }
    if (const std::uint64_t received = pc::ps2::bytes_received(); received != last_received) {
      last_received = received;
      last_activity_ms = uptime_ms();
    }
    if (last_received != 0 && uptime_ms() - last_activity_ms >= kIdleMs) break;
    wait_for_interrupt_unless_bytes_waiting();
  }

  const std::uint64_t received = pc::ps2::bytes_received();
  const std::uint64_t dropped = ring_drops.load();
  println("keyboard_echo: {} bytes from IRQ 1, {} decoded, {} dropped (the {}-byte ring was full)",
          received, bytes_decoded, dropped, kRingCapacity);
  println("keyboard_echo: {} key presses, {} releases decoded", presses, releases);
  bool ok = received == bytes_decoded + dropped;  // every byte decoded or counted
  if (expected_keys != 0) {
    // Each typed key is one make and one break code (no E0 keys in a burst).
    const std::uint64_t lost = presses < expected_keys ? expected_keys - presses : 0;
    println("keyboard_echo: typed {} keys, {} bytes expected, decoded {} presses, lost {}",
            expected_keys, 2 * expected_keys, presses, lost);
    ok &= received == 2 * expected_keys;  // nothing lost before our ring
    if (dropped == 0) ok &= presses == expected_keys;
  }
  println("keyboard_echo: {}", ok ? "[ok]" : "[failed]");
  pc::exit_qemu(ok ? pc::QemuExitCode::success : pc::QemuExitCode::failure);
}
