// Host stand-ins for what the system-call layer reaches outside itself (chapter 14): user memory
// (mm/user_copy.h), the machine (syscall/machine.h), the process layer (proc::exit_current), the
// address space (mm/address_space.h) and the initramfs (fs::initramfs). User memory is whatever
// a test registered — a user pointer is a host address inside a registered buffer — and any
// other address is EFAULT, exactly the contract the kernel's copy helpers keep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proc/process.h"
#include "proc/spawn.h"

#include "fs/tree.h"
#include "lib/log.h"

namespace ferrite::testing {

// User memory: [host pointer, + bytes) becomes readable and writable "user" memory.
void map_user(const void* host, std::size_t bytes);
void unmap_all_user();
inline std::uint64_t user_address(const void* host) {
  return reinterpret_cast<std::uint64_t>(host);
}

// The tree fs::initramfs() returns (nullptr: booted without one).
void set_initramfs(fs::Tree* tree);

// What the fake machine saw and answers.
struct FakeMachine {
  std::uint64_t monotonic_ns = 5'000'000'000;
  std::uint64_t realtime_at_boot_ns = 1'700'000'000'000'000'000;
  std::uint64_t slept_until_ns = 0;
  bool interrupt_sleeps = false;  // sleeps end at once, as when the thread is being killed
  int yields = 0;
  std::uint64_t fs_base = 0;
  int power_offs = 0;
  int restarts = 0;
  log::Level console_level = log::Level::info;
};
FakeMachine& machine();

// The processes kill() and friends can reach (proc::find_process, for_each_process); tests add
// theirs and clear the list.
std::vector<proc::Process*>& processes();

// proc::exit_current throws this (host builds have exceptions; the kernel's never returns).
struct ExitCalled {
  std::int32_t wait_status;
};

// The last calls the address space received, and what it answers.
struct FakeAddressSpace {
  std::uint64_t break_value = 0x600000;
  std::uint64_t anywhere = 0x7000'0000'0000;
  struct Mapping {
    std::uint64_t start, bytes;
    std::uint32_t protection;
    bool replace;
  };
  std::vector<Mapping> mapped;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> unmapped;
  std::vector<std::pair<std::uint64_t, std::size_t>> written;  // write_initial: at, bytes
  struct Remap {
    std::uint64_t old_start, old_bytes, new_bytes;
    bool may_move, fixed, keep_old;
    std::uint64_t new_start;
    friend bool operator==(const Remap&, const Remap&) = default;
  };
  std::vector<Remap> remapped;
};
FakeAddressSpace& address_space_calls();

// The last proc::exec_current a system call asked for (which then fails with ENOSYS: the fake
// has no process to replace): the name, the file's bytes and argv.
struct ExecCall {
  std::string path;
  std::string file;
  std::vector<std::string> argv;
  std::vector<std::string> envp;
};
std::optional<ExecCall>& last_exec();
// Called by the fake exec_current before it reads the file's bytes: what another process does
// while an execve sleeps on its way (empty: nothing).
std::function<void()>& during_exec();

// What the next proc::wait_child answers (then nothing: ECHILD), for wait4/waitid tests.
std::optional<proc::WaitResult>& next_wait();

}  // namespace ferrite::testing
