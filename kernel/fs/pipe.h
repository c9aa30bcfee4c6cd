// Pipes (chapter 15), anonymous (pipe2) and named (mkfifo): a 64 KiB ring buffer with a read end
// and a write end, as pipe(7) describes Linux's — a read returns what is there (at least one byte),
// a write of at most PIPE_BUF bytes goes in whole or not at all, a read of an empty pipe with no
// writer left is end of file, a write with no reader left is EPIPE. This part is portable and
// host-tested and never blocks: when it would have to wait it says EAGAIN. Blocking is the
// PipeWaiter's business (proc/pipe_waiter.cpp in the kernel: the scheduler; host tests leave it unset
// and see EAGAIN).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>

#include "abi/errno.h"
#include "fs/tree.h"

namespace ferrite::fs {

struct OpenFile;

class Pipe {
 public:
  static constexpr std::size_t kCapacity = 65536;  // Linux's default: 16 pages
  static constexpr std::size_t kAtomicWrite = 4096;  // PIPE_BUF

  Pipe();
  // Reads up to out.size() bytes: > 0 what was there; 0 end of file (empty, no writer left);
  // EAGAIN when empty and a writer may still write.
  std::expected<std::size_t, abi::Errno> try_read(std::span<std::byte> out);
  // Writes what fits — but a write of at most kAtomicWrite bytes only whole; EAGAIN when nothing
  // could go in; EPIPE when no reader is left.
  std::expected<std::size_t, abi::Errno> try_write(std::span<const std::byte> in);
  // Puts bytes that try_read took back at the front, where the next read finds them: read(2)
  // could not copy them to the caller (EFAULT), and Linux leaves such bytes in the pipe. False
  // if writers have filled the room since (the bytes are then lost).
  bool unread(std::span<const std::byte> in);

  [[nodiscard]] std::size_t readable_bytes() const { return used_; }  // FIONREAD, poll
  [[nodiscard]] std::size_t free_bytes() const { return kCapacity - used_; }
  [[nodiscard]] std::size_t readers() const { return readers_; }
  [[nodiscard]] std::size_t writers() const { return writers_; }
  [[nodiscard]] std::size_t writer_opens() const { return writer_opens_; }
  [[nodiscard]] bool buffer_ok() const { return buffer_ != nullptr; }

  // The named pipe's node this pipe belongs to (open_fifo), nullptr for pipe2's.
  [[nodiscard]] Node* named_node() const { return named_; }

  Node node;  // what fstat reports: a FIFO with no name

 private:
  friend std::expected<void, abi::Errno> make_pipe(OpenFile*& read_end, OpenFile*& write_end,
                                                   std::uint64_t flags);
  friend std::expected<OpenFile*, abi::Errno> open_fifo(Node& node, std::uint32_t flags);
  friend void close_pipe_end(OpenFile& file);
  // One object rather than new[]: the kernel has no unsized operator delete[] (mm/heap.cpp).
  struct Ring {
    std::byte bytes[kCapacity];
  };
  std::unique_ptr<Ring> buffer_;
  std::size_t head_ = 0;  // next byte to read
  std::size_t used_ = 0;
  std::size_t readers_ = 0;
  std::size_t writers_ = 0;
  // Named pipes: the opens of each side so far. An open waiting for its other end wakes when the
  // count moves, even if that end has closed again before the waiter runs (Linux's r_counter,
  // w_counter).
  std::size_t reader_opens_ = 0;
  std::size_t writer_opens_ = 0;
  Node* named_ = nullptr;
};

// How a blocking pipe operation waits. lock()/unlock() bracket the check and the wait (the
// kernel: interrupts off, so a wake between the two is not lost); wait() sleeps until wake() is
// called for any pipe or the wait is interrupted (false: EINTR).
class PipeWaiter {
 public:
  virtual bool lock() = 0;  // returns what unlock() needs to put back
  virtual void unlock(bool state) = 0;
  virtual bool wait() = 0;
  virtual void wake() = 0;
  virtual void broken_pipe() {}  // a write found no reader: SIGPIPE to the writer

 protected:
  ~PipeWaiter() = default;
};
PipeWaiter* pipe_waiter();
void set_pipe_waiter(PipeWaiter* waiter);

// pipe2(2): two OpenFiles (read end, write end) on a new pipe; `flags` may hold O_NONBLOCK
// (kept in both files' flags) — O_CLOEXEC is the descriptor table's. ENOMEM when out of memory.
std::expected<void, abi::Errno> make_pipe(OpenFile*& read_end, OpenFile*& write_end,
                                          std::uint64_t flags);
// open(2) of a named pipe (fifo(7)): an end of the node's pipe, made by its first opener and
// shared by all until the last closes (its bytes then go). O_RDONLY waits until a writer opens,
// O_WRONLY until a reader does; with O_NONBLOCK a read open returns at once and a write open with
// no reader is ENXIO; O_RDWR is both ends and never waits. EINTR when a signal ends the wait
// (EAGAIN without a PipeWaiter: host tests), ENOMEM without memory for the pipe or the file.
// `flags`: the open flags the file keeps. fs::open calls this and holds the node meanwhile.
std::expected<OpenFile*, abi::Errno> open_fifo(Node& node, std::uint32_t flags);
// The last reference to a pipe end went (fs::release calls this): one reader or writer fewer,
// the waiters woken, and the pipe freed with its last end.
void close_pipe_end(OpenFile& file);
// read(2) and write(2) on a pipe end: blocking unless O_NONBLOCK (or no waiter is set).
std::expected<std::size_t, abi::Errno> pipe_read(OpenFile& file, std::span<std::byte> out);
std::expected<std::size_t, abi::Errno> pipe_write(OpenFile& file, std::span<const std::byte> in);
// Gives back bytes pipe_read returned that never reached the reader (Pipe::unread).
void pipe_unread(OpenFile& file, std::span<const std::byte> in);

}  // namespace ferrite::fs
