// System-wide calls (chapter 14): uname, the clocks and sleeping, sched_yield, getrandom,
// sysinfo and reboot. The machine behind them is syscall/machine.h.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "abi/linux_types.h"
#include "proc/spawn.h"
#include "syscall/handlers.h"
#include "syscall/machine.h"
#include "time/interval_timer.h"

namespace ferrite::syscall {

namespace {

using abi::Errno;
constexpr std::uint64_t kNsPerSecond = 1'000'000'000;

void set_field(char (&field)[abi::kUtsFieldLength], std::string_view text) {
  const std::size_t length = std::min(text.size(), abi::kUtsFieldLength - 1);
  std::memcpy(field, text.data(), length);
  field[length] = '\0';
}

// Chapter 15: a CPU-time clock of another process or thread, as clock_getcpuclockid(3) and
// pthread_getcpuclockid(3) make them (Linux's include/linux/posix-timers.h): ~pid << 3, bit 2
// for a thread, and the low bits the kind — 0 user + system, 1 user, 2 all (the scheduler's).
// PID 0 is the caller. EINVAL for a PID that is not there or a kind that is not one.
std::expected<std::uint64_t, Errno> cpu_clock_of(const proc::Process& process, std::int32_t id) {
  const std::int32_t kind = id & 3;
  const auto pid = static_cast<proc::Pid>(~(id >> 3));
  if (kind == 3) return std::unexpected(Errno::einval);
  const proc::Process* target = pid == 0 || pid == process.pid ? &process : proc::find_process(pid);
  if (target == nullptr) return std::unexpected(Errno::einval);
  const bool thread = (id & 4) != 0;
  const sched::CpuTimes cpu =
      proc::resource_usage(*target, thread ? proc::UsageOf::thread : proc::UsageOf::self).cpu;
  return kind == 1 ? cpu.user_ns : cpu.total_ns();
}

// Nanoseconds on `clock`, or EINVAL for a clock Linux does not have. The CPU-time clocks read
// the caller's CPU time (chapter 15; one thread per process: its thread's is the process's).
std::expected<std::uint64_t, Errno> clock_ns(const proc::Process& process, std::uint64_t clock) {
  if (static_cast<std::int32_t>(clock) < 0)  // clockid_t is an int: its low 32 bits
    return cpu_clock_of(process, static_cast<std::int32_t>(clock));
  switch (clock) {
    case abi::kClockRealtime:
    case abi::kClockRealtimeCoarse:
      return machine::realtime_at_boot_ns() + machine::monotonic_ns();
    case abi::kClockMonotonic:
    case abi::kClockMonotonicRaw:
    case abi::kClockMonotonicCoarse:
    case abi::kClockBoottime:
      return machine::monotonic_ns();
    case abi::kClockProcessCputime:
      return proc::resource_usage(process, proc::UsageOf::self).cpu.total_ns();
    case abi::kClockThreadCputime:
      return proc::resource_usage(process, proc::UsageOf::thread).cpu.total_ns();
    default:
      return std::unexpected(Errno::einval);
  }
}

abi::Timespec to_timespec(std::uint64_t ns) {
  return {static_cast<std::int64_t>(ns / kNsPerSecond),
          static_cast<std::int64_t>(ns % kNsPerSecond)};
}

// A user timespec as nanoseconds: EINVAL unless 0 <= tv_nsec < 1e9 and tv_sec >= 0. Seconds
// beyond 64 bits of nanoseconds saturate (a sleep that long is "forever").
std::expected<std::uint64_t, Errno> read_duration(std::uint64_t address) {
  const auto ts = copy_in<abi::Timespec>(address);
  if (!ts) return std::unexpected(ts.error());
  if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= static_cast<std::int64_t>(kNsPerSecond)) {
    return std::unexpected(Errno::einval);
  }
  std::uint64_t ns = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(ts->tv_sec), kNsPerSecond, &ns) ||
      __builtin_add_overflow(ns, static_cast<std::uint64_t>(ts->tv_nsec), &ns)) {
    return ~std::uint64_t{0};
  }
  return ns;
}

// Sleeps until `deadline` (monotonic). Interrupted (the program is being ended): EINTR, and
// what was left is written to `remaining` if the program gave one (nanosleep's `rem`).
Result sleep_until(std::uint64_t deadline, std::uint64_t remaining) {
  if (machine::sleep_until_ns(deadline)) return 0;
  if (remaining != 0) {
    const std::uint64_t now = machine::monotonic_ns();
    (void)copy_out(remaining, to_timespec(deadline > now ? deadline - now : 0));
  }
  return std::unexpected(Errno::eintr);
}

std::uint64_t deadline_after(std::uint64_t ns) {
  std::uint64_t deadline = 0;
  if (__builtin_add_overflow(machine::monotonic_ns(), ns, &deadline)) deadline = ~std::uint64_t{0};
  return deadline;
}

}  // namespace

// uname: sysname says what this is. The release is the Linux ABI level the C libraries may
// assume (glibc and musl look at it for features); "-ferrite" keeps it honest about who answers.
Result sys_uname(proc::Process&, const Arguments& a) {
  abi::Utsname name{};
  set_field(name.sysname, "ferrite");
  set_field(name.nodename, "ferrite");
  set_field(name.release, "6.1.0-ferrite");
  set_field(name.version, "#14 chapter 14: user mode");
  set_field(name.machine, "x86_64");
  set_field(name.domainname, "(none)");
  if (auto copied = copy_out(a.arg[0], name); !copied) return std::unexpected(copied.error());
  return 0;
}

Result sys_clock_gettime(proc::Process& process, const Arguments& a) {
  const auto ns = clock_ns(process, a.arg[0]);
  if (!ns) return std::unexpected(ns.error());
  if (auto copied = copy_out(a.arg[1], to_timespec(*ns)); !copied)
    return std::unexpected(copied.error());
  return 0;
}

// Resolution: nanoseconds (the TSC clock's unit); NULL is allowed and only checks the clock.
Result sys_clock_getres(proc::Process& process, const Arguments& a) {
  if (const auto ns = clock_ns(process, a.arg[0]); !ns) return std::unexpected(ns.error());
  if (a.arg[1] == 0) return 0;
  if (auto copied = copy_out(a.arg[1], abi::Timespec{0, 1}); !copied)
    return std::unexpected(copied.error());
  return 0;
}

Result sys_gettimeofday(proc::Process&, const Arguments& a) {
  const std::uint64_t ns = machine::realtime_at_boot_ns() + machine::monotonic_ns();
  if (a.arg[0] != 0) {
    const abi::Timeval tv{static_cast<std::int64_t>(ns / kNsPerSecond),
                          static_cast<std::int64_t>(ns % kNsPerSecond / 1000)};
    if (auto copied = copy_out(a.arg[0], tv); !copied) return std::unexpected(copied.error());
  }
  if (a.arg[1] != 0) {  // struct timezone: UTC, no daylight saving
    if (auto copied = copy_out(a.arg[1], std::uint64_t{0}); !copied)
      return std::unexpected(copied.error());
  }
  return 0;
}

Result sys_time(proc::Process&, const Arguments& a) {
  const auto seconds = static_cast<std::int64_t>(
      (machine::realtime_at_boot_ns() + machine::monotonic_ns()) / kNsPerSecond);
  if (a.arg[0] != 0) {
    if (auto copied = copy_out(a.arg[0], seconds); !copied) return std::unexpected(copied.error());
  }
  return seconds;
}

// nanosleep(req, rem): only the end of the program interrupts it (signals: chapter 15); then
// `rem` gets what was left, as Linux writes it on EINTR.
Result sys_nanosleep(proc::Process&, const Arguments& a) {
  const auto ns = read_duration(a.arg[0]);
  if (!ns) return std::unexpected(ns.error());
  return sleep_until(deadline_after(*ns), a.arg[1]);
}

Result sys_clock_nanosleep(proc::Process& process, const Arguments& a) {
  const std::uint64_t clock = a.arg[0], flags = a.arg[1];
  if (clock == abi::kClockThreadCputime) return std::unexpected(Errno::einval);
  if (!clock_ns(process, clock)) return std::unexpected(Errno::einval);
  if ((flags & ~abi::kTimerAbstime) != 0) return std::unexpected(Errno::einval);
  const auto ns = read_duration(a.arg[2]);
  if (!ns) return std::unexpected(ns.error());
  if ((flags & abi::kTimerAbstime) == 0) return sleep_until(deadline_after(*ns), a.arg[3]);
  // An absolute time on the realtime clock becomes one on the monotonic clock.
  std::uint64_t deadline = *ns;
  if (clock == abi::kClockRealtime || clock == abi::kClockRealtimeCoarse) {
    const std::uint64_t boot = machine::realtime_at_boot_ns();
    deadline = deadline > boot ? deadline - boot : 0;
  }
  return sleep_until(deadline, 0);  // an absolute sleep has nothing to report back
}

// ---- Interval timers (chapter 15): ITIMER_REAL, SIGALRM when it expires (the tick checks it:
// proc/process.cpp). ITIMER_VIRTUAL and ITIMER_PROF (user / all CPU time) are refused with
// EINVAL: nothing in ferrite counts a process's CPU time down from the tick yet.

namespace {

// setitimer's and getitimer's `which` (an int: the register's low 32 bits).
bool real_timer_named(std::uint64_t which) {
  return static_cast<std::int32_t>(which) == static_cast<std::int32_t>(abi::kItimerReal);
}

}  // namespace

// setitimer(which, new, old), in Linux's order: the new value is read and checked first (EFAULT,
// EINVAL for a negative time or tv_usec outside 0..999999), then `which`; the old value is
// written last — a bad `old` is EFAULT with the new timer already set, as on Linux. A NULL new
// value disarms (a misfeature Linux keeps for old programs).
Result sys_setitimer(proc::Process& process, const Arguments& a) {
  std::uint64_t value_ns = 0, interval_ns = 0;
  if (a.arg[1] != 0) {
    const auto value = copy_in<abi::Itimerval>(a.arg[1]);
    if (!value) return std::unexpected(value.error());
    const auto expiry = time::timeval_ns(value->it_value);
    const auto interval = time::timeval_ns(value->it_interval);
    if (!expiry || !interval) return std::unexpected(Errno::einval);
    value_ns = *expiry;
    interval_ns = *interval;
  }
  if (!real_timer_named(a.arg[0])) return std::unexpected(Errno::einval);
  const std::uint64_t now = machine::monotonic_ns();
  const time::IntervalTimer old =
      proc::exchange_real_timer(process, time::arm_timer(now, value_ns, interval_ns));
  if (a.arg[2] != 0) {
    if (auto copied = copy_out(a.arg[2], time::to_itimerval(old, now)); !copied)
      return std::unexpected(copied.error());
  }
  return 0;
}

Result sys_getitimer(proc::Process& process, const Arguments& a) {
  if (!real_timer_named(a.arg[0])) return std::unexpected(Errno::einval);
  const time::IntervalTimer timer = proc::exchange_real_timer(process, {}, false);
  if (auto copied = copy_out(a.arg[1], time::to_itimerval(timer, machine::monotonic_ns()));
      !copied) {
    return std::unexpected(copied.error());
  }
  return 0;
}

// alarm(seconds): ITIMER_REAL set to `seconds` (an unsigned int), no interval; 0 cancels.
// Returns the seconds the old alarm had left, rounded as Linux rounds (time/interval_timer.h).
// (musl's alarm() calls setitimer instead, and rounds any microsecond up.)
Result sys_alarm(proc::Process& process, const Arguments& a) {
  const std::uint64_t seconds = static_cast<std::uint32_t>(a.arg[0]);
  const std::uint64_t now = machine::monotonic_ns();
  const time::IntervalTimer old =
      proc::exchange_real_timer(process, time::arm_timer(now, seconds * kNsPerSecond, 0));
  return static_cast<std::int64_t>(time::alarm_seconds(old.remaining_ns(now)));
}

Result sys_sched_yield(proc::Process&, const Arguments&) {
  machine::yield();
  return 0;
}

// getrandom(buf, len, flags): the random source never runs dry, so GRND_NONBLOCK and
// GRND_RANDOM change nothing; unknown flags (or RANDOM with INSECURE) are EINVAL.
Result sys_getrandom(proc::Process&, const Arguments& a) {
  const std::uint64_t buffer = a.arg[0], flags = a.arg[2];
  const std::uint64_t count = std::min(a.arg[1], kMaxTransfer);
  if ((flags & ~(abi::kGrndNonblock | abi::kGrndRandom | abi::kGrndInsecure)) != 0 ||
      (flags & (abi::kGrndRandom | abi::kGrndInsecure)) ==
          (abi::kGrndRandom | abi::kGrndInsecure)) {
    return std::unexpected(Errno::einval);
  }
  if (!user_range_ok(buffer, count)) return std::unexpected(Errno::efault);
  std::byte chunk[256];
  std::uint64_t done = 0;
  while (done < count) {
    const std::size_t part = std::min<std::uint64_t>(count - done, sizeof(chunk));
    machine::random_bytes({chunk, part});
    if (auto copied = mm::copy_to_user(buffer + done, chunk, part); !copied) {
      if (done > 0) break;
      return std::unexpected(copied.error());
    }
    done += part;
  }
  return static_cast<std::int64_t>(done);
}

Result sys_sysinfo(proc::Process&, const Arguments& a) {
  abi::Sysinfo info{};
  const machine::MemoryFigures memory = machine::memory();
  info.uptime = static_cast<std::int64_t>(machine::monotonic_ns() / kNsPerSecond);
  info.totalram = memory.total_bytes;
  info.freeram = memory.free_bytes;
  info.procs =
      static_cast<std::uint16_t>(std::min<std::uint32_t>(machine::process_count(), 0xFFFF));
  info.mem_unit = 1;
  if (auto copied = copy_out(a.arg[0], info); !copied) return std::unexpected(copied.error());
  return 0;
}

// reboot(magic, magic2, cmd, arg): the two magic numbers guard against a stray call (reboot(2)).
Result sys_reboot(proc::Process&, const Arguments& a) {
  const std::uint64_t magic = static_cast<std::uint32_t>(a.arg[0]);
  const std::uint64_t magic2 = static_cast<std::uint32_t>(a.arg[1]);
  if (magic != abi::kRebootMagic1 ||
      (magic2 != abi::kRebootMagic2 && magic2 != abi::kRebootMagic2A &&
       magic2 != abi::kRebootMagic2B && magic2 != abi::kRebootMagic2C)) {
    return std::unexpected(Errno::einval);
  }
  switch (static_cast<std::uint32_t>(a.arg[2])) {
    case abi::kRebootCmdPowerOff:
    case abi::kRebootCmdHalt:
      machine::power_off();
      return std::unexpected(Errno::eio);
    case abi::kRebootCmdRestart:
      machine::restart();
      return std::unexpected(Errno::eio);
    case abi::kRebootCmdCadOn:
    case abi::kRebootCmdCadOff:
      return 0;  // Ctrl+Alt+Del: nothing listens for it here
    default:
      return std::unexpected(Errno::einval);
  }
}

// sync: nothing is ever dirty on a read-only tree in memory.
Result sys_sync(proc::Process&, const Arguments&) {
  return 0;
}

Result sys_einval(proc::Process&, const Arguments&) {
  return std::unexpected(Errno::einval);
}
Result sys_enosys_quiet(proc::Process&, const Arguments&) {
  return std::unexpected(Errno::enosys);
}

}  // namespace ferrite::syscall
