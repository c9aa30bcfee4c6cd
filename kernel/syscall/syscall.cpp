// The system-call table and dispatch (chapter 14), like Linux's sys_call_table: one array
// indexed by the Linux x86_64 number, each entry a typed handler. The table is written by name
// below; each name's number is looked up in abi/syscall_names.h at compile time, so a misspelt
// name does not compile and no number is written twice. A number without a handler returns
// -ENOSYS, and its first use is logged with its name: the next call a program needs is obvious.
#include "syscall/syscall.h"

#include <array>
#include <atomic>
#include <string_view>

#include "abi/syscall_names.h"
#include "fs/initramfs.h"
#include "lib/log.h"
#include "syscall/handlers.h"

namespace ferrite::syscall {

namespace {

struct Entry {
  std::string_view name;
  Handler handler;
};

// clang-format off
constexpr Entry kEntries[] = {
    // files and directories
    {"read", sys_read}, {"write", sys_write}, {"readv", sys_readv}, {"writev", sys_writev},
    {"pread64", sys_pread64}, {"open", sys_open}, {"openat", sys_openat}, {"close", sys_close},
    {"lseek", sys_lseek}, {"stat", sys_stat}, {"fstat", sys_fstat}, {"lstat", sys_lstat},
    {"newfstatat", sys_newfstatat}, {"statx", sys_statx}, {"getdents64", sys_getdents64},
    {"readlink", sys_readlink}, {"readlinkat", sys_readlinkat}, {"access", sys_access},
    {"faccessat", sys_faccessat}, {"faccessat2", sys_faccessat2}, {"getcwd", sys_getcwd},
    {"utimensat", sys_utimensat},
    {"chdir", sys_chdir}, {"fchdir", sys_fchdir}, {"ioctl", sys_ioctl},
    {"sendfile", sys_sendfile}, {"fcntl", sys_fcntl}, {"dup", sys_dup}, {"dup2", sys_dup2},
    {"dup3", sys_dup3},
    // tmpfs (/tmp)
    {"creat", sys_creat}, {"mkdir", sys_mkdir}, {"mkdirat", sys_mkdirat},
    {"unlink", sys_unlink}, {"unlinkat", sys_unlinkat}, {"rmdir", sys_rmdir},
    {"rename", sys_rename}, {"renameat", sys_renameat}, {"renameat2", sys_renameat2},
    {"truncate", sys_truncate}, {"ftruncate", sys_ftruncate}, {"pwrite64", sys_pwrite64},
    {"chmod", sys_chmod}, {"fchmod", sys_fchmod}, {"fchmodat", sys_fchmodat},
    {"chown", sys_chown}, {"fchown", sys_fchown}, {"lchown", sys_lchown},
    {"fchownat", sys_fchownat}, {"statfs", sys_statfs}, {"fstatfs", sys_fstatfs},
    {"symlink", sys_symlink}, {"symlinkat", sys_symlinkat}, {"link", sys_link},
    {"linkat", sys_linkat}, {"mknod", sys_mknod}, {"mknodat", sys_mknodat},
    // chapter 15 (files): pipes
    {"pipe", sys_pipe}, {"pipe2", sys_pipe2}, {"poll", sys_poll}, {"ppoll", sys_ppoll},
    {"select", sys_select}, {"pselect6", sys_pselect6},
    // memory
    {"brk", sys_brk}, {"mmap", sys_mmap}, {"munmap", sys_munmap}, {"mprotect", sys_mprotect},
    {"mremap", sys_mremap},
    // the process
    {"exit", sys_exit}, {"exit_group", sys_exit}, {"getpid", sys_getpid},
    {"getppid", sys_getppid}, {"gettid", sys_gettid}, {"getuid", sys_getuid},
    {"geteuid", sys_getuid}, {"getgid", sys_getuid}, {"getegid", sys_getuid},
    {"getpgid", sys_getpgid}, {"getpgrp", sys_getpgrp}, {"getgroups", sys_getgroups},
    {"umask", sys_umask},
    // procs (chapter 15)
    {"getsid", sys_getsid}, {"setpgid", sys_setpgid}, {"setsid", sys_setsid},
    {"fork", sys_fork}, {"vfork", sys_vfork}, {"clone", sys_clone}, {"execve", sys_execve},
    {"wait4", sys_wait4}, {"waitid", sys_waitid}, {"times", sys_times},
    {"getrusage", sys_getrusage},
    {"arch_prctl", sys_arch_prctl}, {"set_tid_address", sys_set_tid_address},
    {"set_robust_list", sys_set_robust_list}, {"rt_sigaction", sys_rt_sigaction},
    {"rt_sigprocmask", sys_rt_sigprocmask}, {"prlimit64", sys_prlimit64},
    // signals (signal.cpp)
    {"rt_sigpending", sys_rt_sigpending}, {"rt_sigreturn", sys_rt_sigreturn}, {"kill", sys_kill},
    {"tgkill", sys_tgkill}, {"tkill", sys_tkill}, {"pause", sys_pause},
    {"rt_sigsuspend", sys_rt_sigsuspend}, {"sigaltstack", sys_sigaltstack},
    // time, randomness, the system
    {"uname", sys_uname}, {"clock_gettime", sys_clock_gettime},
    {"clock_getres", sys_clock_getres}, {"gettimeofday", sys_gettimeofday}, {"time", sys_time},
    {"nanosleep", sys_nanosleep}, {"clock_nanosleep", sys_clock_nanosleep},
    {"setitimer", sys_setitimer}, {"getitimer", sys_getitimer}, {"alarm", sys_alarm},
    {"sched_yield", sys_sched_yield}, {"getrandom", sys_getrandom}, {"sysinfo", sys_sysinfo},
    {"reboot", sys_reboot}, {"sync", sys_sync}, {"syslog", sys_syslog},
    // Answered without being implemented, because the C libraries cope: glibc registers rseq
    // and carries on without it on ENOSYS (quietly: every glibc program asks); prctl's options
    // are refused with EINVAL, as Linux does for an option it does not know.
    {"rseq", sys_enosys_quiet}, {"prctl", sys_einval},
};
// clang-format on

constexpr std::size_t number_of(std::string_view name) {
  for (std::size_t number = 0; number < abi::kSyscallCount; ++number) {
    if (abi::kSyscallNames[number] == name) return number;
  }
  return abi::kSyscallCount;  // not a Linux call: indexing the table with it will not compile
}


// One bit per number already reported (atomic: two processes may hit the same call at once).
// Numbers past the table share the last bit.
constexpr std::size_t kReportBits = 512;
static_assert(abi::kSyscallCount < kReportBits);
constinit std::array<std::atomic<std::uint64_t>, kReportBits / 64> reported{};

void report_missing(const proc::Process& process, std::uint64_t number) {
  const std::size_t bit = number < kReportBits - 1 ? number : kReportBits - 1;
  const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
  if ((reported[bit / 64].fetch_or(mask, std::memory_order_relaxed) & mask) != 0) return;
  const std::string_view name = number < abi::kSyscallCount && !abi::kSyscallNames[number].empty()
                                    ? abi::kSyscallNames[number]
                                    : std::string_view("?");
  log::warn("syscall: {} ({}) is not implemented: ENOSYS to {} (pid {})", name, number,
            process.name_view(), process.pid);
}

// The handler of every number without one (and of the numbers past the table): -ENOSYS, and the
// first use of each number logged. Off the fast path: no test for "is there a handler?".
Result sys_missing(proc::Process& process, const Arguments& args) {
  report_missing(process, args.number);
  return std::unexpected(abi::Errno::enosys);
}

constexpr std::array<Handler, abi::kSyscallCount> kTable = [] {
  std::array<Handler, abi::kSyscallCount> table{};
  for (Handler& handler : table) handler = sys_missing;
  for (const Entry& entry : kEntries) table[number_of(entry.name)] = entry.handler;
  return table;
}();

}  // namespace

std::int64_t dispatch(proc::Process& process, const Arguments& args) {
  // The fast path is Linux's: one bounds check, one indirect call (every slot has a handler,
  // sys_missing for the numbers without one), the result as it is when it succeeded.
  const Handler handler = args.number < kTable.size() ? kTable[args.number] : sys_missing;
  const Result result = handler(process, args);
  if (result) [[likely]] return *result;
  if (result.error() == abi::Errno::eintr) return interrupted_result(process, args.number);
  return abi::negated(result.error());
}

bool attach_files(proc::Process& process) {
  const auto tree = file_tree();
  if (!tree) return false;
  if (process.cwd == nullptr) process.cwd = (*tree)->root();
  const auto console = (*tree)->lookup("/dev/console", (*tree)->root());
  if (!console) return false;
  auto* table = new (std::nothrow) fs::FdTable;
  if (table == nullptr) return false;
  // One open file shared by 0, 1 and 2, as a Linux init gets from the kernel (console_on_rootfs).
  auto file = fs::open(*console, abi::kOpenReadWrite, process.sid);
  if (!file) {
    delete table;
    return false;
  }
  (*file)->references = 3;
  for (int fd = 0; fd < 3; ++fd) (void)table->install(*file);
  process.files = table;
  if (fs::TerminalPort* port = fs::terminal()) take_console_for_session(process, *port);
  return true;
}

void release_files(proc::Process& process) {
  delete process.files;  // closes every descriptor
  process.files = nullptr;
  fs::drop(process.cwd);  // a removed current directory dies with its last holder
  process.cwd = nullptr;
}

// --- Helpers shared by the handlers (handlers.h).

std::expected<std::string_view, abi::Errno> UserPath::read(std::uint64_t address) {
  if (bytes_ == nullptr) return std::unexpected(abi::Errno::enomem);
  const auto length = mm::copy_string_from_user(bytes_->data(), address, kCapacity);
  if (!length) return std::unexpected(length.error());
  return std::string_view(bytes_->data(), *length);
}

std::expected<fs::OpenFile*, abi::Errno> file_of(proc::Process& process, std::uint64_t fd) {
  // The descriptor is an int in the C prototypes: the upper half of the register is ignored.
  const auto number = static_cast<std::int32_t>(fd);
  fs::OpenFile* file = process.files != nullptr ? process.files->get(number) : nullptr;
  if (file == nullptr) return std::unexpected(abi::Errno::ebadf);
  return file;
}

std::expected<fs::Tree*, abi::Errno> file_tree() {
  fs::Tree* tree = fs::initramfs();
  if (tree == nullptr) return std::unexpected(abi::Errno::enoent);
  return tree;
}

std::expected<fs::Node*, abi::Errno> resolve(proc::Process& process, std::int64_t dirfd,
                                             std::string_view path, fs::FollowLast follow) {
  if (path.empty()) return std::unexpected(abi::Errno::enoent);
  const auto tree = file_tree();
  if (!tree) return std::unexpected(tree.error());
  fs::Node* base = process.cwd != nullptr ? process.cwd : (*tree)->root();
  if (path.front() != '/' && static_cast<std::int32_t>(dirfd) != abi::kAtFdcwd) {
    const auto directory = file_of(process, static_cast<std::uint64_t>(dirfd));
    if (!directory) return std::unexpected(directory.error());
    if ((*directory)->kind != fs::FileKind::directory) return std::unexpected(abi::Errno::enotdir);
    base = (*directory)->node;
  }
  return (*tree)->lookup(path, base, follow);
}

std::expected<fs::Node*, abi::Errno> resolve_user_path(proc::Process& process, std::int64_t dirfd,
                                                       std::uint64_t path_address,
                                                       fs::FollowLast follow, EmptyPath empty) {
  UserPath path;
  const auto text = path.read(path_address);
  if (!text) return std::unexpected(text.error());
  if (!text->empty() || empty == EmptyPath::enoent) return resolve(process, dirfd, *text, follow);
  if (static_cast<std::int32_t>(dirfd) == abi::kAtFdcwd) {
    const auto tree = file_tree();
    if (!tree) return std::unexpected(tree.error());
    return process.cwd != nullptr ? process.cwd : (*tree)->root();
  }
  const auto file = file_of(process, static_cast<std::uint64_t>(dirfd));
  if (!file) return std::unexpected(file.error());
  return (*file)->node;
}

std::expected<fs::Node*, abi::Errno> resolve_user_path_at(proc::Process& process,
                                                          std::int64_t dirfd,
                                                          std::uint64_t path_address,
                                                          std::uint64_t at_flags) {
  return resolve_user_path(
      process, dirfd, path_address,
      (at_flags & abi::kAtSymlinkNofollow) != 0 ? fs::FollowLast::no : fs::FollowLast::yes,
      empty_path_from(at_flags));
}

}  // namespace ferrite::syscall
