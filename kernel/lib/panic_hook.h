// Kernel-only: lets test images decide what a panic means (for a should-panic test it is
// success). The hook runs after the panic message is shown; if it returns, the CPU halts.
#pragma once

#include <source_location>
#include <string_view>

namespace ferrite {

using PanicHook = void (*)(std::source_location where, std::string_view message);
void set_panic_hook(PanicHook hook);

// Runs after a nested panic (a panic while panicking) has printed its line, before the halt:
// lets a test image see that the nested path got there without waiting for anything.
using NestedPanicHook = void (*)();
void set_nested_panic_hook(NestedPanicHook hook);

}  // namespace ferrite
