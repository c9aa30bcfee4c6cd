// What the system calls need from the machine (chapter 14): clocks, sleeping, the user FS base
// register, random numbers, memory figures, the console's level and power. The handlers in syscall/ are portable —
// host tests compile them against a fake of this interface (tests/host/support/fake_machine.cpp)
// — and syscall/machine.cpp is the kernel's implementation over time/, sched/, arch/ and mm/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/log.h"

namespace ferrite::syscall::machine {

// Nanoseconds since boot (CLOCK_MONOTONIC).
std::uint64_t monotonic_ns();
// Nanoseconds since 1970-01-01 00:00 UTC at boot (CLOCK_REALTIME = this + monotonic_ns()).
std::uint64_t realtime_at_boot_ns();

// Sleeps until `deadline_ns` on the monotonic clock; false if the thread was asked to end first
// (sched::kill: Ctrl+C in `run`), so that nanosleep returns EINTR and the program ends now.
[[nodiscard]] bool sleep_until_ns(std::uint64_t deadline_ns);
void yield();

// Loads the FS base of the running thread (IA32_FS_BASE): where user code's %fs: points.
void set_fs_base(std::uint64_t base);

// Fills `out` with random bytes (RDRAND where the CPU has it; see machine.cpp).
void random_bytes(std::span<std::byte> out);

struct MemoryFigures {
  std::uint64_t total_bytes = 0;
  std::uint64_t free_bytes = 0;
};
MemoryFigures memory();
std::uint32_t process_count();

// The console's level (`log=` on the command line; syslog(2)'s CONSOLE_LEVEL, busybox
// dmesg -n): records below it stay in the log but are not shown.
log::Level console_level();
void set_console_level(log::Level level);

// reboot(2)'s LINUX_REBOOT_CMD_POWER_OFF and _RESTART. Return only if the machine ignored it.
void power_off();
void restart();

}  // namespace ferrite::syscall::machine
