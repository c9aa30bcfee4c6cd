// The kernel's start-up sequence; each step names the chapter that explains it.
#include "init.h"

namespace ferrite {

void init(const boot::BootInfo& boot_info) {
  (void)boot_info;
  // Chapters 5-7 (GDT/TSS, IDT, PIC, PIT, keyboard) and 8-10 (paging, frames, heap) plug in here.
}

}  // namespace ferrite
