// print / println (chapter 3): type-safe formatting onto the console and serial port.
//   println("{} frames free, heap at {:#x}", count, address);
// The format string is checked at compile time against the arguments (lib/format.h).
#pragma once

#include <type_traits>

#include "console/console.h"
#include "lib/format.h"

namespace ferrite {

template <class... Args>
void print(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
  console::Locked console;
  fmt::format_to(console, format, args...);
}

template <class... Args>
void println(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
  console::Locked console;
  fmt::format_to(console, format, args...);
  console.write("\n");
}

inline void println() { console::write("\n"); }

// Prints in a colour, then restores the previous one.
template <class... Args>
void println_colored(console::ColorCode color, fmt::FormatString<std::type_identity_t<Args>...> format,
                     const Args&... args) {
  console::Locked console;
  const console::ColorCode previous = console.color();
  console.set_color(color);
  fmt::format_to(console, format, args...);
  console.set_color(previous);
  console.write("\n");
}

// Serial only, not on the screen: machine-readable lines for the tools that read the log.
template <class... Args>
void serial_println(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
  struct SerialSink final : fmt::Sink {
    void write(std::string_view text) override { console::write_serial(text); }
  } sink;
  fmt::format_to(sink, format, args...);
  console::write_serial("\n");
}

}  // namespace ferrite
