// Inside the system-call layer (chapter 14): the handler type the table in syscall.cpp holds,
// the handlers grouped by file, and the helpers every handler uses to reach user memory — all of
// it through mm/user_copy.h, so a bad pointer is EFAULT and never a kernel fault.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <new>
#include <string_view>

#include "abi/errno.h"
#include "fs/fd_table.h"
#include "fs/file.h"
#include "fs/tree.h"
#include "mm/address_space.h"
#include "mm/user_copy.h"
#include "proc/process.h"
#include "syscall/syscall.h"

namespace ferrite::syscall {

// What a handler returns: the value for RAX, or the error that becomes -errno.
using Result = std::expected<std::int64_t, abi::Errno>;
using Handler = Result (*)(proc::Process&, const Arguments&);

// Linux caps one read or write at MAX_RW_COUNT (INT_MAX rounded down to a page) bytes.
inline constexpr std::uint64_t kMaxTransfer = 0x7FFFF000;

// access_ok(): [address, address + bytes) lies in the user half without wrapping around. The
// copy helpers check each page as they go; this is the up-front check Linux makes before
// touching anything, so a length that runs past the user half fails at once.
constexpr bool user_range_ok(std::uint64_t address, std::uint64_t bytes) {
  std::uint64_t end = 0;
  return !__builtin_add_overflow(address, bytes, &end) && end <= mm::kUserEnd;
}

template <class T>
std::expected<T, abi::Errno> copy_in(std::uint64_t address) {
  T value{};
  if (auto copied = mm::copy_from_user(&value, address, sizeof(T)); !copied) {
    return std::unexpected(copied.error());
  }
  return value;
}

template <class T>
std::expected<void, abi::Errno> copy_out(std::uint64_t address, const T& value) {
  return mm::copy_to_user(address, &value, sizeof(T));
}

// A path copied in from user memory. The buffer (PATH_MAX, 4096 bytes) comes from the heap:
// the kernel stack a system call runs on is small.
class UserPath {
 public:
  static constexpr std::size_t kCapacity = fs::kMaxPathLength + 1;
  // One object, not new char[]: the kernel has only sized deletes (mm/heap.cpp).
  UserPath() : bytes_(new (std::nothrow) std::array<char, kCapacity>) {}
  ~UserPath() { delete bytes_; }
  UserPath(const UserPath&) = delete;
  UserPath& operator=(const UserPath&) = delete;

  // Copies the string at `address`: EFAULT for a bad pointer (NULL included), ENAMETOOLONG
  // past PATH_MAX. An empty path is allowed here; callers decide (ENOENT, or AT_EMPTY_PATH).
  std::expected<std::string_view, abi::Errno> read(std::uint64_t address);

 private:
  std::array<char, kCapacity>* bytes_;
};

// The descriptor table's file for `fd`, or EBADF.
std::expected<fs::OpenFile*, abi::Errno> file_of(proc::Process& process, std::uint64_t fd);

// The initramfs tree (ENOENT when the kernel booted without one).
std::expected<fs::Tree*, abi::Errno> file_tree();

// Resolves `path` as the *at() calls do: absolute, or relative to the directory open as
// `dirfd` (AT_FDCWD: the current directory). An empty path is ENOENT.
std::expected<fs::Node*, abi::Errno> resolve(proc::Process& process, std::int64_t dirfd,
                                             std::string_view path, fs::FollowLast follow);
// What an empty path means: ENOENT, or, for a call given AT_EMPTY_PATH, the file open as `dirfd`
// itself (AT_FDCWD: the current directory), as in Linux's path walk with LOOKUP_EMPTY.
enum class EmptyPath : bool { enoent, names_dirfd };
constexpr EmptyPath empty_path_from(std::uint64_t at_flags) {
  return (at_flags & abi::kAtEmptyPath) != 0 ? EmptyPath::names_dirfd : EmptyPath::enoent;
}
// The same for a path still in user memory at `path_address` (EFAULT, ENAMETOOLONG first).
std::expected<fs::Node*, abi::Errno> resolve_user_path(proc::Process& process, std::int64_t dirfd,
                                                       std::uint64_t path_address,
                                                       fs::FollowLast follow,
                                                       EmptyPath empty = EmptyPath::enoent);
// The node a call with *at() flags names: a symbolic link itself with AT_SYMLINK_NOFOLLOW, and
// with AT_EMPTY_PATH as EmptyPath says (the caller has refused the flags it does not take).
std::expected<fs::Node*, abi::Errno> resolve_user_path_at(proc::Process& process,
                                                          std::int64_t dirfd,
                                                          std::uint64_t path_address,
                                                          std::uint64_t at_flags);

// --- The handlers, one per system call, in the file named after their kind.
// files.cpp
Result sys_read(proc::Process&, const Arguments&);
Result sys_write(proc::Process&, const Arguments&);
Result sys_readv(proc::Process&, const Arguments&);
Result sys_writev(proc::Process&, const Arguments&);
Result sys_pread64(proc::Process&, const Arguments&);
Result sys_open(proc::Process&, const Arguments&);
Result sys_openat(proc::Process&, const Arguments&);
Result sys_creat(proc::Process&, const Arguments&);
Result sys_mkdir(proc::Process&, const Arguments&);
Result sys_mkdirat(proc::Process&, const Arguments&);
Result sys_unlink(proc::Process&, const Arguments&);
Result sys_unlinkat(proc::Process&, const Arguments&);
Result sys_rmdir(proc::Process&, const Arguments&);
Result sys_rename(proc::Process&, const Arguments&);
Result sys_renameat(proc::Process&, const Arguments&);
Result sys_renameat2(proc::Process&, const Arguments&);
Result sys_truncate(proc::Process&, const Arguments&);
Result sys_ftruncate(proc::Process&, const Arguments&);
Result sys_pwrite64(proc::Process&, const Arguments&);
Result sys_symlink(proc::Process&, const Arguments&);
Result sys_symlinkat(proc::Process&, const Arguments&);
Result sys_link(proc::Process&, const Arguments&);
Result sys_linkat(proc::Process&, const Arguments&);
Result sys_mknod(proc::Process&, const Arguments&);
Result sys_mknodat(proc::Process&, const Arguments&);
Result sys_close(proc::Process&, const Arguments&);
Result sys_lseek(proc::Process&, const Arguments&);
Result sys_stat(proc::Process&, const Arguments&);
Result sys_fstat(proc::Process&, const Arguments&);
Result sys_lstat(proc::Process&, const Arguments&);
Result sys_newfstatat(proc::Process&, const Arguments&);
Result sys_statx(proc::Process&, const Arguments&);
Result sys_getdents64(proc::Process&, const Arguments&);
Result sys_readlink(proc::Process&, const Arguments&);
Result sys_readlinkat(proc::Process&, const Arguments&);
Result sys_access(proc::Process&, const Arguments&);
Result sys_faccessat(proc::Process&, const Arguments&);
Result sys_faccessat2(proc::Process&, const Arguments&);
Result sys_utimensat(proc::Process&, const Arguments&);
Result sys_getcwd(proc::Process&, const Arguments&);
Result sys_chdir(proc::Process&, const Arguments&);
Result sys_fchdir(proc::Process&, const Arguments&);
Result sys_ioctl(proc::Process&, const Arguments&);
Result sys_sendfile(proc::Process&, const Arguments&);
Result sys_fcntl(proc::Process&, const Arguments&);
Result sys_dup(proc::Process&, const Arguments&);
Result sys_dup2(proc::Process&, const Arguments&);
Result sys_dup3(proc::Process&, const Arguments&);
// chapter 15 (files): pipes
Result sys_pipe(proc::Process&, const Arguments&);
Result sys_pipe2(proc::Process&, const Arguments&);
Result sys_poll(proc::Process&, const Arguments&);
Result sys_ppoll(proc::Process&, const Arguments&);
Result sys_select(proc::Process&, const Arguments&);
Result sys_pselect6(proc::Process&, const Arguments&);
// attributes.cpp: modes, owners, the file system
Result sys_chmod(proc::Process&, const Arguments&);
Result sys_fchmod(proc::Process&, const Arguments&);
Result sys_fchmodat(proc::Process&, const Arguments&);
Result sys_chown(proc::Process&, const Arguments&);
Result sys_fchown(proc::Process&, const Arguments&);
Result sys_lchown(proc::Process&, const Arguments&);
Result sys_fchownat(proc::Process&, const Arguments&);
Result sys_statfs(proc::Process&, const Arguments&);
Result sys_fstatfs(proc::Process&, const Arguments&);
// memory.cpp
Result sys_brk(proc::Process&, const Arguments&);
Result sys_mmap(proc::Process&, const Arguments&);
Result sys_munmap(proc::Process&, const Arguments&);
Result sys_mprotect(proc::Process&, const Arguments&);
Result sys_mremap(proc::Process&, const Arguments&);
// process.cpp
Result sys_exit(proc::Process&, const Arguments&);
Result sys_getpid(proc::Process&, const Arguments&);
Result sys_getppid(proc::Process&, const Arguments&);
Result sys_gettid(proc::Process&, const Arguments&);
Result sys_getuid(proc::Process&, const Arguments&);
Result sys_arch_prctl(proc::Process&, const Arguments&);
Result sys_set_tid_address(proc::Process&, const Arguments&);
Result sys_set_robust_list(proc::Process&, const Arguments&);
Result sys_prlimit64(proc::Process&, const Arguments&);
Result sys_getpgid(proc::Process&, const Arguments&);
// procs (chapter 15)
Result sys_getpgrp(proc::Process&, const Arguments&);
Result sys_getsid(proc::Process&, const Arguments&);
Result sys_setpgid(proc::Process&, const Arguments&);
Result sys_setsid(proc::Process&, const Arguments&);
Result sys_fork(proc::Process&, const Arguments&);
Result sys_vfork(proc::Process&, const Arguments&);
Result sys_clone(proc::Process&, const Arguments&);
Result sys_execve(proc::Process&, const Arguments&);
Result sys_wait4(proc::Process&, const Arguments&);
Result sys_waitid(proc::Process&, const Arguments&);
Result sys_times(proc::Process&, const Arguments&);
Result sys_getrusage(proc::Process&, const Arguments&);
Result sys_getgroups(proc::Process&, const Arguments&);
Result sys_umask(proc::Process&, const Arguments&);
// system.cpp
Result sys_uname(proc::Process&, const Arguments&);
Result sys_clock_gettime(proc::Process&, const Arguments&);
Result sys_clock_getres(proc::Process&, const Arguments&);
Result sys_gettimeofday(proc::Process&, const Arguments&);
Result sys_time(proc::Process&, const Arguments&);
Result sys_nanosleep(proc::Process&, const Arguments&);
Result sys_setitimer(proc::Process&, const Arguments&);
Result sys_getitimer(proc::Process&, const Arguments&);
Result sys_alarm(proc::Process&, const Arguments&);
// signal.cpp (chapter 15)
Result sys_rt_sigaction(proc::Process&, const Arguments&);
Result sys_rt_sigprocmask(proc::Process&, const Arguments&);
Result sys_rt_sigpending(proc::Process&, const Arguments&);
Result sys_rt_sigreturn(proc::Process&, const Arguments&);
Result sys_kill(proc::Process&, const Arguments&);
Result sys_tgkill(proc::Process&, const Arguments&);
Result sys_tkill(proc::Process&, const Arguments&);
Result sys_pause(proc::Process&, const Arguments&);
Result sys_rt_sigsuspend(proc::Process&, const Arguments&);
Result sys_sigaltstack(proc::Process&, const Arguments&);
// A call `number` ended with EINTR: what it returns instead — a restart code the way back to ring
// 3 resolves (proc/signal.h), when a signal is there to deliver and the call is one Linux
// restarts; EINTR otherwise.
std::int64_t interrupted_result(proc::Process& process, std::uint64_t number);
// The terminal's job-control ioctls (TIOCGPGRP, TIOCSPGRP, TIOCSCTTY, TIOCNOTTY, TIOCGSID), from
// sys_ioctl; `argument` is the ioctl's third argument.
Result terminal_job_ioctl(proc::Process& process, fs::TerminalPort& port, std::uint64_t request,
                          std::uint64_t argument);
// Job control (chapter 15; tty/job_control.h's background_access): may `process` read (`signal`
// SIGTTIN) or write / change (SIGTTOU) the terminal now? A background caller's group gets the
// signal and the call EINTR — restarted (ERESTARTSYS) once the group is continued — or EIO.
std::expected<void, abi::Errno> terminal_job_check(proc::Process& process, fs::TerminalPort& port,
                                                   int signal);
// The same for a read or write through `file` (nothing to check unless it is the terminal;
// writes only with TOSTOP).
std::expected<void, abi::Errno> terminal_transfer_check(proc::Process& process,
                                                        const fs::OpenFile& file, bool writing);
// A session leader the kernel starts with the console as its files takes it as its controlling
// terminal, unless another live session has it (attach_files).
void take_console_for_session(proc::Process& process, fs::TerminalPort& port);
Result sys_clock_nanosleep(proc::Process&, const Arguments&);
Result sys_sched_yield(proc::Process&, const Arguments&);
Result sys_getrandom(proc::Process&, const Arguments&);
Result sys_sysinfo(proc::Process&, const Arguments&);
Result sys_reboot(proc::Process&, const Arguments&);
Result sys_sync(proc::Process&, const Arguments&);
// syslog.cpp: the kernel log (busybox dmesg)
Result sys_syslog(proc::Process&, const Arguments&);
Result sys_einval(proc::Process&, const Arguments&);
Result sys_enosys_quiet(proc::Process&, const Arguments&);

}  // namespace ferrite::syscall
