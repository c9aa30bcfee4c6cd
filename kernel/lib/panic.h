// The one way to stop on a broken invariant: a message, the file and line, then halt.
// Portable: the kernel's panic prints in red on the console and on serial (console/panic.cpp);
// host tests get a version that prints to stderr and aborts (tests/host/support/host_panic.cpp),
// so a panic is observable with a GoogleTest death test.
#pragma once

#include <source_location>
#include <string_view>

namespace ferrite {

// Implemented once per platform. Never returns.
[[noreturn]] void panic_at(std::source_location where, std::string_view message);

[[noreturn]] inline void panic(std::string_view message,
                               std::source_location where = std::source_location::current()) {
  panic_at(where, message);
}

}  // namespace ferrite

// An assertion that stays on in release builds: kernels cannot afford silent corruption.
// A macro only because it needs the condition's source text.
#define FERRITE_ASSERT(condition)                                                        \
  ((condition) ? static_cast<void>(0)                                                    \
               : ::ferrite::panic_at(std::source_location::current(),                    \
                                     "assertion failed: " #condition))
