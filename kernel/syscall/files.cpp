// The file system calls (chapter 14): descriptors, reading and writing, stat, directories,
// paths and the terminal's ioctls. Data moves between user memory and the files through a small
// kernel buffer, one chunk at a time; every user pointer goes through mm/user_copy.h.
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <new>
#include <optional>

#include "abi/linux_types.h"
#include "fs/pipe.h"
#include "syscall/handlers.h"

namespace ferrite::syscall {

namespace {

using abi::Errno;
constexpr std::size_t kChunk = 1024;  // bytes per step through the kernel buffer (on the stack)

// Reads up to `count` bytes of `file` into user memory at `buffer`, from the file position, or
// from `*at` (pread). A read that returns less than it asked for ends the transfer: the end of
// the file, or one line of the terminal. What was transferred before an error is returned, as
// Linux does (the error is lost; the next call sees it again).
Result read_to_user(fs::OpenFile& file, std::uint64_t buffer, std::uint64_t count,
                    const std::uint64_t* at) {
  std::byte chunk[kChunk];
  std::uint64_t done = 0;
  while (done < count) {
    const std::size_t want = std::min<std::uint64_t>(count - done, kChunk);
    const auto got =
        at != nullptr ? fs::pread(file, {chunk, want}, *at + done) : fs::read(file, {chunk, want});
    if (!got) {
      if (done > 0) break;
      return std::unexpected(got.error());
    }
    if (*got > 0) {
      if (auto copied = mm::copy_to_user(buffer + done, chunk, *got); !copied) {
        // Bytes taken from a pipe but not delivered go back into it, as on Linux, where a
        // read into a bad buffer leaves the data for the next read.
        if (file.kind == fs::FileKind::pipe) fs::pipe_unread(file, {chunk, *got});
        if (done > 0) break;
        return std::unexpected(copied.error());
      }
    }
    done += *got;
    // A short read is the end of the file; the terminal gives one line per read, whatever
    // its length: never wait for a second one.
    if (*got < want || file.kind == fs::FileKind::terminal) break;
  }
  return static_cast<std::int64_t>(done);
}

Result write_from_user(fs::OpenFile& file, std::uint64_t buffer, std::uint64_t count) {
  std::byte chunk[kChunk];
  std::uint64_t done = 0;
  while (done < count) {
    const std::size_t want = std::min<std::uint64_t>(count - done, kChunk);
    if (auto copied = mm::copy_from_user(chunk, buffer + done, want); !copied) {
      if (done > 0) break;
      return std::unexpected(copied.error());
    }
    const auto put = fs::write(file, {chunk, want});
    if (!put) {
      if (done > 0) break;
      return std::unexpected(put.error());
    }
    done += *put;
    if (*put < want) break;
  }
  return static_cast<std::int64_t>(done);
}

// The checks read and write make before moving a byte, in Linux's order: the descriptor
// (EBADF), its access mode (EBADF), then the buffer (EFAULT).
std::expected<fs::OpenFile*, Errno> checked_transfer(proc::Process& process, std::uint64_t fd,
                                                     std::uint64_t buffer, std::uint64_t& count,
                                                     bool writing) {
  auto file = file_of(process, fd);  // not const: returned by move
  if (!file) return file;
  if (writing ? !(*file)->writable() : !(*file)->readable()) return std::unexpected(Errno::ebadf);
  if (!user_range_ok(buffer, count)) return std::unexpected(Errno::efault);
  count = std::min(count, kMaxTransfer);
  return file;
}

// readv/writev: the vector is read one iovec at a time (up to UIO_MAXIOV of them, far more than
// fit on a kernel stack). The total is checked first, so an overflowing vector fails whole.
Result vector_transfer(proc::Process& process, const Arguments& a, bool writing) {
  const auto file = file_of(process, a.arg[0]);
  if (!file) return std::unexpected(file.error());
  if (writing ? !(*file)->writable() : !(*file)->readable()) return std::unexpected(Errno::ebadf);
  if (auto allowed = terminal_transfer_check(process, **file, writing); !allowed)
    return std::unexpected(allowed.error());
  const std::uint64_t vector = a.arg[1];
  const auto count = static_cast<std::int32_t>(a.arg[2]);
  if (count < 0 || static_cast<std::uint64_t>(count) > abi::kUioMaxIov) {
    return std::unexpected(Errno::einval);
  }
  // Linux's import_iovec: a length that is negative as an ssize_t is EINVAL, a buffer outside
  // user memory EFAULT; the total is then cut to MAX_RW_COUNT.
  for (std::int32_t i = 0; i < count; ++i) {
    const auto io =
        copy_in<abi::Iovec>(vector + static_cast<std::uint64_t>(i) * sizeof(abi::Iovec));
    if (!io) return std::unexpected(io.error());
    if (io->iov_len > static_cast<std::uint64_t>(INT64_MAX)) return std::unexpected(Errno::einval);
    if (!user_range_ok(io->iov_base, io->iov_len)) return std::unexpected(Errno::efault);
  }
  std::int64_t done = 0;
  for (std::int32_t i = 0; i < count; ++i) {
    const auto io =
        copy_in<abi::Iovec>(vector + static_cast<std::uint64_t>(i) * sizeof(abi::Iovec));
    if (!io) return done > 0 ? Result(done) : std::unexpected(io.error());
    const std::uint64_t length =
        std::min(io->iov_len, kMaxTransfer - static_cast<std::uint64_t>(done));
    if (length == 0 && io->iov_len != 0) break;  // MAX_RW_COUNT reached
    // Empty segments are skipped, as Linux's iov_iter does: musl's stdio reads a character with
    // readv({buf, 0}, {its buffer, BUFSIZ}), and stopping after the empty one would look like
    // the end of the file to getchar() on a terminal.
    if (length == 0) continue;
    const Result part = writing ? write_from_user(**file, io->iov_base, length)
                                : read_to_user(**file, io->iov_base, length, nullptr);
    if (!part) return done > 0 ? Result(done) : part;
    done += *part;
    // Short: the end of the file. A terminal read gives one line, whatever is left of the vector.
    if (static_cast<std::uint64_t>(*part) < length ||
        (!writing && (*file)->kind == fs::FileKind::terminal)) {
      break;
    }
  }
  return done;
}

// The directory a path's last component lives in, and that component ("a/b/" → a, "b").
struct ParentAndName {
  fs::Node* parent;
  std::string_view name;
};
std::expected<ParentAndName, Errno> resolve_parent(proc::Process& process, std::int64_t dirfd,
                                                   std::string_view path) {
  if (path.empty()) return std::unexpected(Errno::enoent);
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const std::size_t slash = path.rfind('/');
  std::string_view directory = ".";
  std::string_view name = path;
  if (slash != std::string_view::npos) {
    directory = slash == 0 ? "/" : path.substr(0, slash);
    name = path.substr(slash + 1);
  }
  const auto parent = resolve(process, dirfd, directory, fs::FollowLast::yes);
  if (!parent) return std::unexpected(parent.error());
  if ((*parent)->type != fs::NodeType::directory) return std::unexpected(Errno::enotdir);
  if (name.size() > fs::kMaxNameLength) return std::unexpected(Errno::enametoolong);
  return ParentAndName{*parent, name};
}

// A new tmpfs node at `path` (open's O_CREAT, mkdir): its permission bits are `mode` less the
// process's umask. EROFS outside /tmp, EEXIST if the name is taken.
std::expected<fs::Node*, Errno> create_node(proc::Process& process, std::int64_t dirfd,
                                            std::string_view path, fs::NodeType type,
                                            std::uint64_t mode) {
  const auto where = resolve_parent(process, dirfd, path);
  if (!where) return std::unexpected(where.error());
  const auto tree = file_tree();
  if (!tree) return std::unexpected(tree.error());
  return (*tree)->create(where->parent, where->name, type, mode & 07777 & ~process.umask);
}

Result open_at(proc::Process& process, std::int64_t dirfd, std::uint64_t path_address,
               std::uint64_t flags, std::uint64_t mode) {
  if (process.files == nullptr) return std::unexpected(Errno::emfile);
  UserPath path;
  const auto text = path.read(path_address);
  if (!text) return std::unexpected(text.error());
  const bool no_follow = (flags & abi::kOpenNofollow) != 0;
  const bool create = (flags & abi::kOpenCreate) != 0;
  // The lookup (or creation) and a hold of the node in one section, so that an rm meanwhile
  // cannot free it before fs::open holds it; fs::open itself is outside, as a named pipe's open
  // sleeps until its other end comes (fs/tree.h: the tree lock).
  std::optional<fs::TreeGuard> guard(std::in_place);
  auto node =
      resolve(process, dirfd, *text, no_follow ? fs::FollowLast::no : fs::FollowLast::yes);
  bool made = false;  // by this call's O_CREAT
  if (!node) {
    if (node.error() != Errno::enoent || !create) return std::unexpected(node.error());
    // O_CREAT of a missing name: a new tmpfs file; EROFS outside /tmp, EISDIR for "name/".
    if (text->ends_with('/')) return std::unexpected(Errno::eisdir);
    const auto created = create_node(process, dirfd, *text, fs::NodeType::regular, mode);
    if (!created) return std::unexpected(created.error());
    node = *created;
    made = true;
  } else if (create) {
    if ((flags & abi::kOpenExclusive) != 0) return std::unexpected(Errno::eexist);
    if ((*node)->type == fs::NodeType::directory) return std::unexpected(Errno::eisdir);
  }
  if (no_follow && (*node)->type == fs::NodeType::symlink) return std::unexpected(Errno::eloop);
  // A file this call made goes again when the open fails after it (no memory for the OpenFile,
  // no free descriptor), so that a failed open leaves nothing behind. Removing allocates nothing.
  // Unless another program has renamed or removed it meanwhile: then its name is not ours.
  fs::Node* const parent = (*node)->parent;
  const auto unmake = [&](Errno error) -> Result {
    fs::TreeGuard again;
    if (made && !(*node)->unlinked && (*node)->parent == parent)
      (void)(*file_tree())->remove(parent, (*node)->name, false);
    fs::drop(*node);
    return std::unexpected(error);
  };
  fs::hold(*node);
  guard.reset();
  const auto file = fs::open(*node, flags, process.sid);
  if (!file) return unmake(file.error());
  const auto fd = process.files->install(*file);
  if (!fd) return unmake(fd.error());
  fs::drop(*node);  // the OpenFile holds it now
  process.files->set_close_on_exec(*fd, (flags & abi::kOpenCloexec) != 0);
  return *fd;
}

Result stat_at(proc::Process& process, std::int64_t dirfd, std::uint64_t path_address,
               std::uint64_t stat_address, std::uint64_t flags) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  if ((flags & ~(abi::kAtSymlinkNofollow | abi::kAtEmptyPath)) != 0)
    return std::unexpected(Errno::einval);
  const auto node = resolve_user_path_at(process, dirfd, path_address, flags);
  if (!node) return std::unexpected(node.error());
  if (auto copied = copy_out(stat_address, fs::stat_of(**node)); !copied)
    return std::unexpected(copied.error());
  return 0;
}

Result readlink_at(proc::Process& process, std::int64_t dirfd, std::uint64_t path_address,
                   std::uint64_t buffer, std::uint64_t size) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  if (static_cast<std::int32_t>(size) <= 0) return std::unexpected(Errno::einval);
  const auto node = resolve_user_path(process, dirfd, path_address, fs::FollowLast::no);
  if (!node) return std::unexpected(node.error());
  if ((*node)->type != fs::NodeType::symlink) return std::unexpected(Errno::einval);
  // The target, without a NUL, cut to the buffer (readlink(2)); /proc's made now (fs/generated.h).
  const auto target = fs::link_target(**node);
  if (!target) return std::unexpected(target.error());
  const std::size_t length =
      std::min<std::uint64_t>(target->size(), static_cast<std::uint32_t>(size));
  if (auto copied = mm::copy_to_user(buffer, target->data(), length); !copied) {
    return std::unexpected(copied.error());
  }
  return static_cast<std::int64_t>(length);
}

// Everybody is root here (uid 0), so only what root is refused counts: writing to the read-only
// tree, and executing a file with no execute bit at all.
Result access_at(proc::Process& process, std::int64_t dirfd, std::uint64_t path_address,
                 std::uint64_t mode, std::uint64_t flags) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  if ((mode & ~std::uint64_t{7}) != 0) return std::unexpected(Errno::einval);
  if ((flags & ~(abi::kAtSymlinkNofollow | abi::kAtEaccess | abi::kAtEmptyPath)) != 0) {
    return std::unexpected(Errno::einval);
  }
  const auto node = resolve_user_path_at(process, dirfd, path_address, flags);
  if (!node) return std::unexpected(node.error());
  if ((mode & abi::kAccessWrite) != 0 && (*node)->type != fs::NodeType::char_device &&
      !(*node)->writable()) {
    return std::unexpected(Errno::erofs);
  }
  if ((mode & abi::kAccessExecute) != 0 && (*node)->type != fs::NodeType::directory &&
      ((*node)->mode & 0111) == 0) {
    return std::unexpected(Errno::eacces);
  }
  return 0;
}

}  // namespace

Result sys_read(proc::Process& process, const Arguments& a) {
  std::uint64_t count = a.arg[2];
  const auto file = checked_transfer(process, a.arg[0], a.arg[1], count, false);
  if (!file) return std::unexpected(file.error());
  if (auto allowed = terminal_transfer_check(process, **file, false); !allowed)
    return std::unexpected(allowed.error());
  return read_to_user(**file, a.arg[1], count, nullptr);
}

Result sys_write(proc::Process& process, const Arguments& a) {
  std::uint64_t count = a.arg[2];
  const auto file = checked_transfer(process, a.arg[0], a.arg[1], count, true);
  if (!file) return std::unexpected(file.error());
  if (auto allowed = terminal_transfer_check(process, **file, true); !allowed)
    return std::unexpected(allowed.error());
  return write_from_user(**file, a.arg[1], count);
}

Result sys_pread64(proc::Process& process, const Arguments& a) {
  std::uint64_t count = a.arg[2];
  const auto file = checked_transfer(process, a.arg[0], a.arg[1], count, false);
  if (!file) return std::unexpected(file.error());
  if (static_cast<std::int64_t>(a.arg[3]) < 0) return std::unexpected(Errno::einval);
  return read_to_user(**file, a.arg[1], count, &a.arg[3]);
}

Result sys_readv(proc::Process& process, const Arguments& a) {
  return vector_transfer(process, a, false);
}
Result sys_writev(proc::Process& process, const Arguments& a) {
  return vector_transfer(process, a, true);
}

Result sys_open(proc::Process& process, const Arguments& a) {
  return open_at(process, abi::kAtFdcwd, a.arg[0], a.arg[1], a.arg[2]);
}
Result sys_openat(proc::Process& process, const Arguments& a) {
  return open_at(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1], a.arg[2], a.arg[3]);
}
Result sys_creat(proc::Process& process, const Arguments& a) {
  return open_at(process, abi::kAtFdcwd, a.arg[0],
                 abi::kOpenCreate | abi::kOpenWriteOnly | abi::kOpenTruncate, a.arg[1]);
}

// --- tmpfs: the calls that change the tree (only /tmp takes them; EROFS elsewhere).

namespace {

Result make_directory(proc::Process& process, std::int64_t dirfd, std::uint64_t path_address,
                      std::uint64_t mode) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  UserPath path;
  const auto text = path.read(path_address);
  if (!text) return std::unexpected(text.error());
  const auto made = create_node(process, dirfd, *text, fs::NodeType::directory, mode);
  if (!made) return std::unexpected(made.error());
  return 0;
}

Result remove_name(proc::Process& process, std::int64_t dirfd, std::uint64_t path_address,
                   bool directory) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  UserPath path;
  const auto text = path.read(path_address);
  if (!text) return std::unexpected(text.error());
  const auto where = resolve_parent(process, dirfd, *text);
  if (!where) return std::unexpected(where.error());
  const auto tree = file_tree();
  if (!tree) return std::unexpected(tree.error());
  if (where->name == "." && directory) return std::unexpected(Errno::einval);
  if (auto removed = (*tree)->remove(where->parent, where->name, directory); !removed) {
    return std::unexpected(removed.error());
  }
  return 0;
}

Result rename_at(proc::Process& process, std::int64_t old_dirfd, std::uint64_t old_address,
                 std::int64_t new_dirfd, std::uint64_t new_address, std::uint64_t flags) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  if (flags != 0) return std::unexpected(Errno::einval);  // RENAME_NOREPLACE... not supported
  UserPath old_path;
  UserPath new_path;
  const auto old_text = old_path.read(old_address);
  if (!old_text) return std::unexpected(old_text.error());
  const auto new_text = new_path.read(new_address);
  if (!new_text) return std::unexpected(new_text.error());
  const auto from = resolve_parent(process, old_dirfd, *old_text);
  if (!from) return std::unexpected(from.error());
  const auto to = resolve_parent(process, new_dirfd, *new_text);
  if (!to) return std::unexpected(to.error());
  const auto tree = file_tree();
  if (!tree) return std::unexpected(tree.error());
  if (auto moved = (*tree)->rename(from->parent, from->name, to->parent, to->name); !moved) {
    return std::unexpected(moved.error());
  }
  return 0;
}

// A new name that is not a directory's may not end in '/' (Linux's filename_create): EEXIST if
// the name is taken, else ENOENT. ("." and ".." are left to the tree: EEXIST.)
std::expected<void, Errno> no_trailing_slash(std::string_view path, const ParentAndName& where) {
  if (!path.ends_with('/') || where.name.empty() || where.name == "." || where.name == "..") {
    return {};
  }
  return std::unexpected(where.parent->child(where.name) != nullptr ? Errno::eexist : Errno::enoent);
}

// Where symlink, link and mknod put their new name, read from user memory into `path` (the
// name points into it): the tree, and the name's directory and last component, with no trailing
// '/' (no_trailing_slash).
struct NewName {
  fs::Tree* tree;
  ParentAndName where;
};
std::expected<NewName, Errno> read_new_name(proc::Process& process, std::int64_t dirfd,
                                            std::uint64_t address, UserPath& path) {
  const auto text = path.read(address);
  if (!text) return std::unexpected(text.error());
  const auto where = resolve_parent(process, dirfd, *text);
  if (!where) return std::unexpected(where.error());
  if (auto slash = no_trailing_slash(*text, *where); !slash) return std::unexpected(slash.error());
  const auto tree = file_tree();
  if (!tree) return std::unexpected(tree.error());
  return NewName{*tree, *where};
}

// symlink(2): the target is read first ("" is ENOENT, past PATH_MAX ENAMETOOLONG), then the
// new name's directory is found; the tree does the rest (Tree::symlink).
Result make_symlink(proc::Process& process, std::uint64_t target_address, std::int64_t dirfd,
                    std::uint64_t path_address) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  UserPath target;
  UserPath path;
  const auto target_text = target.read(target_address);
  if (!target_text) return std::unexpected(target_text.error());
  if (target_text->empty()) return std::unexpected(Errno::enoent);
  const auto name = read_new_name(process, dirfd, path_address, path);
  if (!name) return std::unexpected(name.error());
  if (auto made = name->tree->symlink(name->where.parent, name->where.name, *target_text); !made) {
    return std::unexpected(made.error());
  }
  return 0;
}

// linkat(2): flags AT_SYMLINK_FOLLOW (follow a link at `old`; by default the link itself is
// what gets the new name) and AT_EMPTY_PATH ("" names the file open as old_dirfd). The tree has
// no hard links: Tree::link makes Linux's checks and ends in EPERM.
Result make_link(proc::Process& process, std::int64_t old_dirfd, std::uint64_t old_address,
                 std::int64_t new_dirfd, std::uint64_t new_address, std::uint64_t flags) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  if ((flags & ~(abi::kAtSymlinkFollow | abi::kAtEmptyPath)) != 0) {
    return std::unexpected(Errno::einval);
  }
  const auto node = resolve_user_path(
      process, old_dirfd, old_address,
      (flags & abi::kAtSymlinkFollow) != 0 ? fs::FollowLast::yes : fs::FollowLast::no,
      empty_path_from(flags));
  if (!node) return std::unexpected(node.error());
  UserPath new_path;
  const auto name = read_new_name(process, new_dirfd, new_address, new_path);
  if (!name) return std::unexpected(name.error());
  if (auto linked = name->tree->link(*node, name->where.parent, name->where.name); !linked) {
    return std::unexpected(linked.error());
  }
  return 0;
}

// mknod(2): the kind in `mode`'s S_IFMT bits — 0 or S_IFREG an empty file, S_IFIFO a named
// pipe, S_IFCHR a character device numbered by `device` (Linux's dev_t as the kernel takes it:
// a 32-bit new_encode_dev). S_IFDIR is EPERM (mkdir makes directories), an unknown kind EINVAL —
// both before the path is looked at, as may_mknod does. S_IFBLK and S_IFSOCK are EPERM: ferrite
// has no block devices or sockets, and EPERM is what Linux answers when "the file system
// containing pathname does not support the type of node requested" (mknod(2)).
Result make_node(proc::Process& process, std::int64_t dirfd, std::uint64_t path_address,
                 std::uint64_t mode, std::uint64_t device) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  const auto kind = static_cast<std::uint32_t>(mode) & abi::kModeTypeMask;
  fs::NodeType type = fs::NodeType::regular;
  switch (kind) {
    case 0:
    case abi::kModeRegular:
      break;
    case abi::kModeFifo:
      type = fs::NodeType::fifo;
      break;
    case abi::kModeCharDevice:
      type = fs::NodeType::char_device;
      break;
    case abi::kModeDirectory:
      return std::unexpected(Errno::eperm);
    case abi::kModeBlockDevice:
    case abi::kModeSocket:
      break;  // refused after the name's checks, as vfs_mknod does
    default:
      return std::unexpected(Errno::einval);
  }
  UserPath path;
  const auto name = read_new_name(process, dirfd, path_address, path);
  if (!name) return std::unexpected(name.error());
  const ParentAndName& where = name->where;
  if (kind == abi::kModeBlockDevice || kind == abi::kModeSocket) {
    if (auto checked = fs::Tree::check_new_name(where.parent, where.name); !checked) {
      return std::unexpected(checked.error());  // EEXIST, EROFS...
    }
    return std::unexpected(Errno::eperm);
  }
  // new_decode_dev: major in bits 8-19, minor in bits 0-7 and 20-31.
  const auto raw = static_cast<std::uint32_t>(device);
  const fs::DeviceNumbers numbers{(raw & 0xfff00) >> 8, (raw & 0xff) | ((raw >> 12) & 0xfff00)};
  auto made =
      name->tree->create(where.parent, where.name, type, mode & 07777 & ~process.umask, numbers);
  if (!made) return std::unexpected(made.error());
  return 0;
}

}  // namespace

Result sys_symlink(proc::Process& process, const Arguments& a) {
  return make_symlink(process, a.arg[0], abi::kAtFdcwd, a.arg[1]);
}
Result sys_symlinkat(proc::Process& process, const Arguments& a) {
  return make_symlink(process, a.arg[0], static_cast<std::int64_t>(a.arg[1]), a.arg[2]);
}
Result sys_link(proc::Process& process, const Arguments& a) {
  return make_link(process, abi::kAtFdcwd, a.arg[0], abi::kAtFdcwd, a.arg[1], 0);
}
Result sys_linkat(proc::Process& process, const Arguments& a) {
  return make_link(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1],
                   static_cast<std::int64_t>(a.arg[2]), a.arg[3], a.arg[4]);
}
Result sys_mknod(proc::Process& process, const Arguments& a) {
  return make_node(process, abi::kAtFdcwd, a.arg[0], a.arg[1], a.arg[2]);
}
Result sys_mknodat(proc::Process& process, const Arguments& a) {
  return make_node(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1], a.arg[2], a.arg[3]);
}

Result sys_mkdir(proc::Process& process, const Arguments& a) {
  return make_directory(process, abi::kAtFdcwd, a.arg[0], a.arg[1]);
}
Result sys_mkdirat(proc::Process& process, const Arguments& a) {
  return make_directory(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1], a.arg[2]);
}
Result sys_unlink(proc::Process& process, const Arguments& a) {
  return remove_name(process, abi::kAtFdcwd, a.arg[0], false);
}
Result sys_rmdir(proc::Process& process, const Arguments& a) {
  return remove_name(process, abi::kAtFdcwd, a.arg[0], true);
}
Result sys_unlinkat(proc::Process& process, const Arguments& a) {
  constexpr std::uint64_t kAtRemovedir = 0x200;  // <linux/fcntl.h>
  if ((a.arg[2] & ~kAtRemovedir) != 0) return std::unexpected(Errno::einval);
  return remove_name(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1],
                     (a.arg[2] & kAtRemovedir) != 0);
}
Result sys_rename(proc::Process& process, const Arguments& a) {
  return rename_at(process, abi::kAtFdcwd, a.arg[0], abi::kAtFdcwd, a.arg[1], 0);
}
Result sys_renameat(proc::Process& process, const Arguments& a) {
  return rename_at(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1],
                   static_cast<std::int64_t>(a.arg[2]), a.arg[3], 0);
}
Result sys_renameat2(proc::Process& process, const Arguments& a) {
  return rename_at(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1],
                   static_cast<std::int64_t>(a.arg[2]), a.arg[3], a.arg[4]);
}
Result sys_truncate(proc::Process& process, const Arguments& a) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  const auto node = resolve_user_path(process, abi::kAtFdcwd, a.arg[0], fs::FollowLast::yes);
  if (!node) return std::unexpected(node.error());
  if (auto cut = fs::truncate(**node, static_cast<std::int64_t>(a.arg[1])); !cut) {
    return std::unexpected(cut.error());
  }
  return 0;
}
Result sys_ftruncate(proc::Process& process, const Arguments& a) {
  const auto file = file_of(process, a.arg[0]);
  if (!file) return std::unexpected(file.error());
  if (!(*file)->writable() || (*file)->kind != fs::FileKind::regular) {
    return std::unexpected(Errno::einval);  // Linux: EINVAL for a file not open for writing
  }
  if (auto cut = fs::truncate(*(*file)->node, static_cast<std::int64_t>(a.arg[1])); !cut) {
    return std::unexpected(cut.error());
  }
  return 0;
}
Result sys_pwrite64(proc::Process& process, const Arguments& a) {
  std::uint64_t count = a.arg[2];
  const auto file = checked_transfer(process, a.arg[0], a.arg[1], count, true);
  if (!file) return std::unexpected(file.error());
  if (static_cast<std::int64_t>(a.arg[3]) < 0) return std::unexpected(Errno::einval);
  if ((*file)->kind == fs::FileKind::terminal || (*file)->kind == fs::FileKind::pipe) {
    return std::unexpected(Errno::espipe);
  }
  // Through the file position, put back afterwards: one chunked copy loop for both calls.
  const std::uint64_t saved = (*file)->offset;
  const std::uint32_t saved_flags = (*file)->flags;
  (*file)->offset = a.arg[3];
  (*file)->flags &= ~static_cast<std::uint32_t>(abi::kOpenAppend);
  Result done = write_from_user(**file, a.arg[1], count);  // not const: returned by move
  (*file)->offset = saved;
  (*file)->flags = saved_flags;
  return done;
}

Result sys_close(proc::Process& process, const Arguments& a) {
  if (process.files == nullptr) return std::unexpected(Errno::ebadf);
  if (auto closed = process.files->close(static_cast<std::int32_t>(a.arg[0])); !closed) {
    return std::unexpected(closed.error());
  }
  return 0;
}

Result sys_lseek(proc::Process& process, const Arguments& a) {
  const auto file = file_of(process, a.arg[0]);
  if (!file) return std::unexpected(file.error());
  const auto position =
      fs::lseek(**file, static_cast<std::int64_t>(a.arg[1]), static_cast<std::uint32_t>(a.arg[2]));
  if (!position) return std::unexpected(position.error());
  return static_cast<std::int64_t>(*position);
}

Result sys_stat(proc::Process& process, const Arguments& a) {
  return stat_at(process, abi::kAtFdcwd, a.arg[0], a.arg[1], 0);
}
Result sys_lstat(proc::Process& process, const Arguments& a) {
  return stat_at(process, abi::kAtFdcwd, a.arg[0], a.arg[1], abi::kAtSymlinkNofollow);
}
Result sys_newfstatat(proc::Process& process, const Arguments& a) {
  return stat_at(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1], a.arg[2], a.arg[3]);
}

Result sys_fstat(proc::Process& process, const Arguments& a) {
  const auto file = file_of(process, a.arg[0]);
  if (!file) return std::unexpected(file.error());
  if (auto copied = copy_out(a.arg[1], fs::stat_of(*(*file)->node)); !copied) {
    return std::unexpected(copied.error());
  }
  return 0;
}

Result sys_statx(proc::Process& process, const Arguments& a) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  const auto dirfd = static_cast<std::int64_t>(a.arg[0]);
  const std::uint64_t flags = a.arg[2];
  const auto node = resolve_user_path_at(process, dirfd, a.arg[1], flags);
  if (!node) return std::unexpected(node.error());
  // The mask asks for fields; we fill in the basic ones whatever it says, and say so in stx_mask.
  if (auto copied = copy_out(a.arg[4], fs::statx_of(**node)); !copied)
    return std::unexpected(copied.error());
  return 0;
}

Result sys_getdents64(proc::Process& process, const Arguments& a) {
  const auto file = file_of(process, a.arg[0]);
  if (!file) return std::unexpected(file.error());
  const std::uint64_t buffer = a.arg[1];
  const std::uint64_t count = std::min<std::uint64_t>(static_cast<std::uint32_t>(a.arg[2]), kChunk);
  if (!user_range_ok(buffer, count)) return std::unexpected(Errno::efault);
  std::byte records[kChunk];
  const std::uint64_t offset_before = (*file)->offset;
  const auto used = fs::getdents64(**file, {records, count});
  if (!used) return std::unexpected(used.error());
  if (auto copied = mm::copy_to_user(buffer, records, *used); !copied) {
    (*file)->offset = offset_before;  // nothing was delivered: the entries are still to come
    return std::unexpected(copied.error());
  }
  return static_cast<std::int64_t>(*used);
}

Result sys_readlink(proc::Process& process, const Arguments& a) {
  return readlink_at(process, abi::kAtFdcwd, a.arg[0], a.arg[1], a.arg[2]);
}
Result sys_readlinkat(proc::Process& process, const Arguments& a) {
  return readlink_at(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1], a.arg[2], a.arg[3]);
}

Result sys_access(proc::Process& process, const Arguments& a) {
  return access_at(process, abi::kAtFdcwd, a.arg[0], a.arg[1], 0);
}
Result sys_faccessat(proc::Process& process, const Arguments& a) {
  return access_at(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1], a.arg[2], 0);
}
Result sys_faccessat2(proc::Process& process, const Arguments& a) {
  return access_at(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1], a.arg[2], a.arg[3]);
}

// utimensat(dirfd, path, times, flags). ferrite's files keep no times (stat reports 0), so the
// call checks what Linux checks (the flags, both timespecs, the file and whether it may be
// changed) and changes nothing: enough for `touch`, which sets the times of a file it finds and
// creates one it does not (ENOENT). A NULL path works on dirfd itself (futimens).
Result sys_utimensat(proc::Process& process, const Arguments& a) {
  constexpr std::int64_t kUtimeNow = (std::int64_t{1} << 30) - 1;   // <linux/stat.h>
  constexpr std::int64_t kUtimeOmit = (std::int64_t{1} << 30) - 2;
  if ((a.arg[3] & ~(abi::kAtSymlinkNofollow | abi::kAtEmptyPath)) != 0) {
    return std::unexpected(Errno::einval);
  }
  if (a.arg[2] != 0) {
    const auto times = copy_in<std::array<abi::Timespec, 2>>(a.arg[2]);
    if (!times) return std::unexpected(times.error());
    for (const abi::Timespec& t : *times) {
      const bool special = t.tv_nsec == kUtimeNow || t.tv_nsec == kUtimeOmit;
      if (!special && (t.tv_nsec < 0 || t.tv_nsec > 999'999'999)) {
        return std::unexpected(Errno::einval);
      }
    }
  }
  fs::TreeGuard guard;  // as above: the node found is used after the lookup
  const fs::Node* node = nullptr;
  if (a.arg[1] == 0) {
    const auto file = file_of(process, a.arg[0]);
    if (!file) return std::unexpected(file.error());
    node = (*file)->node;
  } else {
    const auto found =
        resolve_user_path_at(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1], a.arg[3]);
    if (!found) return std::unexpected(found.error());
    node = *found;
  }
  if (node != nullptr && node->type != fs::NodeType::char_device && !node->writable()) {
    return std::unexpected(Errno::erofs);
  }
  return 0;
}

Result sys_getcwd(proc::Process& process, const Arguments& a) {
  const auto tree = file_tree();
  if (!tree) return std::unexpected(tree.error());
  // Built in a PATH_MAX buffer, as Linux does (fs/d_path.c): a path that does not fit it, NUL
  // included, is ENAMETOOLONG whatever the caller's size; ERANGE only says "a bigger buffer
  // would do" (busybox grows its buffer for as long as it hears ERANGE).
  const std::unique_ptr<std::array<char, UserPath::kCapacity>> path(
      new (std::nothrow) std::array<char, UserPath::kCapacity>);
  if (path == nullptr) return std::unexpected(Errno::enomem);
  const fs::Node* cwd = process.cwd != nullptr ? process.cwd : (*tree)->root();
  const auto length = (*tree)->path_of(cwd, std::span(*path).first(UserPath::kCapacity - 1));
  if (!length) {
    return std::unexpected(length.error() == Errno::erange ? Errno::enametoolong : length.error());
  }
  // The raw call returns the length with the NUL; a buffer too small for it is ERANGE.
  const std::uint64_t needed = *length + 1;
  if (a.arg[1] < needed) return std::unexpected(Errno::erange);
  (*path)[*length] = '\0';
  if (auto copied = mm::copy_to_user(a.arg[0], path->data(), needed); !copied)
    return std::unexpected(copied.error());
  return static_cast<std::int64_t>(needed);
}

// The current directory is held like an open file (fs::hold): rmdir of it must not free it
// under the process (getcwd is then ENOENT, as on Linux).
void change_directory(proc::Process& process, fs::Node* directory) {
  fs::hold(directory);
  fs::drop(process.cwd);
  process.cwd = directory;
}

Result sys_chdir(proc::Process& process, const Arguments& a) {
  fs::TreeGuard guard;  // the lookup and the use of what it found, one step (fs/tree.h)
  const auto node = resolve_user_path(process, abi::kAtFdcwd, a.arg[0], fs::FollowLast::yes);
  if (!node) return std::unexpected(node.error());
  if ((*node)->type != fs::NodeType::directory) return std::unexpected(Errno::enotdir);
  change_directory(process, *node);
  return 0;
}

Result sys_fchdir(proc::Process& process, const Arguments& a) {
  const auto file = file_of(process, a.arg[0]);
  if (!file) return std::unexpected(file.error());
  if ((*file)->kind != fs::FileKind::directory) return std::unexpected(Errno::enotdir);
  change_directory(process, (*file)->node);
  return 0;
}

// The terminal's ioctls (tty_ioctl(4)); on anything that is not a terminal they are ENOTTY,
// which is how isatty() tells a file from a terminal.
Result sys_ioctl(proc::Process& process, const Arguments& a) {
  const auto file = file_of(process, a.arg[0]);
  if (!file) return std::unexpected(file.error());
  if ((*file)->kind == fs::FileKind::pipe && a.arg[1] == abi::kFionread) {
    const auto readable = static_cast<std::int32_t>((*file)->pipe->readable_bytes());
    if (auto copied = copy_out<std::int32_t>(a.arg[2], readable); !copied) {
      return std::unexpected(copied.error());
    }
    return 0;
  }
  fs::TerminalPort* port = fs::terminal();
  if ((*file)->kind != fs::FileKind::terminal || port == nullptr)
    return std::unexpected(Errno::enotty);
  // A hung-up terminal file answers EIO to everything — ENOTTY to TIOCSPGRP, as Linux's
  // hung_up_tty_ioctl (a shell left with one then gives up job control instead of retrying).
  if (fs::hung_up(**file)) {
    return std::unexpected(a.arg[1] == abi::kTiocspgrp ? Errno::enotty : Errno::eio);
  }
  const std::uint64_t argument = a.arg[2];
  std::expected<void, Errno> copied;
  switch (a.arg[1]) {
    case abi::kTcgets:
      copied = copy_out(argument, port->termios());
      break;
    case abi::kTcsets:
    case abi::kTcsetsw:
    case abi::kTcsetsf: {
      // A change of the terminal's settings from the background: SIGTTOU (job control).
      if (auto allowed = terminal_job_check(process, *port, proc::kSigTtou); !allowed)
        return std::unexpected(allowed.error());
      const auto termios = copy_in<abi::Termios>(argument);
      if (!termios) return std::unexpected(termios.error());
      port->set_termios(*termios);
      break;
    }
    case abi::kTiocgwinsz:
      copied = copy_out(argument, port->window_size());
      break;
    case abi::kTiocswinsz:
      break;  // the screen's size is what it is
    case abi::kTiocgpgrp:
    case abi::kTiocspgrp:
    case abi::kTiocsctty:
    case abi::kTiocnotty:
    case abi::kTiocgsid:
      return terminal_job_ioctl(process, *port, a.arg[1], argument);  // signal.cpp
    case abi::kFionread:
      copied = copy_out<std::int32_t>(argument, static_cast<std::int32_t>(port->readable_bytes()));
      break;
    default:
      return std::unexpected(Errno::enotty);  // Linux: ENOIOCTLCMD becomes ENOTTY
  }
  if (!copied) return std::unexpected(copied.error());
  return 0;
}

// sendfile(out, in, offset*, count): busybox cat copies this way. Through the kernel buffer.
Result sys_sendfile(proc::Process& process, const Arguments& a) {
  const auto out = file_of(process, a.arg[0]);
  if (!out) return std::unexpected(out.error());
  const auto in = file_of(process, a.arg[1]);
  if (!in) return std::unexpected(in.error());
  if (!(*in)->readable() || !(*out)->writable()) return std::unexpected(Errno::ebadf);
  // A background job's sendfile from or to the terminal meets job control as read and write do.
  if (auto allowed = terminal_transfer_check(process, **in, false); !allowed) {
    return std::unexpected(allowed.error());
  }
  if (auto allowed = terminal_transfer_check(process, **out, true); !allowed) {
    return std::unexpected(allowed.error());
  }
  const std::uint64_t offset_address = a.arg[2];
  std::uint64_t offset = 0;
  if (offset_address != 0) {
    const auto given = copy_in<std::int64_t>(offset_address);
    if (!given) return std::unexpected(given.error());
    if (*given < 0) return std::unexpected(Errno::einval);
    offset = static_cast<std::uint64_t>(*given);
  }
  const std::uint64_t count = std::min(a.arg[3], kMaxTransfer);
  std::byte chunk[kChunk];
  std::uint64_t done = 0;
  while (done < count) {
    const std::size_t want = std::min<std::uint64_t>(count - done, kChunk);
    const auto got = offset_address != 0 ? fs::pread(**in, {chunk, want}, offset + done)
                                         : fs::read(**in, {chunk, want});
    if (!got) {
      if (done > 0) break;
      return std::unexpected(got.error());
    }
    if (*got == 0) break;
    const auto put = fs::write(**out, {chunk, *got});
    if (!put) {
      if (done > 0) break;
      return std::unexpected(put.error());
    }
    done += *put;
    if (*got < want || (*in)->kind == fs::FileKind::terminal) break;
  }
  if (offset_address != 0) {
    if (auto copied =
            copy_out<std::int64_t>(offset_address, static_cast<std::int64_t>(offset + done));
        !copied) {
      return std::unexpected(copied.error());
    }
  }
  return static_cast<std::int64_t>(done);
}

// fcntl: the commands libc start-up code and busybox use (F_DUPFD, descriptor and status flags).
Result sys_fcntl(proc::Process& process, const Arguments& a) {
  constexpr std::uint64_t kDupfd = 0, kGetfd = 1, kSetfd = 2, kGetfl = 3, kSetfl = 4,
                          kDupfdCloexec = 1030, kFdCloexec = 1;
  const auto file = file_of(process, a.arg[0]);
  if (!file) return std::unexpected(file.error());
  const auto fd = static_cast<std::int32_t>(a.arg[0]);
  switch (a.arg[1]) {
    case kDupfd:
    case kDupfdCloexec: {
      fs::retain(*file);
      const auto copy = process.files->install(*file, static_cast<std::int32_t>(a.arg[2]));
      if (!copy) return std::unexpected(copy.error());
      process.files->set_close_on_exec(*copy, a.arg[1] == kDupfdCloexec);
      return *copy;
    }
    case kGetfd:
      return process.files->close_on_exec(fd) ? kFdCloexec : 0;
    case kSetfd:
      process.files->set_close_on_exec(fd, (a.arg[2] & kFdCloexec) != 0);
      return 0;
    case kGetfl:
      return (*file)->flags & ~static_cast<std::uint32_t>(abi::kOpenCloexec);
    case kSetfl: {
      // Only these can change after open (Linux's SETFL_MASK less O_ASYNC, O_DIRECT and
      // O_NOATIME, which mean nothing here); the access mode and the rest are kept.
      constexpr std::uint32_t kChangeable = abi::kOpenAppend | abi::kOpenNonblock;
      (*file)->flags = ((*file)->flags & ~kChangeable) |
                       (static_cast<std::uint32_t>(a.arg[2]) & kChangeable);
      return 0;
    }
    default:
      return std::unexpected(Errno::einval);
  }
}

Result sys_dup(proc::Process& process, const Arguments& a) {
  const auto file = file_of(process, a.arg[0]);
  if (!file) return std::unexpected(file.error());
  fs::retain(*file);
  const auto copy = process.files->install(*file);
  if (!copy) return std::unexpected(copy.error());
  return *copy;
}

Result sys_dup3(proc::Process& process, const Arguments& a) {
  const auto file = file_of(process, a.arg[0]);
  if (!file) return std::unexpected(file.error());
  // Compared as the unsigned ints they are (ksys_dup3): the registers' upper halves are ignored.
  if (static_cast<std::uint32_t>(a.arg[0]) == static_cast<std::uint32_t>(a.arg[1]))
    return std::unexpected(Errno::einval);
  if ((a.arg[2] & ~abi::kOpenCloexec) != 0) return std::unexpected(Errno::einval);
  fs::retain(*file);
  const auto copy = process.files->install_at(static_cast<std::int32_t>(a.arg[1]), *file);
  if (!copy) return std::unexpected(copy.error());
  process.files->set_close_on_exec(*copy, (a.arg[2] & abi::kOpenCloexec) != 0);
  return *copy;
}

Result sys_dup2(proc::Process& process, const Arguments& a) {
  if (static_cast<std::int32_t>(a.arg[0]) == static_cast<std::int32_t>(a.arg[1])) {
    const auto file = file_of(process, a.arg[0]);  // dup2(fd, fd): fd if it is open
    if (!file) return std::unexpected(file.error());
    return static_cast<std::int32_t>(a.arg[0]);
  }
  return sys_dup3(process, {a.number, {a.arg[0], a.arg[1], 0, 0, 0, 0}});
}

// pipe2(fds[2], flags): fds[0] the read end, fds[1] the write end. Flags other than O_CLOEXEC
// and O_NONBLOCK (O_DIRECT: packet mode, O_NOTIFICATION_PIPE) are EINVAL here.
Result sys_pipe2(proc::Process& process, const Arguments& a) {
  const std::uint64_t flags = a.arg[1];
  if ((flags & ~(abi::kOpenCloexec | abi::kOpenNonblock)) != 0) return std::unexpected(Errno::einval);
  if (process.files == nullptr) return std::unexpected(Errno::emfile);
  if (!user_range_ok(a.arg[0], 2 * sizeof(std::int32_t))) return std::unexpected(Errno::efault);
  fs::OpenFile* read_end = nullptr;
  fs::OpenFile* write_end = nullptr;
  if (auto made = fs::make_pipe(read_end, write_end, flags); !made) {
    return std::unexpected(made.error());
  }
  const auto read_fd = process.files->install(read_end);
  if (!read_fd) {
    fs::release(write_end);
    return std::unexpected(read_fd.error());
  }
  const auto write_fd = process.files->install(write_end);
  if (!write_fd) {
    (void)process.files->close(*read_fd);
    return std::unexpected(write_fd.error());
  }
  const bool cloexec = (flags & abi::kOpenCloexec) != 0;
  process.files->set_close_on_exec(*read_fd, cloexec);
  process.files->set_close_on_exec(*write_fd, cloexec);
  const std::int32_t fds[2] = {*read_fd, *write_fd};
  if (auto copied = mm::copy_to_user(a.arg[0], fds, sizeof fds); !copied) {
    (void)process.files->close(*read_fd);  // Linux undoes the descriptors too
    (void)process.files->close(*write_fd);
    return std::unexpected(copied.error());
  }
  return 0;
}

Result sys_pipe(proc::Process& process, const Arguments& a) {
  return sys_pipe2(process, {a.number, {a.arg[0], 0, 0, 0, 0, 0}});
}

}  // namespace ferrite::syscall
