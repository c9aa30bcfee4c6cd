// The system-call layer (kernel/syscall/) on the host: argument checking as Linux does it —
// bad pointers are EFAULT (through a fake of mm/user_copy.h that knows only the buffers a test
// registered), bad descriptors EBADF, unknown numbers ENOSYS, lengths that overflow, NULL paths —
// and what the calls write, over a file tree built from a test cpio archive.
#include "syscall/syscall.h"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "abi/linux_types.h"
#include "abi/syscall_names.h"
#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/generated.h"
#include "lib/log.h"
#include "mm/address_space.h"
#include "support/cpio_writer.h"
#include "support/fake_kernel.h"
#include "exec/script.h"
#include "support/mutator.h"
#include "syscall/syslog.h"

namespace uapi = ferrite::abi;  // (`abi` is taken: <cxxabi.h> aliases it)
namespace fs = ferrite::fs;
namespace testing_ = ferrite::testing;
using ferrite::syscall::Arguments;
using ferrite::testing::user_address;

namespace {

constexpr std::uint64_t number(std::string_view name) {
  for (std::uint64_t n = 0; n < uapi::kSyscallCount; ++n) {
    if (uapi::kSyscallNames[n] == name) return n;
  }
  return ~std::uint64_t{0};
}

std::int64_t err(uapi::Errno e) {
  return uapi::negated(e);
}

// The console as a test sees it: lines to be read, and everything written.
struct FakeTerminal final : fs::TerminalPort {
  std::deque<std::string> lines;
  std::string written;
  uapi::Termios saved{};
  std::uint32_t extra_lflag = 0;  // TOSTOP for the job-control tests
  std::expected<std::size_t, uapi::Errno> read(std::span<char> out, std::uint32_t) override {
    if (lines.empty()) return 0;
    std::string line = lines.front();
    lines.pop_front();
    const std::size_t n = std::min(line.size(), out.size());
    std::memcpy(out.data(), line.data(), n);
    return n;
  }
  void write(std::string_view text) override { written.append(text); }
  uapi::Winsize window_size() override { return {25, 80, 0, 0}; }
  uapi::Termios termios() override {
    uapi::Termios t{};
    t.c_lflag = uapi::kIcanon | uapi::kEcho | extra_lflag;
    return t;
  }
  void set_termios(const uapi::Termios& termios) override { saved = termios; }
  std::size_t readable_bytes() override { return lines.empty() ? 0 : lines.front().size(); }
};

class SyscallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    archive_ = ferrite::testing::CpioWriter()
                   .directory("etc")
                   .file("etc/motd", "hello from the initramfs\n")
                   .add("bin/tool", 0100755,
                        "\x7F"
                        "ELF")
                   .symlink("bin/sh", "tool")
                   .trailer()
                   .bytes();
    tree_.emplace(std::move(*fs::Tree::from_archive(archive_)));
    testing_::set_initramfs(&*tree_);
    fs::set_terminal(&terminal_);
    process_.pid = 7;
    process_.parent = 1;
    process_.pgid = process_.sid = 7;  // a session leader: the console becomes its terminal
    process_.address_space = &space_;
    ASSERT_TRUE(ferrite::syscall::attach_files(process_));
    testing_::address_space_calls() = {};
    testing_::machine() = {};
  }
  void TearDown() override {
    ferrite::syscall::release_files(process_);
    testing_::unmap_all_user();
    fs::set_terminal(nullptr);
    testing_::set_initramfs(nullptr);
  }

  std::int64_t call(std::string_view name, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                    std::uint64_t a2 = 0, std::uint64_t a3 = 0, std::uint64_t a4 = 0,
                    std::uint64_t a5 = 0) {
    return ferrite::syscall::dispatch(process_, Arguments{number(name), {a0, a1, a2, a3, a4, a5}});
  }
  // A user string: registered as user memory, its address returned.
  std::uint64_t user_string(std::string text) {
    strings_.push_back(std::make_unique<std::string>(std::move(text)));
    testing_::map_user(strings_.back()->c_str(), strings_.back()->size() + 1);
    return user_address(strings_.back()->c_str());
  }
  template <class T>
  std::uint64_t user(T& object) {
    testing_::map_user(&object, sizeof(T));
    return user_address(&object);
  }

  std::vector<std::byte> archive_;
  std::optional<fs::Tree> tree_;
  FakeTerminal terminal_;
  ferrite::proc::Process process_;
  ferrite::mm::AddressSpace space_;
  std::vector<std::unique_ptr<std::string>> strings_;
};

}  // namespace

TEST_F(SyscallTest, TheFirstThreeDescriptorsAreTheConsole) {
  char text[] = "hi\n";
  EXPECT_EQ(call("write", 1, user(text), 3), 3);
  EXPECT_EQ(call("write", 2, user_address(text), 2), 2);
  EXPECT_EQ(terminal_.written, "hi\nhi");
  terminal_.lines.push_back("typed\n");
  char buffer[32] = {};
  EXPECT_EQ(call("read", 0, user(buffer), sizeof(buffer)), 6);
  EXPECT_STREQ(buffer, "typed\n");
  EXPECT_EQ(call("read", 0, user_address(buffer), sizeof(buffer)), 0);  // no more: EOF
}

TEST_F(SyscallTest, ATerminalReadNeverWaitsForASecondLine) {
  // A line longer than the kernel's 1 KiB copy buffer: the read ends after the first piece
  // instead of asking the terminal for more (which would block for the next line).
  terminal_.lines.push_back(std::string(2000, 'a') + "\n");
  terminal_.lines.push_back("second\n");
  static char buffer[4096];
  EXPECT_EQ(call("read", 0, user(buffer), sizeof(buffer)), 1024);
  EXPECT_EQ(terminal_.lines.size(), 1u);
  uapi::Iovec io[2] = {{user_address(buffer), 4}, {user_address(buffer + 4), 100}};
  EXPECT_EQ(call("readv", 0, user(io), 2), 4);  // "seco": the rest of that line is the fake's
  EXPECT_TRUE(terminal_.lines.empty());
  // musl's getchar(): an empty first segment, then its buffer. The empty one is skipped.
  terminal_.lines.push_back("x\n");
  uapi::Iovec stdio[2] = {{user_address(buffer), 0}, {user_address(buffer + 8), 1024}};
  EXPECT_EQ(call("readv", 0, user(stdio), 2), 2);
  EXPECT_EQ(std::string(buffer + 8, 2), "x\n");
  // The same vector written: both segments, the empty one contributing nothing.
  terminal_.written.clear();
  stdio[1].iov_len = 2;
  EXPECT_EQ(call("writev", 1, user_address(stdio), 2), 2);
  EXPECT_EQ(terminal_.written, "x\n");
}

TEST_F(SyscallTest, UnknownNumbersAreEnosysAndTheFirstUseIsLogged) {
  const std::uint64_t before = ferrite::log::ring().head();
  EXPECT_EQ(call("io_uring_setup"), err(uapi::Errno::enosys));
  EXPECT_EQ(ferrite::log::ring().head(), before + 1);
  ferrite::log::Record record;
  ASSERT_EQ(ferrite::log::ring().read(before, record), ferrite::log::Ring::ReadResult::ok);
  EXPECT_NE(record.view().find("io_uring_setup (425) is not implemented"), std::string_view::npos)
      << record.view();
  EXPECT_EQ(call("io_uring_setup"), err(uapi::Errno::enosys));
  EXPECT_EQ(ferrite::log::ring().head(), before + 1);  // once per number
  // Numbers past Linux's table, and negative ones, are ENOSYS too.
  EXPECT_EQ(ferrite::syscall::dispatch(process_, {100000, {}}), err(uapi::Errno::enosys));
  EXPECT_EQ(ferrite::syscall::dispatch(process_, {~std::uint64_t{0}, {}}),
            err(uapi::Errno::enosys));
}

TEST_F(SyscallTest, BadDescriptorsAreEbadf) {
  char buffer[8] = {};
  const std::uint64_t b = user(buffer);
  EXPECT_EQ(call("read", 5, b, 8), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("write", static_cast<std::uint64_t>(-1), b, 8), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("read", 64, b, 8), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("close", 9), err(uapi::Errno::ebadf));
  uapi::Stat st;
  EXPECT_EQ(call("fstat", 3, user(st)), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("lseek", 40, 0, 0), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("getdents64", 12, b, 8), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("ioctl", 33, uapi::kTcgets, b), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("close", 0), 0);
  EXPECT_EQ(call("close", 0), err(uapi::Errno::ebadf));  // closed already
}

TEST_F(SyscallTest, BadPointersAreEfaultNeverACrash) {
  EXPECT_EQ(call("write", 1, 0, 10), err(uapi::Errno::efault));                      // NULL
  EXPECT_EQ(call("write", 1, 0xFFFF'8000'0000'0000, 10), err(uapi::Errno::efault));  // kernel half
  char buffer[4] = {};
  EXPECT_EQ(call("write", 1, user(buffer), 5), err(uapi::Errno::efault));  // one byte too far
  EXPECT_EQ(call("uname", 0x1000), err(uapi::Errno::efault));
  EXPECT_EQ(call("clock_gettime", uapi::kClockMonotonic, 0), err(uapi::Errno::efault));
  EXPECT_EQ(call("fstat", 1, 0), err(uapi::Errno::efault));
  EXPECT_EQ(call("rt_sigprocmask", uapi::kSigBlock, 8, 0, 8), err(uapi::Errno::efault));
  terminal_.lines.push_back("x\n");
  EXPECT_EQ(call("read", 0, 0x2000, 2), err(uapi::Errno::efault));
  EXPECT_TRUE(terminal_.written.empty());
}

TEST_F(SyscallTest, NullAndOverlongPathsAreRefused) {
  EXPECT_EQ(call("open", 0, uapi::kOpenReadOnly), err(uapi::Errno::efault));
  EXPECT_EQ(call("stat", 0, 0), err(uapi::Errno::efault));
  EXPECT_EQ(call("chdir", 0), err(uapi::Errno::efault));
  EXPECT_EQ(call("access", 0, 0), err(uapi::Errno::efault));
  EXPECT_EQ(call("open", user_string(""), 0), err(uapi::Errno::enoent));
  EXPECT_EQ(call("open", user_string(std::string(5000, 'a')), 0), err(uapi::Errno::enametoolong));
  // A string that runs off the end of user memory without a NUL is EFAULT.
  char unterminated[3] = {'a', 'b', 'c'};
  EXPECT_EQ(call("open", user(unterminated), 0), err(uapi::Errno::efault));
}

TEST_F(SyscallTest, LengthsThatOverflowAreRefused) {
  char buffer[16] = {};
  const std::uint64_t b = user(buffer);
  // buffer + count wraps around: EFAULT before anything is read (Linux's access_ok).
  EXPECT_EQ(call("read", 0, b, ~std::uint64_t{0} - 4), err(uapi::Errno::efault));
  EXPECT_EQ(call("getrandom", b, ~std::uint64_t{0}, 0), err(uapi::Errno::efault));
  // An iovec length that is negative as ssize_t: EINVAL; one past user memory: EFAULT; too
  // many iovecs: EINVAL.
  uapi::Iovec io[2] = {{b, 2}, {b, 0x8000'0000'0000'0000}};
  EXPECT_EQ(call("writev", 1, user(io), 2), err(uapi::Errno::einval));
  io[1].iov_len = 0x7FFF'FFFF'FFFF'FFFF;
  EXPECT_EQ(call("writev", 1, user_address(io), 2), err(uapi::Errno::efault));
  EXPECT_TRUE(terminal_.written.empty());  // all or nothing: the first iovec was not written
  EXPECT_EQ(call("writev", 1, user_address(io), 1025), err(uapi::Errno::einval));
  EXPECT_EQ(call("writev", 1, user_address(io), static_cast<std::uint64_t>(-1)),
            err(uapi::Errno::einval));
  // mmap lengths: 0 is EINVAL, one that cannot be rounded to pages ENOMEM.
  EXPECT_EQ(call("mmap", 0, 0, 3, uapi::kMapPrivate | uapi::kMapAnonymous, -1ull, 0),
            err(uapi::Errno::einval));
  EXPECT_EQ(
      call("mmap", 0, ~std::uint64_t{0}, 3, uapi::kMapPrivate | uapi::kMapAnonymous, -1ull, 0),
      err(uapi::Errno::enomem));
  EXPECT_EQ(call("munmap", 0x400000, ~std::uint64_t{0}), err(uapi::Errno::einval));
  EXPECT_TRUE(testing_::address_space_calls().mapped.empty());
}

TEST_F(SyscallTest, WritevGathersAndReadvScatters) {
  char a[] = "ab", c[] = "cde";
  uapi::Iovec io[2] = {{user(a), 2}, {user(c), 3}};
  EXPECT_EQ(call("writev", 1, user(io), 2), 5);
  EXPECT_EQ(terminal_.written, "abcde");
  const std::int64_t fd = call("open", user_string("/etc/motd"), uapi::kOpenReadOnly);
  ASSERT_EQ(fd, 3);
  char x[6] = {}, y[5] = {};
  uapi::Iovec in[2] = {{user(x), 5}, {user(y), 4}};
  EXPECT_EQ(call("readv", 3, user(in), 2), 9);
  EXPECT_EQ(std::string(x), "hello");
  EXPECT_EQ(std::string(y), " fro");
}

TEST_F(SyscallTest, OpenReadLseekPreadClose) {
  const std::int64_t fd =
      call("openat", static_cast<std::uint64_t>(uapi::kAtFdcwd), user_string("etc/../etc/motd"),
           uapi::kOpenReadOnly | uapi::kOpenCloexec);
  ASSERT_EQ(fd, 3);
  char buffer[64] = {};
  const std::uint64_t b = user(buffer);
  EXPECT_EQ(call("read", 3, b, 5), 5);
  EXPECT_EQ(std::string(buffer, 5), "hello");
  EXPECT_EQ(call("lseek", 3, 0, uapi::kSeekEnd), 25);
  EXPECT_EQ(call("read", 3, b, 64), 0);
  EXPECT_EQ(call("pread64", 3, b, 4, 6), 4);
  EXPECT_EQ(std::string(buffer, 4), "from");
  EXPECT_EQ(call("pread64", 3, b, 4, static_cast<std::uint64_t>(-1)), err(uapi::Errno::einval));
  EXPECT_EQ(call("lseek", 1, 0, uapi::kSeekCur), err(uapi::Errno::espipe));  // the terminal
  EXPECT_EQ(call("fcntl", 3, 1 /* F_GETFD */), 1);             // FD_CLOEXEC from O_CLOEXEC
  EXPECT_EQ(call("write", 3, b, 1), err(uapi::Errno::ebadf));  // read-only
  EXPECT_EQ(call("close", 3), 0);
}

TEST_F(SyscallTest, OpenFollowsLinuxRulesForAReadOnlyTree) {
  EXPECT_EQ(call("open", user_string("/nope"), 0), err(uapi::Errno::enoent));
  EXPECT_EQ(call("open", user_string("/nope"), uapi::kOpenCreate | uapi::kOpenWriteOnly),
            err(uapi::Errno::erofs));
  EXPECT_EQ(call("open", user_string("/etc/motd"), uapi::kOpenWriteOnly), err(uapi::Errno::erofs));
  EXPECT_EQ(call("open", user_string("/etc/motd"), uapi::kOpenCreate | uapi::kOpenExclusive),
            err(uapi::Errno::eexist));
  EXPECT_EQ(call("open", user_string("/etc/motd/x"), 0), err(uapi::Errno::enotdir));
  EXPECT_EQ(call("open", user_string("/bin/sh"), uapi::kOpenNofollow), err(uapi::Errno::eloop));
  EXPECT_EQ(call("open", user_string("/etc"), uapi::kOpenReadWrite), err(uapi::Errno::eisdir));
  EXPECT_EQ(call("open", user_string("/dev/null"), uapi::kOpenWriteOnly), 3);
  // openat relative to a descriptor that is not a directory.
  EXPECT_EQ(call("openat", 3, user_string("x"), 0), err(uapi::Errno::enotdir));
  EXPECT_EQ(call("openat", 30, user_string("x"), 0), err(uapi::Errno::ebadf));
}

TEST_F(SyscallTest, TheDescriptorTableFillsUpWithEmfile) {
  const std::uint64_t path = user_string("/etc/motd");
  for (int fd = 3; fd < fs::FdTable::kMaxDescriptors; ++fd) ASSERT_EQ(call("open", path, 0), fd);
  EXPECT_EQ(call("open", path, 0), err(uapi::Errno::emfile));
  EXPECT_EQ(call("dup", 0), err(uapi::Errno::emfile));
}

TEST_F(SyscallTest, DupSharesTheOpenFileAndItsPosition) {
  ASSERT_EQ(call("open", user_string("/etc/motd"), 0), 3);
  EXPECT_EQ(call("dup", 3), 4);
  EXPECT_EQ(call("dup2", 3, 10), 10);
  EXPECT_EQ(call("dup2", 3, 3), 3);                       // same number: nothing to do
  EXPECT_EQ(call("dup2", 7, 8), err(uapi::Errno::ebadf));  // 7 is not open
  EXPECT_EQ(call("dup2", 3, 64), err(uapi::Errno::ebadf));  // past the table
  EXPECT_EQ(call("dup3", 3, 3, 0), err(uapi::Errno::einval));
  // The descriptors are unsigned ints (Linux's ksys_dup3): the upper halves of the registers do
  // not count, so this is dup3(3, 3) too (it used to return 3 as a dup2 would).
  EXPECT_EQ(call("dup3", 3, (std::uint64_t{1} << 32) | 3, 0), err(uapi::Errno::einval));
  EXPECT_EQ(call("dup3", 3, 11, uapi::kOpenCloexec), 11);
  EXPECT_EQ(call("fcntl", 11, 1 /* F_GETFD */), 1);
  EXPECT_EQ(call("fcntl", 3, 0 /* F_DUPFD */, 20), 20);
  EXPECT_EQ(call("fcntl", 3, 0 /* F_DUPFD */, 64), err(uapi::Errno::einval));
  char buffer[8] = {};
  EXPECT_EQ(call("read", 4, user(buffer), 6), 6);  // through the copy...
  EXPECT_EQ(call("lseek", 10, 0, uapi::kSeekCur), 6);  // ...the original moved too
  EXPECT_EQ(call("close", 3), 0);
  EXPECT_EQ(call("read", 20, user_address(buffer), 4), 4);  // still open through the others
  EXPECT_EQ(std::string(buffer, 4), "from");
}

TEST_F(SyscallTest, StatCallsFillLinuxsLayout) {
  uapi::Stat st{};
  EXPECT_EQ(call("stat", user_string("/bin/sh"), user(st)), 0);
  EXPECT_EQ(st.st_mode, 0100755u);  // followed to the tool
  EXPECT_EQ(st.st_size, 4);
  EXPECT_EQ(call("lstat", user_string("/bin/sh"), user_address(&st)), 0);
  EXPECT_EQ(st.st_mode, 0120777u);
  EXPECT_EQ(call("newfstatat", static_cast<std::uint64_t>(uapi::kAtFdcwd), user_string("etc"),
                 user_address(&st), 0),
            0);
  EXPECT_EQ(st.st_mode & uapi::kModeTypeMask, uapi::kModeDirectory);
  // AT_EMPTY_PATH: the descriptor itself (glibc's fstat).
  EXPECT_EQ(call("newfstatat", 1, user_string(""), user_address(&st), uapi::kAtEmptyPath), 0);
  EXPECT_EQ(st.st_rdev, (5u << 8) | 1u);  // /dev/console
  EXPECT_EQ(call("newfstatat", 1, user_string(""), user_address(&st), 0), err(uapi::Errno::enoent));
  // AT_FDCWD with "" and AT_EMPTY_PATH is the current directory, as Linux's path walk gives it,
  // for every call that takes the flag.
  const auto at_cwd = static_cast<std::uint64_t>(uapi::kAtFdcwd);
  EXPECT_EQ(call("newfstatat", at_cwd, user_string(""), user_address(&st), uapi::kAtEmptyPath), 0);
  EXPECT_EQ(st.st_mode & uapi::kModeTypeMask, uapi::kModeDirectory);
  EXPECT_EQ(call("faccessat2", at_cwd, user_string(""), 1, uapi::kAtEmptyPath), 0);
  EXPECT_EQ(call("faccessat2", at_cwd, user_string(""), 1, 0), err(uapi::Errno::enoent));
  EXPECT_EQ(call("utimensat", at_cwd, user_string(""), 0, uapi::kAtEmptyPath),
            err(uapi::Errno::erofs));  // "/" is the read-only tree
  EXPECT_EQ(call("newfstatat", 1, user_string("x"), user_address(&st), 0x8000),
            err(uapi::Errno::einval));
  uapi::Statx sx{};
  EXPECT_EQ(call("statx", static_cast<std::uint64_t>(uapi::kAtFdcwd), user_string("/etc/motd"), 0,
                 uapi::kStatxBasicStats, user(sx)),
            0);
  EXPECT_EQ(sx.stx_size, 25u);
  EXPECT_EQ(sx.stx_mode, 0100644u);
}

TEST_F(SyscallTest, GetdentsReadlinkGetcwdChdirAccess) {
  const std::int64_t dir = call("open", user_string("/bin"), uapi::kOpenDirectory);
  ASSERT_EQ(dir, 3);
  alignas(8) std::byte records[256] = {};
  const std::int64_t used = call("getdents64", 3, user(records), sizeof(records));
  EXPECT_EQ(used, 24 + 24 + 24 + 24);  // ".", "..", "tool", "sh": 19 + name + NUL, to 8
  EXPECT_EQ(call("getdents64", 3, user_address(records), sizeof(records)), 0);
  char link[16] = {};
  EXPECT_EQ(call("readlink", user_string("/bin/sh"), user(link), sizeof(link)), 4);
  EXPECT_EQ(std::string(link), "tool");
  EXPECT_EQ(call("readlink", user_string("/bin/sh"), user_address(link), 2), 2);  // cut short
  EXPECT_EQ(call("readlink", user_string("/etc/motd"), user_address(link), 16),
            err(uapi::Errno::einval));
  EXPECT_EQ(call("readlinkat", 3, user_string("sh"), user_address(link), 16), 4);
  char cwd[32] = {};
  EXPECT_EQ(call("getcwd", user(cwd), sizeof(cwd)), 2);  // "/" and its NUL
  EXPECT_EQ(call("chdir", user_string("etc")), 0);
  EXPECT_EQ(call("getcwd", user_address(cwd), sizeof(cwd)), 5);
  EXPECT_STREQ(cwd, "/etc");
  EXPECT_EQ(call("getcwd", user_address(cwd), 4), err(uapi::Errno::erange));
  EXPECT_EQ(call("chdir", user_string("motd")), err(uapi::Errno::enotdir));
  EXPECT_EQ(call("access", user_string("motd"), uapi::kAccessRead), 0);  // relative to /etc now
  EXPECT_EQ(call("access", user_string("motd"), uapi::kAccessWrite), err(uapi::Errno::erofs));
  EXPECT_EQ(call("access", user_string("motd"), uapi::kAccessExecute), err(uapi::Errno::eacces));
  EXPECT_EQ(call("access", user_string("/bin/tool"), uapi::kAccessExecute), 0);
  EXPECT_EQ(call("access", user_string("motd"), 8), err(uapi::Errno::einval));
}

// utimensat keeps no times (ferrite's files have none) but checks what Linux checks: busybox
// touch calls it first and creates the file only on ENOENT.
TEST_F(SyscallTest, UtimensatChecksItsArgumentsAndTheFile) {
  const std::int64_t cwd = uapi::kAtFdcwd;
  EXPECT_EQ(call("utimensat", cwd, user_string("/tmp/t"), 0, 0), err(uapi::Errno::enoent));
  const std::uint64_t create = uapi::kOpenCreate | uapi::kOpenReadWrite;
  const std::int64_t fd = call("open", user_string("/tmp/t"), create, 0666);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(call("utimensat", cwd, user_string("/tmp/t"), 0, 0), 0);
  EXPECT_EQ(call("utimensat", fd, 0, 0, 0), 0);  // futimens
  EXPECT_EQ(call("utimensat", 99, 0, 0, 0), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("utimensat", cwd, user_string("/etc/motd"), 0, 0), err(uapi::Errno::erofs));
  EXPECT_EQ(call("utimensat", cwd, user_string("/tmp/t"), 0, 0x2), err(uapi::Errno::einval));
  uapi::Timespec times[2] = {{1, 0}, {2, (1 << 30) - 2}};  // a time, and UTIME_OMIT
  EXPECT_EQ(call("utimensat", cwd, user_string("/tmp/t"), user(times), 0), 0);
  times[1].tv_nsec = 1'000'000'000;
  EXPECT_EQ(call("utimensat", cwd, user_string("/tmp/t"), user_address(times), 0),
            err(uapi::Errno::einval));
  EXPECT_EQ(call("utimensat", cwd, user_string("/tmp/t"), 0x10, 0), err(uapi::Errno::efault));
  EXPECT_EQ(call("close", fd), 0);
  EXPECT_EQ(call("unlink", user_string("/tmp/t")), 0);
}

TEST_F(SyscallTest, TerminalIoctlsAndEnottyElsewhere) {
  uapi::Termios t{};
  EXPECT_EQ(call("ioctl", 0, uapi::kTcgets, user(t)), 0);
  EXPECT_NE(t.c_lflag & uapi::kIcanon, 0u);
  t.c_lflag = 0;
  EXPECT_EQ(call("ioctl", 0, uapi::kTcsets, user_address(&t)), 0);
  EXPECT_EQ(terminal_.saved.c_lflag, 0u);
  uapi::Winsize w{};
  EXPECT_EQ(call("ioctl", 1, uapi::kTiocgwinsz, user(w)), 0);
  EXPECT_EQ(w.ws_row, 25);
  EXPECT_EQ(w.ws_col, 80);
  std::int32_t group = 0;
  EXPECT_EQ(call("ioctl", 2, uapi::kTiocgpgrp, user(group)), 0);
  EXPECT_EQ(group, 7);
  EXPECT_EQ(call("ioctl", 0, 0x1234, 0), err(uapi::Errno::enotty));
  EXPECT_EQ(call("ioctl", 0, uapi::kTcgets, 0), err(uapi::Errno::efault));
  ASSERT_EQ(call("open", user_string("/etc/motd"), 0), 3);
  EXPECT_EQ(call("ioctl", 3, uapi::kTcgets, user_address(&t)),
            err(uapi::Errno::enotty));  // isatty: no
}

// Chapter 15: the console's session and foreground process group (tty/job_control.h), with
// Linux's errors: the terminal must be the caller's, the group exist and be in its session.
TEST_F(SyscallTest, ForegroundProcessGroupFollowsLinuxRules) {
  ferrite::proc::Process job, stranger;
  job.pid = 8, job.pgid = 8, job.sid = 7;            // a job of the shell's session
  stranger.pid = 9, stranger.pgid = 9, stranger.sid = 9;  // another session
  testing_::processes() = {&process_, &job, &stranger};
  // The shell ignores SIGTTOU, as busybox ash does: once job 8 is in the foreground the shell
  // is in the background, and its TIOCSPGRP would otherwise stop it (or, its group being
  // orphaned here, fail with ENOTTY). JobControlTest has those cases.
  process_.signals.actions[ferrite::proc::kSigTtou - 1].handler = ferrite::proc::kSigIgn;
  EXPECT_EQ(terminal_.jobs.session.load(), 7);       // taken when the leader got its files
  std::int32_t value = 0;
  EXPECT_EQ(call("ioctl", 0, uapi::kTiocgsid, user(value)), 0);
  EXPECT_EQ(value, 7);
  std::int32_t group = 8;
  EXPECT_EQ(call("ioctl", 0, uapi::kTiocspgrp, user(group)), 0);
  EXPECT_EQ(call("ioctl", 0, uapi::kTiocgpgrp, user(value)), 0);
  EXPECT_EQ(value, 8);
  EXPECT_EQ(terminal_.jobs.foreground.load(), 8);
  group = 9;
  EXPECT_EQ(call("ioctl", 0, uapi::kTiocspgrp, user_address(&group)), err(uapi::Errno::eperm));
  group = 100;
  EXPECT_EQ(call("ioctl", 0, uapi::kTiocspgrp, user_address(&group)), err(uapi::Errno::esrch));
  group = -1;
  EXPECT_EQ(call("ioctl", 0, uapi::kTiocspgrp, user_address(&group)), err(uapi::Errno::einval));
  EXPECT_EQ(terminal_.jobs.foreground.load(), 8);    // the failures changed nothing
  // Another session has no controlling terminal here: ENOTTY, and TIOCSCTTY is EPERM while the
  // owner lives (unless stolen with argument 1).
  const auto as_stranger = [&](std::uint64_t request, std::uint64_t argument) {
    return ferrite::syscall::dispatch(
        stranger, {number("ioctl"), {0, request, argument, 0, 0, 0}});
  };
  stranger.files = process_.files;
  EXPECT_EQ(as_stranger(uapi::kTiocgpgrp, user_address(&value)), err(uapi::Errno::enotty));
  group = 9;
  EXPECT_EQ(as_stranger(uapi::kTiocspgrp, user_address(&group)), err(uapi::Errno::enotty));
  EXPECT_EQ(as_stranger(uapi::kTiocsctty, 0), err(uapi::Errno::eperm));
  // The leader gives the terminal up: its foreground group gets SIGHUP, then nobody owns it.
  EXPECT_EQ(call("ioctl", 0, uapi::kTiocnotty, 0), 0);
  EXPECT_NE(job.signals.pending & ferrite::proc::signal_bit(ferrite::proc::kSigHup), 0u);
  EXPECT_EQ(call("ioctl", 0, uapi::kTiocgpgrp, user_address(&value)), err(uapi::Errno::enotty));
  EXPECT_EQ(as_stranger(uapi::kTiocsctty, 0), 0);    // free now: the stranger's session takes it
  EXPECT_EQ(as_stranger(uapi::kTiocgpgrp, user_address(&value)), 0);
  EXPECT_EQ(value, 9);
  stranger.files = nullptr;
  testing_::processes().clear();
}

// Chapter 15, job control (termios(3); Linux's __tty_check_change): a job of the shell's session
// that reads the terminal from the background gets SIGTTIN — its whole group — and the read is
// restarted once it is continued (ERESTARTSYS, as the way back to ring 3 sees it). EIO instead
// when it ignores SIGTTIN or its group is orphaned (nobody could continue it). Writes go ahead
// unless TOSTOP; a change of the settings is SIGTTOU unless the caller ignores it.
TEST_F(SyscallTest, BackgroundUseOfTheTerminalStopsTheJobOrFails) {
  namespace proc = ferrite::proc;
  proc::Process job, partner;
  job.pid = 8, job.pgid = 8, job.sid = 7, job.parent = 7;          // `cat &`: its own group
  partner.pid = 9, partner.pgid = 8, partner.sid = 7, partner.parent = 7;  // `a | b &`
  testing_::processes() = {&process_, &job, &partner};
  job.files = process_.files;
  const auto as_job = [&](std::string_view name, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                          std::uint64_t a2 = 0) {
    return ferrite::syscall::dispatch(job, {number(name), {a0, a1, a2, 0, 0, 0}});
  };
  char buffer[16];
  terminal_.lines = {"for the shell\n"};
  EXPECT_EQ(as_job("read", 0, user(buffer), sizeof buffer), -proc::kErestartsys);
  EXPECT_NE(job.signals.pending & proc::signal_bit(proc::kSigTtin), 0u);
  EXPECT_NE(partner.signals.pending & proc::signal_bit(proc::kSigTtin), 0u);  // the group
  EXPECT_EQ(process_.signals.pending, 0u);                                     // not the shell
  EXPECT_EQ(terminal_.lines.size(), 1u);  // the shell's line stays the shell's
  EXPECT_EQ(call("read", 0, user(buffer), sizeof buffer), 14);  // the foreground reads
  job.signals.pending = partner.signals.pending = 0;
  job.signals.restart_pending = false;
  // Ignored (or blocked): EIO, nothing sent.
  job.signals.actions[proc::kSigTtin - 1].handler = proc::kSigIgn;
  EXPECT_EQ(as_job("read", 0, user(buffer), sizeof buffer), err(uapi::Errno::eio));
  job.signals.actions[proc::kSigTtin - 1].handler = proc::kSigDfl;
  job.signals.block(proc::signal_bit(proc::kSigTtin));
  EXPECT_EQ(as_job("read", 0, user(buffer), sizeof buffer), err(uapi::Errno::eio));
  job.signals.set_blocked(0);
  // Orphaned (the shell gone, nobody else outside the group in the session): EIO.
  job.parent = partner.parent = 0;
  EXPECT_EQ(as_job("read", 0, user(buffer), sizeof buffer), err(uapi::Errno::eio));
  EXPECT_EQ(job.signals.pending, 0u);
  job.parent = partner.parent = 7;
  // Writes: through without TOSTOP; SIGTTOU with it.
  const char text[] = "out";
  testing_::map_user(text, sizeof text);
  EXPECT_EQ(as_job("write", 1, user_address(text), 3), 3);
  terminal_.extra_lflag = uapi::kTostop;
  EXPECT_EQ(as_job("write", 1, user_address(text), 3), -proc::kErestartsys);
  EXPECT_NE(job.signals.pending & proc::signal_bit(proc::kSigTtou), 0u);
  job.signals.pending = partner.signals.pending = 0;
  job.signals.restart_pending = false;
  // TCSETS from the background: SIGTTOU; ignoring it, the change goes ahead.
  uapi::Termios t{};
  EXPECT_EQ(as_job("ioctl", 0, uapi::kTcsets, user(t)), -proc::kErestartsys);
  EXPECT_NE(job.signals.pending & proc::signal_bit(proc::kSigTtou), 0u);
  job.signals.pending = partner.signals.pending = 0;
  job.signals.restart_pending = false;
  job.signals.actions[proc::kSigTtou - 1].handler = proc::kSigIgn;
  EXPECT_EQ(as_job("ioctl", 0, uapi::kTcsets, user(t)), 0);
  EXPECT_EQ(as_job("write", 1, user_address(text), 3), 3);
  // In the foreground the job reads freely.
  terminal_.jobs.foreground.store(8);
  terminal_.lines = {"for the job\n"};
  EXPECT_EQ(as_job("read", 0, user(buffer), sizeof buffer), 12);
  job.files = nullptr;
  testing_::processes().clear();
}

// Chapter 15, hang-up: the session leader ended (proc's exit calls hang_up_session), so every
// file open on its terminal is dead — read 0, write and ioctl EIO (TIOCSPGRP ENOTTY), poll
// POLLHUP — while the terminal is free and a file opened later works; another session's end
// changes nothing.
TEST_F(SyscallTest, ASessionLeadersEndHangsUpItsTerminal) {
  EXPECT_EQ(terminal_.jobs.session.load(), 7);
  EXPECT_EQ(terminal_.hang_up_session(9), std::nullopt);  // not the terminal's session
  EXPECT_EQ(terminal_.jobs.session.load(), 7);
  char text[] = "hi";
  EXPECT_EQ(call("write", 1, user(text), 2), 2);
  EXPECT_EQ(terminal_.hang_up_session(7), std::optional<std::int32_t>(7));  // its old foreground
  EXPECT_EQ(terminal_.jobs.session.load(), 0);
  EXPECT_EQ(terminal_.jobs.foreground.load(), 0);
  terminal_.lines.push_back("typed\n");
  char buffer[16] = {};
  EXPECT_EQ(call("read", 0, user(buffer), sizeof(buffer)), 0);  // end of file, the line untaken
  EXPECT_EQ(terminal_.lines.size(), 1u);
  EXPECT_EQ(call("write", 1, user_address(text), 2), err(uapi::Errno::eio));
  EXPECT_EQ(terminal_.written, "hi");
  uapi::Termios t{};
  EXPECT_EQ(call("ioctl", 2, uapi::kTcgets, user(t)), err(uapi::Errno::eio));  // isatty: no
  std::int32_t group = 7;
  EXPECT_EQ(call("ioctl", 0, uapi::kTiocspgrp, user(group)), err(uapi::Errno::enotty));
  struct PollFd {
    std::int32_t fd;
    std::int16_t events, revents;
  } polled = {0, 1, 0};
  EXPECT_EQ(call("poll", user(polled), 1, 0), 1);
  EXPECT_EQ(polled.revents, 0x1 | 0x8 | 0x10);  // POLLIN|POLLERR|POLLHUP
  // A descriptor duplicated from a dead file is dead too; a new open is not.
  EXPECT_EQ(call("dup", 0), 3);
  EXPECT_EQ(call("read", 3, user_address(buffer), sizeof(buffer)), 0);
  ASSERT_EQ(call("open", user_string("/dev/console"), uapi::kOpenReadWrite), 4);
  EXPECT_EQ(call("read", 4, user_address(buffer), sizeof(buffer)), 6);
  EXPECT_STREQ(buffer, "typed\n");
  EXPECT_EQ(call("write", 4, user_address(text), 2), 2);
  EXPECT_EQ(call("ioctl", 4, uapi::kTcgets, user_address(&t)), 0);
  EXPECT_EQ(call("ioctl", 0, uapi::kTcgets, user_address(&t)), err(uapi::Errno::eio));  // still
  EXPECT_EQ(terminal_.hang_up_session(7), std::nullopt);  // nobody's now: nothing to hang up
  EXPECT_EQ(call("read", 4, user_address(buffer), sizeof(buffer)), 0);  // (empty: EOF) not hung up
  EXPECT_EQ(call("write", 4, user_address(text), 2), 2);
}

// Hang-up is per session: the files another session opened on the console (the kernel spawned a
// second program, each its own session) stay alive when the terminal's session ends; and a later
// session that gets the same sid (pid reuse) has live files, while the old session's stay dead.
TEST_F(SyscallTest, HangUpKillsOnlyTheEndingSessionsFiles) {
  ferrite::proc::Process other, reborn;
  other.pid = other.pgid = other.sid = 9;
  other.parent = 1;
  other.address_space = &space_;
  testing_::processes() = {&process_, &other};
  ASSERT_TRUE(ferrite::syscall::attach_files(other));  // its own /dev/console file, session 9
  EXPECT_EQ(terminal_.jobs.session.load(), 7);          // still the first session's terminal
  EXPECT_EQ(ferrite::tty::live_files(terminal_.jobs), 2u);
  const auto as = [&](ferrite::proc::Process& who, std::string_view name, std::uint64_t a0,
                      std::uint64_t a1, std::uint64_t a2) {
    return ferrite::syscall::dispatch(who, Arguments{number(name), {a0, a1, a2, 0, 0, 0}});
  };
  char text[] = "ok";
  char buffer[16] = {};
  testing_::map_user(text, sizeof(text));
  testing_::map_user(buffer, sizeof(buffer));
  EXPECT_EQ(terminal_.hang_up_session(7), std::optional<std::int32_t>(7));
  // Another session's files stay alive when one session is hung up.
  EXPECT_EQ(ferrite::tty::live_files(terminal_.jobs), 1u);
  EXPECT_EQ(call("write", 1, user_address(text), 2), err(uapi::Errno::eio));  // session 7: dead
  EXPECT_EQ(as(other, "write", 1, user_address(text), 2), 2);                // session 9: alive
  EXPECT_EQ(terminal_.written, "ok");
  terminal_.lines.push_back("line\n");
  EXPECT_EQ(as(other, "read", 0, user_address(buffer), sizeof(buffer)), 5);
  uapi::Termios t{};
  testing_::map_user(&t, sizeof(t));
  EXPECT_EQ(as(other, "ioctl", 2, uapi::kTcgets, user_address(&t)), 0);
  // A reused sid is not dead: a new session 7 (pid 7 again) gets working files and the terminal,
  // the old session's descriptors stay hung up.
  reborn.pid = reborn.pgid = reborn.sid = 7;
  reborn.parent = 1;
  reborn.address_space = &space_;
  testing_::processes() = {&reborn, &other};
  ASSERT_TRUE(ferrite::syscall::attach_files(reborn));
  EXPECT_EQ(terminal_.jobs.session.load(), 7);
  EXPECT_EQ(as(reborn, "write", 1, user_address(text), 2), 2);
  EXPECT_EQ(as(reborn, "ioctl", 2, uapi::kTcgets, user_address(&t)), 0);
  EXPECT_EQ(call("write", 1, user_address(text), 2), err(uapi::Errno::eio));  // still dead
  EXPECT_EQ(ferrite::tty::live_files(terminal_.jobs), 2u);
  // The new session's end hangs up its files only, again.
  EXPECT_EQ(terminal_.hang_up_session(7), std::optional<std::int32_t>(7));
  EXPECT_EQ(as(reborn, "write", 1, user_address(text), 2), err(uapi::Errno::eio));
  EXPECT_EQ(as(other, "write", 1, user_address(text), 2), 2);
  ferrite::syscall::release_files(reborn);
  ferrite::syscall::release_files(other);
  EXPECT_EQ(ferrite::tty::live_files(terminal_.jobs), 0u);
  testing_::processes().clear();
}

// The terminal's table of sessions with files open is fixed: a file no slot can take is never
// hung up (as before hang-up existed) rather than sharing another session's fate; a slot is free
// again when its session's last file closes.
TEST(JobControlTest, AFullSessionTableLeavesNewFilesUntracked) {
  ferrite::tty::JobControl jobs;
  std::vector<std::uint32_t> generations;
  for (std::int32_t sid = 1; sid <= 16; ++sid) {
    generations.push_back(ferrite::tty::file_opened(jobs, sid));
  }
  EXPECT_EQ(ferrite::tty::file_opened(jobs, 1), generations[0]);  // joins its session's slot
  const std::uint32_t extra = ferrite::tty::file_opened(jobs, 17);
  EXPECT_EQ(extra, ferrite::tty::kUntracked);
  EXPECT_EQ(ferrite::tty::live_files(jobs), 18u);
  jobs.session.store(17);
  EXPECT_EQ(ferrite::tty::hang_up_session(jobs, 17), std::optional<std::int32_t>(0));
  EXPECT_FALSE(ferrite::tty::hung_up(jobs, extra));
  jobs.session.store(2);
  EXPECT_EQ(ferrite::tty::hang_up_session(jobs, 2), std::optional<std::int32_t>(0));
  EXPECT_TRUE(ferrite::tty::hung_up(jobs, generations[1]));
  EXPECT_FALSE(ferrite::tty::hung_up(jobs, generations[0]));
  EXPECT_FALSE(ferrite::tty::file_closed(jobs, generations[1]));  // dead: off the count already
  EXPECT_EQ(ferrite::tty::live_files(jobs), 17u);
  const std::uint32_t again = ferrite::tty::file_opened(jobs, 2);  // the freed slot, anew
  EXPECT_NE(again, generations[1]);
  EXPECT_FALSE(ferrite::tty::hung_up(jobs, again));
  EXPECT_TRUE(ferrite::tty::hung_up(jobs, generations[1]));
}

// An interrupted call returns a restart code only when a signal waits to be delivered (the way
// back to ring 3 resolves it), and only for the calls Linux restarts; else plain EINTR.
TEST_F(SyscallTest, InterruptedCallsGetLinuxsRestartCodes) {
  testing_::machine().interrupt_sleeps = true;
  EXPECT_EQ(call("rt_sigsuspend", user(process_.signals.blocked), 8), err(uapi::Errno::eintr));
  process_.signals.pending = ferrite::proc::signal_bit(ferrite::proc::kSigUsr1);
  std::uint64_t none = 0;
  EXPECT_EQ(call("rt_sigsuspend", user(none), 8), -ferrite::proc::kErestartnohand);
  EXPECT_TRUE(process_.signals.restart_pending);
  EXPECT_EQ(process_.signals.restart_number, number("rt_sigsuspend"));
  process_.signals.restart_pending = false;
  EXPECT_EQ(call("pause"), -ferrite::proc::kErestartnohand);
  process_.signals.restart_pending = false;
  uapi::Timespec nap{1, 0};
  EXPECT_EQ(call("nanosleep", user(nap), 0), -ferrite::proc::kErestartRestartblock);
  process_.signals.restart_pending = false;
  EXPECT_EQ(call("getpid"), 7);  // not interrupted: nothing to restart
  process_.signals.pending = 0;
  EXPECT_EQ(call("nanosleep", user_address(&nap), 0), err(uapi::Errno::eintr));  // no signal
  EXPECT_FALSE(process_.signals.restart_pending);
}

// ppoll's mask is the mask during the call: it lets a blocked pending signal interrupt it, and
// the caller's mask comes back after the handler (interrupted) or at once (not).
TEST_F(SyscallTest, PpollAppliesItsSignalMask) {
  const std::uint64_t usr1 = ferrite::proc::signal_bit(ferrite::proc::kSigUsr1);
  process_.signals.blocked = usr1;
  process_.signals.pending = usr1;
  std::uint64_t mask = 0;
  uapi::Timespec zero{0, 0}, second{1, 0};
  EXPECT_EQ(call("ppoll", 0, 0, user(zero), user(mask), 8), 0);  // timed out at once
  EXPECT_EQ(process_.signals.blocked, usr1);
  EXPECT_FALSE(process_.signals.restore_saved);
  EXPECT_EQ(call("ppoll", 0, 0, user(zero), user_address(&mask), 4), err(uapi::Errno::einval));
  testing_::machine().interrupt_sleeps = true;
  EXPECT_EQ(call("ppoll", 0, 0, user(second), user_address(&mask), 8), -ferrite::proc::kErestartnohand);
  EXPECT_EQ(process_.signals.blocked, 0u);  // the signal is delivered under ppoll's mask...
  EXPECT_TRUE(process_.signals.restore_saved);
  EXPECT_EQ(process_.signals.saved_blocked, usr1);  // ...and the caller's comes back after
  process_.signals = ferrite::proc::SignalState{};
}

TEST_F(SyscallTest, SendfileCopiesAFileToTheConsole) {
  ASSERT_EQ(call("open", user_string("/etc/motd"), 0), 3);
  EXPECT_EQ(call("sendfile", 1, 3, 0, 100), 25);
  EXPECT_EQ(terminal_.written, "hello from the initramfs\n");
  std::int64_t offset = 6;
  terminal_.written.clear();
  EXPECT_EQ(call("sendfile", 1, 3, user(offset), 4), 4);
  EXPECT_EQ(terminal_.written, "from");
  EXPECT_EQ(offset, 10);
  EXPECT_EQ(call("sendfile", 3, 1, 0, 4), err(uapi::Errno::ebadf));  // the file is not writable
}

// A /proc file's bytes are its open's snapshot, not the node's: it cannot be mapped (Linux's proc
// files have no mmap: ENODEV), where a regular file of the tree can.
TEST_F(SyscallTest, AGeneratedFileCannotBeMapped) {
  struct Text final : fs::Generator {
    std::expected<void, uapi::Errno> generate(const fs::Node&,
                                              ferrite::lib::ByteBuffer& out) override {
      if (!out.try_resize(5)) return std::unexpected(uapi::Errno::enomem);
      std::memcpy(out.data(), "text\n", 5);
      return {};
    }
    std::expected<fs::Node*, uapi::Errno> lookup(fs::Node&, std::string_view) override {
      return std::unexpected(uapi::Errno::enoent);
    }
    std::optional<fs::GeneratedEntry> entry(const fs::Node&, std::uint64_t) override {
      return std::nullopt;
    }
    std::expected<std::string_view, uapi::Errno> link_target(fs::Node&) override {
      return std::unexpected(uapi::Errno::einval);
    }
  } text;
  ASSERT_NE(tree_->add_generated(tree_->root(), "info", fs::NodeType::regular, 0444, text),
            nullptr);
  const std::uint64_t map = uapi::kMapPrivate;
  const auto fd = call("open", user_string("/info"), uapi::kOpenReadOnly);
  ASSERT_GE(fd, 3);
  EXPECT_EQ(call("mmap", 0, 4096, 1, map, static_cast<std::uint64_t>(fd), 0),
            err(uapi::Errno::enodev));
  const auto motd = call("open", user_string("/etc/motd"), uapi::kOpenReadOnly);
  ASSERT_GE(motd, 3);
  EXPECT_GT(call("mmap", 0, 4096, 1, map, static_cast<std::uint64_t>(motd), 0), 0);
}

TEST_F(SyscallTest, MemoryCallsCheckArgumentsThenAskTheAddressSpace) {
  auto& calls = testing_::address_space_calls();
  const std::uint64_t anon = uapi::kMapPrivate | uapi::kMapAnonymous;
  EXPECT_EQ(call("mmap", 0, 100, 3, anon, -1ull, 0), static_cast<std::int64_t>(calls.anywhere));
  ASSERT_EQ(calls.mapped.size(), 1u);
  EXPECT_EQ(calls.mapped[0].bytes, 4096u);  // rounded up to a page
  EXPECT_EQ(calls.mapped[0].protection, 3u);
  EXPECT_EQ(call("mmap", 0x400000, 8192, 1, anon | uapi::kMapFixed, -1ull, 0), 0x400000);
  EXPECT_TRUE(calls.mapped[1].replace);
  EXPECT_EQ(call("mmap", 0x400001, 8192, 1, anon | uapi::kMapFixed, -1ull, 0),
            err(uapi::Errno::einval));
  EXPECT_EQ(call("mmap", 0x400000, 4096, 1, anon | uapi::kMapFixedNoreplace, -1ull, 0),
            err(uapi::Errno::eexist));
  EXPECT_EQ(call("mmap", 0, 4096, 8, anon, -1ull, 0), err(uapi::Errno::einval));  // bad PROT
  EXPECT_EQ(call("mmap", 0, 4096, 1, uapi::kMapAnonymous, -1ull, 0),
            err(uapi::Errno::einval));  // no type
  EXPECT_EQ(call("mmap", 0, 4096, 1, uapi::kMapPrivate, 9, 0), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("mmap", 0, 4096, 1, uapi::kMapPrivate, 1, 0),
            err(uapi::Errno::enodev));  // the console
  // A private file mapping is filled with the file's bytes.
  ASSERT_EQ(call("open", user_string("/etc/motd"), 0), 3);
  EXPECT_GT(call("mmap", 0, 4096, 1, uapi::kMapPrivate, 3, 0), 0);
  ASSERT_EQ(calls.written.size(), 1u);
  EXPECT_EQ(calls.written[0].second, 25u);
  EXPECT_EQ(call("munmap", 0x400000, 8192), 0);
  EXPECT_EQ(calls.unmapped.back(), std::make_pair(std::uint64_t{0x400000}, std::uint64_t{8192}));
  EXPECT_EQ(call("munmap", 0x400010, 8192), err(uapi::Errno::einval));
  EXPECT_EQ(call("mprotect", 0x400000, 4096, 16), err(uapi::Errno::einval));
  EXPECT_EQ(call("mprotect", 0x400000, 4096, 1), 0);
  EXPECT_EQ(call("brk", 0), 0x600000);
  EXPECT_EQ(call("brk", 0x700000), 0x700000);
}

// mremap's flag and size checks, made before the mapping is looked at (Linux's order), and what
// reaches the address space: sizes rounded up to pages, the flags as named options.
TEST_F(SyscallTest, MremapChecksFlagsAndSizesThenAsksTheAddressSpace) {
  auto& calls = testing_::address_space_calls();
  const std::uint64_t may_move = uapi::kMremapMaymove, fixed = uapi::kMremapFixed,
                      dont_unmap = uapi::kMremapDontunmap;
  const auto einval = err(uapi::Errno::einval);
  EXPECT_EQ(call("mremap", 0x400000, 4096, 8192, 8), einval);                // unknown flag
  EXPECT_EQ(call("mremap", 0x400000, 4096, 8192, fixed, 0x800000), einval);  // FIXED alone
  EXPECT_EQ(call("mremap", 0x400000, 4096, 4096, dont_unmap, 0), einval);    // DONTUNMAP alone
  EXPECT_EQ(call("mremap", 0x400000, 4096, 8192, may_move | dont_unmap), einval);  // resizing
  EXPECT_EQ(call("mremap", 0x400010, 4096, 8192, 0), einval);                      // misaligned
  EXPECT_EQ(call("mremap", 0x400000, 4096, 0, may_move), einval);                  // new size 0
  EXPECT_EQ(call("mremap", 0x400000, ~std::uint64_t{0}, 4096, 0), einval);         // wraps
  EXPECT_EQ(call("mremap", 0x400000, 4096, ~std::uint64_t{0} - 100, may_move), einval);
  EXPECT_EQ(call("mremap", 0x400000, 4096, 8192, may_move | fixed, 0x800010), einval);
  EXPECT_TRUE(calls.remapped.empty());
  using Remap = testing_::FakeAddressSpace::Remap;
  EXPECT_EQ(call("mremap", 0x400000, 100, 5000, may_move), 0x400000);
  EXPECT_EQ(calls.remapped.back(), (Remap{0x400000, 4096, 8192, true, false, false, 0}));
  EXPECT_EQ(call("mremap", 0x400000, 8192, 4096, 0, 0x12345), 0x400000);  // address ignored
  EXPECT_EQ(calls.remapped.back(), (Remap{0x400000, 8192, 4096, false, false, false, 0}));
  EXPECT_EQ(call("mremap", 0x400000, 0, 4096, 0), 0x400000);  // old size 0: the space decides
  EXPECT_EQ(calls.remapped.back(), (Remap{0x400000, 0, 4096, false, false, false, 0}));
  EXPECT_EQ(call("mremap", 0x400000, 4096, 4096, may_move | fixed | dont_unmap, 0x800000),
            0x800000);
  EXPECT_EQ(calls.remapped.back(), (Remap{0x400000, 4096, 4096, true, true, true, 0x800000}));
  EXPECT_EQ(calls.remapped.size(), 4u);
}

TEST_F(SyscallTest, ProcessIdentityAndStartupCalls) {
  EXPECT_EQ(call("getpid"), 7);
  EXPECT_EQ(call("gettid"), 7);
  EXPECT_EQ(call("getppid"), 1);
  EXPECT_EQ(call("getuid"), 0);
  EXPECT_EQ(call("getegid"), 0);
  EXPECT_EQ(call("set_tid_address", 0x1234), 7);
  EXPECT_EQ(process_.clear_child_tid, 0x1234u);
  EXPECT_EQ(call("set_robust_list", 0x1000, 24), 0);
  EXPECT_EQ(call("set_robust_list", 0x1000, 23), err(uapi::Errno::einval));
  EXPECT_EQ(call("arch_prctl", uapi::kArchSetFs, 0x7000'0000), 0);
  EXPECT_EQ(process_.fs_base, 0x7000'0000u);
  EXPECT_EQ(testing_::machine().fs_base, 0x7000'0000u);
  EXPECT_EQ(call("arch_prctl", uapi::kArchSetFs, 0xFFFF'8000'0000'0000), err(uapi::Errno::eperm));
  std::uint64_t fs = 0;
  EXPECT_EQ(call("arch_prctl", uapi::kArchGetFs, user(fs)), 0);
  EXPECT_EQ(fs, 0x7000'0000u);
  EXPECT_EQ(call("arch_prctl", 0x9999, 0), err(uapi::Errno::einval));
  EXPECT_EQ(call("getgroups", 0, 0), 1);
  std::uint32_t groups[2] = {7, 7};
  EXPECT_EQ(call("getgroups", 2, user(groups)), 1);
  EXPECT_EQ(groups[0], 0u);
  EXPECT_EQ(call("getgroups", 2, 0), err(uapi::Errno::efault));
  EXPECT_EQ(call("getgroups", static_cast<std::uint64_t>(-1), 0), err(uapi::Errno::einval));
  EXPECT_EQ(call("rseq"), err(uapi::Errno::enosys));
  EXPECT_EQ(call("prctl", 15), err(uapi::Errno::einval));
}

TEST_F(SyscallTest, ExitEndsTheProcessWithWaitsEncoding) {
  try {
    call("exit_group", 0x1FF);
    FAIL() << "exit_group returned";
  } catch (const testing_::ExitCalled& exit) {
    EXPECT_EQ(exit.wait_status, 0xFF << 8);  // only the low 8 bits, shifted as wait() sees them
  }
}

TEST_F(SyscallTest, SignalDispositionsAndMasksAreRecorded) {
  uapi::KernelSigaction action{0x401000, 0x04000000, 0x401100, 3u << 8}, old{};  // SA_RESTORER
  EXPECT_EQ(call("rt_sigaction", 2, user(action), user(old), 8), 0);
  EXPECT_EQ(process_.signals.action(2).handler, 0x401000u);
  EXPECT_EQ(process_.signals.action(2).restorer, 0x401100u);
  EXPECT_EQ(process_.signals.action(2).mask, 1u << 9);  // SIGKILL in sa_mask is dropped
  EXPECT_EQ(call("rt_sigaction", 2, 0, user_address(&old), 8), 0);
  EXPECT_EQ(old.handler, 0x401000u);
  EXPECT_EQ(call("rt_sigaction", 9, user_address(&action), 0, 8),
            err(uapi::Errno::einval));  // SIGKILL
  EXPECT_EQ(call("rt_sigaction", 65, 0, 0, 8), err(uapi::Errno::einval));
  EXPECT_EQ(call("rt_sigaction", 2, 0, 0, 4), err(uapi::Errno::einval));  // sigsetsize
  std::uint64_t set = (1u << 1) | (1u << 8), previous = 99;               // SIGINT and SIGKILL
  EXPECT_EQ(call("rt_sigprocmask", uapi::kSigBlock, user(set), user(previous), 8), 0);
  EXPECT_EQ(previous, 0u);
  EXPECT_EQ(process_.signals.blocked, 1u << 1);  // SIGKILL cannot be blocked
  EXPECT_EQ(call("rt_sigprocmask", 7, user_address(&set), 0, 8), err(uapi::Errno::einval));
  // A handler without SA_RESTORER could not return: refused.
  uapi::KernelSigaction no_restorer{0x401000, 0, 0, 0};
  EXPECT_EQ(call("rt_sigaction", 10, user(no_restorer), 0, 8), err(uapi::Errno::einval));
  old = {};
  EXPECT_EQ(call("rt_sigaction", 10, 0, user(old), 8), 0);
  EXPECT_EQ(old.handler, 0u);  // unchanged: SIG_DFL
}

TEST_F(SyscallTest, KillReachesProcessesAndGroups) {
  ferrite::proc::Process other;
  other.pid = 7;
  process_.pid = 3;
  process_.pgid = process_.sid = 0;  // groups here are the pids
  testing_::processes() = {&process_, &other};
  EXPECT_EQ(call("kill", 7, 0), 0);                       // signal 0: it exists
  EXPECT_EQ(other.signals.pending, 0u);
  EXPECT_EQ(call("kill", 7, 15), 0);                      // SIGTERM
  EXPECT_EQ(other.signals.pending, 1u << 14);
  EXPECT_EQ(call("kill", 99, 15), err(uapi::Errno::esrch));
  EXPECT_EQ(call("kill", 7, 65), err(uapi::Errno::einval));
  EXPECT_EQ(call("kill", -7, 10), 0);                     // the group 7
  EXPECT_EQ(other.signals.pending, (1u << 14) | (1u << 9));
  EXPECT_EQ(call("kill", -1, 12), 0);                     // everyone but the caller
  EXPECT_EQ(process_.signals.pending, 0u);
  EXPECT_NE(other.signals.pending & (1u << 11), 0u);
  EXPECT_EQ(call("kill", 0, 1), 0);                       // the caller's group: itself
  EXPECT_EQ(process_.signals.pending, 1u);
  EXPECT_EQ(call("kill", -42, 1), err(uapi::Errno::esrch));
  EXPECT_EQ(call("tgkill", 7, 7, 2), 0);
  EXPECT_NE(other.signals.pending & 2u, 0u);
  EXPECT_EQ(call("tgkill", 7, 8, 2), err(uapi::Errno::esrch));
  EXPECT_EQ(call("tkill", 0, 2), err(uapi::Errno::einval));
  // SIGCHLD's default is to ignore: sending it leaves nothing pending.
  other.signals.pending = 0;
  EXPECT_EQ(call("kill", 7, 17), 0);
  EXPECT_EQ(other.signals.pending, 0u);
  std::uint64_t pending = 99;
  process_.signals.blocked = 1u << 1;
  process_.signals.pending = (1u << 1) | 1u;
  EXPECT_EQ(call("rt_sigpending", user(pending), 8), 0);
  EXPECT_EQ(pending, 1u << 1);
  testing_::processes().clear();
}

TEST_F(SyscallTest, TimeCalls) {
  uapi::Timespec ts{};
  EXPECT_EQ(call("clock_gettime", uapi::kClockMonotonic, user(ts)), 0);
  EXPECT_EQ(ts.tv_sec, 5);
  EXPECT_EQ(ts.tv_nsec, 0);
  EXPECT_EQ(call("clock_gettime", uapi::kClockRealtime, user_address(&ts)), 0);
  EXPECT_EQ(ts.tv_sec, 1'700'000'005);
  EXPECT_EQ(call("clock_gettime", 99, user_address(&ts)), err(uapi::Errno::einval));
  uapi::Timeval tv{};
  EXPECT_EQ(call("gettimeofday", user(tv), 0), 0);
  EXPECT_EQ(tv.tv_sec, 1'700'000'005);
  uapi::Timespec nap{1, 500};
  EXPECT_EQ(call("nanosleep", user(nap), 0), 0);
  EXPECT_EQ(testing_::machine().slept_until_ns, 6'000'000'500u);
  uapi::Timespec bad{0, 1'000'000'000};
  EXPECT_EQ(call("nanosleep", user(bad), 0), err(uapi::Errno::einval));
  uapi::Timespec until{7, 0};
  EXPECT_EQ(call("clock_nanosleep", uapi::kClockMonotonic, uapi::kTimerAbstime, user(until), 0), 0);
  EXPECT_EQ(testing_::machine().slept_until_ns, 7'000'000'000u);
  // A sleep cut short by the program's end: EINTR, and rem says what was left.
  testing_::machine().interrupt_sleeps = true;
  uapi::Timespec left{};
  EXPECT_EQ(call("nanosleep", user_address(&nap), user(left)), err(uapi::Errno::eintr));
  EXPECT_EQ(left.tv_sec, 1);
  EXPECT_EQ(left.tv_nsec, 500);
  testing_::machine().interrupt_sleeps = false;
  EXPECT_EQ(call("sched_yield"), 0);
  EXPECT_EQ(testing_::machine().yields, 1);
}

// Chapter 15's CPU time as the calls report it, from the process's counts (the fake's TSC runs at
// 1 GHz: a tick is a nanosecond): getrusage's timeval rounds down to microseconds, times() to
// clock ticks of 10 ms; wait4's rusage is the reaped child's; bad `who`, clocks and pointers fail
// as on Linux.
TEST_F(SyscallTest, CpuTimeCalls) {
  process_.own.cpu = {1'234'567'891, 20'000'999};      // 1.234567891 s user, 20.000999 ms system
  process_.own.minor_faults = 42;
  process_.own.max_rss_frames = 100;
  process_.children.cpu = {3'019'999'999, 5'000'000};
  uapi::Rusage ru{};
  const auto who = [](std::int32_t value) { return static_cast<std::uint64_t>(value); };
  EXPECT_EQ(call("getrusage", who(uapi::kRusageSelf), user(ru)), 0);
  EXPECT_EQ(ru.ru_utime.tv_sec, 1);
  EXPECT_EQ(ru.ru_utime.tv_usec, 234'567);
  EXPECT_EQ(ru.ru_stime.tv_sec, 0);
  EXPECT_EQ(ru.ru_stime.tv_usec, 20'000);
  EXPECT_EQ(ru.ru_minflt, 42);
  EXPECT_EQ(ru.ru_maxrss, 400);  // KiB
  EXPECT_EQ(call("getrusage", who(uapi::kRusageChildren), user_address(&ru)), 0);
  EXPECT_EQ(ru.ru_utime.tv_sec, 3);
  EXPECT_EQ(ru.ru_utime.tv_usec, 19'999);
  EXPECT_EQ(call("getrusage", who(uapi::kRusageThread), user_address(&ru)), 0);
  EXPECT_EQ(ru.ru_utime.tv_usec, 234'567);
  // RUSAGE_BOTH (-2) is wait4's inside Linux, not a caller's; an int `who`: the upper half of
  // the register does not count.
  EXPECT_EQ(call("getrusage", who(-2), user_address(&ru)), err(uapi::Errno::einval));
  EXPECT_EQ(call("getrusage", 2, user_address(&ru)), err(uapi::Errno::einval));
  EXPECT_EQ(call("getrusage", 0xFFFF'FFFF'0000'0000ull, user_address(&ru)), 0);
  EXPECT_EQ(call("getrusage", 0, user_address(&ru) + 1), err(uapi::Errno::efault));

  uapi::Tms tms{};
  EXPECT_EQ(call("times", user(tms)), 500);  // clock ticks since boot: 5 s
  EXPECT_EQ(tms.tms_utime, 123);
  EXPECT_EQ(tms.tms_stime, 2);
  EXPECT_EQ(tms.tms_cutime, 301);
  EXPECT_EQ(tms.tms_cstime, 0);
  EXPECT_EQ(call("times", 0), 500);
  EXPECT_EQ(call("times", user_address(&tms) + 8), err(uapi::Errno::efault));

  uapi::Timespec ts{};
  EXPECT_EQ(call("clock_gettime", uapi::kClockProcessCputime, user(ts)), 0);
  EXPECT_EQ(ts.tv_sec, 1);
  EXPECT_EQ(ts.tv_nsec, 254'568'890);  // user + system, to the nanosecond
  EXPECT_EQ(call("clock_gettime", uapi::kClockThreadCputime, user_address(&ts)), 0);
  EXPECT_EQ(ts.tv_nsec, 254'568'890);
  // clock_getcpuclockid's clocks: ~pid << 3 | kind (2 all, 1 user only, 0 user + system); pid 0
  // is the caller; a PID nobody has, or kind 3, is EINVAL.
  const auto cpu_clock = [](std::int32_t pid, std::int32_t kind) {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>((~pid) * 8 + kind));
  };
  EXPECT_EQ(call("clock_gettime", cpu_clock(7, 2), user_address(&ts)), 0);
  EXPECT_EQ(ts.tv_nsec, 254'568'890);
  EXPECT_EQ(call("clock_gettime", cpu_clock(0, 1), user_address(&ts)), 0);
  EXPECT_EQ(ts.tv_nsec, 234'567'891);
  EXPECT_EQ(call("clock_gettime", cpu_clock(99, 2), user_address(&ts)), err(uapi::Errno::einval));
  EXPECT_EQ(call("clock_getres", cpu_clock(0, 3), user_address(&ts)), err(uapi::Errno::einval));
  EXPECT_EQ(call("clock_gettime", uapi::kClockProcessCputime, 8), err(uapi::Errno::efault));

  // wait4: the child's usage goes to the caller's rusage after the wait; with nothing reported
  // (WNOHANG, no child ended) the rusage is left alone.
  ferrite::proc::ResourceUsage child;
  child.cpu = {2'500'000'000, 1'000};
  child.minor_faults = 9;
  child.max_rss_kib = 64;
  testing_::next_wait() = ferrite::proc::WaitResult{12, 3 << 8, child};
  std::int32_t status = 0;
  std::memset(&ru, 0xAB, sizeof ru);
  EXPECT_EQ(call("wait4", static_cast<std::uint64_t>(-1), user(status), 0, user_address(&ru)), 12);
  EXPECT_EQ(status, 3 << 8);
  EXPECT_EQ(ru.ru_utime.tv_sec, 2);
  EXPECT_EQ(ru.ru_utime.tv_usec, 500'000);
  EXPECT_EQ(ru.ru_stime.tv_usec, 1);
  EXPECT_EQ(ru.ru_minflt, 9);
  EXPECT_EQ(ru.ru_maxrss, 64);
  EXPECT_EQ(ru.ru_ixrss, 0);
  testing_::next_wait() = ferrite::proc::WaitResult{};
  std::memset(&ru, 0xAB, sizeof ru);
  EXPECT_EQ(call("wait4", who(-1), 0, 1 /* WNOHANG */, user_address(&ru)), 0);
  EXPECT_EQ(ru.ru_maxrss, static_cast<std::int64_t>(0xABABABAB'ABABABABull));
  // A bad rusage pointer is EFAULT — after the wait, as Linux (the child is reaped all the same).
  testing_::next_wait() = ferrite::proc::WaitResult{12, 0, child};
  EXPECT_EQ(call("wait4", static_cast<std::uint64_t>(-1), 0, 0, 8), err(uapi::Errno::efault));
  EXPECT_FALSE(testing_::next_wait().has_value());
  testing_::next_wait() = ferrite::proc::WaitResult{12, 0, child};
  ferrite::arch::SigInfo info{};
  EXPECT_EQ(call("waitid", 0 /* P_ALL */, 0, user(info), 4 /* WEXITED */, user_address(&ru)), 0);
  EXPECT_EQ(ru.ru_utime.tv_sec, 2);
  EXPECT_EQ(info.pid, 12);
}

TEST_F(SyscallTest, UnameSysinfoGetrandomPrlimit) {
  uapi::Utsname name{};
  EXPECT_EQ(call("uname", user(name)), 0);
  EXPECT_STREQ(name.sysname, "ferrite");
  EXPECT_STREQ(name.machine, "x86_64");
  uapi::Sysinfo info{};
  EXPECT_EQ(call("sysinfo", user(info)), 0);
  EXPECT_EQ(info.uptime, 5);
  EXPECT_EQ(info.totalram, 128ull << 20);
  EXPECT_EQ(info.mem_unit, 1u);
  std::uint8_t random[300] = {};
  EXPECT_EQ(call("getrandom", user(random), sizeof(random), 0), 300);
  EXPECT_EQ(random[299], static_cast<std::uint8_t>((299 - 256) * 7 + 1));  // the second chunk
  EXPECT_EQ(call("getrandom", user_address(random), 4, 0x80), err(uapi::Errno::einval));
  uapi::Rlimit64 limit{};
  EXPECT_EQ(call("prlimit64", 0, uapi::kRlimitNofile, 0, user(limit)), 0);
  EXPECT_EQ(limit.rlim_cur, 64u);
  EXPECT_EQ(call("prlimit64", 0, uapi::kRlimitStack, 0, user_address(&limit)), 0);
  EXPECT_EQ(limit.rlim_cur, 8u << 20);
  EXPECT_EQ(call("prlimit64", 0, 99, 0, 0), err(uapi::Errno::einval));
  EXPECT_EQ(call("prlimit64", 12345, 0, 0, 0), err(uapi::Errno::esrch));
}

TEST_F(SyscallTest, RebootChecksLinuxsMagicNumbers) {
  EXPECT_EQ(call("reboot", 0xfee1dead, 12345, uapi::kRebootCmdPowerOff), err(uapi::Errno::einval));
  EXPECT_EQ(call("reboot", 0xdeadbeef, uapi::kRebootMagic2, uapi::kRebootCmdPowerOff),
            err(uapi::Errno::einval));
  EXPECT_EQ(testing_::machine().power_offs, 0);
  call("reboot", uapi::kRebootMagic1, uapi::kRebootMagic2, uapi::kRebootCmdPowerOff);
  EXPECT_EQ(testing_::machine().power_offs, 1);
  call("reboot", uapi::kRebootMagic1, uapi::kRebootMagic2C, uapi::kRebootCmdRestart);
  EXPECT_EQ(testing_::machine().restarts, 1);
  EXPECT_EQ(call("reboot", uapi::kRebootMagic1, uapi::kRebootMagic2, 0x1111),
            err(uapi::Errno::einval));
}

// Chapter 15 (files): pipes and poll/select through the system calls. No waiter is set on the
// host, so nothing blocks; the fake machine's sleeps end at once and can be made "interrupted".
TEST_F(SyscallTest, PipesPollAndSelectAsLinuxDoes) {
  std::int32_t fds[2] = {-1, -1};
  EXPECT_EQ(call("pipe2", user(fds), 0x80000000ULL), err(uapi::Errno::einval));  // unknown flag
  ASSERT_EQ(call("pipe2", user(fds), uapi::kOpenCloexec | uapi::kOpenNonblock), 0);
  EXPECT_EQ(fds[0], 3);
  EXPECT_EQ(fds[1], 4);
  EXPECT_EQ(call("fcntl", 3, 1 /* F_GETFD */), 1);
  EXPECT_EQ(call("fcntl", 4, 3 /* F_GETFL */), uapi::kOpenWriteOnly | uapi::kOpenNonblock);
  EXPECT_EQ(call("fcntl", 4, 4 /* F_SETFL */, uapi::kOpenAppend), 0);  // access mode kept
  EXPECT_EQ(call("fcntl", 4, 3 /* F_GETFL */), uapi::kOpenWriteOnly | uapi::kOpenAppend);
  EXPECT_EQ(call("dup3", 4, 4, 0), err(uapi::Errno::einval));
  struct PollFd {
    std::int32_t fd;
    std::int16_t events, revents;
  } polled[3] = {{3, 1, 0}, {4, 4, 0}, {9, 1, 0}};
  EXPECT_EQ(call("poll", user(polled), 3, 0), 2);  // write end ready, fd 9 POLLNVAL
  EXPECT_EQ(polled[0].revents, 0);
  EXPECT_EQ(polled[1].revents, 4);
  EXPECT_EQ(polled[2].revents, 0x20);
  char text[] = "hi";
  EXPECT_EQ(call("write", 4, user(text), 2), 2);
  std::int32_t queued = 0;
  EXPECT_EQ(call("ioctl", 3, uapi::kFionread, user(queued)), 0);
  EXPECT_EQ(queued, 2);
  std::uint64_t readable[16] = {1u << 3};  // an fd_set with fd 3
  EXPECT_EQ(call("select", 4, user(readable), 0, 0, 0), 1);
  EXPECT_EQ(readable[0], 1u << 3);
  std::uint64_t bad[16] = {1u << 9};
  EXPECT_EQ(call("select", 10, user(bad), 0, 0, 0), err(uapi::Errno::ebadf));
  char buffer[8];
  EXPECT_EQ(call("read", 3, user(buffer), sizeof buffer), 2);
  EXPECT_EQ(call("read", 3, user(buffer), sizeof buffer), err(uapi::Errno::eagain));
  testing_::machine().interrupt_sleeps = true;  // a signal during an endless poll: EINTR
  EXPECT_EQ(call("poll", user(polled), 1, static_cast<std::uint64_t>(-1)),
            err(uapi::Errno::eintr));
  EXPECT_EQ(call("close", 4), 0);
  EXPECT_EQ(call("read", 3, user(buffer), sizeof buffer), 0);  // end of file
  EXPECT_EQ(call("poll", user(polled), 1, 0), 1);
  EXPECT_EQ(polled[0].revents, 0x10);  // POLLHUP
}

// umask(2) is per process: it returns the old mask, and tmpfs takes the new one off the modes
// of the files and directories the process creates.
TEST_F(SyscallTest, UmaskIsThePreviousMaskAndShapesNewFiles) {
  EXPECT_EQ(call("umask", 077), 022);  // init's default, fs::kUmask
  EXPECT_EQ(call("umask", 01077), 077);  // only the 0777 bits are kept
  const std::uint64_t create = uapi::kOpenCreate | uapi::kOpenWriteOnly;
  EXPECT_EQ(call("open", user_string("/tmp/u"), create, 0666), 3);
  EXPECT_EQ(call("mkdir", user_string("/tmp/ud"), 0777), 0);
  uapi::Stat st{};
  EXPECT_EQ(call("fstat", 3, user(st)), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(call("stat", user_string("/tmp/ud"), user(st)), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(call("close", 3), 0);
  EXPECT_EQ(call("unlink", user_string("/tmp/u")), 0);
  EXPECT_EQ(call("rmdir", user_string("/tmp/ud")), 0);
  EXPECT_EQ(call("umask", 022), 077);
}

// Found by user/sysfuzz (seed 2): rmdir of a process's current directory freed the node under
// it, and the next getcwd or relative lookup read freed memory (a kernel #GP under heap_debug).
// The current directory holds its node like an open file: getcwd is ENOENT there, as on Linux,
// nothing can be created in it, "." still answers, and leaving it frees it.
TEST_F(SyscallTest, RemovedCurrentDirectoryLivesUntilLeft) {
  const std::size_t nodes = tree_->node_count();
  EXPECT_EQ(call("mkdir", user_string("/tmp/d"), 0755), 0);
  EXPECT_EQ(call("mkdir", user_string("/tmp/d/e"), 0755), 0);
  EXPECT_EQ(call("mkdir", user_string("/tmp/g"), 0755), 0);
  EXPECT_EQ(call("chdir", user_string("/tmp/d/e")), 0);
  EXPECT_EQ(call("rmdir", user_string("/tmp/d/e")), 0);
  EXPECT_EQ(call("rmdir", user_string("/tmp/d")), 0);  // its old parent goes first
  char cwd[32] = {};
  EXPECT_EQ(call("getcwd", user(cwd), sizeof(cwd)), err(uapi::Errno::enoent));
  uapi::Stat st{};
  EXPECT_EQ(call("stat", user_string("."), user(st)), 0);
  EXPECT_EQ(call("stat", user_string(".."), user_address(&st)), 0);
  EXPECT_EQ(call("open", user_string("x"), uapi::kOpenCreate | uapi::kOpenWriteOnly, 0644),
            err(uapi::Errno::enoent));
  EXPECT_EQ(call("mkdir", user_string("y"), 0755), err(uapi::Errno::enoent));
  EXPECT_EQ(call("rename", user_string("/tmp/g"), user_string("z")), err(uapi::Errno::enoent));
  EXPECT_EQ(call("rmdir", user_string("/tmp/g")), 0);
  EXPECT_EQ(call("chdir", user_string("/")), 0);  // the last holder lets go: freed (ASan)
  EXPECT_EQ(tree_->node_count(), nodes);
  // The same through a directory descriptor, and a forked child's copy of the directory.
  EXPECT_EQ(call("mkdir", user_string("/tmp/f"), 0755), 0);
  EXPECT_EQ(call("open", user_string("/tmp/f"), uapi::kOpenReadOnly | uapi::kOpenDirectory), 3);
  EXPECT_EQ(call("rmdir", user_string("/tmp/f")), 0);
  EXPECT_EQ(call("fchdir", 3), 0);
  EXPECT_EQ(call("close", 3), 0);
  ferrite::proc::Process child;
  child.cwd = process_.cwd;
  ASSERT_TRUE(ferrite::syscall::clone_files(process_, child));
  EXPECT_EQ(call("chdir", user_string("/")), 0);
  EXPECT_EQ(call("getcwd", user_address(cwd), sizeof(cwd)), 2);
  EXPECT_EQ(ferrite::syscall::dispatch(child, Arguments{number("getcwd"),
                                                         {user_address(cwd), sizeof(cwd)}}),
            err(uapi::Errno::enoent));
  ferrite::syscall::release_files(child);  // the child's exit: the directory goes now
  EXPECT_EQ(tree_->node_count(), nodes);
}

// Found by typing in busybox sh: getcwd built the path in a 1024-byte buffer and answered ERANGE
// for any longer path, whatever the caller's buffer. busybox grows its buffer by 64 bytes for as
// long as getcwd says ERANGE: the shell spun for ever in a deep directory. Linux (fs/d_path.c)
// builds the path in a PATH_MAX page: ENAMETOOLONG when it does not fit, ERANGE only when the
// caller's buffer is too small for a path that does.
TEST_F(SyscallTest, GetcwdTakesPathsUpToPathMaxAndSaysWhenOneIsLonger) {
  const std::string name(200, 'd');
  std::string path = "/tmp";
  ASSERT_EQ(call("chdir", user_string(path)), 0);
  while (path.size() + 1 + name.size() + 1 <= 4096) {  // each level still fits PATH_MAX
    ASSERT_EQ(call("mkdir", user_string(name), 0755), 0);
    ASSERT_EQ(call("chdir", user_string(name)), 0);
    path += "/" + name;
  }
  ASSERT_GT(path.size(), 1024u);
  std::vector<char> buffer(8192);
  testing_::map_user(buffer.data(), buffer.size());
  EXPECT_EQ(call("getcwd", user_address(buffer.data()), buffer.size()),
            static_cast<std::int64_t>(path.size() + 1));
  EXPECT_EQ(std::string(buffer.data()), path);
  EXPECT_EQ(call("getcwd", user_address(buffer.data()), path.size()), err(uapi::Errno::erange));
  // One level more and the path (with its NUL) no longer fits PATH_MAX: no buffer is big enough.
  ASSERT_EQ(call("mkdir", user_string(name), 0755), 0);
  ASSERT_EQ(call("chdir", user_string(name)), 0);
  EXPECT_EQ(call("getcwd", user_address(buffer.data()), buffer.size()),
            err(uapi::Errno::enametoolong));
}

// Found by user/sysfuzz: a tmpfs file unlinked while open kept its node in the tree for ever
// after the last close (only the bytes were freed), so open-unlink-close leaked kernel heap.
TEST_F(SyscallTest, FileUnlinkedWhileOpenIsFreedAtLastClose) {
  const std::size_t nodes = tree_->node_count();
  const std::uint64_t create = uapi::kOpenCreate | uapi::kOpenReadWrite;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call("open", user_string("/tmp/f"), create, 0644), 3);
    EXPECT_EQ(call("dup", 3), 4);
    char text[] = "data";
    EXPECT_EQ(call("write", 3, user(text), 4), 4);
    EXPECT_EQ(call("unlink", user_string("/tmp/f")), 0);
    EXPECT_EQ(call("close", 3), 0);
    EXPECT_EQ(tree_->tmpfs_budget().used, 4u);  // still open as 4
    EXPECT_EQ(call("close", 4), 0);
    EXPECT_EQ(tree_->tmpfs_budget().used, 0u);
    EXPECT_EQ(tree_->node_count(), nodes);
  }
}

// tmpfs through the system calls: /tmp takes O_CREAT, writes, truncation, unlink, mkdir, rmdir
// and rename; everything else stays EROFS.
TEST_F(SyscallTest, TmpfsCallsCreateWriteAndRemoveUnderTmpOnly) {
  const std::uint64_t create = uapi::kOpenCreate | uapi::kOpenWriteOnly | uapi::kOpenTruncate;
  EXPECT_EQ(call("open", user_string("/tmp/f"), create, 0644), 3);
  EXPECT_EQ(call("open", user_string("/tmp/f"), create | uapi::kOpenExclusive, 0644),
            err(uapi::Errno::eexist));
  EXPECT_EQ(call("open", user_string("/etc/new"), create, 0644), err(uapi::Errno::erofs));
  EXPECT_EQ(call("open", user_string("/tmp/no/f"), create, 0644), err(uapi::Errno::enoent));
  EXPECT_EQ(call("open", user_string("/tmp"), uapi::kOpenCreate, 0644), err(uapi::Errno::eisdir));
  char text[] = "data\n";
  EXPECT_EQ(call("write", 3, user(text), 5), 5);
  EXPECT_EQ(call("pwrite64", 3, user(text), 2, 5), 2);  // "data\nda"
  EXPECT_EQ(call("lseek", 3, 0, uapi::kSeekCur), 5);    // pwrite leaves the position alone
  uapi::Stat st{};
  EXPECT_EQ(call("fstat", 3, user(st)), 0);
  EXPECT_EQ(st.st_size, 7);
  EXPECT_EQ(call("close", 3), 0);
  EXPECT_EQ(call("open", user_string("/tmp/f"), uapi::kOpenWriteOnly | uapi::kOpenAppend), 3);
  EXPECT_EQ(call("write", 3, user(text), 5), 5);
  EXPECT_EQ(call("ftruncate", 3, 10), 0);
  EXPECT_EQ(call("stat", user_string("/tmp/f"), user(st)), 0);
  EXPECT_EQ(st.st_size, 10);
  EXPECT_EQ(call("truncate", user_string("/etc/motd"), 0), err(uapi::Errno::erofs));
  EXPECT_EQ(call("close", 3), 0);
  EXPECT_EQ(call("open", user_string("/tmp/f"), uapi::kOpenReadOnly), 3);
  char buffer[16] = {};
  EXPECT_EQ(call("read", 3, user(buffer), 16), 10);
  EXPECT_EQ(std::string(buffer, 10), "data\ndadat");  // "data\nda" + "data\n", cut to 10
  EXPECT_EQ(call("ftruncate", 3, 0), err(uapi::Errno::einval));  // not open for writing
  EXPECT_EQ(call("close", 3), 0);
  EXPECT_EQ(call("access", user_string("/tmp/f"), 2 /* W_OK */), 0);
  EXPECT_EQ(call("access", user_string("/etc/motd"), 2), err(uapi::Errno::erofs));
  // Directories.
  EXPECT_EQ(call("mkdir", user_string("/tmp/d"), 0755), 0);
  EXPECT_EQ(call("mkdir", user_string("/tmp/d/"), 0755), err(uapi::Errno::eexist));
  EXPECT_EQ(call("mkdir", user_string("/etc/d"), 0755), err(uapi::Errno::erofs));
  EXPECT_EQ(call("rename", user_string("/tmp/f"), user_string("/tmp/d/g")), 0);
  EXPECT_EQ(call("rmdir", user_string("/tmp/d")), err(uapi::Errno::enotempty));
  EXPECT_EQ(call("unlink", user_string("/tmp/d")), err(uapi::Errno::eisdir));
  EXPECT_EQ(call("unlink", user_string("/tmp/f")), err(uapi::Errno::enoent));
  EXPECT_EQ(call("unlink", user_string("/etc/motd")), err(uapi::Errno::erofs));
  EXPECT_EQ(call("unlinkat", static_cast<std::uint64_t>(uapi::kAtFdcwd), user_string("/tmp/d/g"),
                 0),
            0);
  EXPECT_EQ(call("unlinkat", static_cast<std::uint64_t>(uapi::kAtFdcwd), user_string("/tmp/d"),
                 0x200 /* AT_REMOVEDIR */),
            0);
  EXPECT_EQ(call("rmdir", user_string("/tmp/d")), err(uapi::Errno::enoent));
  EXPECT_EQ(call("rename", user_string("/etc/motd"), user_string("/tmp/m")),
            err(uapi::Errno::erofs));
  EXPECT_EQ(tree_->tmpfs_budget().used, 0u);
}

// symlink, symlinkat: links in /tmp that readlink, lstat, open and chdir see as the archive's;
// link, linkat: Linux's checks (flags, the old name, the new one, EXDEV), then EPERM — ferrite's
// tmpfs has no hard links.
TEST_F(SyscallTest, SymlinkMakesLinksAndLinkSaysEperm) {
  const auto at_cwd = static_cast<std::uint64_t>(uapi::kAtFdcwd);
  EXPECT_EQ(call("symlink", user_string("/etc/motd"), user_string("/tmp/motd")), 0);
  EXPECT_EQ(call("mkdir", user_string("/tmp/d"), 0755), 0);
  EXPECT_EQ(call("open", user_string("/tmp/d"), uapi::kOpenDirectory), 3);
  EXPECT_EQ(call("symlinkat", user_string("../motd"), 3, user_string("up")), 0);  // in /tmp/d
  char target[32] = {};
  EXPECT_EQ(call("readlink", user_string("/tmp/d/up"), user(target), sizeof target), 7);
  EXPECT_EQ(std::string(target, 7), "../motd");
  EXPECT_EQ(call("open", user_string("/tmp/d/up"), uapi::kOpenReadOnly), 4);
  char text[8] = {};
  EXPECT_EQ(call("read", 4, user(text), 5), 5);  // through two links
  EXPECT_EQ(std::string(text, 5), "hello");
  uapi::Stat st{};
  EXPECT_EQ(call("lstat", user_string("/tmp/motd"), user(st)), 0);
  EXPECT_EQ(st.st_mode, uapi::kModeSymlink | 0777u);
  EXPECT_EQ(st.st_size, 9);
  EXPECT_EQ(call("symlink", user_string("x"), user_string("/tmp/motd")), err(uapi::Errno::eexist));
  EXPECT_EQ(call("symlink", user_string(""), user_string("/tmp/e")), err(uapi::Errno::enoent));
  EXPECT_EQ(call("symlink", user_string("x"), user_string("/etc/x")), err(uapi::Errno::erofs));
  EXPECT_EQ(call("symlink", user_string("x"), user_string("/tmp/no/x")), err(uapi::Errno::enoent));
  EXPECT_EQ(call("symlink", user_string("x"), user_string("/etc/motd/x")),
            err(uapi::Errno::enotdir));
  EXPECT_EQ(call("symlink", 0, user_string("/tmp/e")), err(uapi::Errno::efault));
  // A new name with a trailing '/' would be a directory: ENOENT, or EEXIST if it is taken.
  EXPECT_EQ(call("symlink", user_string("x"), user_string("/tmp/e/")), err(uapi::Errno::enoent));
  EXPECT_EQ(call("symlink", user_string("x"), user_string("/tmp/d/")), err(uapi::Errno::eexist));
  EXPECT_EQ(call("symlinkat", user_string("x"), 5, user_string("y")), err(uapi::Errno::ebadf));
  // link: EPERM at the end of every path Linux lets through.
  EXPECT_EQ(call("open", user_string("/tmp/f"), uapi::kOpenCreate | uapi::kOpenWriteOnly, 0644), 5);
  EXPECT_EQ(call("link", user_string("/tmp/f"), user_string("/tmp/g")), err(uapi::Errno::eperm));
  EXPECT_EQ(call("link", user_string("/tmp/f"), user_string("/tmp/motd")),
            err(uapi::Errno::eexist));
  EXPECT_EQ(call("link", user_string("/tmp/nope"), user_string("/tmp/g")),
            err(uapi::Errno::enoent));
  EXPECT_EQ(call("link", user_string("/etc/motd"), user_string("/tmp/g")), err(uapi::Errno::exdev));
  EXPECT_EQ(call("link", user_string("/tmp/f"), user_string("/etc/g")), err(uapi::Errno::erofs));
  EXPECT_EQ(call("link", user_string("/tmp/d"), user_string("/tmp/g")), err(uapi::Errno::eperm));
  EXPECT_EQ(call("link", user_string("/tmp/f"), user_string("/tmp/g/")), err(uapi::Errno::enoent));
  EXPECT_EQ(call("linkat", at_cwd, user_string("/tmp/f"), at_cwd, user_string("/tmp/g"), 0x1),
            err(uapi::Errno::einval));
  // The link itself by default (in /tmp: EPERM), its target with AT_SYMLINK_FOLLOW (in the
  // read-only tree: EXDEV); AT_EMPTY_PATH takes the file open as the first descriptor.
  EXPECT_EQ(call("linkat", at_cwd, user_string("/tmp/motd"), at_cwd, user_string("/tmp/g"), 0),
            err(uapi::Errno::eperm));
  EXPECT_EQ(call("linkat", at_cwd, user_string("/tmp/motd"), at_cwd, user_string("/tmp/g"),
                 uapi::kAtSymlinkFollow),
            err(uapi::Errno::exdev));
  EXPECT_EQ(call("linkat", 4, user_string(""), at_cwd, user_string("/tmp/g"), uapi::kAtEmptyPath),
            err(uapi::Errno::exdev));  // fd 4 is /etc/motd
  EXPECT_EQ(call("linkat", 5, user_string(""), at_cwd, user_string("/tmp/g"), uapi::kAtEmptyPath),
            err(uapi::Errno::eperm));
  EXPECT_EQ(call("linkat", 5, user_string(""), at_cwd, user_string("/tmp/g"), 0),
            err(uapi::Errno::enoent));
  EXPECT_EQ(call("stat", user_string("/tmp/g"), user(st)), err(uapi::Errno::enoent));
}

// mknod, mknodat: files, named pipes and character devices in /tmp (umask applied); the kinds
// Linux refuses before the path (S_IFDIR EPERM, unknown EINVAL) and those ferrite has no node
// for (S_IFBLK, S_IFSOCK: EPERM after the name's checks).
TEST_F(SyscallTest, MknodMakesFilesNamedPipesAndDevices) {
  uapi::Stat st{};
  EXPECT_EQ(call("mknod", user_string("/tmp/file"), 0644, 0), 0);
  EXPECT_EQ(call("stat", user_string("/tmp/file"), user(st)), 0);
  EXPECT_EQ(st.st_mode, uapi::kModeRegular | 0644u);
  EXPECT_EQ(call("mknod", user_string("/tmp/reg"), uapi::kModeRegular | 0666, 0), 0);
  EXPECT_EQ(call("stat", user_string("/tmp/reg"), user(st)), 0);
  EXPECT_EQ(st.st_mode, uapi::kModeRegular | 0644u);  // less the umask, 022
  EXPECT_EQ(call("mknodat", static_cast<std::uint64_t>(uapi::kAtFdcwd), user_string("/tmp/fifo"),
                 uapi::kModeFifo | 0600, 0),
            0);
  EXPECT_EQ(call("stat", user_string("/tmp/fifo"), user(st)), 0);
  EXPECT_EQ(st.st_mode, uapi::kModeFifo | 0600u);
  // mknod /tmp/z c 1 5: /dev/zero under another name; c 4 64: made, but no driver (ENXIO).
  EXPECT_EQ(call("mknod", user_string("/tmp/z"), uapi::kModeCharDevice | 0666, (1 << 8) | 5), 0);
  EXPECT_EQ(call("open", user_string("/tmp/z"), uapi::kOpenReadOnly), 3);
  char bytes[3] = {'a', 'b', 'c'};
  EXPECT_EQ(call("read", 3, user(bytes), 3), 3);
  EXPECT_EQ(std::string(bytes, 3), std::string(3, '\0'));
  EXPECT_EQ(call("mknod", user_string("/tmp/serial"), uapi::kModeCharDevice | 0600, (4 << 8) | 64),
            0);
  EXPECT_EQ(call("stat", user_string("/tmp/serial"), user(st)), 0);
  EXPECT_EQ(st.st_rdev, (4u << 8) | 64u);
  EXPECT_EQ(call("open", user_string("/tmp/serial"), uapi::kOpenReadOnly), err(uapi::Errno::enxio));
  // A big minor number: new_encode_dev puts its high bits above the major's.
  EXPECT_EQ(call("mknod", user_string("/tmp/big"), uapi::kModeCharDevice | 0600,
                 (0x345u << 20) | (10u << 8) | 0x67u),
            0);
  uapi::Statx sx{};
  EXPECT_EQ(call("statx", static_cast<std::uint64_t>(uapi::kAtFdcwd), user_string("/tmp/big"), 0, 0,
                 user(sx)),
            0);
  EXPECT_EQ(sx.stx_rdev_major, 10u);
  EXPECT_EQ(sx.stx_rdev_minor, 0x34567u);
  EXPECT_EQ(call("mknod", user_string("/tmp/dir"), uapi::kModeDirectory | 0755, 0),
            err(uapi::Errno::eperm));
  EXPECT_EQ(call("mknod", 0, 0170000 | 0644, 0), err(uapi::Errno::einval));  // before the path
  EXPECT_EQ(call("mknod", user_string("/tmp/blk"), uapi::kModeBlockDevice | 0600, (8 << 8)),
            err(uapi::Errno::eperm));
  EXPECT_EQ(call("mknod", user_string("/tmp/sock"), uapi::kModeSocket | 0600, 0),
            err(uapi::Errno::eperm));
  EXPECT_EQ(call("mknod", user_string("/tmp/fifo"), uapi::kModeSocket | 0600, 0),
            err(uapi::Errno::eexist));
  EXPECT_EQ(call("mknod", user_string("/etc/blk"), uapi::kModeBlockDevice | 0600, 0),
            err(uapi::Errno::erofs));
  EXPECT_EQ(call("mknod", user_string("/etc/p"), uapi::kModeFifo | 0600, 0),
            err(uapi::Errno::erofs));
  EXPECT_EQ(call("mknod", user_string("/tmp/fifo"), uapi::kModeFifo | 0600, 0),
            err(uapi::Errno::eexist));
  EXPECT_EQ(call("mknod", user_string("/tmp/fifo/"), uapi::kModeFifo | 0600, 0),
            err(uapi::Errno::eexist));
  EXPECT_EQ(call("mknod", user_string("/tmp/new/"), uapi::kModeFifo | 0600, 0),
            err(uapi::Errno::enoent));
  // The named pipe through open, write, read; a write open with nobody to read is ENXIO.
  EXPECT_EQ(call("open", user_string("/tmp/fifo"), uapi::kOpenWriteOnly | uapi::kOpenNonblock),
            err(uapi::Errno::enxio));
  EXPECT_EQ(call("open", user_string("/tmp/fifo"), uapi::kOpenReadOnly | uapi::kOpenNonblock), 4);
  EXPECT_EQ(call("open", user_string("/tmp/fifo"), uapi::kOpenWriteOnly), 5);  // a reader is there
  char word[] = "named";
  EXPECT_EQ(call("write", 5, user(word), 5), 5);
  char got[8] = {};
  EXPECT_EQ(call("read", 4, user(got), 8), 5);
  EXPECT_EQ(std::string(got, 5), "named");
  EXPECT_EQ(call("lseek", 4, 0, uapi::kSeekSet), err(uapi::Errno::espipe));
  EXPECT_EQ(call("fstat", 4, user(st)), 0);
  EXPECT_EQ(st.st_mode, uapi::kModeFifo | 0600u);
  EXPECT_EQ(call("close", 5), 0);
  EXPECT_EQ(call("read", 4, user(got), 8), 0);  // the writer gone: end of file
  EXPECT_EQ(call("close", 4), 0);
}

// chmod, fchmod, fchmodat: the permission bits of tmpfs nodes change (the type stays); the
// read-only tree is EROFS; path and descriptor errors as the other calls give them. access(X_OK)
// makes the check execve makes (an execute bit, even for root).
TEST_F(SyscallTest, ChmodChangesTmpfsModesAndExecutionFollows) {
  const std::uint64_t create = uapi::kOpenCreate | uapi::kOpenWriteOnly;
  ASSERT_EQ(call("open", user_string("/tmp/s"), create, 0644), 3);
  EXPECT_EQ(call("access", user_string("/tmp/s"), uapi::kAccessExecute), err(uapi::Errno::eacces));
  EXPECT_EQ(call("chmod", user_string("/tmp/s"), 0755), 0);
  uapi::Stat st{};
  EXPECT_EQ(call("stat", user_string("/tmp/s"), user(st)), 0);
  EXPECT_EQ(st.st_mode, 0100755u);
  EXPECT_EQ(call("access", user_string("/tmp/s"), uapi::kAccessExecute), 0);
  EXPECT_EQ(call("chmod", user_string("/tmp/s"), 0177777), 0);  // only 07777 is taken
  EXPECT_EQ(call("fstat", 3, user_address(&st)), 0);
  EXPECT_EQ(st.st_mode, 0107777u);
  EXPECT_EQ(call("fchmod", 3, 0600), 0);
  EXPECT_EQ(call("stat", user_string("/tmp/s"), user_address(&st)), 0);
  EXPECT_EQ(st.st_mode, 0100600u);
  EXPECT_EQ(call("access", user_string("/tmp/s"), uapi::kAccessExecute), err(uapi::Errno::eacces));
  const std::int64_t tmp = call("open", user_string("/tmp"), uapi::kOpenDirectory);
  ASSERT_EQ(tmp, 4);
  EXPECT_EQ(call("fchmodat", 4, user_string("s"), 0700, 0x100 /* ignored: no flags argument */),
            0);
  EXPECT_EQ(call("stat", user_string("/tmp/s"), user_address(&st)), 0);
  EXPECT_EQ(st.st_mode, 0100700u);
  EXPECT_EQ(call("mkdir", user_string("/tmp/d"), 0755), 0);
  EXPECT_EQ(call("chmod", user_string("/tmp/d"), 01777), 0);
  EXPECT_EQ(call("stat", user_string("/tmp/d"), user_address(&st)), 0);
  EXPECT_EQ(st.st_mode, 0041777u);
  // Errors: the read-only tree (through a symlink too), a missing name, a file used as a
  // directory, NULL and overlong paths, bad and read-only descriptors.
  EXPECT_EQ(call("chmod", user_string("/etc/motd"), 0777), err(uapi::Errno::erofs));
  EXPECT_EQ(call("chmod", user_string("/bin/sh"), 0777), err(uapi::Errno::erofs));
  EXPECT_EQ(call("fchmodat", static_cast<std::uint64_t>(uapi::kAtFdcwd), user_string("/"), 0777),
            err(uapi::Errno::erofs));
  EXPECT_EQ(call("chmod", user_string("/tmp/none"), 0777), err(uapi::Errno::enoent));
  EXPECT_EQ(call("chmod", user_string(""), 0777), err(uapi::Errno::enoent));
  EXPECT_EQ(call("chmod", user_string("/tmp/s/x"), 0777), err(uapi::Errno::enotdir));
  EXPECT_EQ(call("chmod", 0, 0777), err(uapi::Errno::efault));
  EXPECT_EQ(call("chmod", 0xFFFF'8000'0000'0000, 0777), err(uapi::Errno::efault));
  EXPECT_EQ(call("chmod", user_string("/tmp/" + std::string(300, 'a')), 0777),
            err(uapi::Errno::enametoolong));
  EXPECT_EQ(call("fchmod", 99, 0777), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("fchmod", 0, 0777), err(uapi::Errno::erofs));  // /dev/console
  EXPECT_EQ(call("fchmodat", 99, user_string("s"), 0777), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("stat", user_string("/etc/motd"), user_address(&st)), 0);
  EXPECT_EQ(st.st_mode, 0100644u);  // untouched
  EXPECT_EQ(call("close", 3), 0);
  EXPECT_EQ(call("close", 4), 0);
}

// chown, fchown, lchown, fchownat: any ids (everybody is root), -1 keeps an id; a file's
// set-user-ID bit goes (and set-group-ID with group-execute), a directory's stay, as on Linux.
TEST_F(SyscallTest, ChownSetsIdsAndMinusOneKeepsThem) {
  const std::uint64_t create = uapi::kOpenCreate | uapi::kOpenWriteOnly;
  ASSERT_EQ(call("open", user_string("/tmp/f"), create, 0644), 3);
  uapi::Stat st{};
  const auto ids = [&](const char* path) {
    EXPECT_EQ(call("stat", user_string(path), user(st)), 0);
    return std::pair{st.st_uid, st.st_gid};
  };
  EXPECT_EQ(call("chown", user_string("/tmp/f"), 1, 2), 0);
  EXPECT_EQ(ids("/tmp/f"), std::pair(1u, 2u));
  EXPECT_EQ(call("chown", user_string("/tmp/f"), ~0ull, 5), 0);  // -1 as a long
  EXPECT_EQ(ids("/tmp/f"), std::pair(1u, 5u));
  EXPECT_EQ(call("chown", user_string("/tmp/f"), 7, 0xFFFF'FFFF), 0);  // -1 as the uid_t
  EXPECT_EQ(ids("/tmp/f"), std::pair(7u, 5u));
  EXPECT_EQ(call("fchown", 3, 8, ~0ull), 0);
  EXPECT_EQ(ids("/tmp/f"), std::pair(8u, 5u));
  EXPECT_EQ(call("lchown", user_string("/tmp/f"), 0, 0), 0);
  EXPECT_EQ(ids("/tmp/f"), std::pair(0u, 0u));
  const std::uint64_t cwd = static_cast<std::uint64_t>(uapi::kAtFdcwd);
  EXPECT_EQ(call("fchownat", 3, user_string(""), 3, 4, uapi::kAtEmptyPath), 0);
  EXPECT_EQ(ids("/tmp/f"), std::pair(3u, 4u));
  EXPECT_EQ(call("fchownat", cwd, user_string("/tmp/f"), 9, 9, uapi::kAtSymlinkNofollow), 0);
  EXPECT_EQ(ids("/tmp/f"), std::pair(9u, 9u));
  // The set-ID bits: a file loses S_ISUID, and S_ISGID when group-execute is set.
  EXPECT_EQ(call("chmod", user_string("/tmp/f"), 06755), 0);
  EXPECT_EQ(call("chown", user_string("/tmp/f"), ~0ull, ~0ull), 0);
  EXPECT_EQ(call("stat", user_string("/tmp/f"), user_address(&st)), 0);
  EXPECT_EQ(st.st_mode, 0100755u);
  EXPECT_EQ(call("chmod", user_string("/tmp/f"), 06745), 0);  // S_ISGID without group-execute
  EXPECT_EQ(call("chown", user_string("/tmp/f"), 1, 1), 0);
  EXPECT_EQ(call("stat", user_string("/tmp/f"), user_address(&st)), 0);
  EXPECT_EQ(st.st_mode, 0102745u);
  EXPECT_EQ(call("mkdir", user_string("/tmp/d"), 0755), 0);
  EXPECT_EQ(call("chmod", user_string("/tmp/d"), 06755), 0);
  EXPECT_EQ(call("chown", user_string("/tmp/d"), 1, 2), 0);
  EXPECT_EQ(call("stat", user_string("/tmp/d"), user_address(&st)), 0);
  EXPECT_EQ(st.st_mode, 0046755u);
  // Errors.
  EXPECT_EQ(call("fchownat", cwd, user_string("/tmp/f"), 1, 1, 0x8000), err(uapi::Errno::einval));
  EXPECT_EQ(call("fchownat", cwd, user_string(""), 1, 1, 0), err(uapi::Errno::enoent));
  EXPECT_EQ(call("chown", user_string("/etc/motd"), 1, 1), err(uapi::Errno::erofs));
  EXPECT_EQ(call("lchown", user_string("/bin/sh"), 1, 1), err(uapi::Errno::erofs));
  EXPECT_EQ(call("fchownat", cwd, user_string(""), 1, 1, uapi::kAtEmptyPath),
            err(uapi::Errno::erofs));  // the current directory: "/"
  EXPECT_EQ(call("chown", user_string("/tmp/none"), 1, 1), err(uapi::Errno::enoent));
  EXPECT_EQ(call("chown", user_string("/tmp/f/x"), 1, 1), err(uapi::Errno::enotdir));
  EXPECT_EQ(call("chown", 0, 1, 1), err(uapi::Errno::efault));
  EXPECT_EQ(call("lchown", 0x10, 1, 1), err(uapi::Errno::efault));
  EXPECT_EQ(call("fchown", 42, 1, 1), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("stat", user_string("/etc/motd"), user_address(&st)), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(call("close", 3), 0);
}

// statfs and fstatfs: /tmp is a tmpfs whose figures are the budget's, the rest the read-only
// initramfs (ramfs's magic and its empty figures, with ST_RDONLY), a pipe is on pipefs.
TEST_F(SyscallTest, StatfsReportsTheTmpfsBudgetAndAReadOnlyTree) {
  constexpr std::int64_t kValid = 0x20, kReadOnly = 0x1;
  uapi::Statfs s{};
  EXPECT_EQ(call("statfs", user_string("/tmp"), user(s)), 0);
  EXPECT_EQ(s.f_type, 0x01021994);  // TMPFS_MAGIC
  EXPECT_EQ(s.f_bsize, 4096);
  EXPECT_EQ(s.f_frsize, 4096);
  EXPECT_EQ(s.f_namelen, 255);
  EXPECT_EQ(s.f_flags, kValid);
  const std::uint64_t blocks = tree_->tmpfs_budget().limit / 4096;
  EXPECT_EQ(s.f_blocks, blocks);
  EXPECT_EQ(s.f_bfree, blocks);
  EXPECT_EQ(s.f_bavail, blocks);
  // 10000 bytes in a file: three pages' worth less free (the budget counts bytes).
  const std::uint64_t create = uapi::kOpenCreate | uapi::kOpenReadWrite;
  ASSERT_EQ(call("open", user_string("/tmp/f"), create, 0644), 3);
  EXPECT_EQ(call("ftruncate", 3, 10000), 0);
  EXPECT_EQ(call("fstatfs", 3, user_address(&s)), 0);
  EXPECT_EQ(s.f_type, 0x01021994);
  EXPECT_EQ(s.f_bfree, (tree_->tmpfs_budget().limit - 10000) / 4096);
  EXPECT_EQ(s.f_bfree, blocks - 3);
  tree_->set_tmpfs_limit(1 << 20);
  EXPECT_EQ(call("statfs", user_string("/tmp/f"), user_address(&s)), 0);
  EXPECT_EQ(s.f_blocks, 256u);
  EXPECT_EQ(s.f_bavail, 253u);
  // The read-only tree, through a symlink too, and a device.
  for (const char* path : {"/", "/etc/motd", "/bin/sh", "/dev/null"}) {
    EXPECT_EQ(call("statfs", user_string(path), user_address(&s)), 0) << path;
    EXPECT_EQ(s.f_type, static_cast<std::int64_t>(0x858458f6)) << path;  // RAMFS_MAGIC
    EXPECT_EQ(s.f_flags, kValid | kReadOnly) << path;
    EXPECT_EQ(s.f_blocks, 0u) << path;
    EXPECT_EQ(s.f_namelen, 255) << path;
  }
  std::int32_t fds[2] = {};
  ASSERT_EQ(call("pipe", user(fds)), 0);
  EXPECT_EQ(call("fstatfs", static_cast<std::uint64_t>(fds[0]), user_address(&s)), 0);
  EXPECT_EQ(s.f_type, 0x50495045);  // PIPEFS_MAGIC
  EXPECT_EQ(s.f_flags, kValid);
  // Errors.
  EXPECT_EQ(call("statfs", user_string("/tmp/none"), user_address(&s)), err(uapi::Errno::enoent));
  EXPECT_EQ(call("statfs", user_string("/etc/motd/x"), user_address(&s)),
            err(uapi::Errno::enotdir));
  EXPECT_EQ(call("statfs", 0, user_address(&s)), err(uapi::Errno::efault));
  EXPECT_EQ(call("statfs", user_string("/tmp"), 0), err(uapi::Errno::efault));
  EXPECT_EQ(call("statfs", user_string("/tmp"), user_address(&s) + 1), err(uapi::Errno::efault));
  EXPECT_EQ(call("fstatfs", 3, 0x10), err(uapi::Errno::efault));
  EXPECT_EQ(call("fstatfs", 77, user_address(&s)), err(uapi::Errno::ebadf));
  EXPECT_EQ(call("close", 3), 0);
  EXPECT_EQ(call("unlink", user_string("/tmp/f")), 0);
  EXPECT_EQ(call("statfs", user_string("/tmp"), user_address(&s)), 0);
  EXPECT_EQ(s.f_bfree, 256u);
}

// The syslog text on its own, over a small ring: a level and a time before every line, long
// messages continued across records, an open line closed, and READ_ALL keeping the newest whole
// messages that fit.
TEST(SyslogTextTest, LinesGetLinuxsPrefixAndTheNewestMessagesFit) {
  namespace log = ferrite::log;
  std::array<log::Slot, 16> slots{};
  log::Ring ring{slots};
  ring.append(log::Level::info, 1'500'000'000, "booted\n");
  ring.append(log::Level::warn, 12'000'001'000, "two ");
  ring.append(log::Level::warn, 12'000'001'000, "parts\nand a second line\n",
              /*continuation=*/true);
  ring.append(log::Level::error, 99'000'000, "no newline");
  ring.append(log::Level::debug, 100'000'000'000, "last\n");
  struct StringSink final : ferrite::fmt::Sink {
    std::string text;
    void write(std::string_view t) override { text.append(t); }
  };
  const std::string all =
      "<6>[    1.500000] booted\n"
      "<4>[   12.000001] two parts\n"
      "<4>[   12.000001] and a second line\n"
      "<3>[    0.099000] no newline\n"
      "<7>[  100.000000] last\n";
  StringSink out;
  auto read = ferrite::syscall::read_all(ring, 0, 4096, out);
  EXPECT_EQ(out.text, all);
  EXPECT_EQ(read.bytes, all.size());
  EXPECT_EQ(read.end, 5u);
  // Room for the last two messages and a byte: the two-record message does not fit whole.
  const std::size_t last_two =
      std::string("<3>[    0.099000] no newline\n<7>[  100.000000] last\n").size();
  out.text.clear();
  read = ferrite::syscall::read_all(ring, 0, last_two + 1, out);
  EXPECT_EQ(out.text, all.substr(all.size() - last_two));
  EXPECT_EQ(read.bytes, last_two);
  // Too small for the newest message: nothing (Linux's syslog_print_all).
  out.text.clear();
  EXPECT_EQ(ferrite::syscall::read_all(ring, 0, 10, out).bytes, 0u);
  // From a later sequence number (after a CLEAR).
  out.text.clear();
  EXPECT_EQ(ferrite::syscall::read_all(ring, 4, 4096, out).bytes, 23u);
  EXPECT_EQ(out.text, "<7>[  100.000000] last\n");
  EXPECT_EQ(ferrite::syscall::syslog_level(log::Level::warn), 4);
}

// syslog(2) through the call: the kernel's own log, Linux's checks and actions.
TEST_F(SyscallTest, SyslogReadsTheKernelLogAsDmesgWantsIt) {
  constexpr std::uint64_t kReadAll = 3, kReadClear = 4, kClear = 5, kConsoleLevel = 8,
                          kSizeBuffer = 10;
  ferrite::log::info("syslog test: {} lines", 2);
  const std::int64_t size = call("syslog", kSizeBuffer);
  EXPECT_EQ(size, static_cast<std::int64_t>(ferrite::log::ring().capacity() *
                                            (ferrite::log::kSlotText + 32)));
  std::vector<char> buffer(static_cast<std::size_t>(size));
  testing_::map_user(buffer.data(), buffer.size());
  const std::uint64_t b = user_address(buffer.data());
  const std::int64_t got = call("syslog", kReadAll, b, buffer.size());
  ASSERT_GT(got, 0);
  const std::string text(buffer.data(), static_cast<std::size_t>(got));
  EXPECT_TRUE(text.ends_with("] syslog test: 2 lines\n")) << text;
  const std::size_t line = text.rfind("<6>[");
  ASSERT_NE(line, std::string::npos) << text;
  EXPECT_TRUE(line == 0 || text[line - 1] == '\n') << text;
  EXPECT_EQ(text[line + 16], ']') << text;  // "<6>[sssss.uuuuuu] "
  EXPECT_EQ(text[line + 9], '.') << text;
  // A buffer of one line's length gets just the newest line.
  const std::size_t last = text.size() - line;
  EXPECT_EQ(call("syslog", kReadAll, b, last), static_cast<std::int64_t>(last));
  EXPECT_EQ(std::string(buffer.data(), last), text.substr(line));
  // Linux's checks: NULL or negative length EINVAL, 0 bytes 0, memory that is not the
  // program's EFAULT.
  EXPECT_EQ(call("syslog", kReadAll, 0, 100), err(uapi::Errno::einval));
  EXPECT_EQ(call("syslog", kReadAll, b, 0xFFFF'FFFF), err(uapi::Errno::einval));  // int -1
  EXPECT_EQ(call("syslog", kReadAll, b, 0), 0);
  EXPECT_EQ(call("syslog", kReadAll, 0x10, 100), err(uapi::Errno::efault));
  EXPECT_EQ(call("syslog", kReadAll, 0xFFFF'8000'0000'0000, 100), err(uapi::Errno::efault));
  char small[8];
  EXPECT_EQ(call("syslog", kReadAll, user(small), 100), err(uapi::Errno::efault));  // 8 mapped
  // CLEAR: READ_ALL starts after what the log held; READ_CLEAR reads, then clears.
  EXPECT_EQ(call("syslog", kClear), 0);
  EXPECT_EQ(call("syslog", kReadAll, b, buffer.size()), 0);
  ferrite::log::warn("after the clear");
  const std::int64_t cleared = call("syslog", kReadClear, b, buffer.size());
  ASSERT_GT(cleared, 0);
  const std::string read(buffer.data(), static_cast<std::size_t>(cleared));
  EXPECT_TRUE(read.starts_with("<4>[") && read.ends_with("] after the clear\n")) << read;
  EXPECT_EQ(std::count(read.begin(), read.end(), '\n'), 1) << read;
  EXPECT_EQ(call("syslog", kReadAll, b, buffer.size()), 0);
  // The console's level (dmesg -n): Linux's 1-8 (levels below it are shown) as ferrite's;
  // CONSOLE_OFF keeps the level for CONSOLE_ON. Unknown actions and READ are EINVAL.
  using ferrite::log::Level;
  EXPECT_EQ(call("syslog", kConsoleLevel, 0, 9), err(uapi::Errno::einval));
  EXPECT_EQ(call("syslog", kConsoleLevel, 0, 0), err(uapi::Errno::einval));
  EXPECT_EQ(call("syslog", kConsoleLevel, 0, 8), 0);
  EXPECT_EQ(testing_::machine().console_level, Level::debug);
  EXPECT_EQ(call("syslog", kConsoleLevel, 0, 5), 0);  // KERN_WARNING (4) and more important
  EXPECT_EQ(testing_::machine().console_level, Level::warn);
  EXPECT_EQ(call("syslog", 6 /* CONSOLE_OFF */), 0);
  EXPECT_EQ(testing_::machine().console_level, Level::error);
  EXPECT_EQ(call("syslog", 6), 0);  // twice: the level kept is still the first one
  EXPECT_EQ(call("syslog", 7 /* CONSOLE_ON */), 0);
  EXPECT_EQ(testing_::machine().console_level, Level::warn);
  EXPECT_EQ(call("syslog", kConsoleLevel, 0, 7), 0);
  EXPECT_EQ(testing_::machine().console_level, Level::info);
  EXPECT_EQ(call("syslog", 2, b, 10), err(uapi::Errno::einval));
  EXPECT_EQ(call("syslog", 11), err(uapi::Errno::einval));
  EXPECT_EQ(call("syslog", 0), 0);
  EXPECT_EQ(call("syslog", 1), 0);
}

// execve of a "#!" script: refused without an execute bit (EACCES, even for root), run through
// its interpreter with it (argv as binfmt_script builds it); chmod decides which.
TEST_F(SyscallTest, ExecveRunsAScriptThroughItsInterpreterOnceExecutable) {
  const auto script = [&](const char* path, std::string text, std::uint64_t mode) {
    const std::uint64_t create = uapi::kOpenCreate | uapi::kOpenWriteOnly | uapi::kOpenTruncate;
    const std::int64_t fd = call("open", user_string(path), create, mode);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(call("write", static_cast<std::uint64_t>(fd), user_string(text), text.size()),
              static_cast<std::int64_t>(text.size()));
    EXPECT_EQ(call("close", static_cast<std::uint64_t>(fd)), 0);
  };
  const std::uint64_t argv[] = {user_string("s"), user_string("one"), 0};
  testing_::map_user(argv, sizeof(argv));
  const auto execve = [&](const char* path) {
    testing_::last_exec().reset();
    return call("execve", user_string(path), user_address(argv), 0);
  };
  script("/tmp/s", "#!/bin/tool  -x  y \t\necho hi\n", 0644);
  EXPECT_EQ(execve("/tmp/s"), err(uapi::Errno::eacces));
  EXPECT_FALSE(testing_::last_exec().has_value());
  EXPECT_EQ(call("chmod", user_string("/tmp/s"), 0755), 0);
  EXPECT_EQ(execve("/tmp/s"), err(uapi::Errno::enosys));  // the fake's answer: it was run
  ASSERT_TRUE(testing_::last_exec().has_value());
  EXPECT_EQ(testing_::last_exec()->path, "/tmp/s");
  EXPECT_EQ(testing_::last_exec()->file, "\x7F" "ELF");  // /bin/tool's bytes
  EXPECT_EQ(testing_::last_exec()->argv,
            (std::vector<std::string>{"/bin/tool", "-x  y", "/tmp/s", "one"}));
  // The interpreter through a symlink, no argument; a script run by a relative name.
  script("/tmp/t", "#!/bin/sh\n", 0700);
  EXPECT_EQ(call("chdir", user_string("/tmp")), 0);
  EXPECT_EQ(execve("t"), err(uapi::Errno::enosys));
  ASSERT_TRUE(testing_::last_exec().has_value());
  EXPECT_EQ(testing_::last_exec()->argv, (std::vector<std::string>{"/bin/sh", "t", "one"}));
  // A script's interpreter may be a script, up to a depth; then ELOOP.
  script("/tmp/u", "#!/tmp/t -u\n", 0700);
  EXPECT_EQ(execve("/tmp/u"), err(uapi::Errno::enosys));
  ASSERT_TRUE(testing_::last_exec().has_value());
  EXPECT_EQ(testing_::last_exec()->argv,
            (std::vector<std::string>{"/bin/sh", "/tmp/t", "-u", "/tmp/u", "one"}));
  script("/tmp/loop", "#!/tmp/loop\n", 0700);
  EXPECT_EQ(execve("/tmp/loop"), err(uapi::Errno::eloop));
  // The interpreter missing, not executable, a directory; no interpreter named.
  script("/tmp/s", "#!/bin/none\n", 0755);
  EXPECT_EQ(execve("/tmp/s"), err(uapi::Errno::enoent));
  script("/tmp/s", "#!/etc/motd\n", 0755);
  EXPECT_EQ(execve("/tmp/s"), err(uapi::Errno::eacces));
  script("/tmp/s", "#!/etc\n", 0755);
  EXPECT_EQ(execve("/tmp/s"), err(uapi::Errno::eacces));
  script("/tmp/s", "#!  \nx\n", 0755);
  EXPECT_EQ(execve("/tmp/s"), err(uapi::Errno::enoexec));
  EXPECT_FALSE(testing_::last_exec().has_value());
}

// An execve reads its file's bytes across sleeps (copying the arguments, mapping the new image):
// meanwhile the file is held (an unlink does not free it) and closed to writers — open for
// writing and truncate get ETXTBSY, as on Linux — and an execve of a file open for writing gets
// ETXTBSY itself. Before, another process's rm or cp freed the bytes under the execve.
TEST_F(SyscallTest, ExecveKeepsItsFileWholeAndWritersOut) {
  const std::uint64_t create = uapi::kOpenCreate | uapi::kOpenWriteOnly | uapi::kOpenTruncate;
  const std::string program = std::string("\x7F" "ELF") + std::string(300000, 'p');  // a large block
  std::int64_t fd = call("open", user_string("/tmp/p"), create, 0755);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(call("write", static_cast<std::uint64_t>(fd), user_string(program), program.size()),
            static_cast<std::int64_t>(program.size()));
  const std::uint64_t argv[] = {user_string("p"), 0};
  testing_::map_user(argv, sizeof(argv));
  const auto execve = [&] {
    testing_::last_exec().reset();
    return call("execve", user_string("/tmp/p"), user_address(argv), 0);
  };
  EXPECT_EQ(execve(), err(uapi::Errno::etxtbsy));  // still open for writing
  EXPECT_FALSE(testing_::last_exec().has_value());
  EXPECT_EQ(call("close", static_cast<std::uint64_t>(fd)), 0);
  std::vector<std::int64_t> during;
  testing_::during_exec() = [&] {
    during.push_back(call("open", user_string("/tmp/p"), uapi::kOpenWriteOnly, 0));
    during.push_back(call("open", user_string("/tmp/p"), uapi::kOpenReadOnly | uapi::kOpenTruncate, 0));
    during.push_back(call("truncate", user_string("/tmp/p"), 0));
    during.push_back(call("unlink", user_string("/tmp/p")));
    during.push_back(call("open", user_string("/tmp/p"), create, 0755));  // a new file
  };
  EXPECT_EQ(execve(), err(uapi::Errno::enosys));  // the fake's answer: it was run
  testing_::during_exec() = nullptr;
  ASSERT_EQ(during.size(), 5u);
  EXPECT_EQ(during[0], err(uapi::Errno::etxtbsy));
  EXPECT_EQ(during[1], err(uapi::Errno::etxtbsy));
  EXPECT_EQ(during[2], err(uapi::Errno::etxtbsy));
  EXPECT_EQ(during[3], 0);
  EXPECT_GE(during[4], 0);
  ASSERT_TRUE(testing_::last_exec().has_value());
  EXPECT_EQ(testing_::last_exec()->file, program);  // read whole, after the unlink
  // The execve done, the new file takes writers again.
  EXPECT_EQ(call("close", static_cast<std::uint64_t>(during[4])), 0);
  fd = call("open", user_string("/tmp/p"), uapi::kOpenWriteOnly, 0);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(call("close", static_cast<std::uint64_t>(fd)), 0);
}

TEST(ScriptLineTest, TheInterpreterLineAsBinfmtScriptReadsIt) {
  using ferrite::exec::interpreter_line;
  EXPECT_FALSE(interpreter_line("\x7F" "ELF").has_value());
  EXPECT_FALSE(interpreter_line("# !/bin/sh\n").has_value());
  EXPECT_FALSE(interpreter_line("").has_value());
  auto line = interpreter_line("#!/bin/sh");
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->interpreter, "/bin/sh");
  EXPECT_EQ(line->argument, "");
  line = interpreter_line("#! \t/usr/bin/env  python3 -u \r\nprint()\n");
  EXPECT_EQ(line->interpreter, "/usr/bin/env");
  EXPECT_EQ(line->argument, "python3 -u \r");  // only spaces and tabs are trimmed
  line = interpreter_line(std::string_view("#!/bin/sh\0-x\n", 13));
  EXPECT_EQ(line->interpreter, "/bin/sh");
  EXPECT_EQ(line->argument, "");
  EXPECT_EQ(interpreter_line("#!\n")->interpreter, "");
  // Only 256 bytes are read: a name that runs past them is refused, an argument is cut.
  const std::string long_name = "#!/" + std::string(300, 'a') + "\n";
  EXPECT_EQ(interpreter_line(long_name)->interpreter, "");
  const std::string long_argument = "#!/bin/sh " + std::string(300, 'b') + "\n";
  line = interpreter_line(long_argument);
  EXPECT_EQ(line->interpreter, "/bin/sh");
  EXPECT_EQ(line->argument.size(), 256u - 10u);
}

// Seeded random system calls with hostile arguments: NULL, small numbers, -1, addresses in the
// kernel half or one past a user buffer, lengths that overflow. Each call returns a value or a
// Linux errno (-1..-4095), and writes no byte of the guard areas around the one user buffer.
TEST_F(SyscallTest, RandomHostileArgumentsGiveAnErrnoAndWriteNoGuardByte) {
  // Calls that end the process, block or replace it are left out: the fake cannot host them.
  const std::vector<std::string_view> skipped = {
      "exit", "exit_group", "pause", "rt_sigsuspend", "rt_sigreturn", "execve",
      "fork", "vfork",      "clone", "wait4",         "waitid",       "reboot"};
  std::vector<std::uint64_t> numbers;
  for (std::uint64_t n = 0; n < uapi::kSyscallCount; ++n) {
    const std::string_view name = uapi::kSyscallNames[n];
    if (!name.empty() && std::find(skipped.begin(), skipped.end(), name) == skipped.end()) {
      numbers.push_back(n);
    }
  }
  constexpr std::size_t kGuard = 256, kBuffer = 4096;
  constexpr std::uint8_t kPattern = 0xA5;
  std::vector<std::uint8_t> memory(kGuard + kBuffer + kGuard, kPattern);
  std::uint8_t* const buffer = memory.data() + kGuard;
  testing_::map_user(buffer, kBuffer);
  const std::uint64_t base = user_address(buffer);
  const std::uint64_t paths[] = {user_string("/etc/motd"), user_string("/tmp/x"), user_string("/"),
                                 user_string("bin/sh"), user_string("")};
  const std::uint64_t plain[] = {0,
                                 1,
                                 2,
                                 3,
                                 7,
                                 64,
                                 4096,
                                 0x7FFF'FFFF,
                                 0xFFFF'FFFF,
                                 ~0ull,
                                 ~0ull - 4095,
                                 1ull << 63,
                                 0x0000'8000'0000'0000,
                                 0xFFFF'8000'0000'0000,
                                 0x7FFF'FFFF'F000};
  // A call that would wait (select with no timeout, nanosleep, ...) is interrupted at once.
  testing_::machine().interrupt_sleeps = true;
  std::size_t errors = 0, calls = 0;
  ferrite::testing::fuzz(
      "SyscallFuzz", 20261130, 20000, [&](ferrite::testing::Mutator& random, std::uint64_t) {
        const auto argument = [&]() -> std::uint64_t {
          switch (random.below(5)) {
            case 0:
              return plain[random.below(std::size(plain))];
            case 1: {  // somewhere in, or just past, the user buffer
              const std::uint64_t offsets[] = {0,           1,       8,          kBuffer - 8,
                                               kBuffer - 1, kBuffer, kBuffer + 1};
              return base + offsets[random.below(std::size(offsets))];
            }
            case 2:
              return paths[random.below(std::size(paths))];
            case 3: {  // a length that reaches the buffer's end, or one past it
              const std::uint64_t lengths[] = {kBuffer, kBuffer + 1, kBuffer / 2, 16, 0};
              return lengths[random.below(std::size(lengths))];
            }
            default:
              return random.below(64);  // descriptors, flags, small counts
          }
        };
        Arguments arguments{numbers[random.below(numbers.size())], {}};
        for (std::uint64_t& a : arguments.arg) a = argument();
        std::int64_t result = 0;
        try {
          result = ferrite::syscall::dispatch(process_, arguments);
        } catch (const testing_::ExitCalled&) {
          return;  // a fatal signal sent to itself (kill, tgkill): the process would end here
        }
        ++calls;
        const std::string_view name = uapi::kSyscallNames[arguments.number];
        if (result < 0) {
          ++errors;
          EXPECT_GE(result, -4095) << name << " returned " << result;
        }
        for (std::size_t i = 0; i < kGuard; ++i) {
          ASSERT_EQ(memory[i], kPattern) << name << " wrote below the user buffer";
          ASSERT_EQ(memory[kGuard + kBuffer + i], kPattern)
              << name << " wrote past the user buffer";
        }
      });
  std::printf("[ fuzz ] system calls: %zu calls, %zu errors\n", calls, errors);
}

// Chapter 15, interval timers: ITIMER_REAL set, read back and replaced; alarm's answer; Linux's
// argument checks (EINVAL for the other timers, a bad `which` or timeval; EFAULT for pointers).
TEST_F(SyscallTest, SetitimerGetitimerAndAlarm) {
  const std::uint64_t now = testing_::machine().monotonic_ns;
  uapi::Itimerval value{{0, 250'000}, {1, 500'000}}, old{}, read{};
  EXPECT_EQ(call("setitimer", uapi::kItimerReal, user(value), user(old)), 0);
  EXPECT_EQ(old.it_value.tv_sec, 0);  // nothing armed before
  EXPECT_EQ(old.it_value.tv_usec, 0);
  EXPECT_EQ(process_.real_timer.expires_ns, now + 1'500'000'000);
  EXPECT_EQ(process_.real_timer.interval_ns, 250'000'000u);
  testing_::machine().monotonic_ns = now + 1'000'000'000;
  EXPECT_EQ(call("getitimer", uapi::kItimerReal, user(read)), 0);
  EXPECT_EQ(read.it_value.tv_sec, 0);
  EXPECT_EQ(read.it_value.tv_usec, 500'000);
  EXPECT_EQ(read.it_interval.tv_usec, 250'000);
  // alarm replaces it and answers the old one's seconds, rounded (0.5 s -> 1); alarm(0) cancels.
  EXPECT_EQ(call("alarm", 3), 1);
  EXPECT_EQ(process_.real_timer.interval_ns, 0u);
  testing_::machine().monotonic_ns = now + 2'600'000'000;
  EXPECT_EQ(call("alarm", 0), 1);  // 1.4 s left
  EXPECT_FALSE(process_.real_timer.armed());
  EXPECT_EQ(call("alarm", 0), 0);
  // The upper 32 bits of alarm's argument are not part of the unsigned int.
  EXPECT_EQ(call("alarm", (std::uint64_t{1} << 32) | 2), 0);
  EXPECT_EQ(process_.real_timer.expires_ns, now + 4'600'000'000);
  // A NULL new value disarms, and the old value still comes back.
  EXPECT_EQ(call("setitimer", uapi::kItimerReal, 0, user_address(&old)), 0);
  EXPECT_EQ(old.it_value.tv_sec, 2);
  EXPECT_FALSE(process_.real_timer.armed());
}

TEST_F(SyscallTest, IntervalTimerArgumentsFollowLinux) {
  uapi::Itimerval value{{0, 0}, {1, 0}}, out{};
  const std::uint64_t good = user(value), outp = user(out);
  EXPECT_EQ(call("setitimer", uapi::kItimerVirtual, good, 0), err(uapi::Errno::einval));
  EXPECT_EQ(call("setitimer", uapi::kItimerProf, good, 0), err(uapi::Errno::einval));
  EXPECT_EQ(call("setitimer", 3, good, 0), err(uapi::Errno::einval));
  EXPECT_EQ(call("setitimer", ~std::uint64_t{0}, good, 0), err(uapi::Errno::einval));
  EXPECT_EQ(call("getitimer", 7, outp), err(uapi::Errno::einval));
  EXPECT_EQ(call("getitimer", uapi::kItimerProf, outp), err(uapi::Errno::einval));
  EXPECT_FALSE(process_.real_timer.armed());
  // The new value is read before `which` is looked at: a bad pointer is EFAULT even then.
  EXPECT_EQ(call("setitimer", 3, 0x1000, 0), err(uapi::Errno::efault));
  EXPECT_EQ(call("setitimer", uapi::kItimerReal, 0x1000, 0), err(uapi::Errno::efault));
  EXPECT_EQ(call("getitimer", uapi::kItimerReal, 0x1000), err(uapi::Errno::efault));
  EXPECT_EQ(call("getitimer", uapi::kItimerReal, 0), err(uapi::Errno::efault));
  // tv_usec outside 0..999999, or a negative time: EINVAL, nothing armed.
  value.it_value = {0, 1'000'000};
  EXPECT_EQ(call("setitimer", uapi::kItimerReal, good, 0), err(uapi::Errno::einval));
  value.it_value = {1, 0};
  value.it_interval = {0, -1};
  EXPECT_EQ(call("setitimer", uapi::kItimerReal, good, 0), err(uapi::Errno::einval));
  value.it_interval = {-1, 0};
  EXPECT_EQ(call("setitimer", uapi::kItimerReal, good, 0), err(uapi::Errno::einval));
  EXPECT_FALSE(process_.real_timer.armed());
  // A bad old pointer: EFAULT, and the new timer is set anyway (Linux writes it last).
  value.it_interval = {0, 0};
  EXPECT_EQ(call("setitimer", uapi::kItimerReal, good, 0x1000), err(uapi::Errno::efault));
  EXPECT_TRUE(process_.real_timer.armed());
}

// execve copies its arguments under Linux's limits (exec/initial_stack.h), in pieces: 3,000
// of them (busybox sh's `/bin/echo $(seq 1 3000)`), exactly 2 MiB of strings and pointers, a
// string of 128 KiB with its NUL — and E2BIG one byte past each, EFAULT for a bad pointer.
TEST_F(SyscallTest, ExecveTakesArgumentsUpToLinuxsLimits) {
  std::vector<std::uint64_t> argv;
  const auto execve = [&](std::uint64_t envp = 0) {
    argv.push_back(0);
    testing_::map_user(argv.data(), argv.size() * 8);
    testing_::last_exec().reset();
    return call("execve", user_string("/bin/tool"), user_address(argv.data()), envp);
  };
  argv.push_back(user_string("/bin/echo"));
  for (int i = 1; i <= 3000; ++i) argv.push_back(user_string(std::to_string(i)));
  EXPECT_EQ(execve(), err(uapi::Errno::enosys));  // the fake's answer: it was run
  ASSERT_TRUE(testing_::last_exec().has_value());
  ASSERT_EQ(testing_::last_exec()->argv.size(), 3001u);
  EXPECT_EQ(testing_::last_exec()->argv[3000], "3000");
  EXPECT_EQ(testing_::last_exec()->argv[1234], "1234");

  // 16 strings of 131,063 characters: with NUL and pointer, exactly 2 MiB.
  argv.clear();
  const std::uint64_t long_one = user_string(std::string(128 * 1024 - 9, 'a'));
  for (int i = 0; i < 16; ++i) argv.push_back(long_one);
  EXPECT_EQ(execve(), err(uapi::Errno::enosys));
  ASSERT_TRUE(testing_::last_exec().has_value());
  EXPECT_EQ(testing_::last_exec()->argv.size(), 16u);
  EXPECT_EQ(testing_::last_exec()->argv[15].size(), 128u * 1024 - 9);
  std::uint64_t envp[] = {user_string(""), 0};  // one more string, even empty: over
  argv.pop_back();
  EXPECT_EQ(execve(user(envp)), err(uapi::Errno::e2big));
  EXPECT_FALSE(testing_::last_exec().has_value());

  // One string of 128 KiB with its NUL; one character more is E2BIG.
  argv.clear();
  argv.push_back(user_string(std::string(128 * 1024 - 1, 'b')));
  EXPECT_EQ(execve(), err(uapi::Errno::enosys));
  argv.clear();
  argv.push_back(user_string(std::string(128 * 1024, 'b')));
  EXPECT_EQ(execve(), err(uapi::Errno::e2big));

  // A bad string pointer, or a bad array, is EFAULT.
  argv.clear();
  argv.push_back(user_string("/bin/echo"));
  argv.push_back(0x1000);
  EXPECT_EQ(execve(), err(uapi::Errno::efault));
  EXPECT_EQ(call("execve", user_string("/bin/tool"), 0x1000, 0), err(uapi::Errno::efault));
}
