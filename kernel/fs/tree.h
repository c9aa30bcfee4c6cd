// The file tree a program sees (chapter 14): directories, regular files, symbolic links and the
// character devices /dev/console, /dev/tty, /dev/null and /dev/zero, built from the initramfs.
// Read-only: file contents point into the archive in memory, nothing is copied — except under
// /tmp, a tmpfs: its nodes carry a TmpfsBudget pointer, own their names and bytes on the kernel
// heap, and can be created, written, truncated, unlinked and renamed (16 MiB in all, then ENOSPC).
// /tmp also takes symbolic links (symlink(2): the target's bytes count against the budget),
// named pipes and character devices (mknod(2)); not hard links (link(2) is EPERM: a node here is
// its name and its file at once, there is no inode to give a second name).
// When the heap itself runs out first (other programs hold the memory), the call that needed
// memory fails with ENOMEM, as Linux's shmem does, and changes nothing: a file keeps its size and
// bytes, a rename keeps the old name, no half-made node stays, the budget's count stays right.
// So every allocation a system call makes here is a fallible one (new (std::nothrow),
// lib::ByteBuffer::try_resize), and linking a name into a directory allocates nothing: a
// directory's children are linked through the children themselves, as Linux's dentries are.
// Building the tree from the archive at boot may still panic when memory runs out: that is no
// program's input.
// A tmpfs node lives while it has a name or a holder: an OpenFile, or a process whose current
// directory it is (hold/drop below); the last holder of a removed node frees it, bytes and all.
// One lock, the tree lock (TreeLock below), guards what can change: a tmpfs file's bytes and
// size, every directory's children, and hold/drop. Kernel threads are preempted (chapter 13), so
// a cat reading a file can be switched out halfway through its memcpy while a truncate frees the
// bytes it copies from, or an rm frees the node a lookup is walking through. Writers (write,
// truncate, open's O_TRUNC, create/remove/rename/symlink/link, hold/drop) and readers that copy
// from a file's bytes or walk the tree (read, pread, getdents64, lookup, path_of) all take it.
// It is a sleeping lock, never taken in interrupt context. File bytes reach user memory through
// a kernel buffer, outside it, but a path call's section copies its path in and its answer out
// (stat, readlink) and may page-fault: the fault path (demand paging, mm/address_space.cpp)
// reads no tree and takes no tree lock, so it cannot wait for itself. It is recursive, so lookup
// may nest inside a system call's own section. Host tests run without one, or with a counter.
//
// Path lookup follows POSIX (the Linux path_resolution(7) manual page): "." and "..", ".." at
// the root stays at the root, symbolic links are followed (at most 40 per lookup, then ELOOP),
// a name longer than 255 bytes or a path longer than 4095 is ENAMETOOLONG, a component that is
// not a directory is ENOTDIR, and a trailing "/" asks for a directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string_view>

#include "abi/errno.h"
#include "fs/cpio.h"
#include "fs/generated.h"
#include "lib/byte_buffer.h"

namespace ferrite::fs {

enum class NodeType : std::uint8_t { directory, regular, symlink, char_device, fifo };

// The character devices ferrite has, and the Linux device numbers (major, minor) that name them
// in an archive made for Linux (Documentation/admin-guide/devices.txt).
enum class Device : std::uint8_t { none, console, tty, null, zero };
Device device_from_numbers(std::uint32_t major, std::uint32_t minor);
struct DeviceNumbers {
  std::uint32_t major;
  std::uint32_t minor;
};
DeviceNumbers numbers_of(Device device);

// The bytes /tmp may hold in all, and how many it holds now.
struct TmpfsBudget {
  std::size_t used = 0;
  std::size_t limit = 16 * 1024 * 1024;
};

struct Node;
class Pipe;

// A directory's children, in the order they came (the archive's, then creation's). The links are
// in the children (Node::next_sibling, Node::previous_sibling), so adding one allocates nothing
// and cannot fail, and an empty directory holds no memory for its list.
class ChildList {
 public:
  class Iterator {
   public:
    explicit Iterator(Node* at) : at_(at) {}
    Node* operator*() const { return at_; }
    Iterator& operator++();
    bool operator==(const Iterator&) const = default;

   private:
    Node* at_;
  };
  Iterator begin() const { return Iterator(first_); }
  Iterator end() const { return Iterator(nullptr); }
  bool empty() const { return first_ == nullptr; }
  Node* front() const { return first_; }
  Node* at(std::size_t index) const;  // nullptr past the end; walks the list
  std::size_t size() const;           // walks the list
  void push_back(Node* child);
  void remove(Node* child);

 private:
  Node* first_ = nullptr;
  Node* last_ = nullptr;
};

struct Node {
  std::string_view name;              // "" for the root
  NodeType type = NodeType::directory;
  std::uint32_t mode = 0;             // permission bits (07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t mtime = 0;
  std::uint64_t inode = 0;            // unique in the tree, 1 for the root
  Node* parent = nullptr;             // the root is its own parent
  std::span<const std::byte> data;    // file contents or symlink target
  Device device = Device::none;
  DeviceNumbers numbers{};            // a character device's (major, minor), as made
  Pipe* fifo = nullptr;               // a named pipe's pipe while it is open (fs/pipe.h)
  ChildList children;                 // directories only
  Node* next_sibling = nullptr;       // the links of the parent's `children`
  Node* previous_sibling = nullptr;
  // tmpfs (/tmp and below): non-null budget marks a writable node; `data` then views `bytes`.
  TmpfsBudget* budget = nullptr;
  lib::ByteBuffer bytes;              // the contents of a tmpfs file
  lib::ByteBuffer owned_name;         // `name` of a node created at run time
  std::uint32_t open_count = 0;       // holders of a tmpfs node: OpenFiles, current directories
  // A tmpfs file's OpenFiles open for writing, and the execve calls reading it as a program right
  // now: one excludes the other (ETXTBSY, Linux's deny_write_access), so the bytes an execve
  // reads cannot be truncated or reallocated under it (fs/file.cpp, syscall/process.cpp).
  std::uint32_t writers = 0;
  std::uint32_t executing = 0;
  bool unlinked = false;              // removed from its directory while held: the holders own it
  // A generated node (fs/generated.h, /proc): its provider, and which of its nodes this is, in
  // the provider's own terms. Held like a tmpfs node (open_count), so the provider knows when
  // the node of an ended process may go.
  Generator* generator = nullptr;
  std::uintptr_t generator_data = 0;

  std::size_t size() const { return type == NodeType::directory ? 0 : data.size(); }
  Node* child(std::string_view child_name) const;
  [[nodiscard]] bool writable() const { return budget != nullptr; }
  // tmpfs files: new size (zeros added), ENOSPC past the budget, ENOMEM when the kernel heap
  // cannot grow the file (then the file is as it was). Shrinking never fails.
  std::expected<void, abi::Errno> resize(std::size_t new_size);
  // tmpfs files: writes `in` at `offset`, growing the file (ENOSPC, ENOMEM: nothing written).
  std::expected<std::size_t, abi::Errno> write_at(std::uint64_t offset, std::span<const std::byte> in);
  // Gives the bytes back to the budget (unlinked and closed).
  void free_bytes();
};

inline ChildList::Iterator& ChildList::Iterator::operator++() {
  at_ = at_->next_sibling;
  return *this;
}

// The tree lock (see the top of this file): the kernel installs a sleeping, recursive one
// (proc/tree_lock.cpp); without one (host tests, early boot) TreeGuard does nothing.
class TreeLock {
 public:
  virtual void lock() = 0;
  virtual void unlock() = 0;

 protected:
  ~TreeLock() = default;
};
TreeLock* tree_lock();
void set_tree_lock(TreeLock* lock);

// Holds the tree lock for a scope; `take` false holds nothing (a section only tmpfs needs).
class TreeGuard {
 public:
  explicit TreeGuard(bool take = true) : lock_(take ? tree_lock() : nullptr) {
    if (lock_ != nullptr) lock_->lock();
  }
  ~TreeGuard() {
    if (lock_ != nullptr) lock_->unlock();
  }
  TreeGuard(const TreeGuard&) = delete;
  TreeGuard& operator=(const TreeGuard&) = delete;

 private:
  TreeLock* lock_;
};

// A holder of `node` more, or fewer (OpenFiles, a process's current directory); nothing for a
// node of the read-only tree, which lives as long as the tree. A removed tmpfs node dies with its
// last holder: its bytes go back to the budget and the node is deleted. A removed directory is
// its own parent (its old one may go first) and takes no new names (ENOENT, as on Linux).
void hold(Node* node);
void drop(Node* node);
// A file being run (execve's program and interpreters, the kernel shell's `run`): held as
// hold() holds it and closed to writers until allow_write_access(), so that an rm, cp or truncate
// meanwhile cannot free the bytes being read: an open for writing or a truncate is ETXTBSY then
// (fs/file.cpp), and so is this call when the file is open for writing already (Linux's
// deny_write_access).
std::expected<void, abi::Errno> deny_write_access(Node* node);
void allow_write_access(Node* node);

// A symbolic link's target: its bytes, or, for a generated link, what its provider says now.
std::expected<std::string_view, abi::Errno> link_target(Node& link);

// How a lookup treats a symbolic link in the last component: stat() follows it, lstat() and
// readlink() do not.
enum class FollowLast : bool { no, yes };

inline constexpr std::size_t kMaxNameLength = 255;  // NAME_MAX
inline constexpr std::size_t kMaxPathLength = 4095;  // PATH_MAX less its NUL
inline constexpr int kMaxSymlinkHops = 40;           // Linux's MAXSYMLINKS

struct BuildReport {
  std::size_t entries = 0;           // archive entries read
  std::size_t skipped = 0;           // entries of a type we do not have (block devices, fifos...)
  std::size_t implicit_directories = 0;  // parents the archive did not list, created for it
};

class Tree {
 public:
  Tree();
  Tree(Tree&& other) noexcept;
  Tree& operator=(Tree&& other) noexcept;
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;
  ~Tree();  // deletes every node still in the tree (removed ones belong to their holders)

  // Builds the tree from a cpio newc archive (which must stay in memory as long as the tree).
  // A damaged archive gives its failure and no tree. /dev and its four devices are added when
  // the archive does not bring them.
  static std::expected<Tree, cpio::Failure> from_archive(std::span<const std::byte> archive,
                                                         BuildReport* report = nullptr);

  Node* root() const { return root_; }

  // Resolves `path` (absolute, or relative to `cwd`, which must be a directory of this tree).
  std::expected<Node*, abi::Errno> lookup(std::string_view path, Node* cwd,
                                          FollowLast follow = FollowLast::yes) const;

  // Writes the absolute path of `node` into `out`; returns its length, or ERANGE if too small;
  // ENOENT for a removed directory that is still someone's current directory (getcwd(2)).
  std::expected<std::size_t, abi::Errno> path_of(const Node* node, std::span<char> out) const;

  std::size_t node_count() const { return node_count_; }  // the nodes in the tree, root and all

  // tmpfs operations, in a writable directory `parent` (else EROFS). create: EEXIST if the name
  // is taken. remove: ENOENT, EISDIR (a directory without `directory`), ENOTDIR (a file with it),
  // ENOTEMPTY. rename: both parents writable, replaces a file of the new name (EISDIR/ENOTDIR
  // when the kinds differ, ENOTEMPTY for a full directory), EINVAL into itself.
  // create and rename allocate (the node, its name), and fail with ENOMEM before changing
  // anything when the heap cannot give that memory; remove never allocates.
  // create of a NodeType::char_device gives it `numbers` (Device::none for numbers ferrite has no
  // driver for: the node is made, opening it is ENXIO, as on Linux without the driver).
  std::expected<Node*, abi::Errno> create(Node* parent, std::string_view name, NodeType type,
                                          std::uint32_t mode, DeviceNumbers numbers = {});
  // symlink(2): a symbolic link `name` in `parent` holding `target` (ENOENT if empty,
  // ENAMETOOLONG past PATH_MAX - 1 bytes). The target's bytes count against the budget as a
  // file's do (ENOSPC), not a page per long link as Linux's shmem counts. Three allocations (the
  // name, the node, the target), all made before anything changes: ENOMEM leaves no trace.
  std::expected<Node*, abi::Errno> symlink(Node* parent, std::string_view name,
                                           std::string_view target);
  // link(2) of `node` as `new_name` in `new_parent`: the checks Linux makes, in its order —
  // EEXIST, EROFS (a read-only new parent), EXDEV (the read-only tree and /tmp are two file
  // systems), EPERM for a directory — and then EPERM, the answer of a Linux file system that
  // does not support hard links: a tmpfs node here is its name and its file in one, so a second
  // name would need an inode/dentry split this tree does not have. Changes nothing.
  std::expected<void, abi::Errno> link(Node* node, Node* new_parent, std::string_view new_name);
  // The checks every new tmpfs name passes, in Linux's order: ENOTDIR, EEXIST ("", ".", ".."
  // and a taken name), ENAMETOOLONG, EROFS, ENOENT in a removed directory.
  static std::expected<void, abi::Errno> check_new_name(Node* parent, std::string_view name);
  std::expected<void, abi::Errno> remove(Node* parent, std::string_view name, bool directory);
  std::expected<void, abi::Errno> rename(Node* old_parent, std::string_view old_name,
                                         Node* new_parent, std::string_view new_name);
  // A generated node `name` below `parent` (fs/generated.h), made at boot like the archive's:
  // /proc and its fixed files. A node of that name already there (an archive's empty /proc
  // directory, a mount point) becomes the generated one. Its inode comes from the tree.
  Node* add_generated(Node* parent, std::string_view name, NodeType type, std::uint32_t mode,
                      Generator& generator, std::uintptr_t data = 0);
  const TmpfsBudget& tmpfs_budget() const { return *budget_; }
  void set_tmpfs_limit(std::size_t limit) { budget_->limit = limit; }

 private:
  Node* adopt(Node* node, Node* parent, std::string_view name, NodeType type);
  Node* make_boot_node(Node* parent, std::string_view name, NodeType type);
  Node* ensure_directory(std::string_view path, BuildReport& report);
  std::expected<Node*, abi::Errno> walk(std::string_view path, Node* start, FollowLast follow,
                                        int& hops) const;

  void detach(Node* node);
  void delete_subtree(Node* top);

  Node* root_ = nullptr;  // owns the tree: each node is deleted with its directory
  std::unique_ptr<TmpfsBudget> budget_ = std::make_unique<TmpfsBudget>();  // moves with the tree
  std::uint64_t next_inode_ = 1;
  std::size_t node_count_ = 0;
};

}  // namespace ferrite::fs
