// Open files over the initramfs tree and the four character devices (see file.h).
#include "fs/file.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <optional>

#include "fs/pipe.h"

namespace ferrite::fs {

namespace {

constinit TerminalPort* the_terminal = nullptr;

// The device number stat() gives every node of the tree: Linux's rootfs reports 0:1-style
// anonymous devices too; one fixed number is enough for programs that compare st_dev.
constexpr std::uint64_t kTreeDevice = 1;
constexpr std::uint64_t kBlockSize = 4096;  // st_blksize: the I/O size programs should use
// /proc's device number: another file system than the tree's, as on Linux (an anonymous device
// of its own), so that a program comparing st_dev sees the mount point.
constexpr std::uint64_t kGeneratedDevice = 3;
// A generated directory's listing: after ".", ".." and its fixed children, entry offsets from
// here on are this plus its provider's positions (fs/generated.h), so that a listing read in
// several getdents64 calls goes on at the same PID even when processes came or went between.
constexpr std::uint64_t kGeneratedOffset = std::uint64_t{1} << 32;

// What a regular file's reads see: its bytes, or a generated file's snapshot.
std::span<const std::byte> contents_of(const OpenFile& file) {
  return file.node->generator != nullptr ? file.contents.bytes() : file.node->data;
}

FileKind kind_of(const Node& node) {
  switch (node.type) {
    case NodeType::directory:
      return FileKind::directory;
    case NodeType::regular:
      return FileKind::regular;
    case NodeType::symlink:
      return FileKind::symlink;
    case NodeType::char_device:
      if (node.device == Device::null) return FileKind::null;
      if (node.device == Device::zero) return FileKind::zero;
      return FileKind::terminal;  // /dev/console, /dev/tty
    case NodeType::fifo:
      return FileKind::pipe;  // a named pipe (fifo(7)): open_fifo makes it an end of a pipe
  }
  return FileKind::regular;
}

// The S_IFMT bits and the getdents64 d_type of each NodeType, indexed by it (tables rather
// than switches: clang-tidy's branch-clone check cannot tell `return A;` from `return B;`).
static_assert(static_cast<int>(NodeType::directory) == 0 &&
              static_cast<int>(NodeType::regular) == 1 &&
              static_cast<int>(NodeType::symlink) == 2 &&
              static_cast<int>(NodeType::char_device) == 3 &&
              static_cast<int>(NodeType::fifo) == 4);
constexpr std::uint32_t kTypeBits[] = {abi::kModeDirectory, abi::kModeRegular, abi::kModeSymlink,
                                       abi::kModeCharDevice, abi::kModeFifo};
constexpr std::uint8_t kDirentTypes[] = {abi::kDirentDirectory, abi::kDirentRegular,
                                         abi::kDirentSymlink, abi::kDirentCharDevice,
                                         abi::kDirentFifo};

std::uint32_t type_bits(const Node& node) {
  return kTypeBits[static_cast<int>(node.type)];
}
std::uint8_t dirent_type(const Node& node) {
  return kDirentTypes[static_cast<int>(node.type)];
}

// A directory's link count as Unix counts it: its own name, its ".", and each subdirectory's "..".
std::uint64_t link_count(const Node& node) {
  if (node.type != NodeType::directory) return 1;
  std::uint64_t links = 2;
  for (const Node* child : node.children) links += child->type == NodeType::directory ? 1 : 0;
  return links;
}

// A device node's numbers: its driver's, or those mknod or the archive gave one without a driver.
DeviceNumbers device_numbers(const Node& node) {
  return node.device != Device::none ? numbers_of(node.device) : node.numbers;
}

std::uint64_t rdev_of(const Node& node) {
  if (node.type != NodeType::char_device) return 0;
  const DeviceNumbers numbers = device_numbers(node);
  // The encoding glibc's makedev() uses (and Linux's new_encode_dev for small numbers).
  return (std::uint64_t{numbers.major} << 8) | numbers.minor;
}

std::size_t copy_out(std::span<const std::byte> data, std::uint64_t offset,
                     std::span<std::byte> out) {
  if (offset >= data.size()) return 0;
  const std::size_t count = std::min<std::uint64_t>(out.size(), data.size() - offset);
  std::memcpy(out.data(), data.data() + offset, count);
  return count;
}

}  // namespace

TerminalPort* terminal() {
  return the_terminal;
}
void set_terminal(TerminalPort* port) {
  the_terminal = port;
}

bool hung_up(const OpenFile& file) {
  const TerminalPort* port = terminal();
  return file.kind == FileKind::terminal && port != nullptr &&
         tty::hung_up(port->jobs, file.opened_in);
}

std::expected<OpenFile*, abi::Errno> open(Node* node, std::uint64_t flags,
                                          std::int32_t session) {
  const std::uint64_t access = flags & abi::kOpenAccessMask;
  const bool wants_write = access == abi::kOpenWriteOnly || access == abi::kOpenReadWrite ||
                           (flags & abi::kOpenTruncate) != 0;
  if ((flags & abi::kOpenDirectory) != 0 && node->type != NodeType::directory) {
    return std::unexpected(abi::Errno::enotdir);
  }
  if (access == abi::kOpenAccessMask) return std::unexpected(abi::Errno::einval);
  // A device node with numbers ferrite has no driver for (an initramfs made for Linux may carry
  // /dev/ttyS0, 4,64): Linux answers ENXIO when the driver is missing, and so do we.
  if (node->type == NodeType::char_device && node->device == Device::none) {
    return std::unexpected(abi::Errno::enxio);
  }
  if (wants_write && node->type == NodeType::directory) return std::unexpected(abi::Errno::eisdir);
  // Generated files are 0444 and ferrite's root does not override that for them (Linux's root
  // would open them and then have write fail): a read-only snapshot is never written back.
  if (wants_write && node->generator != nullptr) return std::unexpected(abi::Errno::eacces);
  const bool tmpfs_file = node->writable() && node->type == NodeType::regular;
  // Devices and named pipes take writes on any file system, a read-only one included (Linux).
  if (wants_write && node->type != NodeType::char_device && node->type != NodeType::fifo &&
      !tmpfs_file) {
    return std::unexpected(abi::Errno::erofs);
  }
  constexpr std::uint64_t kOpenOnly = abi::kOpenCreate | abi::kOpenExclusive | abi::kOpenNoctty |
                                      abi::kOpenTruncate | abi::kOpenCloexec;
  if (node->type == NodeType::fifo) {
    // Held from before the open waits for its other end: an unlink meanwhile must not free it.
    hold(node);
    auto fifo = open_fifo(*node, static_cast<std::uint32_t>(flags & ~kOpenOnly));
    if (!fifo) drop(node);
    return fifo;
  }
  auto* file = new (std::nothrow)
      OpenFile{node, kind_of(*node), static_cast<std::uint32_t>(flags & ~kOpenOnly)};
  if (file == nullptr) return std::unexpected(abi::Errno::enomem);
  if (node->generator != nullptr && node->type == NodeType::regular) {
    if (auto made = node->generator->generate(*node, file->contents); !made) {
      delete file;  // and the part of the snapshot made: nothing stays behind
      return std::unexpected(made.error());
    }
  }
  {
    // The ETXTBSY check, O_TRUNC and the writer count in one section: a truncate frees the bytes a
    // reader may be copying, and an execve's check of `writers` must see this open whole.
    TreeGuard guard(tmpfs_file);
    // A program being loaded from it right now (execve): no writer (fs/tree.h, `writers`).
    if (wants_write && tmpfs_file && node->executing > 0) {
      delete file;
      return std::unexpected(abi::Errno::etxtbsy);
    }
    if (tmpfs_file && (flags & abi::kOpenTruncate) != 0) (void)node->resize(0);  // never fails
    hold(node);
    if (tmpfs_file && file->writable()) ++node->writers;
  }
  if (file->kind == FileKind::terminal && terminal() != nullptr) {
    file->opened_in = terminal()->opened(session);
  }
  return file;
}

OpenFile* retain(OpenFile* file) {
  if (file != nullptr) std::atomic_ref(file->references).fetch_add(1, std::memory_order_relaxed);
  return file;
}

void release(OpenFile* file) {
  if (file == nullptr ||
      std::atomic_ref(file->references).fetch_sub(1, std::memory_order_acq_rel) > 1) {
    return;
  }
  if (file->kind == FileKind::terminal && terminal() != nullptr) {
    terminal()->closed(file->opened_in);
  }
  if (file->kind == FileKind::pipe) {
    // A named pipe's node is dropped after its pipe lets go of it; an anonymous pipe's node is
    // the pipe's own and goes with it.
    Node* named = file->pipe != nullptr ? file->pipe->named_node() : nullptr;
    close_pipe_end(*file);
    drop(named);
  } else {
    TreeGuard guard(file->node != nullptr && file->node->writable());
    if (file->kind == FileKind::regular && file->node->writable() && file->writable())
      --file->node->writers;  // as open() counted it
    drop(file->node);  // a removed file dies with its last close
  }
  delete file;
}

std::expected<std::size_t, abi::Errno> read(OpenFile& file, std::span<std::byte> out) {
  if (!file.readable()) return std::unexpected(abi::Errno::ebadf);
  if (file.kind == FileKind::directory) return std::unexpected(abi::Errno::eisdir);
  switch (file.kind) {
    case FileKind::regular: {
      // A tmpfs file's bytes may be resized (freed) by a truncate or a write meanwhile.
      TreeGuard guard(file.node->writable());
      const std::size_t count = copy_out(contents_of(file), file.offset, out);
      file.offset += count;
      return count;
    }
    case FileKind::null:
      return 0;
    case FileKind::zero:
      std::memset(out.data(), 0, out.size());
      return out.size();
    case FileKind::terminal: {
      TerminalPort* port = terminal();
      if (port == nullptr) return std::unexpected(abi::Errno::eio);
      if (hung_up(file)) return 0;
      return port->read({reinterpret_cast<char*>(out.data()), out.size()}, file.opened_in);
    }
    case FileKind::pipe:
      return pipe_read(file, out);
    default:
      return std::unexpected(abi::Errno::einval);  // a symbolic link opened with O_PATH
  }
}

std::expected<std::size_t, abi::Errno> pread(OpenFile& file, std::span<std::byte> out,
                                             std::uint64_t offset) {
  if (!file.readable()) return std::unexpected(abi::Errno::ebadf);
  if (file.kind == FileKind::terminal || file.kind == FileKind::pipe) {
    return std::unexpected(abi::Errno::espipe);
  }
  if (file.kind == FileKind::regular) {
    TreeGuard guard(file.node->writable());  // as read()
    return copy_out(contents_of(file), offset, out);
  }
  const std::uint64_t saved = file.offset;  // the devices and directories ignore positions
  auto result = read(file, out);
  file.offset = saved;
  return result;
}

std::expected<std::size_t, abi::Errno> write(OpenFile& file, std::span<const std::byte> in) {
  if (!file.writable()) return std::unexpected(abi::Errno::ebadf);
  switch (file.kind) {
    case FileKind::null:
    case FileKind::zero:
      return in.size();
    case FileKind::terminal: {
      TerminalPort* port = terminal();
      if (port == nullptr || hung_up(file)) return std::unexpected(abi::Errno::eio);
      port->write({reinterpret_cast<const char*>(in.data()), in.size()});
      return in.size();
    }
    case FileKind::pipe:
      return pipe_write(file, in);
    case FileKind::regular: {
      if (!file.node->writable()) return std::unexpected(abi::Errno::ebadf);  // open() stops it
      TreeGuard guard;  // the size O_APPEND reads and the resize, one step
      // O_APPEND writes at the end; the offset moves only when the write succeeds (as on Linux).
      const std::uint64_t at = (file.flags & abi::kOpenAppend) != 0 ? file.node->size() : file.offset;
      auto put = file.node->write_at(at, in);
      if (put) file.offset = at + *put;
      return put;
    }
    default:
      return std::unexpected(abi::Errno::ebadf);  // open() never lets this happen
  }
}

std::expected<std::size_t, abi::Errno> pwrite(OpenFile& file, std::span<const std::byte> in,
                                              std::uint64_t offset) {
  if (!file.writable()) return std::unexpected(abi::Errno::ebadf);
  if (file.kind == FileKind::terminal || file.kind == FileKind::pipe) {
    return std::unexpected(abi::Errno::espipe);
  }
  if (file.kind == FileKind::regular && file.node->writable()) {
    TreeGuard guard;
    return file.node->write_at(offset, in);  // at `offset` even with O_APPEND (Linux appends)
  }
  return write(file, in);
}

std::expected<void, abi::Errno> truncate(Node& node, std::int64_t length) {
  if (length < 0) return std::unexpected(abi::Errno::einval);
  if (node.type == NodeType::directory) return std::unexpected(abi::Errno::eisdir);
  if (node.type != NodeType::regular) return std::unexpected(abi::Errno::einval);
  if (!node.writable()) return std::unexpected(abi::Errno::erofs);
  TreeGuard guard;  // a reader may be copying from the bytes this frees
  if (node.executing > 0) return std::unexpected(abi::Errno::etxtbsy);  // fs/tree.h, `writers`
  if (static_cast<std::uint64_t>(length) > node.budget->limit) {
    return std::unexpected(abi::Errno::enospc);
  }
  return node.resize(static_cast<std::size_t>(length));
}

std::expected<std::uint64_t, abi::Errno> lseek(OpenFile& file, std::int64_t offset,
                                               std::uint64_t whence) {
  if (file.kind == FileKind::terminal || file.kind == FileKind::pipe) {
    return std::unexpected(abi::Errno::espipe);
  }
  if (file.kind == FileKind::null || file.kind == FileKind::zero) return 0;  // as Linux's
  std::int64_t base = 0;
  switch (whence) {
    case abi::kSeekSet:
      base = 0;
      break;
    case abi::kSeekCur:
      base = static_cast<std::int64_t>(file.offset);
      break;
    case abi::kSeekEnd:
      // seq_file's lseek knows no end either: its contents are made as they are read.
      if (file.kind == FileKind::directory || file.node->generator != nullptr) {
        return std::unexpected(abi::Errno::einval);
      }
      base = static_cast<std::int64_t>(file.node->size());
      break;
    default:
      return std::unexpected(abi::Errno::einval);
  }
  std::int64_t position = 0;
  if (__builtin_add_overflow(base, offset, &position) || position < 0) {
    return std::unexpected(abi::Errno::einval);
  }
  file.offset = static_cast<std::uint64_t>(position);
  return file.offset;
}

std::expected<std::size_t, abi::Errno> getdents64(OpenFile& file, std::span<std::byte> out) {
  if (file.kind != FileKind::directory) return std::unexpected(abi::Errno::enotdir);
  const Node& directory = *file.node;
  // A tmpfs directory's children may be unlinked and freed while the listing walks them.
  TreeGuard guard(directory.writable());
  std::size_t used = 0;
  // Entry k of the directory: 0 ".", 1 "..", 2 + i the i-th child, and in a generated directory
  // kGeneratedOffset + p its provider's entry at position p. The offset is the next k.
  // The children are a linked list: the first one this call lists is found by walking, the
  // others follow from it.
  const bool in_children = file.offset < kGeneratedOffset;
  const Node* child =
      in_children ? directory.children.at(file.offset >= 2 ? file.offset - 2 : 0) : nullptr;
  for (;;) {
    std::uint64_t k = file.offset;
    if (k >= 2 && k < kGeneratedOffset && child == nullptr) {
      if (directory.generator == nullptr) break;
      k = file.offset = kGeneratedOffset;  // the fixed names are done: the provider's come next
    }
    std::string_view name;
    std::uint64_t inode = 0;
    std::uint8_t type = 0;
    std::uint64_t next = k + 1;
    std::optional<GeneratedEntry> generated;
    if (k >= kGeneratedOffset) {
      generated = directory.generator->entry(directory, k - kGeneratedOffset);
      if (!generated) break;
      name = generated->name_view();
      inode = generated->inode;
      type = kDirentTypes[static_cast<int>(generated->type)];
      next = kGeneratedOffset + generated->next_position;
    } else {
      const Node& entry = k == 0 ? directory : k == 1 ? *directory.parent : *child;
      name = k == 0 ? "." : k == 1 ? ".." : entry.name;
      inode = entry.inode;
      type = dirent_type(entry);
    }
    const std::size_t length =
        (abi::kDirent64NameOffset + name.size() + 1 + 7) & ~std::size_t{7};  // padded to 8
    if (used + length > out.size()) {
      if (used == 0)
        return std::unexpected(abi::Errno::einval);  // Linux: "result buffer too small"
      break;
    }
    std::byte* record = out.data() + used;
    std::memset(record, 0, length);
    const abi::Dirent64Header header{inode, static_cast<std::int64_t>(next),
                                     static_cast<std::uint16_t>(length), type};
    std::memcpy(record, &header, abi::kDirent64NameOffset);
    std::memcpy(record + abi::kDirent64NameOffset, name.data(), name.size());
    used += length;
    file.offset = next;
    if (k >= 2 && k < kGeneratedOffset) child = child->next_sibling;
  }
  return used;
}

std::uint32_t poll_events(const OpenFile& file) {
  constexpr std::uint32_t kIn = kPollIn | kPollRdnorm, kOut = kPollOut | kPollWrnorm;
  switch (file.kind) {
    case FileKind::pipe: {
      const Pipe& pipe = *file.pipe;
      if (file.readable()) {
        // Hung up when the last writer has gone — one that came after this end opened (a
        // named pipe's reader waiting for its first writer is not), Linux's pipe_poll.
        const bool hung_up = pipe.writers() == 0 && pipe.writer_opens() != file.writer_opens_seen;
        return (pipe.readable_bytes() > 0 ? kIn : 0) | (hung_up ? kPollHup : 0);
      }
      if (pipe.readers() == 0) return kOut | kPollErr;
      return pipe.free_bytes() >= Pipe::kAtomicWrite ? kOut : 0;
    }
    case FileKind::terminal: {
      TerminalPort* port = terminal();
      if (hung_up(file)) return kIn | kOut | kPollErr | kPollHup;  // as Linux's hung_up_tty_poll
      return (port != nullptr && port->readable_bytes() > 0 ? kIn : 0) | kOut;
    }
    default:
      return kIn | kOut;
  }
}

abi::Stat stat_of(const Node& node) {
  abi::Stat st{};
  st.st_dev = node.generator != nullptr ? kGeneratedDevice : kTreeDevice;
  st.st_ino = node.inode;
  st.st_nlink = link_count(node);
  st.st_mode = type_bits(node) | (node.mode & 07777);
  st.st_uid = node.uid;
  st.st_gid = node.gid;
  st.st_rdev = rdev_of(node);
  st.st_size = static_cast<std::int64_t>(node.size());
  st.st_blksize = kBlockSize;
  st.st_blocks = static_cast<std::int64_t>((node.size() + 511) / 512);
  st.access_seconds = st.modify_seconds = st.change_seconds = node.mtime;
  return st;
}

abi::Statx statx_of(const Node& node) {
  const abi::Stat st = stat_of(node);
  abi::Statx sx{};
  sx.stx_mask = abi::kStatxBasicStats;
  sx.stx_blksize = static_cast<std::uint32_t>(st.st_blksize);
  sx.stx_nlink = static_cast<std::uint32_t>(st.st_nlink);
  sx.stx_uid = st.st_uid;
  sx.stx_gid = st.st_gid;
  sx.stx_mode = static_cast<std::uint16_t>(st.st_mode);
  sx.stx_ino = st.st_ino;
  sx.stx_size = static_cast<std::uint64_t>(st.st_size);
  sx.stx_blocks = static_cast<std::uint64_t>(st.st_blocks);
  sx.stx_atime.tv_sec = sx.stx_ctime.tv_sec = sx.stx_mtime.tv_sec = node.mtime;
  if (node.type == NodeType::char_device) {
    const DeviceNumbers numbers = device_numbers(node);
    sx.stx_rdev_major = numbers.major;
    sx.stx_rdev_minor = numbers.minor;
  }
  sx.stx_dev_major = 0;
  sx.stx_dev_minor = static_cast<std::uint32_t>(st.st_dev);
  return sx;
}

}  // namespace ferrite::fs
