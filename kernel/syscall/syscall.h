// The Linux x86_64 system-call ABI (chapter 14): `syscall` with the number in RAX and up to six
// arguments in RDI, RSI, RDX, R10, R8, R9; the result (or -errno) comes back in RAX. Numbers and
// errno values are Linux's (abi/syscall_names.h, abi/errno.h), so unmodified static programs run.
//
// CONTRACT (session of 2026-11-29): arch/x86_64's entry stub saves the user registers and calls
// dispatch() on the process's kernel stack with interrupts on; the table and the handlers live
// in kernel/syscall/.
#pragma once

#include <cstdint>

#include "proc/process.h"

namespace ferrite::syscall {

struct Arguments {
  std::uint64_t number;
  std::uint64_t arg[6];
};

// Runs system call `args.number` for `process` and returns what goes back in RAX. Unknown
// numbers return -ENOSYS, and the first use of each is logged with its number and name.
std::int64_t dispatch(proc::Process& process, const Arguments& args);

// Gives a new process its file table: 0, 1 and 2 open on /dev/console.
[[nodiscard]] bool attach_files(proc::Process& process);
// Closes every descriptor and frees the table, and lets go of the current directory (process
// exit).
void release_files(proc::Process& process);
// Chapter 15 (syscall/process.cpp): fork gives the child the parent's descriptors (the same
// open files, one more reference each) and holds its current directory (fs::hold); execve closes
// the close-on-exec ones.
[[nodiscard]] bool clone_files(const proc::Process& parent, proc::Process& child);
void close_on_exec_files(proc::Process& process);

}  // namespace ferrite::syscall
