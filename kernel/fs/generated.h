// Generated nodes (/proc): a directory or file of the tree whose contents are not stored but made
// by a Generator, a provider an upper layer registers at boot (proc/procfs.cpp). The tree is the
// lower layer: it knows nothing of processes, so it asks the provider, through this interface,
//   - for a generated file's bytes when the file is opened: a snapshot into a buffer the open
//     file owns (OpenFile::contents), as Linux's seq_file fills its buffer on the first read;
//     reads never see a half-updated process, and a process that ends leaves the snapshot alone;
//   - for the names a generated directory has besides its fixed children (the live PIDs),
//     answered one at a time from a position, as Linux's proc_pid_readdir walks next_tgid();
//   - for the node a name in a generated directory stands for (lookup);
//   - for a generated symbolic link's target (/proc/self, /proc/<pid>/exe), made when read.
// Generated nodes are read-only: opening one to write is EACCES (its mode is 0444, the
// everybody-is-root of ferrite notwithstanding), creating or removing a name in a generated
// directory EROFS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>

#include "abi/errno.h"
#include "lib/byte_buffer.h"

namespace ferrite::fs {

struct Node;
enum class NodeType : std::uint8_t;

// One entry of a generated directory's listing, with the position that comes after it.
struct GeneratedEntry {
  char name[24] = {};
  std::size_t name_length = 0;
  std::uint64_t inode = 0;
  NodeType type{};
  std::uint64_t next_position = 0;

  [[nodiscard]] std::string_view name_view() const { return {name, name_length}; }
};

class Generator {
 public:
  // The contents of generated file `file` now, into `out` (empty on entry). ENOMEM when the heap
  // cannot hold them (the caller frees `out`: nothing leaks), ENOENT when what the file
  // describes is gone.
  virtual std::expected<void, abi::Errno> generate(const Node& file, lib::ByteBuffer& out) = 0;
  // The target of generated symbolic link `link`; the view stays valid until the next call for
  // this node.
  virtual std::expected<std::string_view, abi::Errno> link_target(Node& link) = 0;
  // The node `name` stands for in generated directory `directory`, beyond its fixed children:
  // ENOENT if there is none now (an ended process), ENOMEM if a node could not be made.
  virtual std::expected<Node*, abi::Errno> lookup(Node& directory, std::string_view name) = 0;
  // The first entry of `directory`'s generated names at or after `position` (0 first), nullopt
  // when there is none.
  virtual std::optional<GeneratedEntry> entry(const Node& directory, std::uint64_t position) = 0;

 protected:
  ~Generator() = default;
};

}  // namespace ferrite::fs
