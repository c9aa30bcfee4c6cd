// What a kernel thread's saved context looks like on x86_64, and the per-CPU base register
// (chapter 13). switch.S saves the callee-saved registers on the thread's own stack, so a saved
// context is just a stack pointer; a new thread gets a stack that looks as if it had called
// context_switch itself.
#pragma once

#include <cstdint>

#include "arch/x86_64/cpu.h"

extern "C" {
// Saves the callee-saved registers and RSP into *save_rsp, switches to next_rsp and returns
// into the thread saved there. Call with interrupts off.
void context_switch(std::uint64_t* save_rsp, std::uint64_t next_rsp);
// switch.S: where a new thread's first context_switch "returns" to.
void thread_trampoline();
// Implemented by the scheduler: runs a new thread's entry function; never returns.
[[noreturn]] void thread_start(std::uint64_t entry, std::uint64_t argument);
}

namespace ferrite::arch {

// Builds the first context of a thread on the empty stack ending at `top` (16-byte aligned) and
// returns the stack pointer to hand to context_switch. Stack picture, highest address first:
//   top-8, top-16   0, 0 (padding: RSP is 16-byte aligned after the `ret`, as at a call site)
//   top-24          thread_trampoline (context_switch's `ret` goes there)
//   top-32..top-72  RBP=0, RBX=0, R12=entry, R13=argument, R14=0, R15=0 (popped in reverse)
inline std::uint64_t prepare_thread_stack(std::uintptr_t top, std::uint64_t entry,
                                          std::uint64_t argument) {
  auto* slot = reinterpret_cast<std::uint64_t*>(top);
  slot[-1] = 0;
  slot[-2] = 0;
  slot[-3] = reinterpret_cast<std::uint64_t>(&thread_trampoline);
  slot[-4] = 0;         // rbp: ends frame-pointer backtraces
  slot[-5] = 0;         // rbx
  slot[-6] = entry;     // r12
  slot[-7] = argument;  // r13
  slot[-8] = 0;         // r14
  slot[-9] = 0;         // r15
  return top - 9 * 8;
}

// Per-CPU data is reached through the GS segment base (IA32_GS_BASE, MSR C000_0101h; SDM Vol. 3A
// 3.4.4 and Vol. 4): each CPU points it at its own block, whose first word points to itself, so
// `mov %gs:0` gives the block's address without knowing which CPU we are on. (IA32_KERNEL_GS_BASE
// holds the other value `swapgs` exchanges it with, once there is user mode.)
inline constexpr std::uint32_t kMsrGsBase = 0xC000'0101;
inline constexpr std::uint32_t kMsrKernelGsBase = 0xC000'0102;

inline void set_cpu_local_base(void* block) {
  write_msr(kMsrGsBase, reinterpret_cast<std::uint64_t>(block));
}
inline bool cpu_local_base_set() { return read_msr(kMsrGsBase) != 0; }

// The word at `offset` of this CPU's block. Volatile: it changes under the compiler's feet
// whenever the CPU switches threads.
template <class T, unsigned Offset>
inline T cpu_local_read() {
  T value;
  asm volatile("movq %%gs:%c1, %0" : "=r"(value) : "i"(Offset));
  return value;
}

}  // namespace ferrite::arch
