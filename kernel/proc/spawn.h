// Starting and waiting for processes (chapter 14): a program from the initramfs becomes a
// process — a fresh address space with the ELF's segments and the ABI's initial stack, files 0-2
// on the console, and a kernel thread that enters ring 3 at the program's entry point.
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string_view>

#include "abi/errno.h"
#include "proc/process.h"

namespace ferrite::proc {

inline constexpr std::size_t kMaxProcesses = 16;

// Why a program could not be started: Linux's errno for execve, and a sentence for people.
struct SpawnFailure {
  abi::Errno error;
  std::string_view reason;
};

// Registers the process layer's hooks with arch (system calls, demand paging, user faults).
// Call once, after the scheduler and arch::init_user_mode().
void init();

// Starts `path` (resolved in the initramfs) with `argv` (argv[0] included) and the default
// environment. The process runs at once; wait for it with wait() or, from a task, with
// co_await task::thread_exit(*process->thread) followed by release().
[[nodiscard]] std::expected<Process*, SpawnFailure> spawn(std::string_view path,
                                                          std::span<const std::string_view> argv);

// Blocks the calling thread until `process` has ended; frees it and returns its wait status.
std::int32_t wait(Process& process);
// Frees an ended process whose thread has already been joined (after task::thread_exit).
void release(Process& process);

// How many processes exist (started, not yet released): for tests.
[[nodiscard]] std::size_t process_count();

}  // namespace ferrite::proc
