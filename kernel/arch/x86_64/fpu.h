// The FPU, SSE and AVX registers of user programs (chapter 14). The kernel itself is built without
// them (-mno-sse -mno-80387, checked by tools/check_no_fpu.py), so while a thread is in the kernel
// its x87/SSE/AVX registers still hold the values its program left there: the scheduler saves
// them when it switches away from a user thread and loads the next user thread's (FXSAVE/FXRSTOR,
// or XSAVE/XRSTOR where the CPU has it). Kernel threads have no such state and cost nothing.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferrite::arch {

// Room for the standard-format XSAVE image of x87 + SSE + AVX: 512 bytes of legacy region, the
// 64-byte XSAVE header, and 256 bytes of YMM upper halves = 832 (SDM Vol. 1 13.4 "XSAVE Area").
// AVX-512 and the other components are not enabled in XCR0, so the CPU never needs more.
inline constexpr std::size_t kFpuStateBytes = 1024;

// One user thread's saved registers: 64-byte aligned, as XSAVE requires (FXSAVE needs 16).
struct alignas(64) FpuState {
  std::byte bytes[kFpuStateBytes];
};

// Turns on what programs need (SDM Vol. 3A 2.5 "Control Registers", 13.1 "Provide Processor
// Support for SSE..."): CR0.MP, CR0.NE, EM and TS clear; CR4.OSFXSR and OSXMMEXCPT; with XSAVE,
// CR4.OSXSAVE and XCR0 = x87 | SSE (| AVX where CPUID has it). Call once per CPU, as early as
// possible: kernel_entry (boot/start.cpp) does, right after the console comes up.
void init_fpu();

// Which save/restore instructions the kernel uses, for the boot log.
[[nodiscard]] bool fpu_uses_xsave();
[[nodiscard]] std::uint64_t fpu_xcr0();

// The state a program starts with, as the System V x86-64 ABI 3.2.3 and Linux's fpstate_init
// leave it: x87 control word 0x37F (all exceptions masked, 64-bit precision, round to nearest),
// MXCSR 0x1F80 (all SIMD exceptions masked, round to nearest), every register zero.
void init_fpu_state(FpuState& state);
// Saves this CPU's x87/SSE/AVX registers into `state` / loads them from it.
void save_fpu_state(FpuState& state);
void restore_fpu_state(const FpuState& state);

}  // namespace ferrite::arch
