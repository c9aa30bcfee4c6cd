// The stack a new program finds at its first instruction (chapter 14), as the x86-64 System V
// ABI (3.4.1 "Initial Stack and Register State") and Linux's fs/binfmt_elf.c lay it out:
//
//   higher addresses   the strings: argv and envp texts, "x86_64" (AT_PLATFORM), the program
//                      path (AT_EXECFN), 16 random bytes (AT_RANDOM)
//                      auxiliary vector: (type, value) pairs ending with AT_NULL
//                      envp[0..n-1], NULL
//                      argv[0..argc-1], NULL
//   rsp ->             argc                       (rsp is 16-byte aligned here)
//
// musl's and glibc's start-up code read exactly this: argc at rsp, then walk argv, envp and
// auxv (AT_PHDR to find their TLS segment, AT_RANDOM for the stack protector canary, ...).
// Building it is pure arithmetic on a buffer that stands for the top of the user stack, so it is
// host-tested; the kernel copies the result into the new address space.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string_view>

#include "abi/errno.h"

namespace ferrite::exec {

// Auxiliary vector types (Linux <uapi/linux/auxvec.h>, <elf.h>).
enum AuxType : std::uint64_t {
  AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
  AT_FLAGS = 8, AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14,
  AT_PLATFORM = 15, AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25,
  AT_HWCAP2 = 26, AT_EXECFN = 31,
};

struct AuxValues {
  std::uint64_t entry = 0;
  std::uint64_t phdr = 0;
  std::uint64_t phent = 0;
  std::uint64_t phnum = 0;
  std::uint64_t page_size = 4096;
  std::uint64_t hwcap = 0;        // CPUID.1:EDX, as Linux reports it on x86
  std::uint64_t hwcap2 = 0;
  std::uint64_t clock_ticks = 100;  // USER_HZ
  std::array<std::uint8_t, 16> random{};
  std::string_view platform = "x86_64";
  std::string_view execfn;        // the path the program was started as
};

// Limits like Linux's: an argument or environment string of at most 128 KiB (MAX_ARG_STRLEN)
// and, for ferrite, at most 1024 of each.
inline constexpr std::size_t kMaxArgStrings = 1024;
inline constexpr std::size_t kMaxArgStringLength = 128 * 1024;

struct InitialStack {
  std::uint64_t stack_pointer = 0;  // rsp for the first instruction
  std::size_t size = 0;             // bytes used at the end of the buffer: [top - size, top)
  std::uint64_t argv_address = 0;   // for tests and the debugger
  std::uint64_t envp_address = 0;
  std::uint64_t auxv_address = 0;
};

// Builds the stack into `buffer`, whose last byte sits just below user address `stack_top`
// (buffer[i] is at stack_top - buffer.size() + i). E2BIG if it does not fit or a limit is
// exceeded. `stack_top` must be 16-byte aligned.
std::expected<InitialStack, abi::Errno> build_initial_stack(
    std::span<std::byte> buffer, std::uint64_t stack_top, std::span<const std::string_view> argv,
    std::span<const std::string_view> envp, const AuxValues& aux);

}  // namespace ferrite::exec
