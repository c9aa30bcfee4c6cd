// Pipes (see pipe.h): the ring buffer, the two ends, and blocking through the PipeWaiter.
#include "fs/pipe.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>
#include <utility>

#include "fs/file.h"

namespace ferrite::fs {

namespace {

constinit PipeWaiter* the_waiter = nullptr;

// The waiter's lock for one scope; nothing to lock without a waiter (host tests).
class WaiterLock {
 public:
  explicit WaiterLock(PipeWaiter* waiter) : waiter_(waiter) {
    if (waiter_ != nullptr) state_ = waiter_->lock();
  }
  ~WaiterLock() {
    if (waiter_ != nullptr) waiter_->unlock(state_);
  }
  WaiterLock(const WaiterLock&) = delete;
  WaiterLock& operator=(const WaiterLock&) = delete;

 private:
  PipeWaiter* waiter_;
  bool state_ = false;
};

void wake(PipeWaiter* waiter) {
  if (waiter != nullptr) waiter->wake();
}

}  // namespace

PipeWaiter* pipe_waiter() { return the_waiter; }
void set_pipe_waiter(PipeWaiter* waiter) { the_waiter = waiter; }

Pipe::Pipe() : buffer_(new (std::nothrow) Ring) {
  node.type = NodeType::fifo;
  node.mode = 0600;
  node.inode = 0;
}

std::expected<std::size_t, abi::Errno> Pipe::try_read(std::span<std::byte> out) {
  if (used_ == 0) {
    if (writers_ == 0) return 0;
    return std::unexpected(abi::Errno::eagain);
  }
  const std::size_t count = std::min(out.size(), used_);
  const std::size_t first = std::min(count, kCapacity - head_);  // up to the end of the ring
  std::memcpy(out.data(), buffer_->bytes + head_, first);
  std::memcpy(out.data() + first, buffer_->bytes, count - first);
  head_ = (head_ + count) % kCapacity;
  used_ -= count;
  if (used_ == 0) head_ = 0;  // keeps later writes in one piece
  return count;
}

std::expected<std::size_t, abi::Errno> Pipe::try_write(std::span<const std::byte> in) {
  if (readers_ == 0) return std::unexpected(abi::Errno::epipe);
  const std::size_t room = free_bytes();
  // POSIX: writes of at most PIPE_BUF bytes are never interleaved with other writers' data.
  if (room == 0 || (in.size() <= kAtomicWrite && room < in.size())) {
    return std::unexpected(abi::Errno::eagain);
  }
  const std::size_t count = std::min(in.size(), room);
  const std::size_t tail = (head_ + used_) % kCapacity;
  const std::size_t first = std::min(count, kCapacity - tail);
  std::memcpy(buffer_->bytes + tail, in.data(), first);
  std::memcpy(buffer_->bytes, in.data() + first, count - first);
  used_ += count;
  return count;
}

bool Pipe::unread(std::span<const std::byte> in) {
  if (in.size() > free_bytes()) return false;
  head_ = (head_ + kCapacity - in.size()) % kCapacity;
  const std::size_t first = std::min(in.size(), kCapacity - head_);  // up to the end of the ring
  std::memcpy(buffer_->bytes + head_, in.data(), first);
  std::memcpy(buffer_->bytes, in.data() + first, in.size() - first);
  used_ += in.size();
  return true;
}

std::expected<void, abi::Errno> make_pipe(OpenFile*& read_end, OpenFile*& write_end,
                                          std::uint64_t flags) {
  auto* pipe = new (std::nothrow) Pipe;
  if (pipe == nullptr || !pipe->buffer_ok()) {
    delete pipe;
    return std::unexpected(abi::Errno::enomem);
  }
  const std::uint32_t kept = static_cast<std::uint32_t>(flags & abi::kOpenNonblock);
  read_end = new (std::nothrow)
      OpenFile{&pipe->node, FileKind::pipe, static_cast<std::uint32_t>(abi::kOpenReadOnly) | kept};
  write_end = new (std::nothrow) OpenFile{&pipe->node, FileKind::pipe,
                                          static_cast<std::uint32_t>(abi::kOpenWriteOnly) | kept};
  if (read_end == nullptr || write_end == nullptr) {
    delete read_end;
    delete write_end;
    delete pipe;
    return std::unexpected(abi::Errno::enomem);
  }
  read_end->pipe = write_end->pipe = pipe;
  pipe->readers_ = pipe->writers_ = 1;
  pipe->reader_opens_ = pipe->writer_opens_ = 1;  // the read end has not seen it: POLLHUP counts
  return {};
}

std::expected<OpenFile*, abi::Errno> open_fifo(Node& node, std::uint32_t flags) {
  const std::uint32_t access = flags & abi::kOpenAccessMask;
  const bool reads = access != abi::kOpenWriteOnly;  // O_RDWR is both ends
  const bool writes = access != abi::kOpenReadOnly;
  const bool nonblocking = (flags & abi::kOpenNonblock) != 0;
  auto* file = new (std::nothrow) OpenFile{&node, FileKind::pipe, flags};
  if (file == nullptr) return std::unexpected(abi::Errno::enomem);
  // The first opener brings the pipe, allocated before the lock (interrupts are off under it).
  Pipe* spare = nullptr;
  if (node.fifo == nullptr) {
    spare = new (std::nothrow) Pipe;
    if (spare == nullptr || !spare->buffer_ok()) {
      delete spare;
      delete file;
      return std::unexpected(abi::Errno::enomem);
    }
  }
  PipeWaiter* waiter = the_waiter;
  std::optional<abi::Errno> failure;
  Pipe* unused = nullptr;  // the pipe when nobody is left on it after a failed open
  {
    WaiterLock locked(waiter);
    if (node.fifo == nullptr) {
      node.fifo = std::exchange(spare, nullptr);
      node.fifo->named_ = &node;
    }
    Pipe* pipe = node.fifo;
    if (writes && !reads && nonblocking && pipe->readers_ == 0) {
      failure = abi::Errno::enxio;  // fifo(7): nobody would ever read what it writes
    } else {
      if (reads) {
        ++pipe->readers_;
        ++pipe->reader_opens_;
      }
      if (writes) {
        ++pipe->writers_;
        ++pipe->writer_opens_;
      }
      file->pipe = pipe;
      if (!nonblocking && reads != writes) {
        wake(waiter);  // an open waiting for this end
        const std::size_t& partners = reads ? pipe->writers_ : pipe->readers_;
        const std::size_t& partner_opens = reads ? pipe->writer_opens_ : pipe->reader_opens_;
        const std::size_t seen = partner_opens;
        while (partners == 0 && partner_opens == seen) {
          if (waiter == nullptr || !waiter->wait()) {
            failure = waiter == nullptr ? abi::Errno::eagain : abi::Errno::eintr;
            break;
          }
        }
        if (failure) {
          if (reads) --pipe->readers_;
          if (writes) --pipe->writers_;
          file->pipe = nullptr;
        }
      }
      file->writer_opens_seen = pipe->writer_opens_;
    }
    if (failure && pipe->readers_ == 0 && pipe->writers_ == 0) {
      node.fifo = nullptr;
      unused = pipe;
    }
  }
  wake(waiter);  // the other end's waiting opens, or (undone) a change they must see
  delete spare;
  delete unused;
  if (failure) {
    delete file;
    return std::unexpected(*failure);
  }
  return file;
}

void close_pipe_end(OpenFile& file) {
  Pipe* pipe = file.pipe;
  if (pipe == nullptr) return;
  file.pipe = nullptr;
  bool last = false;
  {
    WaiterLock locked(the_waiter);
    // A pipe2 end is one side; a named pipe opened O_RDWR is both.
    if (file.readable()) --pipe->readers_;
    if (file.writable()) --pipe->writers_;
    last = pipe->readers_ == 0 && pipe->writers_ == 0;
    if (last && pipe->named_ != nullptr) pipe->named_->fifo = nullptr;  // the next open makes one
  }
  wake(the_waiter);  // readers see end of file, writers EPIPE, polls a change
  if (last) delete pipe;
}

std::expected<std::size_t, abi::Errno> pipe_read(OpenFile& file, std::span<std::byte> out) {
  if (out.empty()) return 0;
  PipeWaiter* waiter = the_waiter;
  for (;;) {
    std::expected<std::size_t, abi::Errno> got;
    {
      WaiterLock locked(waiter);
      got = file.pipe->try_read(out);
      if (!got && got.error() == abi::Errno::eagain && !file.nonblocking() && waiter != nullptr) {
        if (!waiter->wait()) return std::unexpected(abi::Errno::eintr);
        continue;
      }
    }
    if (got && *got > 0) wake(waiter);  // room for blocked writers
    return got;
  }
}

void pipe_unread(OpenFile& file, std::span<const std::byte> in) {
  if (in.empty() || file.pipe == nullptr) return;
  {
    WaiterLock locked(the_waiter);
    (void)file.pipe->unread(in);
  }
  wake(the_waiter);  // readers that came meanwhile see the bytes again
}

std::expected<std::size_t, abi::Errno> pipe_write(OpenFile& file, std::span<const std::byte> in) {
  if (in.empty()) return 0;
  PipeWaiter* waiter = the_waiter;
  std::size_t done = 0;
  // A blocking write returns only when all of it is in (pipe(7)); a non-blocking one takes what
  // fits. Either returns what went in before an error, if anything did.
  for (;;) {
    std::expected<std::size_t, abi::Errno> put;
    bool interrupted = false;
    {
      WaiterLock locked(waiter);
      put = file.pipe->try_write(in.subspan(done));
      if (!put && put.error() == abi::Errno::eagain && !file.nonblocking() && waiter != nullptr) {
        interrupted = !waiter->wait();
        if (!interrupted) continue;
      }
    }
    if (put) {
      done += *put;
      wake(waiter);  // data for blocked readers
      if (done < in.size() && !file.nonblocking()) continue;
      return done;
    }
    if (done > 0) return done;
    if (interrupted) return std::unexpected(abi::Errno::eintr);
    if (put.error() == abi::Errno::epipe && waiter != nullptr) waiter->broken_pipe();
    return std::unexpected(put.error());
  }
}

}  // namespace ferrite::fs
