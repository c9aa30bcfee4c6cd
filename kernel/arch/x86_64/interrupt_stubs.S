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
 */

#include "arch/x86_64/error_code_vectors.h"

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
        jmp interrupt_common
.endm

.macro stub_address vector
        .quad interrupt_stub_\vector
.endm

        .text
        .code64

        .balign 16
interrupt_common:
        /* RSP is 16-byte aligned here plus 7 words (5 from the CPU, 2 from the stub); 15 more
         * pushes make 22 words, so RSP is 16-byte aligned at the call below. */
        testb $3, 24(%rsp)                              /* interrupted CS: vector, error, RIP, CS */
        jz 1f
        swapgs                                          /* from ring 3: the kernel's GS base */
        /* A program may have set RFLAGS.AC itself (popf), and an interrupt keeps it: with SMAP
         * on that would leave user memory open to the whole handler. Close it; iretq restores
         * the program's flags. (syscall clears AC through IA32_FMASK.) */
        testb $1, ferrite_smap_enabled(%rip)
        jz 1f
        clac
1:
        pushq %rax
        pushq %rbx
        pushq %rcx
        pushq %rdx
        pushq %rsi
        pushq %rdi
        pushq %rbp
        pushq %r8
        pushq %r9
        pushq %r10
        pushq %r11
        pushq %r12
        pushq %r13
        pushq %r14
        pushq %r15
        cld                                             /* the ABI expects DF = 0 at calls */
        movq %rsp, %rdi                                 /* InterruptFrame* */
        call interrupt_dispatch
        .global interrupt_return
interrupt_return:
        popq %r15
        popq %r14
        popq %r13
        popq %r12
        popq %r11
        popq %r10
        popq %r9
        popq %r8
        popq %rbp
        popq %rdi
        popq %rsi
        popq %rdx
        popq %rcx
        popq %rbx
        popq %rax
        addq $16, %rsp                                  /* vector and error code */
        testb $3, 8(%rsp)                               /* returning to ring 3? (RIP, then CS) */
        jz 2f
        swapgs                                          /* the program's GS base again */
2:
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
