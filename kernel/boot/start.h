// What the boot code hands to the rest of the kernel.
#pragma once

#include "boot/boot_info.h"

namespace ferrite::boot {
// The parsed boot information (valid from kernel_main on).
const BootInfo& info();
}  // namespace ferrite::boot

// Each kernel image (the kernel users run, each test image) defines its own kernel_main. It is
// called with the console up (serial + screen) but nothing else initialised: it calls
// ferrite::init() (kernel/init.h) when it wants interrupts, memory management and the rest.
[[noreturn]] void kernel_main(const ferrite::boot::BootInfo& boot_info);
