// The kernel's side of syscall/machine.h: the TSC clock, the CMOS real-time clock, the
// scheduler's sleeps, IA32_FS_BASE, RDRAND, the frame allocator's figures and power.
#include "syscall/machine.h"

#include <atomic>
#include <cstring>

#include "acpi/machine.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/user_mode.h"
#include "console/console.h"
#include "lib/log.h"
#include "mm/memory.h"
#include "platform/pc/power.h"
#include "proc/spawn.h"
#include "platform/pc/ps2.h"
#include "platform/pc/rtc.h"
#include "sched/scheduler.h"
#include "time/clock.h"

namespace ferrite::syscall::machine {

namespace {

// CPUID.01H:ECX bit 30 says RDRAND is there (Intel SDM Vol. 2A, CPUID, "Feature Information").
bool has_rdrand() {
  static const bool present = (arch::cpuid(1).ecx & (1u << 30)) != 0;
  return present;
}

// RDRAND sets CF when it delivered a number; Intel's guidance is to retry up to 10 times
// (Intel Digital Random Number Generator Software Implementation Guide, 5.2.1).
bool rdrand(std::uint64_t& value) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    bool ok = false;
    asm volatile("rdrand %0" : "=r"(value), "=@ccc"(ok));
    if (ok) return true;
  }
  return false;
}

// Without RDRAND: xorshift64* seeded from the TSC at first use and stirred with it on every
// call. Not cryptographic — stated here and in the chapter: enough for AT_RANDOM-style canaries
// and hash seeds under QEMU, not for keys.
std::uint64_t fallback_random() {
  static std::uint64_t state = 0;
  state ^= arch::read_tsc() | 1;
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545'F491'4F6C'DD1Dull;
}

}  // namespace

std::uint64_t monotonic_ns() {
  return time::now_ns();
}

std::uint64_t realtime_at_boot_ns() {
  // Read the RTC once, at the first question; "boot" is the clock's zero, so the RTC's reading
  // minus the time since then.
  static std::atomic<std::uint64_t> at_boot{0};
  static std::atomic<bool> known{false};
  if (!known.load(std::memory_order_acquire)) {
    const std::uint64_t now = time::now_ns();
    const auto date = pc::rtc::read();
    std::uint64_t value = 0;
    if (date) {
      const std::uint64_t rtc_ns =
          static_cast<std::uint64_t>(pc::rtc::unix_seconds(*date)) * 1'000'000'000;
      value = rtc_ns > now ? rtc_ns - now : 0;
    } else {
      log::warn("clock: no usable CMOS real-time clock; CLOCK_REALTIME starts at 1970");
    }
    at_boot.store(value, std::memory_order_relaxed);
    known.store(true, std::memory_order_release);
  }
  return at_boot.load(std::memory_order_relaxed);
}

// In slices of at most 20 ms, looking at the thread's kill request and signal mark between them:
// a sleeping program's thread is not woken by sched::kill or a signal (it ends or takes the
// signal on its way back to ring 3), and `busybox sleep 20` must not keep Ctrl+C waiting 20 s.
bool sleep_until_ns(std::uint64_t deadline_ns) {
  constexpr std::uint64_t kSliceNs = 20'000'000;
  for (;;) {
    if (sched::current().kill_requested || sched::current().signal_pending) return false;
    const std::uint64_t now = time::now_ns();
    if (now >= deadline_ns) return true;
    sched::sleep_until_ns(deadline_ns - now > kSliceNs ? now + kSliceNs : deadline_ns);
  }
}
void yield() {
  sched::yield();
}

// IA32_FS_BASE, through arch's user context so that the switch-out keeps it (user_mode.h).
void set_fs_base(std::uint64_t base) {
  arch::set_user_fs_base(base);
}

void random_bytes(std::span<std::byte> out) {
  while (!out.empty()) {
    std::uint64_t value = 0;
    if (!has_rdrand() || !rdrand(value)) value = fallback_random();
    const std::size_t part = out.size() < sizeof(value) ? out.size() : sizeof(value);
    std::memcpy(out.data(), &value, part);
    out = out.subspan(part);
  }
}

MemoryFigures memory() {
  const mm::FrameAllocator& frames = mm::frame_allocator();
  return {frames.total_frames() * 4096, frames.free_frames() * 4096};
}

std::uint32_t process_count() { return static_cast<std::uint32_t>(proc::process_count()); }

void power_off() {
  pc::power_off(acpi::machine_s5_control());
}
void restart() {
  pc::ps2::reboot();
}

log::Level console_level() { return console::level(); }
void set_console_level(log::Level level) { console::set_level(level); }

}  // namespace ferrite::syscall::machine
