// Enabling x87/SSE/AVX for ring 3, and saving and loading one user thread's registers (chapter 14).
// The few instructions here that touch that state are the only ones in the kernel; the kernel's
// own code never computes with them (tools/check_no_fpu.py allows them in *fpu_state* only).
#include "arch/x86_64/fpu.h"

#include "arch/x86_64/cpu.h"
#include "lib/panic.h"

namespace ferrite::arch {

namespace {

// CR0 and CR4 bits (SDM Vol. 3A 2.5 "Control Registers").
constexpr std::uint64_t kCr0MonitorCoprocessor = 1u << 1;  // MP: WAIT honours TS
constexpr std::uint64_t kCr0Emulation = 1u << 2;           // EM: set = x87/SSE raise #UD/#NM
constexpr std::uint64_t kCr0TaskSwitched = 1u << 3;        // TS: set = next FPU use raises #NM
constexpr std::uint64_t kCr0NumericError = 1u << 5;        // NE: x87 errors as #MF, not IRQ 13
constexpr std::uint64_t kCr4Osfxsr = 1u << 9;              // FXSAVE/FXRSTOR and SSE allowed
constexpr std::uint64_t kCr4Osxmmexcpt = 1u << 10;         // unmasked SIMD errors raise #XM
constexpr std::uint64_t kCr4Osxsave = 1u << 18;            // XSAVE, XGETBV/XSETBV allowed

// CPUID.01H feature bits (SDM Vol. 2A CPUID, tables 3-10 and 3-11).
constexpr std::uint32_t kCpuidEdxFxsr = 1u << 24;
constexpr std::uint32_t kCpuidEdxSse2 = 1u << 26;
constexpr std::uint32_t kCpuidEcxXsave = 1u << 26;
constexpr std::uint32_t kCpuidEcxAvx = 1u << 28;

// XCR0 state components (SDM Vol. 1 13.3 "Enabling the XSAVE Feature Set"): bit 0 x87 (must
// be set), bit 1 SSE (XMM, MXCSR), bit 2 AVX (upper halves of YMM; needs bit 1).
constexpr std::uint64_t kXcr0X87 = 1u << 0;
constexpr std::uint64_t kXcr0Sse = 1u << 1;
constexpr std::uint64_t kXcr0Avx = 1u << 2;

// Offsets in the FXSAVE image, which is also the legacy region of the XSAVE image (SDM Vol. 1
// 10.5.1 "FXSAVE Area", table 10-2) and the XSAVE header (13.4.2 "XSAVE Header").
constexpr std::size_t kFcwOffset = 0;
constexpr std::size_t kMxcsrOffset = 24;
constexpr std::size_t kXstateBvOffset = 512;
constexpr std::uint16_t kInitialFcw = 0x37F;     // System V x86-64 ABI 3.2.3
constexpr std::uint32_t kInitialMxcsr = 0x1F80;  // idem

constinit bool use_xsave = false;
constinit std::uint64_t xcr0 = 0;

void write_xcr0(std::uint64_t value) {
  asm volatile("xsetbv"
               :
               : "c"(0), "a"(static_cast<std::uint32_t>(value)),
                 "d"(static_cast<std::uint32_t>(value >> 32))
               : "memory");
}

}  // namespace

void init_fpu() {
  const CpuidResult features = cpuid(1);
  // Every x86_64 CPU has FXSR and SSE2 (AMD64 architecture baseline); say so if not.
  if ((features.edx & kCpuidEdxFxsr) == 0 || (features.edx & kCpuidEdxSse2) == 0) {
    panic("fpu: the CPU lacks FXSAVE or SSE2, which every x86_64 CPU has");
  }
  write_cr0((read_cr0() | kCr0MonitorCoprocessor | kCr0NumericError) &
            ~(kCr0Emulation | kCr0TaskSwitched));
  std::uint64_t cr4 = read_cr4() | kCr4Osfxsr | kCr4Osxmmexcpt;
  if ((features.ecx & kCpuidEcxXsave) != 0) {
    write_cr4(cr4 | kCr4Osxsave);
    xcr0 = kXcr0X87 | kXcr0Sse | ((features.ecx & kCpuidEcxAvx) != 0 ? kXcr0Avx : 0);
    write_xcr0(xcr0);
    // CPUID.0DH:EBX is the XSAVE image size for the components now enabled in XCR0.
    const std::uint32_t needed = cpuid(0xD, 0).ebx;
    if (needed > kFpuStateBytes)
      panic("fpu: XSAVE needs {} bytes, FpuState has {}", needed, kFpuStateBytes);
    use_xsave = true;
  } else {
    write_cr4(cr4);
    xcr0 = kXcr0X87 | kXcr0Sse;  // what FXSAVE covers
  }
}

bool fpu_uses_xsave() {
  return use_xsave;
}
std::uint64_t fpu_xcr0() {
  return xcr0;
}

void init_fpu_state(FpuState& state) {
  __builtin_memset(state.bytes, 0, sizeof(state.bytes));
  __builtin_memcpy(state.bytes + kFcwOffset, &kInitialFcw, sizeof(kInitialFcw));
  __builtin_memcpy(state.bytes + kMxcsrOffset, &kInitialMxcsr, sizeof(kInitialMxcsr));
  if (use_xsave) {
    // XSTATE_BV says which components the image holds; a clear bit makes XRSTOR load that
    // component's initial configuration instead (SDM Vol. 1 13.8.1). x87 and SSE come from the
    // image (our control words); AVX starts in its initial state (zero).
    const std::uint64_t xstate_bv = kXcr0X87 | kXcr0Sse;
    __builtin_memcpy(state.bytes + kXstateBvOffset, &xstate_bv, sizeof(xstate_bv));
  }
}

void save_fpu_state(FpuState& state) {
  if (use_xsave) {
    // EDX:EAX is the requested-feature bitmap, ANDed with XCR0: all of it.
    asm volatile("xsave64 %0" : "=m"(state) : "a"(0xFFFF'FFFFu), "d"(0xFFFF'FFFFu) : "memory");
  } else {
    asm volatile("fxsave64 %0" : "=m"(state) : : "memory");
  }
}

void restore_fpu_state(const FpuState& state) {
  if (use_xsave) {
    asm volatile("xrstor64 %0" : : "m"(state), "a"(0xFFFF'FFFFu), "d"(0xFFFF'FFFFu) : "memory");
  } else {
    asm volatile("fxrstor64 %0" : : "m"(state) : "memory");
  }
}

}  // namespace ferrite::arch
