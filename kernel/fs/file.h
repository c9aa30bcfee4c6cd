// Open files (chapter 14): what a file descriptor refers to. An OpenFile is a node of the
// read-only initramfs tree (fs/tree.h) plus the state open() creates — the position and the
// open flags — and the operations read, pread, write, lseek, getdents64 and fstat behave as on
// Linux for each kind of node:
//   regular file   read/pread/lseek over its bytes in the archive; never writable (EROFS),
//                  except tmpfs files under /tmp: write/pwrite grow them (O_APPEND, O_TRUNC)
//   directory      getdents64 with "." and ".." first; read is EISDIR
//   /dev/null      reads end at once, writes vanish;  /dev/zero  reads zeros, writes vanish
//   /dev/console, /dev/tty   the terminal (a TerminalPort: the console's line discipline)
//   named pipe     (mknod/mkfifo under /tmp) an end of the pipe it shares with its other
//                  openers: fs/pipe.h's open_fifo
//   generated file (/proc, fs/generated.h) its provider's bytes, made once at open (a
//                  snapshot the OpenFile owns); opening it to write is EACCES; SEEK_END EINVAL
// Portable and host-tested: everything reads and writes kernel buffers; the system calls copy
// to and from user memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string_view>

#include "abi/errno.h"
#include "abi/linux_types.h"
#include "fs/tree.h"
#include "tty/job_control.h"

namespace ferrite::fs {

// The terminal behind /dev/console and /dev/tty. The kernel's is the console (tty/console.h);
// host tests plug in a fake.
class TerminalPort {
 public:
  // Blocks until a line (or end of file) is typed; returns at most one line, 0 for end of file —
  // and 0 when the terminal is hung up while it waits (`opened_in`: the reading file's
  // OpenFile::opened_in).
  virtual std::expected<std::size_t, abi::Errno> read(std::span<char> out,
                                                      std::uint32_t opened_in) = 0;
  virtual void write(std::string_view text) = 0;
  virtual abi::Winsize window_size() = 0;
  virtual abi::Termios termios() = 0;
  virtual void set_termios(const abi::Termios& termios) = 0;
  virtual std::size_t readable_bytes() = 0;  // FIONREAD
  // A file on the terminal was opened by a process of session `sid` / its last descriptor
  // closed: while any is open (and not hung up), the keyboard types into the terminal instead of
  // the kernel shell. opened() returns the session generation the file belongs to
  // (OpenFile::opened_in, tty::file_opened); closed() gets it back: a file hung up since no
  // longer counts.
  virtual std::uint32_t opened(std::int32_t sid) { return tty::file_opened(jobs, sid); }
  virtual void closed(std::uint32_t opened_in) { (void)tty::file_closed(jobs, opened_in); }
  // The leader of session `sid` ended: if this is its controlling terminal, hang it up
  // (tty::hang_up_session: the files that session opened dead, other sessions' alive, the
  // terminal nobody's) and, if no live file is left, give the keyboard back to the kernel shell
  // as when the last file closes. Returns the old foreground group to
  // signal (0: none), nullopt if the terminal was not the session's.
  virtual std::optional<std::int32_t> hang_up_session(std::int32_t sid) {
    return tty::hang_up_session(jobs, sid);
  }

  // Chapter 15: whose controlling terminal this is and its foreground process group
  // (tty/job_control.h); the job-control ioctls read and change it, Ctrl+C signals the group.
  tty::JobControl jobs;

 protected:
  ~TerminalPort() = default;
};

// The terminal the kernel has (nullptr before it is set up).
TerminalPort* terminal();
void set_terminal(TerminalPort* port);

enum class FileKind : std::uint8_t { regular, directory, symlink, null, zero, terminal, pipe };

class Pipe;

struct OpenFile {
  Node* node = nullptr;
  FileKind kind = FileKind::regular;
  std::uint32_t flags = 0;       // the open flags that last (see open()), for F_GETFL
  std::uint64_t offset = 0;      // bytes for files; entries for directories
  Pipe* pipe = nullptr;          // FileKind::pipe: the pipe this is an end of
  std::uint32_t opened_in = 0;   // FileKind::terminal: its session's generation (tty/)
  // FileKind::pipe, a read end: the pipe's writer opens when this end opened. A named pipe's
  // reader that has not yet seen a writer is not hung up (poll_events; Linux's f_version).
  std::size_t writer_opens_seen = 0;
  // Descriptors sharing it (dup, fork). Changed only through retain/release, atomically: after
  // fork two processes' tables, on two CPUs, may close the same file at once.
  std::uint32_t references = 1;
  // A generated file (fs/generated.h, /proc): its contents as they were at open, owned by this
  // open file and freed with it; reads and seeks work over these bytes.
  lib::ByteBuffer contents{};

  [[nodiscard]] bool readable() const {
    return (flags & abi::kOpenAccessMask) != abi::kOpenWriteOnly;
  }
  [[nodiscard]] bool nonblocking() const { return (flags & abi::kOpenNonblock) != 0; }
  [[nodiscard]] bool writable() const {
    return (flags & abi::kOpenAccessMask) != abi::kOpenReadOnly;
  }
};

// Opens `node` with Linux's open flags: a read-only tree, so asking to write a file or a
// directory is EROFS / EISDIR, O_DIRECTORY on a non-directory ENOTDIR. The result is new'd;
// the descriptor table releases it. The flags that act only at open (O_CREAT, O_EXCL, O_NOCTTY,
// O_TRUNC) and O_CLOEXEC (the table's) are not kept: F_GETFL does not show them, as on Linux.
// `session`: the opener's session (0: none) — a terminal file dies when that session is hung up.
std::expected<OpenFile*, abi::Errno> open(Node* node, std::uint64_t flags,
                                          std::int32_t session = 0);

// The file-mode creation mask the first process starts with (Linux's default for init, 022).
// Each process has its own (proc::Process::umask, set by umask(2), inherited by fork); it is
// taken off the modes of the tmpfs files and directories the process creates.
inline constexpr std::uint32_t kUmask = 022;
// Adds one reference (dup, fork) and returns `file`.
OpenFile* retain(OpenFile* file);
// Drops one reference; the last one frees the OpenFile.
void release(OpenFile* file);

// A file on the terminal that has been hung up since it was opened (tty::hung_up): read gives 0,
// write and the terminal's ioctls EIO, poll POLLIN|POLLOUT|POLLERR|POLLHUP.
bool hung_up(const OpenFile& file);

// read(2) at the file's position (which advances). Terminal reads block for a line.
std::expected<std::size_t, abi::Errno> read(OpenFile& file, std::span<std::byte> out);
// pread64(2): at `offset`, position unchanged. ESPIPE on the terminal.
std::expected<std::size_t, abi::Errno> pread(OpenFile& file, std::span<std::byte> out,
                                             std::uint64_t offset);
// write(2): devices, pipes and tmpfs files (at the end with O_APPEND) take writes.
std::expected<std::size_t, abi::Errno> write(OpenFile& file, std::span<const std::byte> in);
// pwrite64(2): at `offset`, position unchanged; ESPIPE on pipes and the terminal.
std::expected<std::size_t, abi::Errno> pwrite(OpenFile& file, std::span<const std::byte> in,
                                              std::uint64_t offset);
// truncate(2)/ftruncate(2) of a node: tmpfs files only (EROFS elsewhere, EISDIR a directory,
// EINVAL a negative length or a device), zeros added when growing.
std::expected<void, abi::Errno> truncate(Node& node, std::int64_t length);
// lseek(2): the new position. Negative results are EINVAL; the terminal is ESPIPE.
std::expected<std::uint64_t, abi::Errno> lseek(OpenFile& file, std::int64_t offset,
                                               std::uint64_t whence);
// getdents64(2): as many whole linux_dirent64 records as fit in `out` ("." and ".." first);
// 0 at the end; EINVAL when not even the next one fits; ENOTDIR for anything else.
std::expected<std::size_t, abi::Errno> getdents64(OpenFile& file, std::span<std::byte> out);

// poll(2)'s events (<asm-generic/poll.h>) and what a file is ready for now: a pipe's read end
// when it holds data (or has no writer: POLLHUP — for a named pipe only once a writer has
// opened since this end did, as on Linux), its write end when PIPE_BUF bytes fit (no
// reader: POLLERR), the terminal when a line is typed; files and /dev/null always, as Linux's
// DEFAULT_POLLMASK.
inline constexpr std::uint32_t kPollIn = 0x1, kPollPri = 0x2, kPollOut = 0x4, kPollErr = 0x8,
                               kPollHup = 0x10, kPollNval = 0x20, kPollRdnorm = 0x40,
                               kPollWrnorm = 0x100;
std::uint32_t poll_events(const OpenFile& file);

// What stat(2) says about a node, and statx(2) the same in its own layout.
abi::Stat stat_of(const Node& node);
abi::Statx statx_of(const Node& node);

}  // namespace ferrite::fs
