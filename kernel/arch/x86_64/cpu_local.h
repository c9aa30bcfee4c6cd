/* The words of the per-CPU block (sched::PerCpu, reached through GS) that assembly code reads:
 * one list, read by the assembler (syscall_entry.S, through the C preprocessor) and by C++
 * (sched/scheduler.h static_asserts its struct against it). A plain macro, not constexpr, for
 * the same reason as error_code_vectors.h: the assembler has to read it too.
 *   0   the block's own address (`mov %gs:0` gives it)
 *   8   the running thread
 *   16  the top of the running user thread's kernel stack: `syscall` does not switch stacks
 *       (Intel SDM Vol. 2B SYSCALL), so the entry stub loads RSP from here (chapter 14)
 *   24  a scratch word where the entry stub parks the user's RSP while it switches stacks
 *   32  the running thread's user time as a sum of TSC readings: every entry from ring 3 adds
 *       the TSC, every return to ring 3 subtracts it (chapter 15, sched/cpu_time.h) */
#ifndef FERRITE_ARCH_X86_64_CPU_LOCAL_H
#define FERRITE_ARCH_X86_64_CPU_LOCAL_H

#define FERRITE_CPU_LOCAL_SELF 0
#define FERRITE_CPU_LOCAL_CURRENT 8
#define FERRITE_CPU_LOCAL_KERNEL_STACK 16
#define FERRITE_CPU_LOCAL_USER_RSP 24
#define FERRITE_CPU_LOCAL_USER_TSC 32

#endif
