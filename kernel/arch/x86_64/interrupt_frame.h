// The registers of an interrupted context, exactly as interrupt_stubs.S leaves them on the stack
// (chapter 5). Every vector arrives with this one layout, so one C++ dispatcher serves all 256.
//
// Stack picture, highest address first (the stack grows down):
//
//   ss, rsp, rflags, cs, rip   pushed by the CPU. In 64-bit mode it always pushes SS:RSP and
//                              first aligns RSP down to 16 bytes (Intel SDM Vol. 3A 7.14.2
//                              "64-Bit Mode Stack Frame"; chapter 6 in editions before 2023).
//   error_code                 pushed by the CPU for 8, 10-14, 17, 21, 29, 30; a 0 from the stub
//                              for every other vector (SDM Vol. 3A 7.13 "Error Code")
//   vector                     pushed by the stub
//   rax ... r15                pushed by the common stub code; r15 ends up lowest
//
// The dispatcher receives a pointer to the lowest word (r15). Handlers may change the registers;
// `iretq` resumes with whatever the frame holds then.
//
// Chapter 14: the `syscall` entry stub (syscall_entry.S) builds this same layout by hand, with
// vector FERRITE_SYSCALL_FRAME_VECTOR and the user's SS:RSP, RFLAGS (from R11), CS:RIP (from
// RCX): one picture of a program's registers, however it entered the kernel.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferrite::arch {

struct InterruptFrame {
  // General registers, in the reverse order of their pushes in interrupt_stubs.S.
  std::uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
  std::uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
  // From the stub.
  std::uint64_t vector;
  std::uint64_t error_code;
  // From the CPU.
  std::uint64_t rip;
  std::uint64_t cs;
  std::uint64_t rflags;
  std::uint64_t rsp;
  std::uint64_t ss;
};

// interrupt_stubs.S pushes 15 registers + vector + error code = 17 words on top of the CPU's 5.
// 22 words = 176 bytes, a multiple of 16: the 16-byte aligned RSP the CPU gave us stays aligned
// for the call into C++ (System V ABI: RSP % 16 == 0 at every call).
inline constexpr std::size_t kInterruptFrameWords = 22;
static_assert(sizeof(InterruptFrame) == kInterruptFrameWords * 8);
static_assert(sizeof(InterruptFrame) % 16 == 0);
static_assert(offsetof(InterruptFrame, r15) == 0);
static_assert(offsetof(InterruptFrame, rax) == 14 * 8);
static_assert(offsetof(InterruptFrame, vector) == 15 * 8);
static_assert(offsetof(InterruptFrame, error_code) == 16 * 8);
static_assert(offsetof(InterruptFrame, rip) == 17 * 8);
static_assert(offsetof(InterruptFrame, cs) == 18 * 8);  // interrupt_stubs.S's FRAME_CS
static_assert(offsetof(InterruptFrame, ss) == 21 * 8);

}  // namespace ferrite::arch
