// The text of /proc's files (proc/procfs.cpp), formatted from plain structs: pure, freestanding,
// compiled into the kernel and into a host test (tests/host/proc_text_test.cpp). Each format is
// Linux's, field for field, as the proc(5) manual page gives it and as busybox's procps
// (libbb/procps.c) and free (procps/free.c) parse it; a field ferrite does not keep is 0 where
// Linux could say 0 too (no swap, no page faults counted), never left out: the parsers count
// fields by position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string_view>

#include "abi/errno.h"
#include "lib/byte_buffer.h"
#include "lib/format.h"

namespace ferrite::proc::text {

// Where a /proc file's text goes: the open file's buffer, grown as the text comes (twice its
// size each time, lib::ByteBuffer). When the heap says no, the rest is dropped and result() is
// ENOMEM; the caller then frees the buffer, so a failed open keeps nothing.
class BufferSink final : public fmt::Sink {
 public:
  explicit BufferSink(lib::ByteBuffer& out) : out_(out) {}
  void write(std::string_view text) override;
  bool small_writes_are_cheap() const override { return true; }
  [[nodiscard]] std::expected<void, abi::Errno> result() const;

 private:
  lib::ByteBuffer& out_;
  bool failed_ = false;
};

// TASK_COMM_LEN - 1: Linux keeps at most 15 bytes of a program's name as its comm; stat and
// status show that much, and busybox's pidof knows a 15-byte comm may be cut.
inline constexpr std::size_t kCommLength = 15;
// USER_HZ: the unit of the times in /proc/<pid>/stat (sysconf(_SC_CLK_TCK) is 100 on x86).
inline constexpr std::uint64_t kClockTicksPerSecond = 100;

// What /proc/<pid>/stat and /proc/<pid>/status say about one process.
struct ProcessStat {
  std::int32_t pid = 0;
  std::string_view comm;  // cut to kCommLength when written
  char state = 'R';       // R running, S sleeping, T stopped, Z zombie
  std::int32_t ppid = 0;
  std::int32_t pgrp = 0;
  std::int32_t session = 0;
  std::uint32_t tty_nr = 0;       // the controlling terminal, encoded as stat(2)'s st_rdev
  std::int32_t tpgid = -1;        // its foreground process group, -1 without a terminal
  std::uint64_t minor_faults = 0;    // minflt: faults resolved without I/O (all of ferrite's)
  std::uint64_t children_minor_faults = 0;  // cminflt: its reaped children's
  std::uint64_t utime_ticks = 0;  // user and system CPU time, in kClockTicksPerSecond
  std::uint64_t stime_ticks = 0;
  std::uint64_t cutime_ticks = 0;  // its reaped children's (waited-for) user and system time
  std::uint64_t cstime_ticks = 0;
  std::uint64_t start_ticks = 0;      // when it started, after boot
  std::uint64_t vsize_bytes = 0;      // its address space's size
  std::uint64_t rss_pages = 0;        // frames it has in memory
  std::uint64_t signals_pending = 0;  // bit n-1 for signal n, as Linux's sigset_t
  std::uint64_t signals_blocked = 0;
  std::uint64_t signals_ignored = 0;
  std::uint64_t signals_caught = 0;
  std::uint32_t umask = 022;
  std::uint32_t threads = 1;
};

// tty_nr as Linux encodes a device number in /proc/<pid>/stat (new_encode_dev): minor's low
// byte, the major, then the minor's high bits.
constexpr std::uint32_t encode_tty(std::uint32_t major, std::uint32_t minor) {
  return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

// The word Linux's status file gives each state letter ("S (sleeping)").
std::string_view state_name(char state);

// /proc/<pid>/stat: the 52 fields of proc(5), one line, "pid (comm) state ppid ...".
void write_stat(fmt::Sink& out, const ProcessStat& p);
// /proc/<pid>/status: "Name:\tsh" and the other lines a person reads (proc(5)).
void write_status(fmt::Sink& out, const ProcessStat& p);

// /proc/meminfo, from the frame allocator and the heap.
struct MemoryFigures {
  std::uint64_t total_bytes = 0;        // all usable RAM
  std::uint64_t free_bytes = 0;         // frames nobody holds
  std::uint64_t shmem_bytes = 0;        // files in /tmp (Linux counts tmpfs as Shmem and Cached)
  std::uint64_t kernel_heap_bytes = 0;  // the kernel heap's live blocks (Linux's Slab)
};
// "MemTotal:       16348996 kB" and so on: the name padded to 16 columns, the value in kB in 8.
void write_meminfo(fmt::Sink& out, const MemoryFigures& m);

// /proc/uptime: "seconds.centiseconds idle.centiseconds\n" (idle summed over CPUs).
void write_uptime(fmt::Sink& out, std::uint64_t uptime_ns, std::uint64_t idle_ns);

// One line of /proc/mounts (fstab(5)'s fields): "tmpfs /tmp tmpfs rw 0 0".
struct Mount {
  std::string_view source;
  std::string_view directory;
  std::string_view type;
  std::string_view options;
};
void write_mounts(fmt::Sink& out, std::span<const Mount> mounts);

// /proc/<pid>/cmdline: argv, each argument followed by its NUL, cut to `out` (a copy made at
// execve, proc/program.h). Returns the bytes written.
std::size_t join_arguments(std::span<const std::string_view> argv, std::span<char> out);

}  // namespace ferrite::proc::text
