// The seed's basic_boot test: println works straight after boot, before any initialisation
// (no GDT, IDT, interrupts or memory management: ferrite::init is never called).
#include "boot/start.h"
#include "console/print.h"
#include "test/ktest.h"

KTEST(test_println_before_init) { ferrite::println("test_println output"); }

void kernel_main(const ferrite::boot::BootInfo&) { ferrite::ktest::run_all_and_exit(); }
