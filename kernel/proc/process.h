// A user process (chapter 14): a kernel thread that runs a program in ring 3, with its own
// address space and open files. Chapter 15 adds parents, fork and signals.
//
// CONTRACT (session of 2026-11-29): the fields below are what the syscall layer reads; the
// process layer (proc/process.cpp) creates, runs and ends processes.
#pragma once

#include <cstdint>
#include <string_view>

#include "fs/file.h"
#include "fs/tree.h"
#include "mm/address_space.h"
#include "proc/program.h"
#include "proc/signal.h"

namespace ferrite::arch { struct InterruptFrame; }
namespace ferrite::fs { class FdTable; }
namespace ferrite::sched { struct Thread; }

namespace ferrite::proc {

using Pid = std::int32_t;
inline constexpr std::size_t kProcessNameLength = 32;
inline constexpr std::size_t kMaxPathLength = 256;

struct Process {
  Pid pid = 0;
  Pid parent = 0;
  char name[kProcessNameLength] = {};    // the program's file name, for messages
  mm::AddressSpace* address_space = nullptr;
  fs::FdTable* files = nullptr;          // created by syscall::attach_files, freed at exit
  fs::Node* cwd = nullptr;               // the current directory (a directory node)
  sched::Thread* thread = nullptr;
  std::uint64_t fs_base = 0;             // arch_prctl(ARCH_SET_FS): restored on every switch in
  std::uint64_t clear_child_tid = 0;     // set_tid_address
  // ---- signals (chapter 15, proc/signals.h): pending, blocked, actions, alternate stack.
  SignalState signals;
  bool exiting = false;
  std::int32_t exit_status = 0;          // Linux wait status encoding: (code << 8) or signal

  // ---- procs (chapter 15): the process tree ----
  Pid pgid = 0;                          // process group (setpgid); the tty's foreground is one
  Pid sid = 0;                           // session (setsid)
  bool zombie = false;                   // ended, not yet reaped by wait4/waitid
  bool kernel_waited = false;            // started by the kernel (spawn): wait()/release() free it
  bool vfork_pending = false;            // a vfork child: its parent sleeps until exec or exit
  bool did_exec = false;                 // a successful execve ran (setpgid on it: EACCES)
  std::uint32_t umask = fs::kUmask;      // umask(2); fork copies it, execve keeps it
  arch::InterruptFrame* syscall_frame = nullptr;  // the registers of the system call running now
  ProgramRecord program{};               // /proc/<pid>/cmdline and exe (proc/program.h)

  [[nodiscard]] std::string_view name_view() const {
    std::size_t length = 0;
    while (length < kProcessNameLength && name[length] != '\0') ++length;
    return {name, length};
  }
};

// The process whose code the CPU was running when it entered the kernel (nullptr in a kernel
// thread).
Process* current();

// The live or zombie process with this PID, or nullptr (the caller holds interrupts off, or
// accepts a snapshot).
Process* find_process(Pid pid);

// Ends the calling process with a Linux wait status (exit(n): n << 8; killed by signal s: s).
// Gives back its memory and files; never returns.
[[noreturn]] void exit_current(std::int32_t wait_status);

}  // namespace ferrite::proc
