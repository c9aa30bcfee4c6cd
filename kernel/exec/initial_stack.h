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

// Linux's limits on what execve passes (include/uapi/linux/binfmts.h, fs/exec.c) with the default
// 8 MiB RLIMIT_STACK: each string at most MAX_ARG_STRLEN = 32 pages = 128 KiB, its NUL included;
// all of them, their NULs and the argv and envp pointers (argc counted as at least 1) at most a
// quarter of the stack, 2 MiB; and at most MAX_ARG_STRINGS of each list, which the 2 MiB reach
// long before. Past any of them: E2BIG.
inline constexpr std::size_t kMaxArgStringLength = 128 * 1024;
inline constexpr std::size_t kMaxArgBytes = 2 * 1024 * 1024;
inline constexpr std::size_t kMaxArgStrings = 0x7FFFFFFF;
// What one more string of `length` characters costs against kMaxArgBytes: its text, its NUL and
// its pointer.
constexpr std::size_t argument_cost(std::size_t length) { return length + 1 + 8; }

// argv or envp: a list of strings that may lie in several arrays (the kernel copies a long list
// in pieces, syscall/process.cpp). Random access walks the pieces; there are few of them.
class StringList {
 public:
  constexpr StringList() = default;
  // The pieces must outlive the list.
  constexpr explicit StringList(std::span<const std::span<const std::string_view>> pieces)
      : pieces_(pieces) {
    for (const auto& piece : pieces) size_ += piece.size();
  }
  [[nodiscard]] constexpr std::size_t size() const { return size_; }
  [[nodiscard]] constexpr bool empty() const { return size_ == 0; }
  [[nodiscard]] constexpr std::string_view operator[](std::size_t index) const {
    for (const auto& piece : pieces_) {
      if (index < piece.size()) return piece[index];
      index -= piece.size();
    }
    return {};
  }
  [[nodiscard]] constexpr std::span<const std::span<const std::string_view>> pieces() const {
    return pieces_;
  }
  // The first piece (the first strings of the list, at least one if the list has any).
  [[nodiscard]] constexpr std::span<const std::string_view> first_piece() const {
    for (const auto& piece : pieces_) {
      if (!piece.empty()) return piece;
    }
    return {};
  }

 private:
  std::span<const std::span<const std::string_view>> pieces_;
  std::size_t size_ = 0;
};

struct InitialStack {
  std::uint64_t stack_pointer = 0;  // rsp for the first instruction
  std::size_t size = 0;             // bytes used at the end of the buffer: [top - size, top)
  std::uint64_t argv_address = 0;   // for tests and the debugger
  std::uint64_t envp_address = 0;
  std::uint64_t auxv_address = 0;
};

// Where the built stack goes, a piece at a time, from the top down: the kernel writes each piece
// straight into the new address space, so even 2 MiB of arguments need no buffer that size.
class StackSink {
 public:
  // Is there room for `bytes` below the top? Asked once, before anything is written.
  virtual bool room_for(std::size_t bytes) = 0;
  // Writes `bytes` at user address `address`; false if that failed (nothing more is written).
  virtual bool write(std::uint64_t address, std::span<const std::byte> bytes) = 0;

 protected:
  ~StackSink() = default;
};

// Builds the stack whose last byte sits just below user address `stack_top` into `sink`. E2BIG
// if a limit above is exceeded or the sink has no room, ENOMEM if a write fails. `stack_top`
// must be 16-byte aligned.
std::expected<InitialStack, abi::Errno> build_initial_stack(StackSink& sink,
                                                            std::uint64_t stack_top,
                                                            const StringList& argv,
                                                            const StringList& envp,
                                                            const AuxValues& aux);

// The same into `buffer`, whose last byte sits just below `stack_top` (buffer[i] is at
// stack_top - buffer.size() + i): E2BIG if it does not fit (the host tests use this one).
std::expected<InitialStack, abi::Errno> build_initial_stack(
    std::span<std::byte> buffer, std::uint64_t stack_top, std::span<const std::string_view> argv,
    std::span<const std::string_view> envp, const AuxValues& aux);

}  // namespace ferrite::exec
