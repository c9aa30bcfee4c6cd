// The initramfs file tree and path lookup: see tree.h.
#include "fs/tree.h"

#include <cstring>
#include <new>
#include <utility>

namespace ferrite::fs {

namespace {

constinit TreeLock* the_tree_lock = nullptr;  // fs/tree.h: the kernel's, or none

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

// `name` copied into `out` (a node's own name), false when the heap has no room for it.
bool copy_name(std::string_view name, lib::ByteBuffer& out) {
  if (!out.try_resize(name.size())) return false;
  if (!name.empty()) std::memcpy(out.data(), name.data(), name.size());
  return true;
}

std::string_view as_name(const lib::ByteBuffer& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

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

Node* ChildList::at(std::size_t index) const {
  Node* node = first_;
  for (; node != nullptr && index > 0; --index) node = node->next_sibling;
  return node;
}

std::size_t ChildList::size() const {
  std::size_t count = 0;
  for (const Node* node = first_; node != nullptr; node = node->next_sibling) ++count;
  return count;
}

void ChildList::push_back(Node* child) {
  child->previous_sibling = last_;
  child->next_sibling = nullptr;
  (last_ != nullptr ? last_->next_sibling : first_) = child;
  last_ = child;
}

void ChildList::remove(Node* child) {
  (child->previous_sibling != nullptr ? child->previous_sibling->next_sibling : first_) =
      child->next_sibling;
  (child->next_sibling != nullptr ? child->next_sibling->previous_sibling : last_) =
      child->previous_sibling;
  child->next_sibling = nullptr;
  child->previous_sibling = nullptr;
}

Node* Node::child(std::string_view child_name) const {
  for (Node* c : children) {
    if (c->name == child_name) return c;
  }
  return nullptr;
}

Tree::Tree() {
  root_ = make_boot_node(nullptr, {}, NodeType::directory);
  root_->mode = kDirectoryMode;
}

Tree::Tree(Tree&& other) noexcept
    : root_(std::exchange(other.root_, nullptr)),
      budget_(std::move(other.budget_)),
      next_inode_(other.next_inode_),
      node_count_(std::exchange(other.node_count_, 0)) {}

Tree& Tree::operator=(Tree&& other) noexcept {
  if (this != &other) {
    if (root_ != nullptr) delete_subtree(root_);
    root_ = std::exchange(other.root_, nullptr);
    budget_ = std::move(other.budget_);
    next_inode_ = other.next_inode_;
    node_count_ = std::exchange(other.node_count_, 0);
  }
  return *this;
}

Tree::~Tree() {
  if (root_ != nullptr) delete_subtree(root_);
}

// Deletes `top` (already out of its directory, or the root) and everything below it, deepest
// first, without recursion: a /tmp path may be 2,000 directories deep, too deep for a kernel stack.
void Tree::delete_subtree(Node* top) {
  Node* node = top;
  for (;;) {
    if (!node->children.empty()) {
      node = node->children.front();
      continue;
    }
    Node* const parent = node->parent;
    const bool done = node == top;
    if (!done) parent->children.remove(node);
    node->free_bytes();
    delete node;
    --node_count_;
    if (done) return;
    node = parent;
  }
}

// Gives `node` (new, from the caller) its place: a child of `parent`, or the root (nullptr).
// Allocates nothing, so it cannot fail.
Node* Tree::adopt(Node* node, Node* parent, std::string_view name, NodeType type) {
  node->name = name;
  node->type = type;
  node->inode = next_inode_++;
  node->parent = parent != nullptr ? parent : node;
  if (parent != nullptr) parent->children.push_back(node);
  ++node_count_;
  return node;
}

// A node of the tree built at boot: its name points into the archive. The throwing new: no
// memory for the initramfs's tree at boot is a kernel panic (mm/heap.cpp), not a program's error.
Node* Tree::make_boot_node(Node* parent, std::string_view name, NodeType type) {
  return adopt(new Node, parent, name, type);
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
      next = make_boot_node(current, name, NodeType::directory);
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
    if (node == nullptr) node = tree.make_boot_node(parent, base, type);
    // A later entry for the same name replaces the earlier one, as Linux's unpacker does.
    node->type = type;
    node->device = Device::none;
    node->numbers = {};
    node->data = {};
    node->mode = e.permissions();
    node->uid = e.uid;
    node->gid = e.gid;
    node->mtime = e.mtime;
    if (type != NodeType::directory) node->data = e.data;
    if (type == NodeType::char_device) {
      node->numbers = {e.rdev_major, e.rdev_minor};
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
      Node* node = tree.make_boot_node(dev, d.name, NodeType::char_device);
      node->mode = 0666;
      node->device = d.device;
      node->numbers = numbers_of(d.device);
    }
  }
  // /tmp: the one writable directory (tmpfs), empty at boot whatever the archive put there.
  if (Node* tmp = tree.ensure_directory("tmp", report); tmp != nullptr) {
    if (tmp->mode == 0) tmp->mode = 01777;
    tmp->budget = tree.budget_.get();
    while (Node* old = tmp->children.front()) {
      tmp->children.remove(old);
      tree.delete_subtree(old);
    }
  }
  if (report_out != nullptr) *report_out = report;
  return tree;
}

std::expected<Node*, abi::Errno> Tree::lookup(std::string_view path, Node* cwd,
                                              FollowLast follow) const {
  TreeGuard guard;  // the walk must not meet a node an rm frees meanwhile
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
    if (next == nullptr && current->generator != nullptr) {  // /proc/<pid>: its provider's
      auto generated = current->generator->lookup(*current, name);
      if (!generated) return std::unexpected(generated.error());
      next = *generated;
    }
    if (next == nullptr) return std::unexpected(abi::Errno::enoent);
    if (next->type == NodeType::symlink && (!last || follow == FollowLast::yes || wants_directory)) {
      if (++hops > kMaxSymlinkHops) return std::unexpected(abi::Errno::eloop);
      const auto target_or_error = link_target(*next);
      if (!target_or_error) return std::unexpected(target_or_error.error());
      const std::string_view target = *target_or_error;
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
  const std::size_t old_size = bytes.size();
  if (new_size > old_size && new_size - old_size > budget->limit - budget->used) {
    return std::unexpected(abi::Errno::enospc);
  }
  if (!bytes.try_resize(new_size)) return std::unexpected(abi::Errno::enomem);  // file unchanged
  budget->used = budget->used - old_size + new_size;
  data = bytes.bytes();
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
  std::memcpy(bytes.data() + offset, in.data(), in.size());
  return in.size();
}

void Node::free_bytes() {
  if (budget != nullptr) budget->used -= bytes.size();
  bytes.release();
  data = {};
}

// Linux's filename_create: the name, then EEXIST, then EROFS; a removed directory takes no new
// names (ENOENT, as on Linux).
std::expected<void, abi::Errno> Tree::check_new_name(Node* parent, std::string_view name) {
  if (parent->type != NodeType::directory) return std::unexpected(abi::Errno::enotdir);
  if (name.empty() || name == "." || name == "..") return std::unexpected(abi::Errno::eexist);
  if (name.size() > kMaxNameLength) return std::unexpected(abi::Errno::enametoolong);
  if (parent->child(name) != nullptr) return std::unexpected(abi::Errno::eexist);
  if (!parent->writable()) return std::unexpected(abi::Errno::erofs);
  if (parent->unlinked) return std::unexpected(abi::Errno::enoent);
  return {};
}

std::expected<Node*, abi::Errno> Tree::create(Node* parent, std::string_view name, NodeType type,
                                              std::uint32_t mode, DeviceNumbers numbers) {
  TreeGuard guard;
  if (auto checked = check_new_name(parent, name); !checked) {
    return std::unexpected(checked.error());
  }
  // The two allocations first, then the linking, which cannot fail: ENOMEM leaves no trace.
  lib::ByteBuffer owned_name;
  if (!copy_name(name, owned_name)) return std::unexpected(abi::Errno::enomem);
  Node* node = new (std::nothrow) Node;
  if (node == nullptr) return std::unexpected(abi::Errno::enomem);
  node->owned_name = std::move(owned_name);
  adopt(node, parent, as_name(node->owned_name), type);
  node->mode = mode & 07777;
  node->budget = parent->budget;
  if (type == NodeType::char_device) {
    node->numbers = numbers;
    node->device = device_from_numbers(numbers.major, numbers.minor);
  }
  return node;
}

std::expected<Node*, abi::Errno> Tree::symlink(Node* parent, std::string_view name,
                                               std::string_view target) {
  TreeGuard guard;
  // Linux checks the target first (getname: "" is ENOENT), then the new name.
  if (target.empty()) return std::unexpected(abi::Errno::enoent);
  if (target.size() > kMaxPathLength) return std::unexpected(abi::Errno::enametoolong);
  if (auto checked = check_new_name(parent, name); !checked) {
    return std::unexpected(checked.error());
  }
  TmpfsBudget& budget = *parent->budget;
  if (target.size() > budget.limit - budget.used) return std::unexpected(abi::Errno::enospc);
  lib::ByteBuffer owned_name;
  lib::ByteBuffer bytes;
  if (!copy_name(name, owned_name) || !copy_name(target, bytes)) {
    return std::unexpected(abi::Errno::enomem);
  }
  Node* node = new (std::nothrow) Node;
  if (node == nullptr) return std::unexpected(abi::Errno::enomem);
  node->owned_name = std::move(owned_name);
  node->bytes = std::move(bytes);
  node->data = node->bytes.bytes();
  adopt(node, parent, as_name(node->owned_name), NodeType::symlink);
  node->mode = 0777;  // a link's own bits mean nothing on Linux, and lstat shows lrwxrwxrwx
  node->budget = &budget;
  budget.used += target.size();
  return node;
}

std::expected<void, abi::Errno> Tree::link(Node* node, Node* new_parent,
                                           std::string_view new_name) {
  TreeGuard guard;
  if (auto checked = check_new_name(new_parent, new_name); !checked) {
    return std::unexpected(checked.error());
  }
  if (node->writable() != new_parent->writable()) return std::unexpected(abi::Errno::exdev);
  // vfs_link: a file system without a link operation, and any directory, is EPERM.
  return std::unexpected(abi::Errno::eperm);
}

// Takes `node` out of its directory and out of the tree: deleted now, or, while it has holders
// (hold/drop), handed to them — the last drop() deletes it. Its parent pointer then points at
// itself: the old parent may be removed and freed before the holders let go.
void Tree::detach(Node* node) {
  node->parent->children.remove(node);
  --node_count_;
  if (node->open_count > 0) {
    node->unlinked = true;
    node->parent = node;
  } else {
    node->free_bytes();
    delete node;  // a removed directory is empty: nothing below it
  }
}

namespace {
// The nodes whose holders are counted: tmpfs nodes (freed by their last holder once removed) and
// generated ones (their provider frees an ended process's nodes once nobody holds them).
bool counts_holders(const Node* node) {
  return node != nullptr && (node->writable() || node->generator != nullptr);
}
}  // namespace

TreeLock* tree_lock() { return the_tree_lock; }
void set_tree_lock(TreeLock* lock) { the_tree_lock = lock; }

void hold(Node* node) {
  TreeGuard guard(counts_holders(node));
  if (counts_holders(node)) ++node->open_count;
}

void drop(Node* node) {
  TreeGuard guard(counts_holders(node));
  if (!counts_holders(node) || --node->open_count > 0 || !node->unlinked) return;
  node->free_bytes();
  delete node;  // detach() gave it up to its holders; this was the last one
}

std::expected<void, abi::Errno> deny_write_access(Node* node) {
  TreeGuard guard;  // the check and the count, one step against open (fs/file.cpp)
  if (node->writers > 0) return std::unexpected(abi::Errno::etxtbsy);
  hold(node);
  ++node->executing;
  return {};
}

void allow_write_access(Node* node) {
  TreeGuard guard;
  --node->executing;
  drop(node);
}

std::expected<void, abi::Errno> Tree::remove(Node* parent, std::string_view name, bool directory) {
  TreeGuard guard;
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
  TreeGuard guard;
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
  }
  // The new name's memory before any change: without it, ENOMEM and both names are as they were.
  lib::ByteBuffer owned_name;
  if (!copy_name(new_name, owned_name)) return std::unexpected(abi::Errno::enomem);
  if (existing != nullptr) detach(existing);
  node->parent->children.remove(node);
  node->owned_name = std::move(owned_name);
  node->name = as_name(node->owned_name);
  node->parent = new_parent;
  new_parent->children.push_back(node);
  return {};
}

std::expected<std::string_view, abi::Errno> link_target(Node& link) {
  if (link.generator != nullptr) return link.generator->link_target(link);
  return std::string_view(reinterpret_cast<const char*>(link.data.data()), link.data.size());
}

Node* Tree::add_generated(Node* parent, std::string_view name, NodeType type, std::uint32_t mode,
                          Generator& generator, std::uintptr_t data) {
  Node* node = parent->child(name);
  if (node == nullptr) node = make_boot_node(parent, name, type);
  node->type = type;  // what the archive had there gives way to the generated node
  node->data = {};
  node->device = Device::none;
  node->mode = mode;
  node->generator = &generator;
  node->generator_data = data;
  return node;
}

std::expected<std::size_t, abi::Errno> Tree::path_of(const Node* node, std::span<char> out) const {
  TreeGuard guard;
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
