// Ring 3 (chapter 14): how the CPU gets into a user program and back into the kernel.
//   into ring 3:  enter_user_mode() builds the frame iretq pops (user SS:RSP, RFLAGS with IF,
//                 user CS:RIP), swaps GS to the user's value, and irets;
//   back:         `syscall` (syscall_entry.S: swapgs, the per-CPU kernel stack, a frame shaped
//                 like InterruptFrame, the registered system-call handler, sysretq), or an
//                 interrupt or exception from ring 3 (the CPU takes TSS.RSP0; interrupt_stubs.S
//                 swaps GS when the interrupted CS has RPL 3).
// This layer knows registers, not processes: what a system call does, what a demand page is and
// what happens to a program that faults are hooks the process layer registers at init (the way
// the scheduler registers its fault describer), so arch never calls upward.
#pragma once

#include <cstdint>

#include "arch/x86_64/fpu.h"
#include "arch/x86_64/interrupt_frame.h"
#include "arch/x86_64/segment_selectors.h"
#include "mm/address_space.h"

namespace ferrite::arch {

inline constexpr std::uint64_t kSyscallFrameVector = FERRITE_SYSCALL_FRAME_VECTOR;

// What the scheduler keeps for a thread that runs a program, besides its general registers
// (which live on its kernel stack): the x87/SSE/AVX registers and the FS base (the program's
// thread pointer, set with arch_prctl(ARCH_SET_FS)).
struct UserContext {
  FpuState fpu;
  std::uint64_t fs_base = 0;
};

// Initialises a context for a new program: the ABI's initial control words, FS base 0.
void init_user_context(UserContext& context);

// Once per CPU, after init_gdt() and sched::init() (the per-CPU block must exist): EFER.SCE and
// the syscall MSRs, SMEP/SMAP where CPUID has them. (The FPU/SSE that programs need is already
// on: init_fpu() runs first thing in kernel_entry, boot/start.cpp.)
void init_user_mode();
[[nodiscard]] bool smep_enabled();
[[nodiscard]] bool smap_enabled();

// The scheduler's half of a switch (interrupts off): the thread leaving the CPU keeps its
// registers in `context`; the one arriving gets its own back, and its kernel stack becomes the
// one the CPU uses on the next entry from ring 3 (TSS.RSP0 and the syscall stub's per-CPU word).
void save_user_context(UserContext& context);
void load_user_context(const UserContext& context, std::uintptr_t kernel_stack_top);

// Sets the running program's FS base (arch_prctl(ARCH_SET_FS)); the switch-out keeps it.
void set_user_fs_base(std::uint64_t base);
[[nodiscard]] std::uint64_t user_fs_base();

// Leaves the kernel for good on this stack: ring 3 at `entry` with RSP = `stack_pointer`,
// interrupts on, every general register zero (the ABI's "undefined" made deterministic).
[[noreturn]] void enter_user_mode(std::uint64_t entry, std::uint64_t stack_pointer);

// Chapter 15: leaves the kernel for good on this stack with the registers of `frame` (a copy is
// put at `kernel_stack_top`, so `frame` may live anywhere): how a forked child first returns
// from its parent's system call.
[[noreturn]] void resume_user_mode(const InterruptFrame& frame, std::uintptr_t kernel_stack_top);

// ---- Hooks the process layer registers ----------------------------------------------------
// A `syscall` from ring 3: the frame holds the user's registers (RAX number, RDI.. arguments);
// the handler puts the result in frame.rax. Runs with interrupts on, on the thread's kernel stack.
using SyscallHandler = void (*)(InterruptFrame& frame);
// A page fault on a user address (from ring 3, or from a user copy in the kernel): may the page
// be mapped now (demand paging)? true = retry the instruction.
using UserPageResolver = bool (*)(std::uint64_t address, mm::FaultAccess access);
// An exception in ring 3 that nothing resolved: `address` is CR2 for a page fault, else RIP.
// The handler either ends the program (and does not return) or returns true: the program has a
// signal pending for it, and the way back to ring 3 runs the program's handler.
using UserFaultHandler = bool (*)(InterruptFrame& frame, std::uint64_t address);
// Runs with interrupts off just before every return to ring 3 (after a system call, interrupt
// or resolved fault): the place to end a program that was asked to end and to deliver signals
// (Linux's exit_to_user_mode), which may rewrite `frame` (a handler's frame). May not return.
using UserReturnHook = void (*)(InterruptFrame& frame);
void set_user_mode_hooks(SyscallHandler syscall, UserPageResolver resolver, UserFaultHandler fault,
                         UserReturnHook before_return);

// Calls the UserReturnHook for a `frame` that returns to ring 3 (interrupt_dispatch, at its
// end, after testing the frame's CS).
void prepare_return_to_user(InterruptFrame& frame);

// The frame of the running user thread's entry into the kernel (syscall or interrupt from ring
// 3): both build it at the very top of the thread's kernel stack. rt_sigreturn rewrites it.
inline InterruptFrame& user_entry_frame(std::uintptr_t kernel_stack_top) {
  return *reinterpret_cast<InterruptFrame*>(kernel_stack_top - sizeof(InterruptFrame));
}

// ---- Called by exceptions.cpp -------------------------------------------------------------
// An exception whose frame says CPL 3. true: resolved (a demand page), return to the program.
// false: no handler registered (the kernel's report and panic follow).
bool handle_user_mode_exception(InterruptFrame& frame);
// A page fault or #GP in ring 0: if it hit one of user_copy.S's marked instructions, either the
// page is mapped now (retry) or RIP moves to the copy's fix-up, which returns EFAULT. true if so.
bool fix_up_user_access(InterruptFrame& frame);

}  // namespace ferrite::arch
