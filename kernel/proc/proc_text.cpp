// The text of /proc's files: see proc_text.h. The order and widths follow Linux's fs/proc
// (array.c's do_task_stat and proc_pid_status, meminfo.c, uptime.c, proc_namespace.c), which
// proc(5) documents field by field.
#include "proc/proc_text.h"

#include <cstring>

namespace ferrite::proc::text {

namespace {

constexpr std::uint64_t kRlimInfinity = ~std::uint64_t{0};  // rsslim: no limit on resident size
constexpr std::int32_t kSigChld = 17;         // exit_signal: what the parent is sent when it ends
constexpr std::int64_t kNormalPriority = 20;  // SCHED_OTHER at nice 0, as stat's priority says
// stat's signal fields are "obsolete" (proc(5)): the first 31 signals only.
constexpr std::uint64_t kObsoleteSignalMask = 0x7fffffff;

std::string_view comm_of(const ProcessStat& p) {
  return p.comm.substr(0, kCommLength);
}

// "Name:\t    1234 kB": the value in kB right-aligned in 8 columns (seq_put_decimal_ull_width).
void write_kb(fmt::Sink& out, std::string_view label, std::uint64_t bytes) {
  fmt::format_to(out, "{}{:>8} kB\n", label, bytes / 1024);
}

}  // namespace

void BufferSink::write(std::string_view text) {
  if (failed_ || text.empty()) return;
  const std::size_t at = out_.size();
  if (!out_.try_resize(at + text.size())) {
    failed_ = true;
    return;
  }
  std::memcpy(out_.data() + at, text.data(), text.size());
}

std::expected<void, abi::Errno> BufferSink::result() const {
  if (failed_) return std::unexpected(abi::Errno::enomem);
  return {};
}

std::string_view state_name(char state) {
  switch (state) {
    case 'R':
      return "R (running)";
    case 'S':
      return "S (sleeping)";
    case 'D':
      return "D (disk sleep)";
    case 'T':
      return "T (stopped)";
    case 'Z':
      return "Z (zombie)";
    default:
      return "? (unknown)";
  }
}

void write_stat(fmt::Sink& out, const ProcessStat& p) {
  // (1) pid (2) comm (3) state (4) ppid (5) pgrp (6) session (7) tty_nr (8) tpgid (9) flags
  fmt::format_to(out, "{} ({}) {} {} {} {} {} {} 0", p.pid, comm_of(p), p.state, p.ppid, p.pgrp,
                 p.session, p.tty_nr, p.tpgid);
  // (10) minflt (11) cminflt (12) majflt (13) cmajflt (14) utime (15) stime (16) cutime
  // (17) cstime (18) priority (19) nice (20) num_threads (21) itrealvalue (22) starttime
  // (23) vsize (24) rss (25) rsslim
  fmt::format_to(out, " {} {} 0 0 {} {} {} {} {} 0 {} 0 {} {} {} {}", p.minor_faults,
                 p.children_minor_faults, p.utime_ticks, p.stime_ticks, p.cutime_ticks,
                 p.cstime_ticks, kNormalPriority, p.threads, p.start_ticks, p.vsize_bytes,
                 p.rss_pages, kRlimInfinity);
  // (26) startcode (27) endcode (28) startstack (29) kstkesp (30) kstkeip: Linux hides them
  // from other users too; 0 here.
  out.write(" 0 0 0 0 0");
  // (31) signal (32) blocked (33) sigignore (34) sigcatch (35) wchan (36) nswap (37) cnswap
  fmt::format_to(out, " {} {} {} {} 0 0 0", p.signals_pending & kObsoleteSignalMask,
                 p.signals_blocked & kObsoleteSignalMask, p.signals_ignored & kObsoleteSignalMask,
                 p.signals_caught & kObsoleteSignalMask);
  // (38) exit_signal (39) processor (40) rt_priority (41) policy (42) delayacct_blkio_ticks
  // (43) guest_time (44) cguest_time (45-51) start_data ... env_end (52) exit_code
  fmt::format_to(out, " {} 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", kSigChld);
}

void write_status(fmt::Sink& out, const ProcessStat& p) {
  fmt::format_to(out, "Name:\t{}\nUmask:\t{:04o}\nState:\t{}\n", comm_of(p), p.umask,
                 state_name(p.state));
  fmt::format_to(out, "Tgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t0\n", p.pid, p.pid,
                 p.ppid);
  // Everybody is root in ferrite: real, effective, saved and file-system IDs all 0.
  out.write("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\n");
  fmt::format_to(out, "NStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{}\nNSsid:\t{}\n", p.pid, p.pid, p.pgrp,
                 p.session);
  write_kb(out, "VmSize:\t", p.vsize_bytes);
  write_kb(out, "VmRSS:\t", p.rss_pages * 4096);
  fmt::format_to(out, "Threads:\t{}\n", p.threads);
  fmt::format_to(out, "SigPnd:\t{:016x}\nShdPnd:\t{:016x}\nSigBlk:\t{:016x}\n", p.signals_pending,
                 std::uint64_t{0}, p.signals_blocked);
  fmt::format_to(out, "SigIgn:\t{:016x}\nSigCgt:\t{:016x}\n", p.signals_ignored, p.signals_caught);
}

void write_meminfo(fmt::Sink& out, const MemoryFigures& m) {
  // The name with its colon in 16 columns, then the value (show_val_kb). Cached holds Shmem
  // (tmpfs pages are page cache on Linux); nothing here can be reclaimed, so MemAvailable is
  // MemFree, and the heap is all SUnreclaim.
  const struct {
    std::string_view name;
    std::uint64_t bytes;
  } lines[] = {
      {"MemTotal:", m.total_bytes},
      {"MemFree:", m.free_bytes},
      {"MemAvailable:", m.free_bytes},
      {"Buffers:", 0},
      {"Cached:", m.shmem_bytes},
      {"SwapCached:", 0},
      {"SwapTotal:", 0},
      {"SwapFree:", 0},
      {"Shmem:", m.shmem_bytes},
      {"Slab:", m.kernel_heap_bytes},
      {"SReclaimable:", 0},
      {"SUnreclaim:", m.kernel_heap_bytes},
  };
  for (const auto& line : lines)
    fmt::format_to(out, "{:<16}{:>8} kB\n", line.name, line.bytes / 1024);
}

void write_uptime(fmt::Sink& out, std::uint64_t uptime_ns, std::uint64_t idle_ns) {
  constexpr std::uint64_t kNsPerSecond = 1'000'000'000, kNsPerCentisecond = 10'000'000;
  fmt::format_to(out, "{}.{:02} {}.{:02}\n", uptime_ns / kNsPerSecond,
                 uptime_ns % kNsPerSecond / kNsPerCentisecond, idle_ns / kNsPerSecond,
                 idle_ns % kNsPerSecond / kNsPerCentisecond);
}

void write_mounts(fmt::Sink& out, std::span<const Mount> mounts) {
  // The last two fields are fstab's dump and pass numbers, always 0 in /proc/mounts.
  for (const Mount& m : mounts) {
    fmt::format_to(out, "{} {} {} {} 0 0\n", m.source, m.directory, m.type, m.options);
  }
}

std::size_t join_arguments(std::span<const std::string_view> argv, std::span<char> out) {
  std::size_t used = 0;
  for (const std::string_view argument : argv) {
    const std::size_t room = out.size() - used;
    const std::size_t take = argument.size() < room ? argument.size() : room;
    if (take > 0) std::memcpy(out.data() + used, argument.data(), take);
    used += take;
    if (used == out.size()) break;
    out[used++] = '\0';
  }
  return used;
}

}  // namespace ferrite::proc::text
