// The console as a terminal end to end (chapter 14), before any program runs: this image opens
// /dev/console as a program would (fs::open, so the keyboard is diverted to the terminal), then
// reads line after line — blocking its thread on the terminal's wait queue — and prints each on
// serial. Keys come from QEMU's QMP send-key through the emulated 8042 and IRQ 1, and are edited
// by the line discipline (Backspace, Ctrl+U) and echoed through the VT100 terminal. Ctrl+D on an
// empty line reads as end of file and ends the run; closing the file gives the keyboard back.
#include <string_view>

#include "boot/start.h"
#include "console/console.h"
#include "console/print.h"
#include "drivers/keyboard/layout.h"
#include "fs/file.h"
#include "init.h"
#include "platform/pc/qemu_exit.h"
#include "task/kernel_runtime.h"
#include "tty/console.h"

namespace {

using ferrite::println;
using ferrite::serial_println;

// The line as C would print it with %q-style escapes, so serial shows the newline.
void report(std::string_view line) {
  char shown[256];
  std::size_t length = 0;
  for (char c : line) {
    if (length + 2 >= sizeof(shown)) break;
    if (c == '\n') {
      shown[length++] = '\\';
      shown[length++] = 'n';
    } else {
      shown[length++] = c;
    }
  }
  serial_println("tty_console: line \"{}\"", std::string_view(shown, length));
}

}  // namespace

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  namespace fs = ferrite::fs;
  ferrite::init(boot_info);
  ferrite::task::init_runtime();
  ferrite::tty::init_console(ferrite::drivers::keyboard::kUsLayout);

  // A /dev/console node of our own: this image boots without an initramfs.
  fs::Node console_node;
  console_node.type = fs::NodeType::char_device;
  console_node.device = fs::Device::console;
  auto file = fs::open(&console_node, ferrite::abi::kOpenReadWrite);
  if (!file) {
    println("tty_console: open failed: {}", ferrite::abi::name(file.error()));
    ferrite::pc::exit_qemu(ferrite::pc::QemuExitCode::failure);
  }
  const char prompt[] = "tty_console: ready\n";
  (void)fs::write(**file, std::as_bytes(std::span(prompt, sizeof(prompt) - 1)));

  int lines = 0;
  for (;;) {
    std::byte buffer[128];
    const auto got = fs::read(**file, buffer);
    if (!got) {
      println("tty_console: read failed: {}", ferrite::abi::name(got.error()));
      ferrite::pc::exit_qemu(ferrite::pc::QemuExitCode::failure);
    }
    if (*got == 0) break;  // Ctrl+D on an empty line
    report({reinterpret_cast<const char*>(buffer), *got});
    ++lines;
  }
  fs::release(*file);
  serial_println("tty_console: end of file after {} lines [ok]", lines);
  ferrite::pc::exit_qemu(ferrite::pc::QemuExitCode::success);
}
