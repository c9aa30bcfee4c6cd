// The process's own system calls (chapter 14): exit, its IDs, the FS base for thread-local
// storage, the calls libc start-up makes (set_tid_address, set_robust_list), signal dispositions
// and masks (recorded here; delivering signals is chapter 15) and resource limits.
#include "abi/linux_types.h"
#include "proc/signal.h"
#include "syscall/handlers.h"
#include "syscall/machine.h"

namespace ferrite::syscall {

namespace {

using abi::Errno;
}  // namespace

// exit and exit_group: one thread per process, so both end the process. The status is the
// low 8 bits, in wait()'s encoding (code << 8).
Result sys_exit(proc::Process&, const Arguments& a) {
  proc::exit_current(proc::exit_wait_status(static_cast<std::int32_t>(a.arg[0])));
}

Result sys_getpid(proc::Process& process, const Arguments&) {
  return process.pid;
}
Result sys_getppid(proc::Process& process, const Arguments&) {
  return process.parent;
}
Result sys_gettid(proc::Process& process, const Arguments&) {
  return process.pid;
}  // one thread
Result sys_getuid(proc::Process&, const Arguments&) {
  return 0;
}  // root, and the same for gid

// getgroups(size, list): root's supplementary groups, as a root login has them: just 0. Size 0
// asks only for the count; a list too small for it is EINVAL.
Result sys_getgroups(proc::Process&, const Arguments& a) {
  const auto size = static_cast<std::int32_t>(a.arg[0]);
  if (size == 0) return 1;
  if (size < 1) return std::unexpected(Errno::einval);
  if (auto copied = copy_out<std::uint32_t>(a.arg[1], 0); !copied)
    return std::unexpected(copied.error());
  return 1;
}

// umask(mask): recorded nowhere (nothing can be created on a read-only tree); returns Linux's
// default 022 as the previous mask.
Result sys_umask(proc::Process&, const Arguments&) {
  return 022;
}

// getpgid(pid): each process is its own group until chapter 15's job control.
Result sys_getpgid(proc::Process& process, const Arguments& a) {
  const auto pid = static_cast<std::int32_t>(a.arg[0]);
  if (pid != 0 && pid != process.pid) return std::unexpected(Errno::esrch);
  return process.pid;
}

// arch_prctl: musl and glibc point %fs at the thread's TLS block with ARCH_SET_FS before any
// thread-local variable (errno!) is touched. The base is kept in the process, so the context
// switch restores it, and loaded into IA32_FS_BASE now.
Result sys_arch_prctl(proc::Process& process, const Arguments& a) {
  switch (a.arg[0]) {
    case abi::kArchSetFs:
      // Linux refuses a base outside the user half with EPERM (do_arch_prctl_64).
      if (a.arg[1] >= mm::kUserEnd) return std::unexpected(Errno::eperm);
      process.fs_base = a.arg[1];
      machine::set_fs_base(a.arg[1]);
      return 0;
    case abi::kArchGetFs:
      if (auto copied = copy_out(a.arg[1], process.fs_base); !copied)
        return std::unexpected(copied.error());
      return 0;
    default:
      return std::unexpected(Errno::einval);  // GS belongs to the kernel (swapgs)
  }
}

// set_tid_address: where to clear the thread ID and futex-wake at exit (for pthread_join).
// Recorded; returns the caller's thread ID.
Result sys_set_tid_address(proc::Process& process, const Arguments& a) {
  process.clear_child_tid = a.arg[0];
  return process.pid;
}

// set_robust_list: the list of robust futexes to release at exit. With one thread per process
// nobody could be waiting on them; the length must still be sizeof(struct robust_list_head).
Result sys_set_robust_list(proc::Process&, const Arguments& a) {
  constexpr std::uint64_t kRobustListHeadBytes = 24;
  if (a.arg[1] != kRobustListHeadBytes) return std::unexpected(Errno::einval);
  return 0;
}

// prlimit64(pid, resource, new, old): the limits ferrite really has — the 8 MiB stack and the
// 64-descriptor table — and "unlimited" for the rest. New limits are accepted and not enforced.
Result sys_prlimit64(proc::Process& process, const Arguments& a) {
  const auto pid = static_cast<std::int32_t>(a.arg[0]);
  const std::uint64_t resource = a.arg[1], new_limit = a.arg[2], old_limit = a.arg[3];
  if (pid != 0 && pid != process.pid) return std::unexpected(Errno::esrch);
  if (resource >= abi::kRlimitCount) return std::unexpected(Errno::einval);
  if (new_limit != 0) {
    const auto read = copy_in<abi::Rlimit64>(new_limit);
    if (!read) return std::unexpected(read.error());
    if (read->rlim_cur > read->rlim_max) return std::unexpected(Errno::einval);
  }
  if (old_limit != 0) {
    abi::Rlimit64 limit{abi::kRlimInfinity, abi::kRlimInfinity};
    if (resource == abi::kRlimitStack) limit.rlim_cur = mm::kUserStackBytes;
    if (resource == abi::kRlimitNofile)
      limit = {fs::FdTable::kMaxDescriptors, fs::FdTable::kMaxDescriptors};
    if (auto copied = copy_out(old_limit, limit); !copied) return std::unexpected(copied.error());
  }
  return 0;
}

}  // namespace ferrite::syscall
