// The initramfs file tree and path lookup: see tree.h.
#include "fs/tree.h"

#include <algorithm>

namespace ferrite::fs {

namespace {

// Splits off the first component of `path` (which has no leading '/').
std::string_view first_component(std::string_view path) {
  const std::size_t slash = path.find('/');
  return slash == std::string_view::npos ? path : path.substr(0, slash);
}

std::string_view skip_slashes(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return path;
}

// Archive names look like "bin/sh", "./bin/sh" or "/bin/sh"; "." alone is the root.
std::string_view normalise_archive_name(std::string_view name) {
  for (;;) {
    name = skip_slashes(name);
    if (name.starts_with("./")) {
      name.remove_prefix(2);
    } else if (name == ".") {
      return {};
    } else {
      break;
    }
  }
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  return name;
}

constexpr std::uint32_t kDirectoryMode = 0755;

}  // namespace

Device device_from_numbers(std::uint32_t major, std::uint32_t minor) {
  if (major == 5 && minor == 1) return Device::console;
  if (major == 5 && minor == 0) return Device::tty;
  if (major == 1 && minor == 3) return Device::null;
  if (major == 1 && minor == 5) return Device::zero;
  return Device::none;
}

DeviceNumbers numbers_of(Device device) {
  switch (device) {
    case Device::console:
      return {5, 1};
    case Device::tty:
      return {5, 0};
    case Device::null:
      return {1, 3};
    case Device::zero:
      return {1, 5};
    case Device::none:
      break;
  }
  return {0, 0};
}

Node* Node::child(std::string_view child_name) const {
  for (Node* c : children) {
    if (c->name == child_name) return c;
  }
  return nullptr;
}

Tree::Tree() {
  root_ = make_node(nullptr, {}, NodeType::directory);
  root_->mode = kDirectoryMode;
}

Node* Tree::make_node(Node* parent, std::string_view name, NodeType type) {
  nodes_.push_back(std::make_unique<Node>());
  Node* node = nodes_.back().get();
  node->name = name;
  node->type = type;
  node->inode = next_inode_++;
  node->parent = parent != nullptr ? parent : node;
  if (parent != nullptr) parent->children.push_back(node);
  return node;
}

// Finds or creates the directory at `path` (relative to the root, already normalised).
Node* Tree::ensure_directory(std::string_view path, BuildReport& report) {
  Node* current = root_;
  while (!path.empty()) {
    const std::string_view name = first_component(path);
    path = skip_slashes(path.substr(name.size()));
    if (name.empty() || name == ".") continue;
    if (name == "..") {
      current = current->parent;
      continue;
    }
    Node* next = current->child(name);
    if (next == nullptr) {
      next = make_node(current, name, NodeType::directory);
      next->mode = kDirectoryMode;
      ++report.implicit_directories;
    } else if (next->type != NodeType::directory) {
      return nullptr;  // a file where the archive wants a directory: the entry is skipped
    }
    current = next;
  }
  return current;
}

std::expected<Tree, cpio::Failure> Tree::from_archive(std::span<const std::byte> archive,
                                                      BuildReport* report_out) {
  // Validate first, so a damaged archive leaves no half-built tree behind.
  if (auto valid = cpio::validate(archive); !valid) return std::unexpected(valid.error());

  Tree tree;
  BuildReport report;
  cpio::Reader reader(archive);
  while (auto entry = reader.next()) {
    if (!*entry) break;
    const cpio::Entry& e = **entry;
    ++report.entries;
    const std::string_view name = normalise_archive_name(e.name);
    if (name.empty()) {  // "." describes the root itself
      tree.root_->mode = e.permissions();
      continue;
    }
    const std::size_t slash = name.rfind('/');
    const std::string_view dir = slash == std::string_view::npos ? std::string_view{} : name.substr(0, slash);
    const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
    if (base == "." || base == ".." || base.size() > kMaxNameLength) {
      ++report.skipped;
      continue;
    }
    Node* parent = tree.ensure_directory(dir, report);
    if (parent == nullptr) {
      ++report.skipped;
      continue;
    }

    NodeType type;
    switch (e.type()) {
      case cpio::FileType::directory:
        type = NodeType::directory;
        break;
      case cpio::FileType::regular:
        type = NodeType::regular;
        break;
      case cpio::FileType::symlink:
        type = NodeType::symlink;
        break;
      case cpio::FileType::char_device:
        type = NodeType::char_device;
        break;
      default:
        ++report.skipped;
        continue;
    }

    Node* node = parent->child(base);
    if (node != nullptr && (node->type == NodeType::directory) != (type == NodeType::directory)) {
      ++report.skipped;  // a directory and a file of the same name: keep the first
      continue;
    }
    if (node == nullptr) node = tree.make_node(parent, base, type);
    // A later entry for the same name replaces the earlier one, as Linux's unpacker does.
    node->type = type;
    node->device = Device::none;
    node->data = {};
    node->mode = e.permissions();
    node->uid = e.uid;
    node->gid = e.gid;
    node->mtime = e.mtime;
    if (type != NodeType::directory) node->data = e.data;
    if (type == NodeType::char_device) {
      node->device = device_from_numbers(e.rdev_major, e.rdev_minor);
      if (node->device == Device::none) node->data = {};  // a device ferrite does not have
    }
  }

  // The devices every program expects, unless the archive brought its own.
  Node* dev = tree.ensure_directory("dev", report);
  if (dev != nullptr) {
    constexpr struct {
      std::string_view name;
      Device device;
    } kDevices[] = {{"console", Device::console}, {"tty", Device::tty}, {"null", Device::null},
                    {"zero", Device::zero}};
    for (const auto& d : kDevices) {
      if (dev->child(d.name) != nullptr) continue;
      Node* node = tree.make_node(dev, d.name, NodeType::char_device);
      node->mode = 0666;
      node->device = d.device;
    }
  }
  // /tmp: the one writable directory (tmpfs), empty at boot whatever the archive put there.
  if (Node* tmp = tree.ensure_directory("tmp", report); tmp != nullptr) {
    if (tmp->mode == 0) tmp->mode = 01777;
    tmp->budget = tree.budget_.get();
    tmp->children.clear();
  }
  if (report_out != nullptr) *report_out = report;
  return tree;
}

std::expected<Node*, abi::Errno> Tree::lookup(std::string_view path, Node* cwd,
                                              FollowLast follow) const {
  if (path.empty()) return std::unexpected(abi::Errno::enoent);
  if (path.size() > kMaxPathLength) return std::unexpected(abi::Errno::enametoolong);
  int hops = 0;
  return walk(path, cwd != nullptr ? cwd : root_, follow, hops);
}

std::expected<Node*, abi::Errno> Tree::walk(std::string_view path, Node* start, FollowLast follow,
                                            int& hops) const {
  Node* current = path.starts_with('/') ? root_ : start;
  const bool wants_directory = path.ends_with('/');
  path = skip_slashes(path);
  while (!path.empty()) {
    const std::string_view name = first_component(path);
    path = skip_slashes(path.substr(name.size()));
    const bool last = path.empty();
    if (current->type != NodeType::directory) return std::unexpected(abi::Errno::enotdir);
    if (name.size() > kMaxNameLength) return std::unexpected(abi::Errno::enametoolong);
    if (name == ".") continue;
    if (name == "..") {
      current = current->parent;
      continue;
    }
    Node* next = current->child(name);
    if (next == nullptr) return std::unexpected(abi::Errno::enoent);
    if (next->type == NodeType::symlink && (!last || follow == FollowLast::yes || wants_directory)) {
      if (++hops > kMaxSymlinkHops) return std::unexpected(abi::Errno::eloop);
      const std::string_view target(reinterpret_cast<const char*>(next->data.data()), next->data.size());
      if (target.empty()) return std::unexpected(abi::Errno::enoent);
      auto resolved = walk(target, current, FollowLast::yes, hops);
      if (!resolved) return resolved;
      next = *resolved;
    }
    current = next;
  }
  if (wants_directory && current->type != NodeType::directory) {
    return std::unexpected(abi::Errno::enotdir);
  }
  return current;
}

std::expected<void, abi::Errno> Node::resize(std::size_t new_size) {
  if (budget == nullptr || type != NodeType::regular) return std::unexpected(abi::Errno::erofs);
  if (new_size > bytes.size() && new_size - bytes.size() > budget->limit - budget->used) {
    return std::unexpected(abi::Errno::enospc);
  }
  budget->used = budget->used - bytes.size() + new_size;
  bytes.resize(new_size);
  if (new_size == 0) bytes.shrink_to_fit();
  data = {bytes.data(), bytes.size()};
  return {};
}

std::expected<std::size_t, abi::Errno> Node::write_at(std::uint64_t offset,
                                                      std::span<const std::byte> in) {
  if (in.empty()) return 0;
  if (offset > budget->limit || in.size() > budget->limit - offset) {
    return std::unexpected(abi::Errno::enospc);
  }
  const std::size_t end = offset + in.size();
  if (end > bytes.size()) {
    if (auto grown = resize(end); !grown) return std::unexpected(grown.error());
  }
  for (std::size_t i = 0; i < in.size(); ++i) bytes[offset + i] = in[i];
  return in.size();
}

void Node::free_bytes() {
  if (budget != nullptr) budget->used -= bytes.size();
  bytes = {};
  data = {};
}

std::expected<Node*, abi::Errno> Tree::create(Node* parent, std::string_view name, NodeType type,
                                              std::uint32_t mode) {
  if (parent->type != NodeType::directory) return std::unexpected(abi::Errno::enotdir);
  if (name.empty() || name == "." || name == "..") return std::unexpected(abi::Errno::eexist);
  if (name.size() > kMaxNameLength) return std::unexpected(abi::Errno::enametoolong);
  if (parent->child(name) != nullptr) return std::unexpected(abi::Errno::eexist);
  if (!parent->writable()) return std::unexpected(abi::Errno::erofs);
  if (parent->unlinked) return std::unexpected(abi::Errno::enoent);  // a removed directory
  Node* node = make_node(parent, {}, type);
  node->owned_name.assign(name.begin(), name.end());
  node->name = {node->owned_name.data(), node->owned_name.size()};
  node->mode = mode & 07777;
  node->budget = parent->budget;
  return node;
}

// Takes `node` out of `directory`'s list. The list's memory goes back with the last entry, so that
// a directory emptied again (/tmp after a program's temporary files) holds no more heap than it
// did before (a kept capacity would stay behind after the program, looking like a leak).
void Tree::remove_child(Node* directory, Node* node) {
  std::erase(directory->children, node);
  if (directory->children.empty()) std::vector<Node*>().swap(directory->children);
}

// Takes `node` out of its directory and out of the tree: deleted now, or, while it has holders
// (hold/drop), handed to them — the last drop() deletes it. Its parent pointer then points at
// itself: the old parent may be removed and freed before the holders let go.
void Tree::detach(Node* node) {
  remove_child(node->parent, node);
  const auto owner =
      std::find_if(nodes_.begin(), nodes_.end(),
                   [node](const std::unique_ptr<Node>& n) { return n.get() == node; });
  if (node->open_count > 0) {
    node->unlinked = true;
    node->parent = node;
    if (owner != nodes_.end()) (void)owner->release();
  } else {
    node->free_bytes();
  }
  if (owner != nodes_.end()) nodes_.erase(owner);
}

void hold(Node* node) {
  if (node != nullptr && node->writable()) ++node->open_count;
}

void drop(Node* node) {
  if (node == nullptr || !node->writable() || --node->open_count > 0 || !node->unlinked) return;
  node->free_bytes();
  delete node;  // detach() gave it up to its holders; this was the last one
}

std::expected<void, abi::Errno> Tree::remove(Node* parent, std::string_view name, bool directory) {
  if (parent->type != NodeType::directory) return std::unexpected(abi::Errno::enotdir);
  Node* node = name == "." || name == ".." ? nullptr : parent->child(name);
  if (node == nullptr) {
    return std::unexpected(name == "." || name == ".." ? abi::Errno::einval : abi::Errno::enoent);
  }
  if (!parent->writable() || !node->writable()) return std::unexpected(abi::Errno::erofs);
  const bool is_directory = node->type == NodeType::directory;
  if (is_directory && !directory) return std::unexpected(abi::Errno::eisdir);
  if (!is_directory && directory) return std::unexpected(abi::Errno::enotdir);
  if (is_directory && !node->children.empty()) return std::unexpected(abi::Errno::enotempty);
  detach(node);
  return {};
}

std::expected<void, abi::Errno> Tree::rename(Node* old_parent, std::string_view old_name,
                                             Node* new_parent, std::string_view new_name) {
  if (old_parent->type != NodeType::directory || new_parent->type != NodeType::directory) {
    return std::unexpected(abi::Errno::enotdir);
  }
  Node* node = old_parent->child(old_name);
  if (node == nullptr) return std::unexpected(abi::Errno::enoent);
  if (new_name.empty() || new_name == "." || new_name == "..") {
    return std::unexpected(abi::Errno::einval);
  }
  if (new_name.size() > kMaxNameLength) return std::unexpected(abi::Errno::enametoolong);
  if (!old_parent->writable() || !new_parent->writable() || !node->writable()) {
    return std::unexpected(abi::Errno::erofs);
  }
  if (new_parent->unlinked) return std::unexpected(abi::Errno::enoent);  // a removed directory
  for (const Node* n = new_parent;; n = n->parent) {  // a directory into itself
    if (n == node) return std::unexpected(abi::Errno::einval);
    if (n == n->parent) break;
  }
  Node* existing = new_parent->child(new_name);
  if (existing == node) return {};
  if (existing != nullptr) {
    const bool node_dir = node->type == NodeType::directory;
    const bool existing_dir = existing->type == NodeType::directory;
    if (existing_dir && !node_dir) return std::unexpected(abi::Errno::eisdir);
    if (!existing_dir && node_dir) return std::unexpected(abi::Errno::enotdir);
    if (existing_dir && !existing->children.empty()) return std::unexpected(abi::Errno::enotempty);
    detach(existing);
  }
  remove_child(old_parent, node);
  node->owned_name.assign(new_name.begin(), new_name.end());
  node->name = {node->owned_name.data(), node->owned_name.size()};
  node->parent = new_parent;
  new_parent->children.push_back(node);
  return {};
}

std::expected<std::size_t, abi::Errno> Tree::path_of(const Node* node, std::span<char> out) const {
  // Two passes up the parent chain: the length first, then the names written from the end.
  // Only a removed node is off the chain (it is its own parent); its ancestors never are.
  if (node->unlinked) return std::unexpected(abi::Errno::enoent);
  std::size_t length = 0;
  for (const Node* n = node; n != root_; n = n->parent) length += 1 + n->name.size();
  if (length == 0) length = 1;  // the root is "/"
  if (length > out.size()) return std::unexpected(abi::Errno::erange);
  std::size_t end = length;
  out[0] = '/';
  for (const Node* n = node; n != root_; n = n->parent) {
    end -= n->name.size();
    for (std::size_t i = 0; i < n->name.size(); ++i) out[end + i] = n->name[i];
    out[--end] = '/';
  }
  return length;
}

}  // namespace ferrite::fs
