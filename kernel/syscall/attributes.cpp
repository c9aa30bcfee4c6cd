// A file's attributes and its file system (chapter 14): chmod, chown and statfs, each with its
// f-, l- and *at variants. Only tmpfs nodes (/tmp) change: the rest of the tree is the read-only
// initramfs (EROFS, as every other write to it). Everybody is root here, so any mode, owner and
// group is allowed; execve reads the mode (no execute bit: EACCES) and stat reports the new ids.
#include "abi/linux_types.h"
#include "syscall/handlers.h"

namespace ferrite::syscall {

namespace {

using abi::Errno;

constexpr std::uint32_t kSetUid = 04000, kSetGid = 02000, kGroupExecute = 0010;
constexpr std::int64_t kBlockSize = 4096;  // f_bsize: a page, as tmpfs and ramfs say

// Whether a node's attributes may change: tmpfs nodes, and a pipe's own node (Linux lets fchmod
// and fchown change a pipe's inode); the initramfs tree, devices included, is read-only.
std::expected<void, Errno> changeable(const fs::Node& node) {
  if (node.writable() || node.type == fs::NodeType::fifo) return {};
  return std::unexpected(Errno::erofs);
}

Result change_mode(std::expected<fs::Node*, Errno> node, std::uint64_t mode) {
  if (!node) return std::unexpected(node.error());
  if (auto ok = changeable(**node); !ok) return std::unexpected(ok.error());
  (*node)->mode = static_cast<std::uint32_t>(mode) & 07777;  // S_IALLUGO; the type stays
  return 0;
}

// chown(2): an id of -1 (as the 32-bit uid_t/gid_t it is) leaves that id alone. Like Linux
// (chown_common + notify_change's ATTR_KILL_SUID/SGID), even root's chown of a file that is not
// a directory clears its set-user-ID bit, and its set-group-ID bit when group-execute is set.
Result change_owner(std::expected<fs::Node*, Errno> node, std::uint64_t uid, std::uint64_t gid) {
  constexpr auto kUnchanged = static_cast<std::uint32_t>(-1);
  if (!node) return std::unexpected(node.error());
  if (auto ok = changeable(**node); !ok) return std::unexpected(ok.error());
  fs::Node& n = **node;
  if (static_cast<std::uint32_t>(uid) != kUnchanged) n.uid = static_cast<std::uint32_t>(uid);
  if (static_cast<std::uint32_t>(gid) != kUnchanged) n.gid = static_cast<std::uint32_t>(gid);
  if (n.type != fs::NodeType::directory) {
    n.mode &= ~kSetUid;
    if ((n.mode & kGroupExecute) != 0) n.mode &= ~kSetGid;
  }
  return 0;
}

// What statfs reports for the file system `node` is on. /tmp is a tmpfs: its size and free space
// are the tmpfs budget's, in pages; it has no limit on nodes, which Linux's tmpfs shows as 0
// files (nr_inodes=0). The rest is the initramfs: on Linux the archive is unpacked into rootfs,
// a ramfs (or a tmpfs) — ramfs's statfs (simple_statfs) gives its magic, the page size, NAME_MAX
// and no sizes, as it has no limit to report; ferrite's is read-only too, so ST_RDONLY. A pipe's
// node is on pipefs, also simple_statfs.
abi::Statfs statfs_of(const fs::Node& node) {
  abi::Statfs s{};
  s.f_bsize = s.f_frsize = kBlockSize;
  s.f_namelen = static_cast<std::int64_t>(fs::kMaxNameLength);
  s.f_flags = abi::kStValid;
  if (node.writable()) {
    const fs::TmpfsBudget& budget = *node.budget;
    const std::size_t used = budget.used < budget.limit ? budget.used : budget.limit;
    s.f_type = abi::kTmpfsMagic;
    s.f_blocks = budget.limit / kBlockSize;
    s.f_bfree = s.f_bavail = (budget.limit - used) / kBlockSize;
  } else if (node.type == fs::NodeType::fifo) {
    s.f_type = abi::kPipefsMagic;
  } else {
    s.f_type = abi::kRamfsMagic;
    s.f_flags |= abi::kStRdonly;
  }
  return s;
}

Result write_statfs(std::expected<fs::Node*, Errno> node, std::uint64_t address) {
  if (!node) return std::unexpected(node.error());
  if (auto copied = copy_out(address, statfs_of(**node)); !copied) {
    return std::unexpected(copied.error());
  }
  return 0;
}

std::expected<fs::Node*, Errno> node_of_descriptor(proc::Process& process, std::uint64_t fd) {
  const auto file = file_of(process, fd);
  if (!file) return std::unexpected(file.error());
  if ((*file)->node == nullptr) return std::unexpected(Errno::ebadf);
  return (*file)->node;
}

}  // namespace

Result sys_chmod(proc::Process& process, const Arguments& a) {
  const fs::TreeGuard guard;  // the lookup and the change, one step (fs/tree.h)
  return change_mode(resolve_user_path(process, abi::kAtFdcwd, a.arg[0], fs::FollowLast::yes),
                     a.arg[1]);
}
Result sys_fchmod(proc::Process& process, const Arguments& a) {
  return change_mode(node_of_descriptor(process, a.arg[0]), a.arg[1]);
}
// fchmodat(dirfd, path, mode): Linux's call has no flags argument (the C libraries emulate
// AT_SYMLINK_NOFOLLOW, or refuse it with EOPNOTSUPP; fchmodat2, call 452, came in Linux 6.6), so
// a fourth register is ignored, and a symbolic link is always followed.
Result sys_fchmodat(proc::Process& process, const Arguments& a) {
  const fs::TreeGuard guard;  // the lookup and the change, one step (fs/tree.h)
  return change_mode(resolve_user_path(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1],
                                       fs::FollowLast::yes),
                     a.arg[2]);
}

Result sys_chown(proc::Process& process, const Arguments& a) {
  const fs::TreeGuard guard;  // the lookup and the change, one step (fs/tree.h)
  return change_owner(resolve_user_path(process, abi::kAtFdcwd, a.arg[0], fs::FollowLast::yes),
                      a.arg[1], a.arg[2]);
}
Result sys_lchown(proc::Process& process, const Arguments& a) {
  const fs::TreeGuard guard;  // the lookup and the change, one step (fs/tree.h)
  return change_owner(resolve_user_path(process, abi::kAtFdcwd, a.arg[0], fs::FollowLast::no),
                      a.arg[1], a.arg[2]);
}
Result sys_fchown(proc::Process& process, const Arguments& a) {
  return change_owner(node_of_descriptor(process, a.arg[0]), a.arg[1], a.arg[2]);
}
// fchownat(dirfd, path, uid, gid, flags): AT_SYMLINK_NOFOLLOW works on the link itself,
// AT_EMPTY_PATH with "" on dirfd's file; other flags are EINVAL (checked first, as Linux does).
Result sys_fchownat(proc::Process& process, const Arguments& a) {
  const fs::TreeGuard guard;  // the lookup and the change, one step (fs/tree.h)
  const std::uint64_t flags = a.arg[4];
  if ((flags & ~(abi::kAtSymlinkNofollow | abi::kAtEmptyPath)) != 0) {
    return std::unexpected(Errno::einval);
  }
  return change_owner(
      resolve_user_path_at(process, static_cast<std::int64_t>(a.arg[0]), a.arg[1], flags),
                      a.arg[2], a.arg[3]);
}

Result sys_statfs(proc::Process& process, const Arguments& a) {
  const fs::TreeGuard guard;  // the lookup and the change, one step (fs/tree.h)
  return write_statfs(resolve_user_path(process, abi::kAtFdcwd, a.arg[0], fs::FollowLast::yes),
                      a.arg[1]);
}
Result sys_fstatfs(proc::Process& process, const Arguments& a) {
  return write_statfs(node_of_descriptor(process, a.arg[0]), a.arg[1]);
}

}  // namespace ferrite::syscall
