// Kernel-only: lets test images decide what a panic means (for a should-panic test it is
// success). The hook runs after the panic message is printed; if it returns, the CPU halts.
#pragma once

#include <source_location>
#include <string_view>

namespace ferrite {

using PanicHook = void (*)(std::source_location where, std::string_view message);
void set_panic_hook(PanicHook hook);

}  // namespace ferrite
