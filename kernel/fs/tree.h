// The file tree a program sees (chapter 14): directories, regular files, symbolic links and the
// character devices /dev/console, /dev/tty, /dev/null and /dev/zero, built from the initramfs.
// Read-only: file contents point into the archive in memory, nothing is copied.
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
#include <vector>

#include "abi/errno.h"
#include "fs/cpio.h"

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
  std::vector<Node*> children;        // directories only, in archive order

  std::size_t size() const { return type == NodeType::directory ? 0 : data.size(); }
  Node* child(std::string_view child_name) const;
};

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
  Tree(Tree&&) = default;
  Tree& operator=(Tree&&) = default;

  // Builds the tree from a cpio newc archive (which must stay in memory as long as the tree).
  // A damaged archive gives its failure and no tree. /dev and its four devices are added when
  // the archive does not bring them.
  static std::expected<Tree, cpio::Failure> from_archive(std::span<const std::byte> archive,
                                                         BuildReport* report = nullptr);

  Node* root() const { return root_; }

  // Resolves `path` (absolute, or relative to `cwd`, which must be a directory of this tree).
  std::expected<Node*, abi::Errno> lookup(std::string_view path, Node* cwd,
                                          FollowLast follow = FollowLast::yes) const;

  // Writes the absolute path of `node` into `out`; returns its length, or ERANGE if too small.
  std::expected<std::size_t, abi::Errno> path_of(const Node* node, std::span<char> out) const;

  std::size_t node_count() const { return nodes_.size(); }

 private:
  Node* make_node(Node* parent, std::string_view name, NodeType type);
  Node* ensure_directory(std::string_view path, BuildReport& report);
  std::expected<Node*, abi::Errno> walk(std::string_view path, Node* start, FollowLast follow,
                                        int& hops) const;

  std::vector<std::unique_ptr<Node>> nodes_;
  Node* root_ = nullptr;
};

}  // namespace ferrite::fs
