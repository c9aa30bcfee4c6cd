// print / println (chapter 3): type-safe formatting onto the console and serial port.
//   println("{} frames free, heap at {:#x}", count, address);
// The format string is checked at compile time against the arguments (lib/format.h).
// From task context the text goes straight to the console; from an interrupt handler it becomes
// a log record that the console shows a moment later (console::Printer): printing never waits.
// Kernel messages that should be kept for `dmesg` and filtered by level use lib/log.h instead.
#pragma once

#include <type_traits>

#include "console/console.h"
#include "lib/format.h"

namespace ferrite {

template <class... Args>
void print(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
  console::Printer out;
  fmt::format_to(out, format, args...);
}

template <class... Args>
void println(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
  console::Printer out;
  fmt::format_to(out, format, args...);
  out.write("\n");
}

inline void println() { console::write("\n"); }

// Prints in a colour, then restores the previous one.
template <class... Args>
void println_colored(console::ColorCode color, fmt::FormatString<std::type_identity_t<Args>...> format,
                     const Args&... args) {
  console::Printer out;
  const console::ColorCode previous = out.color();
  out.set_color(color);
  fmt::format_to(out, format, args...);
  out.set_color(previous);
  out.write("\n");
}

// Serial only, not on the screen: machine-readable lines for the tools that read the log.
template <class... Args>
void serial_println(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
  char line[256];
  const std::size_t length = fmt::format_to_buffer(line, format, args...);
  const std::size_t stored = length < sizeof(line) - 1 ? length : sizeof(line) - 2;
  line[stored] = '\n';
  console::write_serial({line, stored + 1});
}

}  // namespace ferrite
