// The one way to stop on a broken invariant: a message, the file and line, then halt.
// Portable: the kernel's panic prints in red on the console and on serial (lib/panic.cpp);
// host tests get a version that prints to stderr and aborts (tests/host/support/host_panic.cpp),
// so a panic is observable with a GoogleTest death test.
#pragma once

#include <source_location>
#include <string_view>

#include "lib/format.h"

namespace ferrite {

// Implemented once per platform. Never returns.
[[noreturn]] void panic_at(std::source_location where, std::string_view message);

[[noreturn]] inline void panic(std::string_view message,
                               std::source_location where = std::source_location::current()) {
  panic_at(where, message);
}

// A panic format string plus the place it was written. The location is a default argument of the
// constructor, so it is the caller's line even though panic itself is a variadic template.
template <class... Args>
struct PanicFormat {
  template <class Text>
  requires std::convertible_to<const Text&, std::string_view>
  consteval PanicFormat(const Text& text,  // NOLINT: implicit on purpose
                        std::source_location where = std::source_location::current())
      : format(text), where(where) {}

  fmt::FormatString<Args...> format;
  std::source_location where;
};

// panic("frame {:#x} is mapped twice", frame): formatted on the stack, no heap needed. A message
// longer than the buffer ends in "...". A call with no arguments picks the plain panic above.
template <class... Args>
[[noreturn]] void panic(PanicFormat<std::type_identity_t<Args>...> format, const Args&... args) {
  char message[256];
  const std::size_t length = fmt::format_to_buffer(message, format.format, args...);
  std::size_t stored = length < sizeof(message) ? length : sizeof(message) - 1;
  if (stored < length) {
    for (std::size_t i = stored - 3; i < stored; ++i) message[i] = '.';
  }
  panic_at(format.where, std::string_view(message, stored));
}

}  // namespace ferrite

// An assertion that stays on in release builds: kernels cannot afford silent corruption.
// A macro only because it needs the condition's source text.
#define FERRITE_ASSERT(condition)                                                        \
  ((condition) ? static_cast<void>(0)                                                    \
               : ::ferrite::panic_at(std::source_location::current(),                    \
                                     "assertion failed: " #condition))
