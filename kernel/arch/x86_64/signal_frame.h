// The signal frame a handler runs on (chapter 15), in Linux's x86_64 layout — musl's and glibc's
// restorers (`mov $15, %eax; syscall`) and debuggers read it as Linux writes it. From Debian's
// <asm/sigcontext.h>, <asm/ucontext.h>, <asm/signal.h> and Linux's arch/x86/include/asm/
// sigframe.h (struct rt_sigframe) and arch/x86/kernel/signal.c (get_sigframe). Portable: the
// layout and the placement are plain arithmetic, checked here and by tests/host/signal_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferrite::arch {

// struct sigcontext (64-bit): the general registers in Linux's order, then the segment words,
// the fault's details, and a pointer to the FPU/SSE image.
struct SigContext {
  std::uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  std::uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  std::uint16_t cs, gs, fs, ss;
  std::uint64_t err, trapno, oldmask, cr2;
  std::uint64_t fpstate;  // user address of the FXSAVE/XSAVE image, 0 if none
  std::uint64_t reserved1[8];
};
static_assert(sizeof(SigContext) == 256);
static_assert(offsetof(SigContext, rdi) == 64 && offsetof(SigContext, rip) == 128);
static_assert(offsetof(SigContext, eflags) == 136 && offsetof(SigContext, cs) == 144);
static_assert(offsetof(SigContext, ss) == 150 && offsetof(SigContext, err) == 152);
static_assert(offsetof(SigContext, fpstate) == 184);

// stack_t (sigaltstack).
struct SignalStack {
  std::uint64_t sp;
  std::int32_t flags;
  std::int32_t pad;
  std::uint64_t size;
};
static_assert(sizeof(SignalStack) == 24);
inline constexpr std::int32_t kSsOnstack = 1, kSsDisable = 2;

// struct ucontext as the kernel writes it (the kernel's 8-byte sigset, not libc's 128 bytes).
struct UContext {
  std::uint64_t flags;
  std::uint64_t link;
  SignalStack stack;
  SigContext mcontext;
  std::uint64_t sigmask;
};
static_assert(sizeof(UContext) == 304);
static_assert(offsetof(UContext, mcontext) == 40 && offsetof(UContext, sigmask) == 296);
inline constexpr std::uint64_t kUcFpXstate = 1, kUcSigcontextSs = 2, kUcStrictRestoreSs = 4;

// siginfo_t: 128 bytes (<asm-generic/siginfo.h>); the union after the first three words holds
// the kill() form (si_pid, si_uid) and, for SIGCHLD, si_status, si_utime and si_stime after them.
struct SigInfo {
  std::int32_t signo, errno_value, code, pad;
  std::int32_t pid;
  std::uint32_t uid;
  std::int32_t status;
  std::int32_t pad2;
  std::int64_t utime, stime;
  std::uint8_t rest[80];
};
static_assert(sizeof(SigInfo) == 128);
static_assert(offsetof(SigInfo, pid) == 16 && offsetof(SigInfo, status) == 24);
static_assert(offsetof(SigInfo, utime) == 32 && offsetof(SigInfo, stime) == 40);

// struct rt_sigframe: the return address (sa_restorer) on top, as a `call` would leave it.
struct RtSigframe {
  std::uint64_t pretcode;
  UContext uc;
  SigInfo info;
};
static_assert(sizeof(RtSigframe) == 440);
static_assert(offsetof(RtSigframe, uc) == 8 && offsetof(RtSigframe, info) == 312);

// struct _fpx_sw_bytes, in bytes 464..511 of the FXSAVE image (the part the CPU leaves to
// software): magic1 says "an XSAVE image follows", and magic2 ends it.
inline constexpr std::size_t kFpxSwBytesOffset = 464;
inline constexpr std::uint32_t kFpXstateMagic1 = 0x46505853, kFpXstateMagic2 = 0x46505845;
struct FpxSwBytes {
  std::uint32_t magic1;
  std::uint32_t extended_size;  // the whole image, magic2 included
  std::uint64_t xfeatures;
  std::uint32_t xstate_size;    // the XSAVE image without magic2
  std::uint32_t padding[7];
};
static_assert(sizeof(FpxSwBytes) == 48 && kFpxSwBytesOffset + sizeof(FpxSwBytes) == 512);

// Where the frame and the FPU image go below the interrupted stack pointer (get_sigframe):
// skip the 128-byte red zone the ABI gives leaf functions, the FPU image 64-byte aligned (XSAVE
// needs it), the frame below it with RSP % 16 == 8 at the handler's first instruction — as if
// the handler had been called (System V ABI 3.2.2).
struct SignalFrameLayout {
  std::uint64_t frame;    // the handler's RSP: &rt_sigframe
  std::uint64_t fpstate;  // the FPU image
};
inline constexpr std::uint64_t kRedZoneBytes = 128;
constexpr SignalFrameLayout signal_frame_layout(std::uint64_t stack_pointer, std::uint64_t fpu_bytes) {
  std::uint64_t sp = stack_pointer - kRedZoneBytes - fpu_bytes;
  sp &= ~std::uint64_t{63};
  const std::uint64_t fpstate = sp;
  sp -= sizeof(RtSigframe);
  sp = (sp & ~std::uint64_t{15}) - 8;
  return {sp, fpstate};
}

// A return address rt_sigreturn may load: canonical and in the lower (user) half. Anything else
// would make iretq/sysretq fault in ring 0 (SDM Vol. 2B SYSRET, IRET).
constexpr bool user_address_ok(std::uint64_t address) { return address < (std::uint64_t{1} << 47); }

// The RFLAGS bits a signal frame may change (Linux's FIX_EFLAGS): arithmetic flags, TF, DF,
// OF, AC, RF. IF, IOPL, VM and the rest stay the kernel's choice.
inline constexpr std::uint64_t kUserChangeableRflags =
    0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x40000 | 0x10000;
constexpr std::uint64_t restored_rflags(std::uint64_t current, std::uint64_t from_frame) {
  return (current & ~kUserChangeableRflags) | (from_frame & kUserChangeableRflags);
}

}  // namespace ferrite::arch
