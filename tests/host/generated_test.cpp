// Generated nodes (kernel/fs/generated.h), the tree's side of /proc, driven by a fake provider:
// a file's bytes are a snapshot made at open and kept by the open file (even when what they
// describe is gone), writes are EACCES and new names EROFS, lookup and getdents ask the provider
// for the names beyond the fixed children, a listing read in pieces goes on by position when
// entries come and go, and a generated link's target is the provider's.
#include "fs/generated.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fs/file.h"
#include "fs/tree.h"
#include "support/cpio_writer.h"

namespace fs = ferrite::fs;
namespace uapi = ferrite::abi;  // (`abi` is taken: <cxxabi.h> aliases it)
using ferrite::testing::CpioWriter;

namespace {

// A tiny /proc: "info" (a fixed file whose text the test sets), "self" -> the current "pid",
// and one directory per live "pid" holding a file "stat" that says "pid N".
class FakeProc final : public fs::Generator {
 public:
  std::string info = "first\n";
  std::map<int, bool> live;  // the live "processes"
  int self = 0;

  std::expected<void, uapi::Errno> generate(const fs::Node& file,
                                            ferrite::lib::ByteBuffer& out) override {
    std::string text;
    if (file.generator_data == 0) {
      text = info;
    } else {
      const int pid = static_cast<int>(file.generator_data);
      if (!live.contains(pid)) return std::unexpected(uapi::Errno::enoent);
      text = "pid " + std::to_string(pid) + "\n";
    }
    if (!out.try_resize(text.size())) return std::unexpected(uapi::Errno::enomem);
    std::memcpy(out.data(), text.data(), text.size());
    return {};
  }
  std::expected<std::string_view, uapi::Errno> link_target(fs::Node&) override {
    self_name_ = std::to_string(self);
    return std::string_view(self_name_);
  }
  std::expected<fs::Node*, uapi::Errno> lookup(fs::Node& directory,
                                               std::string_view name) override {
    const int pid = std::atoi(std::string(name).c_str());
    if (directory.generator_data != 0 || !live.contains(pid))
      return std::unexpected(uapi::Errno::enoent);
    auto& nodes = pids_[pid];
    if (!nodes) {
      nodes = std::make_unique<PidNodes>();
      nodes->name = std::to_string(pid);
      nodes->directory.name = nodes->name;
      nodes->directory.parent = &directory;
      nodes->directory.mode = 0555;
      nodes->directory.generator = this;
      nodes->directory.generator_data = 1000 + pid;  // not a file: lookups below find nothing
      nodes->stat.name = "stat";
      nodes->stat.type = fs::NodeType::regular;
      nodes->stat.mode = 0444;
      nodes->stat.parent = &nodes->directory;
      nodes->stat.generator = this;
      nodes->stat.generator_data = static_cast<std::uintptr_t>(pid);
      nodes->directory.children.push_back(&nodes->stat);
    }
    return &nodes->directory;
  }
  std::optional<fs::GeneratedEntry> entry(const fs::Node& directory,
                                          std::uint64_t position) override {
    if (directory.generator_data != 0) return std::nullopt;
    const auto next = live.lower_bound(static_cast<int>(position));
    if (next == live.end()) return std::nullopt;
    fs::GeneratedEntry e;
    const std::string name = std::to_string(next->first);
    std::memcpy(e.name, name.data(), name.size());
    e.name_length = name.size();
    e.inode = 5000 + static_cast<std::uint64_t>(next->first);
    e.type = fs::NodeType::directory;
    e.next_position = static_cast<std::uint64_t>(next->first) + 1;
    return e;
  }

 private:
  struct PidNodes {
    std::string name;
    fs::Node directory, stat;
  };
  std::map<int, std::unique_ptr<PidNodes>> pids_;
  std::string self_name_;
};

struct Entry {
  std::string name;
  std::uint64_t ino;
  std::int64_t off;
  std::uint8_t type;
};

std::vector<Entry> parse(const std::byte* buffer, std::size_t used) {
  std::vector<Entry> entries;
  for (std::size_t at = 0; at < used;) {
    uapi::Dirent64Header header;
    std::memcpy(&header, buffer + at, sizeof(header));
    entries.push_back({reinterpret_cast<const char*>(buffer + at + uapi::kDirent64NameOffset),
                       header.d_ino, header.d_off, header.d_type});
    at += header.d_reclen;
  }
  return entries;
}

class GeneratedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    archive_ =
        CpioWriter().directory("etc").file("etc/motd", "hi\n").directory("proc").trailer().bytes();
    auto built = fs::Tree::from_archive(archive_);
    ASSERT_TRUE(built.has_value());
    tree_.emplace(std::move(*built));
    proc_ = tree_->add_generated(tree_->root(), "proc", fs::NodeType::directory, 0555, fake_);
    tree_->add_generated(proc_, "info", fs::NodeType::regular, 0444, fake_);
    tree_->add_generated(proc_, "self", fs::NodeType::symlink, 0777, fake_);
    fake_.live = {{2, true}, {5, true}};
    fake_.self = 2;
  }
  std::expected<fs::Node*, uapi::Errno> lookup(std::string_view path,
                                               fs::FollowLast follow = fs::FollowLast::yes) {
    return tree_->lookup(path, tree_->root(), follow);
  }
  fs::OpenFile* open(std::string_view path, std::uint64_t flags = uapi::kOpenReadOnly) {
    auto node = lookup(path);
    EXPECT_TRUE(node.has_value()) << path;
    if (!node) return nullptr;
    auto file = fs::open(*node, flags);
    EXPECT_TRUE(file.has_value()) << path;
    return file.value_or(nullptr);
  }
  static std::string read_all(fs::OpenFile& file) {
    std::string text;
    std::byte buffer[4];  // small reads: the offset walks the snapshot
    for (;;) {
      auto got = fs::read(file, buffer);
      EXPECT_TRUE(got.has_value());
      if (!got || *got == 0) return text;
      text.append(reinterpret_cast<const char*>(buffer), *got);
    }
  }

  FakeProc fake_;
  std::vector<std::byte> archive_;
  std::optional<fs::Tree> tree_;
  fs::Node* proc_ = nullptr;
};

}  // namespace

TEST_F(GeneratedTest, AFileIsASnapshotMadeAtOpenAndKeptByTheOpenFile) {
  fs::OpenFile* first = open("/proc/info");
  fake_.info = "second, and longer\n";
  fs::OpenFile* second = open("/proc/info");
  EXPECT_EQ(read_all(*first), "first\n");
  EXPECT_EQ(read_all(*second), "second, and longer\n");
  std::byte two[2];
  EXPECT_EQ(fs::pread(*first, two, 1).value(), 2u);
  EXPECT_EQ(std::memcmp(two, "ir", 2), 0);
  // Linux's seq_file: SEEK_SET and SEEK_CUR, no end to seek from.
  EXPECT_EQ(fs::lseek(*first, 0, uapi::kSeekEnd).error(), uapi::Errno::einval);
  EXPECT_EQ(fs::lseek(*first, 3, uapi::kSeekSet).value(), 3u);
  EXPECT_EQ(read_all(*first), "st\n");
  fs::release(first);
  fs::release(second);
}

TEST_F(GeneratedTest, AProcessThatEndsLeavesAnOpenSnapshotAndIsGoneForTheNextLookup) {
  fs::OpenFile* stat = open("/proc/5/stat");
  ASSERT_NE(stat, nullptr);
  EXPECT_EQ(stat->node->open_count, 1u) << "held, so the provider keeps the node";
  fake_.live.erase(5);
  EXPECT_EQ(read_all(*stat), "pid 5\n");
  EXPECT_EQ(lookup("/proc/5").error(), uapi::Errno::enoent);
  fs::Node* const node = stat->node;
  fs::release(stat);
  EXPECT_EQ(node->open_count, 0u);
  EXPECT_EQ(lookup("/proc/7/stat").error(), uapi::Errno::enoent);
  EXPECT_EQ(lookup("/proc/2/missing").error(), uapi::Errno::enoent);
}

TEST_F(GeneratedTest, AFailedSnapshotOpensNothingAndHoldsNothing) {
  auto node = lookup("/proc/2/stat");
  ASSERT_TRUE(node.has_value());
  fake_.live.erase(2);  // ended between the lookup and the open
  EXPECT_EQ(fs::open(*node, uapi::kOpenReadOnly).error(), uapi::Errno::enoent);
  EXPECT_EQ((*node)->open_count, 0u);
}

TEST_F(GeneratedTest, WritesAreRefusedAndNoNameCanBeMade) {
  auto info = lookup("/proc/info");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(fs::open(*info, uapi::kOpenWriteOnly).error(), uapi::Errno::eacces);
  EXPECT_EQ(fs::open(*info, uapi::kOpenReadWrite).error(), uapi::Errno::eacces);
  EXPECT_EQ(fs::open(*info, uapi::kOpenReadOnly | uapi::kOpenTruncate).error(),
            uapi::Errno::eacces);
  EXPECT_EQ(fs::open(proc_, uapi::kOpenWriteOnly).error(), uapi::Errno::eisdir);
  EXPECT_EQ(tree_->create(proc_, "new", fs::NodeType::regular, 0644).error(), uapi::Errno::erofs);
  EXPECT_EQ(tree_->remove(proc_, "info", false).error(), uapi::Errno::erofs);
  EXPECT_EQ(fs::truncate(**info, 0).error(), uapi::Errno::erofs);
  EXPECT_EQ((*info)->open_count, 0u);
}

TEST_F(GeneratedTest, StatSaysSizeZeroOnAFileSystemOfItsOwn) {
  const uapi::Stat info = fs::stat_of(*lookup("/proc/info").value());
  const uapi::Stat motd = fs::stat_of(*lookup("/etc/motd").value());
  EXPECT_EQ(info.st_size, 0);
  EXPECT_EQ(info.st_mode, uapi::kModeRegular | 0444u);
  EXPECT_NE(info.st_dev, motd.st_dev);
}

TEST_F(GeneratedTest, ALinkTargetIsTheProvidersAndLookupFollowsIt) {
  auto self = lookup("/proc/self", fs::FollowLast::no);
  ASSERT_TRUE(self.has_value());
  EXPECT_EQ(fs::link_target(**self).value(), "2");
  EXPECT_EQ(lookup("/proc/self").value(), lookup("/proc/2").value());
  fs::OpenFile* stat = open("/proc/self/stat");
  EXPECT_EQ(read_all(*stat), "pid 2\n");
  fs::release(stat);
  fake_.self = 5;
  EXPECT_EQ(lookup("/proc/self/stat").value(), lookup("/proc/5/stat").value());
  // ".." of a generated directory is /proc, and the path of a PID's file names it.
  EXPECT_EQ(lookup("/proc/5/..").value(), proc_);
  char path[32];
  const auto length = tree_->path_of(lookup("/proc/5/stat").value(), path);
  EXPECT_EQ(std::string(path, length.value()), "/proc/5/stat");
}

TEST_F(GeneratedTest, ListingGivesTheFixedNamesThenTheProvidersAndGoesOnByPosition) {
  fake_.live[11] = true;
  fs::OpenFile* dir = open("/proc", uapi::kOpenReadOnly | uapi::kOpenDirectory);
  std::byte buffer[512];
  auto all = parse(buffer, fs::getdents64(*dir, buffer).value());
  ASSERT_EQ(all.size(), 7u);
  const char* names[] = {".", "..", "info", "self", "2", "5", "11"};
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].name, names[i]) << i;
  EXPECT_EQ(all[4].type, uapi::kDirentDirectory);
  EXPECT_EQ(all[4].ino, 5002u);
  EXPECT_EQ(all[3].type, uapi::kDirentSymlink);
  EXPECT_EQ(fs::getdents64(*dir, buffer).value(), 0u);

  // Read in pieces: stop after "2", let 2 and 5 end and 1 and 7 start, go on: 7 and 11 (1 is
  // before the position reached, as Linux's next_tgid would pass it by too).
  ASSERT_TRUE(fs::lseek(*dir, 0, uapi::kSeekSet).has_value());
  std::byte five[5 * 24];
  auto first = parse(five, fs::getdents64(*dir, five).value());
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(first.back().name, "2");
  fake_.live = {{1, true}, {7, true}, {11, true}};
  auto rest = parse(buffer, fs::getdents64(*dir, buffer).value());
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].name, "7");
  EXPECT_EQ(rest[1].name, "11");
  // Each d_off, given back to lseek, goes on after its entry.
  ASSERT_TRUE(fs::lseek(*dir, first[2].off, uapi::kSeekSet).has_value());
  auto after_info = parse(buffer, fs::getdents64(*dir, buffer).value());
  ASSERT_FALSE(after_info.empty());
  EXPECT_EQ(after_info[0].name, "self");
  EXPECT_EQ(after_info[1].name, "1");
  fs::release(dir);
}
