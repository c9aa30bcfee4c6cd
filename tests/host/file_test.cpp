// Open files and descriptor tables over a file tree built from a test cpio archive
// (kernel/fs/file.h, kernel/fs/fd_table.h): reads, pread, lseek, getdents64 records as Linux
// lays them out, stat's fields, the devices, and the descriptor numbering rules.
#include "fs/file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "fs/fd_table.h"
#include "fs/pipe.h"
#include "fs/tree.h"
#include "support/cpio_writer.h"

namespace fs = ferrite::fs;
namespace uapi = ferrite::abi;  // (`abi` is taken: <cxxabi.h> aliases it)
using ferrite::testing::CpioWriter;

namespace {

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    archive_ = CpioWriter()
                   .directory("etc")
                   .file("etc/motd", "hello from the initramfs\n")
                   .directory("bin")
                   .symlink("bin/sh", "busybox")
                   .file("bin/busybox", "ELF...")
                   .add("dev/ttyS0", 0020600, {}, 4, 64)  // a device ferrite has no driver for
                   .trailer()
                   .bytes();
    auto built = fs::Tree::from_archive(archive_);
    ASSERT_TRUE(built.has_value());
    tree_.emplace(std::move(*built));
  }
  fs::Node* node(std::string_view path, fs::FollowLast follow = fs::FollowLast::yes) {
    auto found = tree_->lookup(path, tree_->root(), follow);
    EXPECT_TRUE(found.has_value()) << path;
    return found.value_or(nullptr);
  }
  fs::OpenFile* open(std::string_view path, std::uint64_t flags = uapi::kOpenReadOnly) {
    auto file = fs::open(node(path), flags);
    EXPECT_TRUE(file.has_value()) << path;
    return file.value_or(nullptr);
  }
  static std::string read_string(fs::OpenFile& file, std::size_t count) {
    std::vector<std::byte> buffer(count);
    auto got = fs::read(file, buffer);
    EXPECT_TRUE(got.has_value());
    return {reinterpret_cast<const char*>(buffer.data()), got.value_or(0)};
  }

  std::vector<std::byte> archive_;
  std::optional<fs::Tree> tree_;
};

struct Dirent {
  std::uint64_t ino;
  std::int64_t off;
  std::uint16_t reclen;
  std::uint8_t type;
  std::string name;
};

std::vector<Dirent> parse_dirents(const std::byte* data, std::size_t length) {
  std::vector<Dirent> entries;
  for (std::size_t at = 0; at < length;) {
    uapi::Dirent64Header header;
    std::memcpy(&header, data + at, uapi::kDirent64NameOffset);
    entries.push_back({header.d_ino, header.d_off, header.d_reclen, header.d_type,
                       reinterpret_cast<const char*>(data + at + uapi::kDirent64NameOffset)});
    at += header.d_reclen;
  }
  return entries;
}

}  // namespace

TEST_F(FilesTest, ReadAdvancesThePositionAndStopsAtTheEnd) {
  fs::OpenFile* file = open("/etc/motd");
  EXPECT_EQ(read_string(*file, 5), "hello");
  EXPECT_EQ(read_string(*file, 100), " from the initramfs\n");
  EXPECT_EQ(read_string(*file, 100), "");  // end of file: 0
  fs::release(file);
}

TEST_F(FilesTest, PreadLeavesThePositionAlone) {
  fs::OpenFile* file = open("/etc/motd");
  std::byte buffer[4];
  ASSERT_EQ(fs::pread(*file, buffer, 6).value(), 4u);
  EXPECT_EQ(std::memcmp(buffer, "from", 4), 0);
  EXPECT_EQ(file->offset, 0u);
  EXPECT_EQ(fs::pread(*file, buffer, 1000).value(), 0u);  // past the end
  fs::release(file);
}

TEST_F(FilesTest, LseekFollowsSetCurEndAndRefusesNegativePositions) {
  fs::OpenFile* file = open("/etc/motd");
  EXPECT_EQ(fs::lseek(*file, 6, uapi::kSeekSet).value(), 6u);
  EXPECT_EQ(read_string(*file, 4), "from");
  EXPECT_EQ(fs::lseek(*file, -4, uapi::kSeekCur).value(), 6u);
  EXPECT_EQ(fs::lseek(*file, -1, uapi::kSeekEnd).value(), 24u);
  EXPECT_EQ(read_string(*file, 10), "\n");
  EXPECT_EQ(fs::lseek(*file, 100, uapi::kSeekEnd).value(), 125u);  // past the end is allowed
  EXPECT_EQ(read_string(*file, 10), "");
  EXPECT_EQ(fs::lseek(*file, -200, uapi::kSeekEnd).error(), uapi::Errno::einval);
  EXPECT_EQ(fs::lseek(*file, 0, 7).error(), uapi::Errno::einval);  // no such whence
  EXPECT_EQ(fs::lseek(*file, INT64_MAX, uapi::kSeekEnd).error(), uapi::Errno::einval);  // overflow
  fs::release(file);
}

// A device node whose numbers name no driver here opens as Linux's does without the driver:
// ENXIO ("no such device or address"), not as some other device.
TEST_F(FilesTest, ADeviceWithoutADriverIsEnxio) {
  const auto opened = fs::open(node("/dev/ttyS0"), uapi::kOpenReadWrite);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error(), uapi::Errno::enxio);
}

TEST_F(FilesTest, TheTreeIsReadOnly) {
  EXPECT_EQ(fs::open(node("/etc/motd"), uapi::kOpenWriteOnly).error(), uapi::Errno::erofs);
  EXPECT_EQ(fs::open(node("/etc/motd"), uapi::kOpenReadWrite).error(), uapi::Errno::erofs);
  EXPECT_EQ(fs::open(node("/etc"), uapi::kOpenWriteOnly).error(), uapi::Errno::eisdir);
  EXPECT_EQ(fs::open(node("/etc/motd"), uapi::kOpenDirectory).error(), uapi::Errno::enotdir);
  fs::OpenFile* file = open("/etc/motd");
  const std::byte byte{0};
  EXPECT_EQ(fs::write(*file, {&byte, 1}).error(), uapi::Errno::ebadf);  // opened read-only
  fs::release(file);
}

TEST_F(FilesTest, DirectoriesListDotDotDotAndTheirChildren) {
  fs::OpenFile* dir = open("/bin", uapi::kOpenReadOnly | uapi::kOpenDirectory);
  std::byte buffer[512];
  const auto used = fs::getdents64(*dir, buffer);
  ASSERT_TRUE(used.has_value());
  const auto entries = parse_dirents(buffer, *used);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].name, ".");
  EXPECT_EQ(entries[0].type, uapi::kDirentDirectory);
  EXPECT_EQ(entries[0].ino, node("/bin")->inode);
  EXPECT_EQ(entries[1].name, "..");
  EXPECT_EQ(entries[1].ino, tree_->root()->inode);
  EXPECT_EQ(entries[2].name, "sh");
  EXPECT_EQ(entries[2].type, uapi::kDirentSymlink);
  EXPECT_EQ(entries[3].name, "busybox");
  EXPECT_EQ(entries[3].type, uapi::kDirentRegular);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].reclen % 8, 0u) << "records are 8-byte aligned";
    EXPECT_EQ(entries[i].off, static_cast<std::int64_t>(i + 1));
  }
  EXPECT_EQ(entries[3].reclen, 32u);                    // 19 + "busybox" + NUL = 27, padded to 32
  EXPECT_EQ(fs::getdents64(*dir, buffer).value(), 0u);  // the end
  // lseek back to an entry's d_off continues after it.
  ASSERT_TRUE(fs::lseek(*dir, entries[2].off, uapi::kSeekSet).has_value());
  const auto rest = parse_dirents(buffer, fs::getdents64(*dir, buffer).value());
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].name, "busybox");
  fs::release(dir);
}

TEST_F(FilesTest, GetdentsTakesOnlyWholeRecordsAndSaysWhenNoneFits) {
  fs::OpenFile* dir = open("/bin");
  std::byte small[10];
  EXPECT_EQ(fs::getdents64(*dir, small).error(), uapi::Errno::einval);
  std::byte two[48];  // "." and ".." take 24 bytes each
  EXPECT_EQ(parse_dirents(two, fs::getdents64(*dir, two).value()).size(), 2u);
  fs::OpenFile* file = open("/etc/motd");
  EXPECT_EQ(fs::getdents64(*file, two).error(), uapi::Errno::enotdir);
  std::byte byte[1];
  EXPECT_EQ(fs::read(*dir, byte).error(), uapi::Errno::eisdir);
  fs::release(dir);
  fs::release(file);
}

TEST_F(FilesTest, StatDescribesNodesAsLinuxDoes) {
  const uapi::Stat motd = fs::stat_of(*node("/etc/motd"));
  EXPECT_EQ(motd.st_mode, 0100644u);
  EXPECT_EQ(motd.st_size, 25);
  EXPECT_EQ(motd.st_nlink, 1u);
  EXPECT_EQ(motd.st_blocks, 1);
  EXPECT_EQ(motd.st_blksize, 4096);
  const uapi::Stat etc = fs::stat_of(*node("/etc"));
  EXPECT_EQ(etc.st_mode & uapi::kModeTypeMask, uapi::kModeDirectory);
  EXPECT_EQ(etc.st_nlink, 2u);
  const uapi::Stat root = fs::stat_of(*tree_->root());
  EXPECT_EQ(root.st_nlink, 6u);  // ".", its name, and the ".." of etc, bin, dev and tmp
  const uapi::Stat link = fs::stat_of(*node("/bin/sh", fs::FollowLast::no));
  EXPECT_EQ(link.st_mode, 0120777u);
  EXPECT_EQ(link.st_size, 7);  // the target's length, as lstat says
  const uapi::Stat null = fs::stat_of(*node("/dev/null"));
  EXPECT_EQ(null.st_mode & uapi::kModeTypeMask, uapi::kModeCharDevice);
  EXPECT_EQ(null.st_rdev, (1u << 8) | 3u);  // makedev(1, 3)
  const uapi::Statx sx = fs::statx_of(*node("/dev/console"));
  EXPECT_EQ(sx.stx_rdev_major, 5u);
  EXPECT_EQ(sx.stx_rdev_minor, 1u);
  EXPECT_EQ(sx.stx_mask, uapi::kStatxBasicStats);
}

TEST_F(FilesTest, NullAndZeroBehaveAsTheirNamesSay) {
  fs::OpenFile* null = open("/dev/null", uapi::kOpenReadWrite);
  fs::OpenFile* zero = open("/dev/zero", uapi::kOpenReadWrite);
  std::byte buffer[8];
  std::memset(buffer, 0xFF, sizeof(buffer));
  EXPECT_EQ(fs::read(*null, buffer).value(), 0u);
  EXPECT_EQ(fs::write(*null, buffer).value(), 8u);
  EXPECT_EQ(fs::read(*zero, buffer).value(), 8u);
  for (std::byte b : buffer) EXPECT_EQ(b, std::byte{0});
  EXPECT_EQ(fs::write(*zero, buffer).value(), 8u);
  fs::release(null);
  fs::release(zero);
}

TEST_F(FilesTest, DescriptorsAreTheLowestFreeNumber) {
  fs::FdTable table;
  EXPECT_EQ(table.install(open("/etc/motd")).value(), 0);
  EXPECT_EQ(table.install(open("/etc/motd")).value(), 1);
  EXPECT_EQ(table.install(open("/etc/motd")).value(), 2);
  ASSERT_TRUE(table.close(1).has_value());
  EXPECT_EQ(table.install(open("/etc/motd")).value(), 1);       // reused
  EXPECT_EQ(table.install(open("/etc/motd"), 10).value(), 10);  // F_DUPFD's lower bound
  EXPECT_EQ(table.open_count(), 4u);                            // 0, 1, 2 and 10
}

TEST_F(FilesTest, BadDescriptorsAreEbadfAndAFullTableEmfile) {
  fs::FdTable table;
  EXPECT_EQ(table.get(0), nullptr);
  EXPECT_EQ(table.get(-1), nullptr);
  EXPECT_EQ(table.get(fs::FdTable::kMaxDescriptors), nullptr);
  EXPECT_EQ(table.close(3).error(), uapi::Errno::ebadf);
  EXPECT_EQ(table.close(-5).error(), uapi::Errno::ebadf);
  EXPECT_EQ(table.close(1 << 20).error(), uapi::Errno::ebadf);
  for (int i = 0; i < fs::FdTable::kMaxDescriptors; ++i) {
    ASSERT_EQ(table.install(open("/etc/motd")).value(), i);
  }
  EXPECT_EQ(table.install(open("/etc/motd")).error(), uapi::Errno::emfile);  // released, not leaked
  ASSERT_TRUE(table.close(0).has_value());
  EXPECT_EQ(table.close(0).error(), uapi::Errno::ebadf);  // closed twice
}

TEST_F(FilesTest, SharedOpenFilesShareTheirPosition) {
  fs::FdTable table;
  fs::OpenFile* file = open("/etc/motd");
  ++file->references;  // what dup does
  const int a = table.install(file).value();
  const int b = table.install(file).value();
  EXPECT_EQ(read_string(*table.get(a), 6), "hello ");
  EXPECT_EQ(read_string(*table.get(b), 4), "from");
  ASSERT_TRUE(table.close(a).has_value());
  EXPECT_EQ(read_string(*table.get(b), 4), " the");  // still open through b
}

TEST_F(FilesTest, ACloneSharesEveryOpenFileAndItsCloseOnExecFlags) {
  fs::FdTable parent;
  fs::OpenFile* motd = open("/etc/motd");
  ASSERT_EQ(parent.install(motd).value(), 0);
  ASSERT_EQ(parent.install(open("/etc/motd"), 5).value(), 5);
  parent.set_close_on_exec(5, true);
  fs::FdTable* child = parent.clone();
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->get(0), motd);  // the same open file, not a copy
  EXPECT_EQ(motd->references, 2u);
  EXPECT_EQ(child->open_count(), 2u);
  EXPECT_FALSE(child->close_on_exec(0));
  EXPECT_TRUE(child->close_on_exec(5));
  EXPECT_EQ(read_string(*parent.get(0), 6), "hello ");
  EXPECT_EQ(read_string(*child->get(0), 4), "from");  // one position for both processes
  delete child;                                        // the child exits: references drop
  EXPECT_EQ(motd->references, 1u);
  EXPECT_EQ(read_string(*parent.get(0), 4), " the");
}

TEST_F(FilesTest, ExecClosesOnlyCloseOnExecDescriptors) {
  fs::FdTable table;
  for (int i = 0; i < 4; ++i) ASSERT_EQ(table.install(open("/etc/motd")).value(), i);
  table.set_close_on_exec(1, true);
  table.set_close_on_exec(3, true);
  table.close_on_exec_all();
  EXPECT_NE(table.get(0), nullptr);
  EXPECT_EQ(table.get(1), nullptr);
  EXPECT_NE(table.get(2), nullptr);
  EXPECT_EQ(table.get(3), nullptr);
  EXPECT_FALSE(table.close_on_exec(1));  // the number is free and clean for the next open
  EXPECT_EQ(table.install(open("/etc/motd")).value(), 1);
  EXPECT_FALSE(table.close_on_exec(1));
}

// tmpfs: /tmp is the one writable directory of the tree.
TEST_F(FilesTest, TmpfsFilesAreCreatedWrittenAppendedAndTruncated) {
  fs::Node* tmp = node("/tmp");
  ASSERT_TRUE(tmp->writable());
  EXPECT_FALSE(node("/etc")->writable());
  auto made = tree_->create(tmp, "f", fs::NodeType::regular, 0644);
  ASSERT_TRUE(made.has_value());
  EXPECT_EQ(tree_->create(tmp, "f", fs::NodeType::regular, 0644).error(), uapi::Errno::eexist);
  EXPECT_EQ(tree_->create(node("/etc"), "x", fs::NodeType::regular, 0644).error(),
            uapi::Errno::erofs);
  fs::OpenFile* out = open("/tmp/f", uapi::kOpenWriteOnly);
  const auto bytes = [](std::string_view s) {
    return std::span<const std::byte>(reinterpret_cast<const std::byte*>(s.data()), s.size());
  };
  EXPECT_EQ(fs::write(*out, bytes("data\n")).value(), 5u);
  EXPECT_EQ(fs::write(*out, bytes("more\n")).value(), 5u);
  EXPECT_EQ(fs::lseek(*out, 20, uapi::kSeekSet).value(), 20u);
  EXPECT_EQ(fs::write(*out, bytes("!")).value(), 1u);  // a hole, read back as zeros
  EXPECT_EQ(fs::stat_of(*node("/tmp/f")).st_size, 21);
  EXPECT_EQ(fs::stat_of(*node("/tmp/f")).st_mode, uapi::kModeRegular | 0644);
  fs::release(out);
  fs::OpenFile* in = open("/tmp/f");
  EXPECT_EQ(read_string(*in, 10), "data\nmore\n");
  EXPECT_EQ(read_string(*in, 64), std::string(10, '\0') + "!");
  EXPECT_EQ(fs::write(*in, bytes("x")).error(), uapi::Errno::ebadf);  // read-only descriptor
  fs::release(in);
  // O_APPEND writes at the end whatever the position; O_TRUNC empties.
  fs::OpenFile* append = open("/tmp/f", uapi::kOpenWriteOnly | uapi::kOpenAppend);
  EXPECT_EQ(fs::write(*append, bytes("end")).value(), 3u);
  EXPECT_EQ(node("/tmp/f")->size(), 24u);
  fs::release(append);
  EXPECT_TRUE(fs::truncate(*node("/tmp/f"), 4).has_value());
  EXPECT_EQ(fs::truncate(*node("/tmp/f"), -1).error(), uapi::Errno::einval);
  EXPECT_EQ(fs::truncate(*node("/etc/motd"), 0).error(), uapi::Errno::erofs);
  EXPECT_EQ(fs::truncate(*tmp, 0).error(), uapi::Errno::eisdir);
  EXPECT_EQ(tree_->tmpfs_budget().used, 4u);
  fs::release(open("/tmp/f", uapi::kOpenReadWrite | uapi::kOpenTruncate));
  EXPECT_EQ(node("/tmp/f")->size(), 0u);
  EXPECT_EQ(tree_->tmpfs_budget().used, 0u);
  // Everything outside /tmp stays read-only.
  EXPECT_EQ(fs::open(node("/etc/motd"), uapi::kOpenWriteOnly).error(), uapi::Errno::erofs);
  EXPECT_EQ(fs::open(tmp, uapi::kOpenWriteOnly).error(), uapi::Errno::eisdir);
}

// F_GETFL shows the access mode and the flags that last (O_APPEND, O_NONBLOCK, O_LARGEFILE),
// not those that acted only at open or belong to the descriptor (O_CLOEXEC), as on Linux.
TEST_F(FilesTest, OpenKeepsOnlyTheFlagsThatLast) {
  ASSERT_TRUE(tree_->create(node("/tmp"), "g", fs::NodeType::regular, 0644).has_value());
  constexpr std::uint64_t kLargeFile = 0100000;
  fs::OpenFile* file =
      open("/tmp/g", uapi::kOpenReadWrite | uapi::kOpenCreate | uapi::kOpenExclusive |
                         uapi::kOpenNoctty | uapi::kOpenTruncate | uapi::kOpenCloexec |
                         uapi::kOpenAppend | kLargeFile);
  EXPECT_EQ(file->flags, uapi::kOpenReadWrite | uapi::kOpenAppend | kLargeFile);
  fs::release(file);
}

TEST_F(FilesTest, TmpfsRunsOutOfSpaceWithEnospc) {
  tree_->set_tmpfs_limit(100);
  ASSERT_TRUE(tree_->create(node("/tmp"), "big", fs::NodeType::regular, 0644).has_value());
  fs::OpenFile* out = open("/tmp/big", uapi::kOpenWriteOnly);
  const std::vector<std::byte> chunk(60);
  EXPECT_EQ(fs::write(*out, chunk).value(), 60u);
  EXPECT_EQ(fs::write(*out, chunk).error(), uapi::Errno::enospc);
  EXPECT_EQ(fs::pwrite(*out, chunk, 40).value(), 60u);  // exactly full
  EXPECT_EQ(fs::truncate(*node("/tmp/big"), 101).error(), uapi::Errno::enospc);
  EXPECT_EQ(tree_->tmpfs_budget().used, 100u);
  fs::release(out);
}

TEST_F(FilesTest, TmpfsUnlinkMkdirRmdirRenameAndListing) {
  fs::Node* tmp = node("/tmp");
  ASSERT_TRUE(tree_->create(tmp, "d", fs::NodeType::directory, 0755).has_value());
  EXPECT_EQ(tree_->create(tmp, "d", fs::NodeType::directory, 0755).error(), uapi::Errno::eexist);
  ASSERT_TRUE(tree_->create(node("/tmp/d"), "f", fs::NodeType::regular, 0600).has_value());
  EXPECT_EQ(tree_->remove(tmp, "d", true).error(), uapi::Errno::enotempty);
  EXPECT_EQ(tree_->remove(tmp, "d", false).error(), uapi::Errno::eisdir);
  EXPECT_EQ(tree_->remove(node("/tmp/d"), "f", true).error(), uapi::Errno::enotdir);
  EXPECT_EQ(tree_->remove(tmp, "nope", false).error(), uapi::Errno::enoent);
  EXPECT_EQ(tree_->remove(node("/etc"), "motd", false).error(), uapi::Errno::erofs);
  EXPECT_EQ(tree_->remove(node("/"), "tmp", true).error(), uapi::Errno::erofs);
  // rename within /tmp: moves, replaces a file, refuses a directory into itself.
  ASSERT_TRUE(tree_->rename(node("/tmp/d"), "f", tmp, "g").has_value());
  EXPECT_EQ(node("/tmp/g")->name, "g");
  EXPECT_FALSE(tree_->lookup("/tmp/d/f", tree_->root()).has_value());
  ASSERT_TRUE(tree_->create(tmp, "h", fs::NodeType::regular, 0600).has_value());
  ASSERT_TRUE(tree_->rename(tmp, "h", tmp, "g").has_value());
  EXPECT_EQ(tree_->rename(tmp, "d", node("/tmp/d"), "x").error(), uapi::Errno::einval);
  EXPECT_EQ(tree_->rename(tmp, "g", tmp, "d").error(), uapi::Errno::eisdir);
  EXPECT_EQ(tree_->rename(node("/etc"), "motd", tmp, "m").error(), uapi::Errno::erofs);
  EXPECT_EQ(tree_->rename(tmp, "zz", tmp, "m").error(), uapi::Errno::enoent);
  // The listing: ".", "..", then d and g.
  fs::OpenFile* dir = open("/tmp");
  std::vector<std::byte> records(512);
  const std::size_t used = fs::getdents64(*dir, records).value();
  std::string names;
  for (std::size_t at = 0; at < used;) {
    std::uint16_t length = 0;
    std::memcpy(&length, records.data() + at + 16, 2);
    names += reinterpret_cast<const char*>(records.data() + at + uapi::kDirent64NameOffset);
    names += ' ';
    at += length;
  }
  EXPECT_EQ(names, ". .. d g ");
  fs::release(dir);
  EXPECT_TRUE(tree_->remove(tmp, "d", true).has_value());
}

// A directory's children are linked through themselves (no list to allocate, none kept when
// emptied: kernel.shell_run_first_gives_back): order kept, links mended by remove and rename.
TEST_F(FilesTest, TmpfsDirectoryListKeepsOrderThroughRemoveAndRename) {
  fs::Node* tmp = node("/tmp");
  const auto names = [](const fs::Node* directory) {
    std::string out;
    for (const fs::Node* child : directory->children) out += std::string(child->name) + " ";
    return out;
  };
  ASSERT_TRUE(tmp->children.empty());
  for (const char* name : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(tree_->create(tmp, name, fs::NodeType::regular, 0600).has_value());
  }
  ASSERT_TRUE(tree_->create(tmp, "dir", fs::NodeType::directory, 0700).has_value());
  EXPECT_EQ(names(tmp), "a b c d dir ");
  ASSERT_TRUE(tree_->remove(tmp, "a", false).has_value());  // the first
  ASSERT_TRUE(tree_->remove(tmp, "c", false).has_value());  // one in the middle
  EXPECT_EQ(names(tmp), "b d dir ");
  ASSERT_TRUE(tree_->rename(tmp, "dir", tmp, "z").has_value());  // the last, back at the end
  ASSERT_TRUE(tree_->rename(tmp, "b", node("/tmp/z"), "b").has_value());
  EXPECT_EQ(names(tmp), "d z ");
  EXPECT_EQ(names(node("/tmp/z")), "b ");
  EXPECT_EQ(tmp->children.size(), 2u);
  EXPECT_EQ(tmp->children.at(1)->name, "z");
  EXPECT_EQ(tmp->children.at(2), nullptr);
  ASSERT_TRUE(tree_->remove(node("/tmp/z"), "b", false).has_value());
  ASSERT_TRUE(tree_->remove(tmp, "z", true).has_value());
  ASSERT_TRUE(tree_->remove(tmp, "d", false).has_value());
  EXPECT_TRUE(tmp->children.empty());
  EXPECT_EQ(tree_->create(tmp, "again", fs::NodeType::regular, 0600).value()->name, "again");
  EXPECT_EQ(names(tmp), "again ");
}

TEST_F(FilesTest, TmpfsFileOpenAfterUnlinkKeepsItsDataUntilClosed) {
  ASSERT_TRUE(tree_->create(node("/tmp"), "f", fs::NodeType::regular, 0644).has_value());
  fs::OpenFile* file = open("/tmp/f", uapi::kOpenReadWrite);
  const std::string text = "kept";
  EXPECT_EQ(fs::write(*file, std::as_bytes(std::span(text))).value(), 4u);
  ASSERT_TRUE(tree_->remove(node("/tmp"), "f", false).has_value());
  EXPECT_FALSE(tree_->lookup("/tmp/f", tree_->root()).has_value());
  EXPECT_EQ(fs::lseek(*file, 0, uapi::kSeekSet).value(), 0u);
  EXPECT_EQ(read_string(*file, 16), "kept");
  EXPECT_EQ(tree_->tmpfs_budget().used, 4u);
  fs::release(file);  // the last close frees the bytes
  EXPECT_EQ(tree_->tmpfs_budget().used, 0u);
}

// symlink(2) in /tmp: a node holding its target, which lookup follows (ELOOP after 40) and
// lstat and readlink see; the target's bytes are in the budget, and go back with the link.
TEST_F(FilesTest, TmpfsSymlinksHoldTheirTargetAndLookupFollowsThem) {
  fs::Node* tmp = node("/tmp");
  auto link = tree_->symlink(tmp, "motd", "/etc/motd");
  ASSERT_TRUE(link.has_value());
  EXPECT_EQ(node("/tmp/motd"), node("/etc/motd"));
  fs::Node* itself = node("/tmp/motd", fs::FollowLast::no);
  EXPECT_EQ(itself, *link);
  EXPECT_EQ(itself->type, fs::NodeType::symlink);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(itself->data.data()), itself->data.size()),
            "/etc/motd");
  const uapi::Stat st = fs::stat_of(*itself);
  EXPECT_EQ(st.st_mode, uapi::kModeSymlink | 0777u);  // lrwxrwxrwx, as Linux shows a link
  EXPECT_EQ(st.st_size, 9);
  EXPECT_EQ(tree_->tmpfs_budget().used, 9u);
  // Relative targets are read from the link's directory; a link to itself loops.
  ASSERT_TRUE(tree_->symlink(tmp, "again", "motd").has_value());
  EXPECT_EQ(node("/tmp/again"), node("/etc/motd"));
  ASSERT_TRUE(tree_->symlink(tmp, "loop", "loop").has_value());
  EXPECT_EQ(tree_->lookup("/tmp/loop", tree_->root()).error(), uapi::Errno::eloop);
  ASSERT_TRUE(tree_->symlink(tmp, "dangling", "nowhere").has_value());
  EXPECT_EQ(tree_->lookup("/tmp/dangling", tree_->root()).error(), uapi::Errno::enoent);
  // The refusals, in Linux's order: the target, then the name.
  EXPECT_EQ(tree_->symlink(tmp, "x", "").error(), uapi::Errno::enoent);
  EXPECT_EQ(tree_->symlink(tmp, "x", std::string(4096, 'a')).error(), uapi::Errno::enametoolong);
  EXPECT_EQ(tree_->symlink(tmp, "motd", "a").error(), uapi::Errno::eexist);
  EXPECT_EQ(tree_->symlink(node("/etc"), "x", "a").error(), uapi::Errno::erofs);
  EXPECT_EQ(tree_->symlink(node("/etc/motd"), "x", "a").error(), uapi::Errno::enotdir);
  const std::size_t used = tree_->tmpfs_budget().used;
  EXPECT_EQ(used, 9u + 4u + 4u + 7u);
  tree_->set_tmpfs_limit(used + 4094);
  EXPECT_EQ(tree_->symlink(tmp, "long", std::string(4095, 'a')).error(), uapi::Errno::enospc);
  tree_->set_tmpfs_limit(used + 4095);
  ASSERT_TRUE(tree_->symlink(tmp, "long", std::string(4095, 'a')).has_value());  // PATH_MAX - 1
  EXPECT_EQ(tree_->tmpfs_budget().used, used + 4095);
  for (const char* name : {"motd", "again", "loop", "dangling", "long"}) {
    EXPECT_TRUE(tree_->remove(tmp, name, false).has_value()) << name;
  }
  EXPECT_EQ(tree_->tmpfs_budget().used, 0u);
  EXPECT_EQ(node("/etc/motd")->size(), 25u);  // removing a link leaves its target alone
}

// link(2): every check Linux makes, then EPERM (no hard links here); nothing changes.
TEST_F(FilesTest, LinkMakesLinuxsChecksThenSaysEperm) {
  fs::Node* tmp = node("/tmp");
  fs::Node* file = tree_->create(tmp, "f", fs::NodeType::regular, 0644).value();
  ASSERT_TRUE(tree_->create(tmp, "d", fs::NodeType::directory, 0755).has_value());
  EXPECT_EQ(tree_->link(file, tmp, "d").error(), uapi::Errno::eexist);
  EXPECT_EQ(tree_->link(file, tmp, "..").error(), uapi::Errno::eexist);
  EXPECT_EQ(tree_->link(file, node("/etc"), "f").error(), uapi::Errno::erofs);
  EXPECT_EQ(tree_->link(node("/etc/motd"), node("/etc"), "m").error(), uapi::Errno::erofs);
  EXPECT_EQ(tree_->link(node("/etc/motd"), tmp, "m").error(), uapi::Errno::exdev);
  EXPECT_EQ(tree_->link(node("/tmp/d"), tmp, "e").error(), uapi::Errno::eperm);  // a directory
  EXPECT_EQ(tree_->link(file, tmp, "g").error(), uapi::Errno::eperm);
  EXPECT_EQ(tmp->children.size(), 2u);
  EXPECT_EQ(tree_->lookup("/tmp/g", tree_->root()).error(), uapi::Errno::enoent);
}

// mknod(2)'s character devices: the numbers of a device ferrite has make that device; others
// make a node that keeps its numbers and is ENXIO to open, as on Linux without the driver.
TEST_F(FilesTest, MknodDevicesKeepTheirNumbersAndOpenTheirDriver) {
  fs::Node* tmp = node("/tmp");
  fs::Node* zero =
      tree_->create(tmp, "z", fs::NodeType::char_device, 0666, fs::DeviceNumbers{1, 5}).value();
  EXPECT_EQ(zero->device, fs::Device::zero);
  EXPECT_EQ(fs::stat_of(*zero).st_rdev, 0x105u);
  EXPECT_EQ(fs::stat_of(*zero).st_mode, uapi::kModeCharDevice | 0666u);
  fs::OpenFile* file = open("/tmp/z", uapi::kOpenReadWrite);
  EXPECT_EQ(read_string(*file, 3), std::string(3, '\0'));
  EXPECT_EQ(fs::write(*file, std::as_bytes(std::span("x", 1))).value(), 1u);
  fs::release(file);
  fs::Node* other =
      tree_->create(tmp, "other", fs::NodeType::char_device, 0600, fs::DeviceNumbers{10, 200})
          .value();
  EXPECT_EQ(other->device, fs::Device::none);
  EXPECT_EQ(fs::stat_of(*other).st_rdev, (10u << 8) | 200u);
  EXPECT_EQ(fs::statx_of(*other).stx_rdev_major, 10u);
  EXPECT_EQ(fs::open(other, uapi::kOpenReadOnly).error(), uapi::Errno::enxio);
  EXPECT_EQ(fs::stat_of(*node("/dev/ttyS0")).st_rdev, (4u << 8) | 64u);  // the archive's, kept
  EXPECT_EQ(fs::stat_of(*node("/dev/null")).st_rdev, 0x103u);
}

namespace {

// A TreeLock that counts: how often it was taken, how deep it is held now (it nests, as the
// kernel's does), and which operation forgot to let it go.
struct CountingTreeLock final : fs::TreeLock {
  int takes = 0;
  int depth = 0;
  void lock() override {
    ++takes;
    ++depth;
  }
  void unlock() override { --depth; }
};

}  // namespace

// The tree lock (fs/tree.h): every change of a tmpfs file's bytes or of a directory, every read
// that copies a tmpfs file's bytes and every lookup takes it, and gives it back, nested or not.
// The read-only tree's files need none: nothing frees their bytes.
TEST_F(FilesTest, TheTreeLockBracketsEveryTmpfsChangeAndRead) {
  CountingTreeLock lock;
  fs::set_tree_lock(&lock);
  const auto taken = [&](const char* what, const std::function<void()>& step) {
    lock.takes = 0;
    step();
    EXPECT_GT(lock.takes, 0) << what;
    EXPECT_EQ(lock.depth, 0) << what;
  };
  const auto bytes = [](std::string_view s) {
    return std::span<const std::byte>(reinterpret_cast<const std::byte*>(s.data()), s.size());
  };
  fs::Node* tmp = nullptr;
  taken("lookup", [&] { tmp = node("/tmp"); });
  taken("create", [&] { ASSERT_TRUE(tree_->create(tmp, "f", fs::NodeType::regular, 0644)); });
  fs::OpenFile* file = nullptr;
  taken("open", [&] { file = open("/tmp/f", uapi::kOpenReadWrite | uapi::kOpenTruncate); });
  taken("write", [&] { EXPECT_EQ(fs::write(*file, bytes("data")).value(), 4u); });
  taken("pwrite", [&] { EXPECT_EQ(fs::pwrite(*file, bytes("!"), 8).value(), 1u); });
  std::byte buffer[16];
  taken("pread", [&] { EXPECT_EQ(fs::pread(*file, buffer, 0).value(), 9u); });
  taken("read", [&] { EXPECT_EQ(fs::read(*file, buffer).value(), 5u); });  // from 4, after "data"
  taken("truncate", [&] { EXPECT_TRUE(fs::truncate(*file->node, 2)); });
  taken("symlink", [&] { EXPECT_TRUE(tree_->symlink(tmp, "l", "f")); });
  taken("rename", [&] { EXPECT_TRUE(tree_->rename(tmp, "f", tmp, "g")); });
  taken("remove", [&] { EXPECT_TRUE(tree_->remove(tmp, "g", false)); });  // still open
  taken("getdents64", [&] {
    fs::OpenFile* directory = open("/tmp", uapi::kOpenReadOnly | uapi::kOpenDirectory);
    std::byte records[256];
    EXPECT_GT(fs::getdents64(*directory, records).value(), 0u);
    fs::release(directory);
  });
  char path[64];
  taken("path_of", [&] { EXPECT_EQ(tree_->path_of(tmp, path).value(), 4u); });
  taken("close of a removed file", [&] { fs::release(file); });
  // The archive's files: read with no lock (their bytes never change).
  fs::OpenFile* motd = open("/etc/motd");
  lock.takes = 0;
  EXPECT_EQ(read_string(*motd, 5), "hello");
  EXPECT_EQ(lock.takes, 0);
  fs::release(motd);
  fs::set_tree_lock(nullptr);
}

namespace {

// A PipeWaiter for a test with one thread: wait() runs what "another process" does meanwhile
// (once), then says woken (true) or, with nothing left to run, interrupted by a signal (false).
struct ScriptedWaiter final : fs::PipeWaiter {
  std::function<bool()> meanwhile;
  int waits = 0;
  int wakes = 0;
  bool lock() override { return false; }
  void unlock(bool) override {}
  bool wait() override {
    ++waits;
    const auto step = std::exchange(meanwhile, nullptr);
    return step ? step() : false;
  }
  void wake() override { ++wakes; }
};

class NamedPipeTest : public FilesTest {
 protected:
  void SetUp() override {
    FilesTest::SetUp();
    fifo_ = tree_->create(node("/tmp"), "f", fs::NodeType::fifo, 0644).value();
    fs::set_pipe_waiter(&waiter_);
  }
  void TearDown() override { fs::set_pipe_waiter(nullptr); }
  std::expected<fs::OpenFile*, uapi::Errno> open_fifo(std::uint64_t flags) {
    return fs::open(fifo_, flags);
  }
  std::string read_all(fs::OpenFile& file) { return read_string(file, 64); }
  static std::span<const std::byte> bytes(std::string_view text) {
    return std::as_bytes(std::span(text.data(), text.size()));
  }

  fs::Node* fifo_ = nullptr;
  ScriptedWaiter waiter_;
};

}  // namespace

// fifo(7) with O_NONBLOCK: a read open returns at once, a write open needs a reader (ENXIO);
// both ends then share one pipe, which goes (bytes and all) when the last end closes.
TEST_F(NamedPipeTest, NonblockingOpensAndTheSharedPipe) {
  EXPECT_EQ(open_fifo(uapi::kOpenWriteOnly | uapi::kOpenNonblock).error(), uapi::Errno::enxio);
  EXPECT_EQ(fifo_->fifo, nullptr);  // the failed open left no pipe behind
  fs::OpenFile* reader = open_fifo(uapi::kOpenReadOnly | uapi::kOpenNonblock).value();
  EXPECT_EQ(fs::read(*reader, {}).value(), 0u);
  std::byte byte{};
  EXPECT_EQ(fs::read(*reader, {&byte, 1}).value(), 0u);  // no writer: end of file
  fs::OpenFile* writer = open_fifo(uapi::kOpenWriteOnly | uapi::kOpenNonblock).value();
  EXPECT_EQ(reader->pipe, writer->pipe);
  EXPECT_EQ(reader->pipe, fifo_->fifo);
  EXPECT_EQ(fs::write(*writer, bytes("through the name")).value(), 16u);
  EXPECT_EQ(read_all(*reader), "through the name");
  EXPECT_EQ(fs::stat_of(*reader->node).st_mode, uapi::kModeFifo | 0644u);
  EXPECT_EQ(fs::lseek(*reader, 0, uapi::kSeekSet).error(), uapi::Errno::espipe);
  EXPECT_EQ(fs::write(*writer, bytes("left")).value(), 4u);
  fs::release(writer);
  fs::release(reader);
  EXPECT_EQ(fifo_->fifo, nullptr);
  // O_RDWR is both ends and never waits; the bytes left before are gone with the old pipe.
  fs::OpenFile* both = open_fifo(uapi::kOpenReadWrite).value();
  EXPECT_EQ(both->pipe->readers(), 1u);
  EXPECT_EQ(both->pipe->writers(), 1u);
  EXPECT_EQ(both->pipe->readable_bytes(), 0u);
  EXPECT_EQ(fs::write(*both, bytes("self")).value(), 4u);
  EXPECT_EQ(read_all(*both), "self");
  fs::release(both);
  EXPECT_EQ(fifo_->fifo, nullptr);
  EXPECT_EQ(waiter_.waits, 0);
  EXPECT_EQ(fifo_->open_count, 0u);
}

// poll on a named pipe's read end: no POLLHUP before a first writer has come (a server polling
// its FIFO would otherwise spin), POLLHUP once the writers that came have gone — as Linux's
// pipe_poll, which compares the writers' open count with the one the reader opened at.
TEST_F(NamedPipeTest, PollSaysHangUpOnlyAfterAWriterCameAndWent) {
  fs::OpenFile* reader = open_fifo(uapi::kOpenReadOnly | uapi::kOpenNonblock).value();
  EXPECT_EQ(fs::poll_events(*reader), 0u);
  fs::OpenFile* writer = open_fifo(uapi::kOpenWriteOnly | uapi::kOpenNonblock).value();
  EXPECT_EQ(fs::poll_events(*reader), 0u);
  EXPECT_EQ(fs::write(*writer, bytes("x")).value(), 1u);
  EXPECT_EQ(fs::poll_events(*reader), fs::kPollIn | fs::kPollRdnorm);
  fs::release(writer);
  EXPECT_EQ(fs::poll_events(*reader), fs::kPollIn | fs::kPollRdnorm | fs::kPollHup);
  EXPECT_EQ(read_all(*reader), "x");
  EXPECT_EQ(fs::poll_events(*reader), fs::kPollHup);
  fs::release(reader);
}

// A blocking open waits for the other end: woken when it opens — even if it has closed again
// by the time the waiter runs (the open counters); a signal ends the wait with EINTR and takes
// back what the open had done.
TEST_F(NamedPipeTest, BlockingOpensWaitForTheOtherEnd) {
  fs::OpenFile* writer = nullptr;
  waiter_.meanwhile = [&] {
    writer = open_fifo(uapi::kOpenWriteOnly).value();  // a reader is there: no wait
    EXPECT_EQ(fs::write(*writer, bytes("hi")).value(), 2u);
    return true;
  };
  fs::OpenFile* reader = open_fifo(uapi::kOpenReadOnly).value();
  EXPECT_EQ(waiter_.waits, 1);
  EXPECT_EQ(read_all(*reader), "hi");
  fs::release(writer);
  fs::release(reader);

  waiter_.waits = 0;
  waiter_.meanwhile = [&] {
    fs::release(open_fifo(uapi::kOpenReadOnly | uapi::kOpenNonblock).value());  // came and went
    return true;
  };
  auto opened = open_fifo(uapi::kOpenWriteOnly);
  ASSERT_TRUE(opened.has_value()) << "a reader came and went while the writer slept: "
                                  << static_cast<int>(opened.error());
  writer = *opened;
  EXPECT_EQ(waiter_.waits, 1);
  EXPECT_EQ(fs::write(*writer, bytes("x")).error(), uapi::Errno::epipe);
  fs::release(writer);

  waiter_.waits = 0;  // nobody comes: the signal ends both kinds of wait
  EXPECT_EQ(open_fifo(uapi::kOpenWriteOnly).error(), uapi::Errno::eintr);
  EXPECT_EQ(open_fifo(uapi::kOpenReadOnly).error(), uapi::Errno::eintr);
  EXPECT_EQ(waiter_.waits, 2);
  EXPECT_EQ(fifo_->fifo, nullptr);
  EXPECT_EQ(fifo_->open_count, 0u);
  // A waiting reader keeps its place: a non-blocking writer finds it while it waits.
  waiter_.meanwhile = [&] {
    writer = open_fifo(uapi::kOpenWriteOnly | uapi::kOpenNonblock).value();
    return true;
  };
  reader = open_fifo(uapi::kOpenReadOnly).value();
  fs::release(reader);
  fs::release(writer);
  fs::set_pipe_waiter(nullptr);  // host code with no way to wait: EAGAIN
  EXPECT_EQ(open_fifo(uapi::kOpenReadOnly).error(), uapi::Errno::eagain);
  EXPECT_EQ(fifo_->fifo, nullptr);
}

// Removed while open: the name goes, the pipe works on, and the last close frees the node.
TEST_F(NamedPipeTest, ARemovedNamedPipeWorksUntilItsLastClose) {
  fs::OpenFile* both = open_fifo(uapi::kOpenReadWrite).value();
  ASSERT_TRUE(tree_->remove(node("/tmp"), "f", false).has_value());
  EXPECT_EQ(tree_->lookup("/tmp/f", tree_->root()).error(), uapi::Errno::enoent);
  EXPECT_EQ(fs::write(*both, bytes("still")).value(), 5u);
  EXPECT_EQ(read_all(*both), "still");
  fs::release(both);  // frees the node: AddressSanitizer sees any use after this
}
