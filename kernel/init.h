// Bringing the machine up, in the order the chapters introduce it. Every kernel image calls
// init() from its kernel_main (the basic-boot test image deliberately does not).
#pragma once

#include "boot/boot_info.h"

namespace ferrite {

void init(const boot::BootInfo& boot_info);

}  // namespace ferrite
