// The tmpfs at /tmp when the kernel heap runs out (kernel/fs/tree.h): every operation a system
// call makes — create, mkdir, write, truncate, rename, symlink, mknod, opening a named pipe or a
// generated /proc file — fails
// with ENOMEM at each of its allocations in turn, and then the tree, the file and the budget are
// exactly as they were and the heap holds nothing more; with the memory back, the same operation
// succeeds.
//
// Where the failure is injected: this program replaces the global
// `operator new(std::size_t, const std::nothrow_t&)`, the one allocation function the tmpfs calls
// (`new (std::nothrow) Node`, lib::ByteBuffer). In the kernel that is mm/heap.cpp's, which
// returns nullptr when the heap cannot grow; here it returns nullptr when a test says so, and
// otherwise takes its memory from the throwing operator new (AddressSanitizer's, which checks the
// sized deletes). So the kernel code has no test hook in it, and the failures land exactly where a
// full heap would make them. Under AddressSanitizer, its allocation hooks also count every
// allocation of any kind during an operation: one that did not come through the nothrow new would
// be a throwing one — a kernel panic when memory runs out — and the tests fail on it.
#include <gtest/gtest.h>

#include <climits>
#include <cstring>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "abi/linux_types.h"
#include "abi/syscall_names.h"
#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/tree.h"
#include "lib/byte_buffer.h"
#include "proc/proc_text.h"
#include "support/cpio_writer.h"
#include "support/fake_kernel.h"
#include "syscall/syscall.h"

#if defined(__SANITIZE_ADDRESS__)
// From compiler-rt's <sanitizer/allocator_interface.h>, which GCC 12 does not install (its
// libasan has the function): hooks called on every allocation and free, operator new's included.
extern "C" int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void*, std::size_t), void (*free_hook)(const volatile void*));
#endif

namespace fs = ferrite::fs;
namespace uapi = ferrite::abi;  // (`abi` is taken: <cxxabi.h> aliases it)
using ferrite::testing::CpioWriter;

namespace {

struct Injection {
  bool armed = false;
  std::size_t fail_from = SIZE_MAX;  // the first nothrow allocation to fail (0-based)
  std::size_t fail_count = SIZE_MAX; // how many fail from there (then memory is back)
  std::size_t calls = 0;             // nothrow allocations asked for while armed
  std::size_t granted = 0;           // ...and given
  std::size_t heap_allocations = 0;  // allocations of any kind while armed (AddressSanitizer)
  std::size_t heap_frees = 0;
};
Injection injection;

#if defined(__SANITIZE_ADDRESS__)
void count_allocation(const volatile void*, std::size_t) {
  if (injection.armed) ++injection.heap_allocations;
}
void count_free(const volatile void*) {
  if (injection.armed) ++injection.heap_frees;
}
const bool hooks_installed = __sanitizer_install_malloc_and_free_hooks(count_allocation, count_free) != 0;
#else
const bool hooks_installed = false;
#endif

}  // namespace

void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (injection.armed) {
    const std::size_t call = injection.calls++;
    if (call >= injection.fail_from && call - injection.fail_from < injection.fail_count) {
      return nullptr;
    }
    ++injection.granted;
  }
  return ::operator new(size);
}

namespace {

// Arms the injection: nothrow allocations number `fail_from` and on fail (`count` of them).
void arm(std::size_t fail_from, std::size_t count = SIZE_MAX) {
  injection = {.armed = true, .fail_from = fail_from, .fail_count = count};
}
Injection disarm() {
  Injection seen = injection;
  injection = {};
  return seen;
}

// Success or the errno, whatever the value: the loop below needs no more.
template <typename T>
std::expected<void, uapi::Errno> status(const std::expected<T, uapi::Errno>& result) {
  if (!result) return std::unexpected(result.error());
  return {};
}

// Everything a failed operation must leave as it was: each node's path, kind, mode, inode and
// contents, in directory order, and the budget's count.
void describe(const fs::Node* node, const std::string& path, std::string& out) {
  out += path + "/ " + std::to_string(static_cast<int>(node->type)) + " " +
         std::to_string(node->mode) + " " + std::to_string(node->inode) + " [" +
         std::string(reinterpret_cast<const char*>(node->data.data()), node->data.size()) + "]" +
         " held " + std::to_string(node->open_count) + (node->fifo != nullptr ? " pipe" : "") +
         "\n";
  for (const fs::Node* child : node->children) {
    EXPECT_EQ(child->parent, node);
    describe(child, path + "/" + std::string(child->name), out);
  }
}
std::string describe(const fs::Tree& tree) {
  std::string out = "budget " + std::to_string(tree.tmpfs_budget().used) + "\n";
  describe(tree.root(), "", out);
  return out;
}

using Operation = std::function<std::expected<void, uapi::Errno>()>;

// Runs `operation` with the heap failing from its first nothrow allocation on, then from its
// second, and so on. Each time: ENOMEM, the tree exactly as before, nothing kept on the heap.
// The first run that needed no failed allocation must succeed: that is the operation with its
// memory back. Returns the number of allocations the operation makes.
std::size_t expect_enomem_at_each_allocation(const fs::Tree& tree, const Operation& operation) {
  for (std::size_t n = 0; n < 100; ++n) {
    const std::string before = describe(tree);
    arm(n);
    const auto result = operation();
    const Injection seen = disarm();
    if (hooks_installed) {
      EXPECT_EQ(seen.heap_allocations, seen.granted)
          << "an allocation that is not a nothrow one: in the kernel it panics when memory runs out";
    }
    if (seen.calls <= n) {  // no allocation failed
      EXPECT_TRUE(result.has_value()) << "with all the memory it asked for";
      return seen.calls;
    }
    EXPECT_FALSE(result.has_value()) << "allocation " << n << " failed, the operation did not";
    if (!result.has_value()) {
      EXPECT_EQ(result.error(), uapi::Errno::enomem) << "allocation " << n;
    }
    EXPECT_EQ(describe(tree), before) << "allocation " << n << " failed";
    if (hooks_installed) {
      EXPECT_EQ(seen.heap_allocations, seen.heap_frees) << "allocation " << n << ": the heap holds more, or less, than before";
    }
  }
  ADD_FAILURE() << "the operation never succeeded";
  return 0;
}

class TmpfsOutOfMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    archive_ = CpioWriter().directory("etc").file("etc/motd", "hi\n").directory("tmp").trailer().bytes();
    auto built = fs::Tree::from_archive(archive_);
    ASSERT_TRUE(built.has_value());
    tree_.emplace(std::move(*built));
    // /tmp as a program left it: a directory with a file, and two files.
    tmp_ = node("/tmp");
    ASSERT_TRUE(tree_->create(tmp_, "d", fs::NodeType::directory, 0755).has_value());
    ASSERT_TRUE(tree_->create(node("/tmp/d"), "inner", fs::NodeType::regular, 0644).has_value());
    ASSERT_TRUE(tree_->create(tmp_, "f", fs::NodeType::regular, 0644).has_value());
    ASSERT_TRUE(tree_->create(tmp_, "e", fs::NodeType::regular, 0600).has_value());
    ASSERT_TRUE(node("/tmp/f")->write_at(0, as_bytes("hello")).has_value());
    ASSERT_TRUE(node("/tmp/e")->write_at(0, as_bytes("other file")).has_value());
  }

  fs::Node* node(std::string_view path) {
    auto found = tree_->lookup(path, tree_->root());
    EXPECT_TRUE(found.has_value()) << path;
    return found.value_or(nullptr);
  }
  static std::span<const std::byte> as_bytes(std::string_view text) {
    return std::as_bytes(std::span(text.data(), text.size()));
  }

  std::size_t expect_enomem_at_each_allocation(const Operation& operation) {
    return ::expect_enomem_at_each_allocation(*tree_, operation);
  }

  std::vector<std::byte> archive_;
  std::optional<fs::Tree> tree_;
  fs::Node* tmp_ = nullptr;
};

TEST_F(TmpfsOutOfMemory, CreateAFileOrADirectory) {
  const std::size_t file_allocations = expect_enomem_at_each_allocation([&] {
    return status(tree_->create(tmp_, "new", fs::NodeType::regular, 0644));
  });
  EXPECT_EQ(file_allocations, 2u);  // the node and its name
  EXPECT_EQ(node("/tmp/new")->name, "new");
  const std::size_t directory_allocations = expect_enomem_at_each_allocation([&] {
    return status(tree_->create(node("/tmp/d"), "sub", fs::NodeType::directory, 0700));
  });
  EXPECT_EQ(directory_allocations, 2u);
  EXPECT_EQ(node("/tmp/d/sub")->type, fs::NodeType::directory);
}

// write(2) growing a file (an OpenFile's offset too: ENOMEM moves it nowhere), and pwrite(2)
// past the end, which leaves a hole of zeros.
TEST_F(TmpfsOutOfMemory, WriteGrowingAFile) {
  auto opened = fs::open(node("/tmp/f"), uapi::kOpenReadWrite | uapi::kOpenAppend);
  ASSERT_TRUE(opened.has_value());
  fs::OpenFile* file = *opened;
  const std::string block(1000, 'x');
  std::uint64_t offset_before = 0;
  EXPECT_EQ(expect_enomem_at_each_allocation([&] {
              offset_before = file->offset;
              return status(fs::write(*file, as_bytes(block)));
            }),
            1u);
  EXPECT_EQ(offset_before, 0u);  // unmoved by the failures (O_APPEND moves it only on success)
  EXPECT_EQ(file->offset, 1005u);
  EXPECT_EQ(node("/tmp/f")->size(), 1005u);
  EXPECT_EQ(expect_enomem_at_each_allocation([&] {
              return status(fs::pwrite(*file, as_bytes("tail"), 5000));
            }),
            1u);
  const fs::Node* f = node("/tmp/f");
  ASSERT_EQ(f->size(), 5004u);
  EXPECT_EQ(std::memcmp(f->data.data(), "hello", 5), 0);
  EXPECT_EQ(f->data[4999], std::byte{0});
  EXPECT_EQ(std::memcmp(f->data.data() + 5000, "tail", 4), 0);
  EXPECT_EQ(tree_->tmpfs_budget().used, 5004u + 10u);  // f and e
  fs::release(file);
}

TEST_F(TmpfsOutOfMemory, TruncateGrowingAFile) {
  EXPECT_EQ(expect_enomem_at_each_allocation([&] { return fs::truncate(*node("/tmp/f"), 100000); }), 1u);
  EXPECT_EQ(node("/tmp/f")->size(), 100000u);
  // Shrinking needs no memory: it works with none to be had, and so does O_TRUNC.
  arm(0);
  EXPECT_TRUE(fs::truncate(*node("/tmp/f"), 3).has_value());
  EXPECT_EQ(disarm().calls, 0u);
  EXPECT_EQ(node("/tmp/f")->size(), 3u);
  auto truncated = fs::open(node("/tmp/e"), uapi::kOpenWriteOnly | uapi::kOpenTruncate);
  ASSERT_TRUE(truncated.has_value());
  EXPECT_EQ(node("/tmp/e")->size(), 0u);
  EXPECT_EQ(tree_->tmpfs_budget().used, 3u);
  fs::release(*truncated);
}

// rename(2) to a new name, into another directory, and over a file of that name (which must not
// be lost when the new name's memory is not there).
TEST_F(TmpfsOutOfMemory, RenameKeepsBothNames) {
  EXPECT_EQ(expect_enomem_at_each_allocation([&] { return tree_->rename(tmp_, "f", tmp_, "g"); }), 1u);
  EXPECT_EQ(node("/tmp/g")->name, "g");
  EXPECT_EQ(expect_enomem_at_each_allocation([&] { return tree_->rename(tmp_, "g", node("/tmp/d"), "moved"); }),
            1u);
  EXPECT_EQ(node("/tmp/d/moved")->size(), 5u);
  EXPECT_EQ(expect_enomem_at_each_allocation([&] { return tree_->rename(node("/tmp/d"), "moved", tmp_, "e"); }),
            1u);
  EXPECT_EQ(node("/tmp/e")->size(), 5u);  // the old e went, its bytes back to the budget
  EXPECT_EQ(tree_->tmpfs_budget().used, 5u);
}

// The same through the system calls, as a program makes them: each allocation on the way fails
// in turn (the path copied from the program, the node, its name, the OpenFile), and a failed
// call leaves no file, no descriptor and no memory behind. open(O_CREAT) used to leave the new
// file when the OpenFile could not be had.
class TmpfsOutOfMemorySyscalls : public ::testing::Test {
 protected:
  void SetUp() override {
    archive_ = CpioWriter().directory("etc").directory("tmp").directory("dev").trailer().bytes();
    tree_.emplace(std::move(*fs::Tree::from_archive(archive_)));
    ferrite::testing::set_initramfs(&*tree_);
    ASSERT_TRUE(ferrite::syscall::attach_files(process_));
  }
  void TearDown() override {
    ferrite::syscall::release_files(process_);
    ferrite::testing::unmap_all_user();
    ferrite::testing::set_initramfs(nullptr);
  }
  static std::uint64_t number(std::string_view name) {
    for (std::uint64_t n = 0; n < uapi::kSyscallCount; ++n) {
      if (uapi::kSyscallNames[n] == name) return n;
    }
    return ~std::uint64_t{0};
  }
  std::int64_t call(std::string_view name, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                    std::uint64_t a2 = 0) {
    return ferrite::syscall::dispatch(process_, {number(name), {a0, a1, a2, 0, 0, 0}});
  }
  // A system call as an Operation: its result, negative an errno.
  Operation syscall(std::string_view name, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                    std::uint64_t a2 = 0) {
    return [=, this]() -> std::expected<void, uapi::Errno> {
      const std::int64_t result = call(name, a0, a1, a2);
      if (result < 0) return std::unexpected(static_cast<uapi::Errno>(-result));
      return {};
    };
  }
  std::uint64_t user_string(const char* text) {
    ferrite::testing::map_user(text, std::strlen(text) + 1);
    return ferrite::testing::user_address(text);
  }

  std::vector<std::byte> archive_;
  std::optional<fs::Tree> tree_;
  ferrite::proc::Process process_;
};

TEST_F(TmpfsOutOfMemorySyscalls, OpenCreateMkdirWriteFtruncateRename) {
  const auto open_new = syscall("open", user_string("/tmp/new"),
                                uapi::kOpenCreate | uapi::kOpenReadWrite, 0644);
  EXPECT_GE(expect_enomem_at_each_allocation(*tree_, open_new), 4u);  // path, name, node, OpenFile
  EXPECT_EQ(call("close", 3), 0);  // the one descriptor the calls made: the last, successful one
  EXPECT_EQ(call("close", 4), uapi::negated(uapi::Errno::ebadf));
  EXPECT_GE(expect_enomem_at_each_allocation(*tree_, syscall("mkdir", user_string("/tmp/d"), 0755)), 3u);

  ASSERT_EQ(call("open", user_string("/tmp/new"), uapi::kOpenReadWrite), 3);
  static const char block[] = "a block of the file, as dd writes it";
  ferrite::testing::map_user(block, sizeof block);
  EXPECT_EQ(expect_enomem_at_each_allocation(
                *tree_, syscall("write", 3, ferrite::testing::user_address(block), sizeof block)),
            1u);
  EXPECT_EQ(expect_enomem_at_each_allocation(*tree_, syscall("ftruncate", 3, 1 << 20)), 1u);
  EXPECT_EQ(call("close", 3), 0);
  EXPECT_EQ(expect_enomem_at_each_allocation(
                *tree_, syscall("rename", user_string("/tmp/new"), user_string("/tmp/d/moved"))),
            3u);  // the two paths, the name
  auto moved = tree_->lookup("/tmp/d/moved", tree_->root());
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ((*moved)->size(), std::size_t{1} << 20);
  EXPECT_EQ(tree_->tmpfs_budget().used, std::size_t{1} << 20);
}

TEST_F(TmpfsOutOfMemorySyscalls, SymlinkAndMknod) {
  EXPECT_EQ(expect_enomem_at_each_allocation(
                *tree_, syscall("symlink", user_string("/etc"), user_string("/tmp/l"))),
            5u);  // the two paths, the name, the target, the node
  EXPECT_EQ(tree_->tmpfs_budget().used, 4u);
  EXPECT_EQ(expect_enomem_at_each_allocation(
                *tree_, syscall("mknod", user_string("/tmp/p"), uapi::kModeFifo | 0644, 0)),
            3u);  // the path, the name, the node
  EXPECT_EQ(
      expect_enomem_at_each_allocation(*tree_, syscall("mknod", user_string("/tmp/z"),
                                                       uapi::kModeCharDevice | 0666, (1 << 8) | 5)),
      3u);
  auto zero = tree_->lookup("/tmp/z", tree_->root());
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ((*zero)->device, fs::Device::zero);
  // link needs its two paths, and then refuses (no hard links here) with the memory there.
  arm(0);
  EXPECT_EQ(call("link", user_string("/tmp/p"), user_string("/tmp/q")),
            uapi::negated(uapi::Errno::enomem));
  disarm();
  EXPECT_EQ(call("link", user_string("/tmp/p"), user_string("/tmp/q")),
            uapi::negated(uapi::Errno::eperm));
}

// symlink(2): the name, the target and the node; mknod(2): the name and the node; opening a
// named pipe: the OpenFile, and for its first opener the pipe and its ring. A failed open leaves
// the node unheld and without a pipe.
TEST_F(TmpfsOutOfMemory, SymlinkMknodAndOpeningANamedPipe) {
  EXPECT_EQ(expect_enomem_at_each_allocation(
                [&] { return status(tree_->symlink(tmp_, "l", "/etc/motd")); }),
            3u);
  EXPECT_EQ(node("/tmp/l"), node("/etc/motd"));
  EXPECT_EQ(tree_->tmpfs_budget().used, 5u + 10u + 9u);
  EXPECT_EQ(expect_enomem_at_each_allocation(
                [&] { return status(tree_->create(tmp_, "p", fs::NodeType::fifo, 0644)); }),
            2u);
  EXPECT_EQ(expect_enomem_at_each_allocation([&] {
              return status(tree_->create(tmp_, "null", fs::NodeType::char_device, 0666,
                                          fs::DeviceNumbers{1, 3}));
            }),
            2u);
  EXPECT_EQ(node("/tmp/null")->device, fs::Device::null);
  fs::Node* fifo = node("/tmp/p");
  fs::OpenFile* first = nullptr;
  EXPECT_EQ(expect_enomem_at_each_allocation([&] {
              auto opened = fs::open(fifo, uapi::kOpenReadWrite);
              if (opened) first = *opened;
              return status(opened);
            }),
            3u);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(fifo->fifo, first->pipe);
  fs::OpenFile* second = nullptr;
  EXPECT_EQ(expect_enomem_at_each_allocation([&] {
              auto opened = fs::open(fifo, uapi::kOpenReadOnly | uapi::kOpenNonblock);
              if (opened) second = *opened;
              return status(opened);
            }),
            1u);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->pipe, first->pipe);
  EXPECT_EQ(fifo->open_count, 2u);
  fs::release(second);
  fs::release(first);
  EXPECT_EQ(fifo->fifo, nullptr);
  EXPECT_EQ(fifo->open_count, 0u);
}

// A generated file (/proc, fs/generated.h) whose snapshot is the real /proc text, written
// through proc_text's BufferSink: opening it fails with ENOMEM at each allocation (the OpenFile,
// each growth of the snapshot) and then nothing is held or kept; with the memory back, the
// snapshot is whole.
namespace {
class MeminfoGenerator final : public fs::Generator {
 public:
  std::expected<void, uapi::Errno> generate(const fs::Node&, ferrite::lib::ByteBuffer& out) override {
    ferrite::proc::text::BufferSink sink(out);
    ferrite::proc::text::write_meminfo(sink, {.total_bytes = 1 << 30, .free_bytes = 1 << 29});
    const ferrite::proc::text::Mount mounts[] = {{"rootfs", "/", "rootfs", "ro"},
                                                 {"tmpfs", "/tmp", "tmpfs", "rw,relatime"}};
    ferrite::proc::text::write_mounts(sink, mounts);
    return sink.result();
  }
  std::expected<std::string_view, uapi::Errno> link_target(fs::Node&) override {
    return std::unexpected(uapi::Errno::einval);
  }
  std::expected<fs::Node*, uapi::Errno> lookup(fs::Node&, std::string_view) override {
    return std::unexpected(uapi::Errno::enoent);
  }
  std::optional<fs::GeneratedEntry> entry(const fs::Node&, std::uint64_t) override { return {}; }
};
}  // namespace

TEST_F(TmpfsOutOfMemory, OpeningAGeneratedFile) {
  MeminfoGenerator generator;
  fs::Node* proc = tree_->add_generated(tree_->root(), "proc", fs::NodeType::directory, 0555, generator);
  fs::Node* meminfo = tree_->add_generated(proc, "meminfo", fs::NodeType::regular, 0444, generator);
  fs::OpenFile* file = nullptr;
  const std::size_t allocations = expect_enomem_at_each_allocation([&] {
    auto opened = fs::open(meminfo, uapi::kOpenReadOnly);
    if (opened) file = *opened;
    return status(opened);
  });
  EXPECT_GE(allocations, 3u) << "the OpenFile and the snapshot as it grew";
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(meminfo->open_count, 1u);
  const std::string text(reinterpret_cast<const char*>(file->contents.data()), file->contents.size());
  EXPECT_TRUE(text.starts_with("MemTotal:        1048576 kB\n")) << text;
  EXPECT_TRUE(text.ends_with("tmpfs /tmp tmpfs rw,relatime 0 0\n")) << text;
  fs::release(file);
  EXPECT_EQ(meminfo->open_count, 0u);
}

// Removing allocates nothing, so it works with no memory to be had.
TEST_F(TmpfsOutOfMemory, RemoveNeedsNoMemory) {
  arm(0);
  EXPECT_TRUE(tree_->remove(tmp_, "f", false).has_value());
  EXPECT_TRUE(tree_->remove(node("/tmp/d"), "inner", false).has_value());
  EXPECT_TRUE(tree_->remove(tmp_, "d", true).has_value());
  EXPECT_EQ(disarm().calls, 0u);
  EXPECT_EQ(tree_->tmpfs_budget().used, 10u);
}

// The injection itself: it fails what it is told to, and under AddressSanitizer it sees the
// allocations that do not come through the nothrow new (without this the check above could
// pass by seeing nothing).
TEST(TmpfsOutOfMemoryInjection, FailsNothrowAllocationsAndSeesTheOthers) {
  arm(1, 1);
  void* first = ::operator new(16, std::nothrow);
  void* second = ::operator new(16, std::nothrow);
  void* throwing = ::operator new(16);
  const Injection seen = disarm();
  EXPECT_NE(first, nullptr);
  EXPECT_EQ(second, nullptr);
  ::operator delete(first, 16);
  ::operator delete(throwing, 16);
  EXPECT_EQ(seen.calls, 2u);
  EXPECT_EQ(seen.granted, 1u);
#if defined(__SANITIZE_ADDRESS__)
  ASSERT_TRUE(hooks_installed);
  EXPECT_EQ(seen.heap_allocations, 2u);  // the nothrow one granted, and the throwing one
#endif
}

// A file written in blocks, as dd does: its buffer doubles, so it is copied a few times, not once
// a block; when twice the memory is not there, exactly what is needed is still tried.
TEST(ByteBuffer, GrowsByDoublingAndFallsBackToTheSizeNeeded) {
  ferrite::lib::ByteBuffer buffer;
  ASSERT_TRUE(buffer.try_resize(100));
  EXPECT_EQ(buffer.capacity(), 100u);
  std::memset(buffer.data(), 0x5a, 100);
  ASSERT_TRUE(buffer.try_resize(150));
  EXPECT_EQ(buffer.capacity(), 200u);
  EXPECT_EQ(buffer.data()[99], std::byte{0x5a});
  EXPECT_EQ(buffer.data()[100], std::byte{0});
  ASSERT_TRUE(buffer.try_resize(10));  // shrinking keeps the memory...
  EXPECT_EQ(buffer.capacity(), 200u);
  ASSERT_TRUE(buffer.try_resize(20));  // ...and what comes back within it is zeros again
  EXPECT_EQ(buffer.data()[15], std::byte{0});
  EXPECT_EQ(buffer.data()[9], std::byte{0x5a});

  ASSERT_TRUE(buffer.try_resize(200));
  arm(0, 1);  // twice (400) is not there; 300 is
  EXPECT_TRUE(buffer.try_resize(300));
  EXPECT_EQ(disarm().calls, 2u);
  EXPECT_EQ(buffer.capacity(), 300u);
  arm(0);  // nothing is there: the buffer stays as it was
  EXPECT_FALSE(buffer.try_resize(301));
  EXPECT_EQ(disarm().calls, 2u);
  EXPECT_EQ(buffer.size(), 300u);
  EXPECT_EQ(buffer.capacity(), 300u);
  EXPECT_EQ(buffer.data()[0], std::byte{0x5a});
  ASSERT_TRUE(buffer.try_resize(0));  // 0 gives the memory back
  EXPECT_EQ(buffer.capacity(), 0u);
  EXPECT_EQ(buffer.data(), nullptr);
}

}  // namespace
