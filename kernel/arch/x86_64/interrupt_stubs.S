/* kernel/arch/x86_64/interrupt_stubs.S: the first instructions of every interrupt (chapter 5).
 *
 * The IDT points each of the 256 vectors at its own small stub, because the CPU does not tell
 * the handler which vector it came through. A stub makes every vector look the same:
 *   1. push a 0 where the CPU pushes no error code, so the frame has one layout;
 *   2. push the vector number;
 *   3. jump to interrupt_common, which saves the general registers, calls the C++ dispatcher
 *      interrupt_dispatch(InterruptFrame*), restores the registers, drops vector and error code
 *      and returns with iretq.
 * The resulting layout is struct InterruptFrame (interrupt_frame.h, checked by static_assert).
 *
 * The vectors with a CPU error code are listed once, in error_code_vectors.h. A software
 * `int N` never pushes one, even for those vectors (SDM Vol. 3A 7.13 "Error Code"): see idt.h
 * for why no such `int` can reach these stubs.
 *
 * All gates are interrupt gates, so the CPU has already cleared RFLAGS.IF: no second interrupt
 * can arrive before the registers are saved.
 *
 * Ring 3 (chapter 14): the kernel reaches its per-CPU block through the GS base, but while a
 * program runs GS holds the program's base. So when the interrupted CS has RPL 3 (the CPU came
 * from user mode), the common code swaps GS with IA32_KERNEL_GS_BASE first (swapgs, SDM Vol. 2B)
 * and swaps it back just before iretq; from ring 0 GS is already the kernel's and stays.
 * interrupt_return is also the syscall stub's way out when sysret cannot be used.
 * Chapter 15: the crossings from and to ring 3 also stamp the running thread's user time
 * (user_time.inc); the kernel-to-kernel path runs the same instructions as before, its ring test
 * only moved ahead of the pops on the way out. The IST vectors do not stamp: an NMI that
 * interrupts a program counts as the program's time.
 * The IST vectors (NMI, #DF, #MC) cannot trust the RPL test and look at the GS base itself:
 * paranoid_common below (ist_vectors.h says why).
 */

#include "arch/x86_64/error_code_vectors.h"
#include "arch/x86_64/ist_vectors.h"
#include "arch/x86_64/register_frame.inc"
#include "arch/x86_64/user_time.inc"

        .altmacro

/* One stub. Every stub starts on a 16-byte boundary; the table below holds their addresses. */
.macro interrupt_stub vector
        .balign 16
        .global interrupt_stub_\vector
interrupt_stub_\vector:
        /* Bit `vector` of the mask, in arithmetic that .altmacro leaves alone (there, & joins
         * strings, < and > quote them, ! and % escape). */
        .ifge \vector - 32
        pushq $0                                        /* dummy error code */
        .else
        .ifeq (FERRITE_ERROR_CODE_VECTOR_MASK >> \vector) - ((FERRITE_ERROR_CODE_VECTOR_MASK >> (\vector + 1)) * 2)
        pushq $0                                        /* dummy error code */
        .endif
        .endif
        pushq $\vector
        .iflt \vector - 32
        .ifeq ((FERRITE_IST_VECTOR_MASK >> \vector) - ((FERRITE_IST_VECTOR_MASK >> (\vector + 1)) * 2)) - 1
        jmp paranoid_common                             /* an IST vector (ist_vectors.h) */
        .else
        jmp interrupt_common
        .endif
        .else
        jmp interrupt_common
        .endif
.endm

/* With SMAP on, no handler runs with user memory open, whatever AC the interrupted code had
 * (a program may set it itself with popf; iretq restores it). syscall clears AC through FMASK. */
.macro close_user_memory
        testb $1, ferrite_smap_enabled(%rip)
        jz 3f
        clac
3:
.endm

.macro stub_address vector
        .quad interrupt_stub_\vector
.endm

/* Byte offset of the interrupted CS in InterruptFrame (interrupt_frame.h asserts the layout). */
#define FRAME_CS (18 * 8)

        .text
        .code64

        .balign 16
interrupt_common:
        /* RSP is 16-byte aligned here plus 7 words (5 from the CPU, 2 from the stub); 15 more
         * pushes make 22 words, so RSP is 16-byte aligned at the call below. */
        testb $3, 24(%rsp)                              /* interrupted CS: vector, error, RIP, CS */
        jz 1f
        swapgs                                          /* from ring 3: the kernel's GS base */
        close_user_memory
        push_registers
        user_time_entered                               /* the user's time ends here */
        jmp 2f
1:
        push_registers
2:
        cld                                             /* the ABI expects DF = 0 at calls */
        movq %rsp, %rdi                                 /* InterruptFrame* */
        call interrupt_dispatch
        .global interrupt_return
interrupt_return:
        testb $3, FRAME_CS(%rsp)                        /* returning to ring 3? */
        jz 6f
        user_time_returning                             /* RAX, RDX come from the frame below */
        pop_registers
        addq $16, %rsp                                  /* vector and error code */
        swapgs                                          /* the program's GS base again */
        iretq
6:
        pop_registers
        addq $16, %rsp
        iretq

/* NMI, #DF, #MC: the kernel's GS base is a kernel-half address (bit 63 set), a program's never
 * is (the lower half; 0 before the scheduler runs, when swapping 0 for 0 is harmless). Read
 * IA32_GS_BASE (MSR C000_0101h), swap if it is not the kernel's, and remember that in RBX —
 * callee-saved, so it survives the call; the frame keeps the interrupted RBX. */
        .balign 16
paranoid_common:
        push_registers
        movl $0xC0000101, %ecx
        rdmsr                                           /* EDX = bits 63..32 of the GS base */
        xorl %ebx, %ebx
        testl %edx, %edx
        js 4f
        swapgs
        movl $1, %ebx
4:
        close_user_memory
        cld
        movq %rsp, %rdi
        call interrupt_dispatch
        testl %ebx, %ebx
        jz 5f
        swapgs
5:
        pop_registers
        addq $16, %rsp
        iretq

        .balign 16
        .global interrupt_stubs_start
interrupt_stubs_start:
        .set vector, 0
        .rept 256
        interrupt_stub %vector
        .set vector, vector + 1
        .endr

/* The address of each stub, indexed by vector: idt.cpp builds the gates from it. */
        .section .rodata
        .balign 8
        .global interrupt_stub_table
interrupt_stub_table:
        .set vector, 0
        .rept 256
        stub_address %vector
        .set vector, vector + 1
        .endr

        .section .note.GNU-stack, "", @progbits
