// THROWAWAY (chapter 14, branch ring3): the smallest syscall::dispatch that lets `run /bin/hello`
// work while the real table is written on branch `syscalls`; this file is deleted when that
// branch merges. write/writev on fds 1 and 2 go to the console; exit, exit_group, arch_prctl
// (ARCH_SET_FS), set_tid_address, brk, and mprotect (glibc's static start-up, for busybox, stops
// without it); ioctl says ENOTTY; everything else is ENOSYS.
#include "syscall/syscall.h"

#include "abi/errno.h"
#include "arch/x86_64/user_mode.h"
#include "console/console.h"
#include "lib/log.h"
#include "mm/user_copy.h"
#include "proc/signal.h"

namespace ferrite::syscall {

namespace {

std::int64_t write_console(std::uint64_t fd, std::uint64_t address, std::uint64_t bytes) {
  if (fd != 1 && fd != 2) return abi::negated(abi::Errno::ebadf);
  char chunk[256];
  std::uint64_t done = 0;
  while (done < bytes) {
    const std::size_t n = bytes - done < sizeof(chunk) ? bytes - done : sizeof(chunk);
    if (!mm::copy_from_user(chunk, address + done, n)) {
      return done != 0 ? static_cast<std::int64_t>(done) : abi::negated(abi::Errno::efault);
    }
    console::write({chunk, n});
    done += n;
  }
  return static_cast<std::int64_t>(done);
}

std::int64_t writev_console(std::uint64_t fd, std::uint64_t iov, std::uint64_t count) {
  struct IoVec { std::uint64_t base, length; };
  std::int64_t total = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    IoVec v;
    if (!mm::copy_from_user(&v, iov + i * sizeof(IoVec), sizeof(IoVec))) return abi::negated(abi::Errno::efault);
    const std::int64_t n = write_console(fd, v.base, v.length);
    if (n < 0) return total != 0 ? total : n;
    total += n;
  }
  return total;
}

}  // namespace

std::int64_t dispatch(proc::Process& process, const Arguments& args) {
  const auto& a = args.arg;
  switch (args.number) {
    case 1: return write_console(a[0], a[1], a[2]);                      // write
    case 20: return writev_console(a[0], a[1], a[2]);                    // writev
    case 12: return static_cast<std::int64_t>(process.address_space->brk(a[0]));  // brk
    case 16: return abi::negated(abi::Errno::enotty);                    // ioctl
    case 10: {                                                           // mprotect
      const auto changed = process.address_space->protect(a[0], a[1], static_cast<std::uint32_t>(a[2]));
      return changed ? 0 : abi::negated(changed.error());
    }
    case 60:                                                             // exit
    case 231: proc::exit_current(proc::exit_wait_status(static_cast<std::int32_t>(a[0])));  // exit_group
    case 158:                                                            // arch_prctl
      if (a[0] == 0x1002) {                                              // ARCH_SET_FS
        process.fs_base = a[1];
        arch::set_user_fs_base(a[1]);
        return 0;
      }
      return abi::negated(abi::Errno::einval);
    case 218: process.clear_child_tid = a[0]; return process.pid;        // set_tid_address
    default:
      log::warn("{}: system call {} is not implemented (bootstrap table)", process.name_view(), args.number);
      return abi::negated(abi::Errno::enosys);
  }
}

bool attach_files(proc::Process&) { return true; }
void release_files(proc::Process&) {}

}  // namespace ferrite::syscall
