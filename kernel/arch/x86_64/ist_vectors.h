/* The vectors whose gates switch to an IST stack (NMI 2, #DF 8, #MC 18; idt.cpp's
 * interrupt_stack_of, which static_asserts that it agrees): one list for the assembler
 * (interrupt_stubs.S sends them through the "paranoid" entry) and for C++. A plain macro, like
 * error_code_vectors.h, because the assembler reads it too.
 *
 * Why they are special (chapter 14): an NMI or machine check can arrive at *any* instruction —
 * also in the few instructions of the syscall path where the CPU is already (or still) in ring 0
 * but GS holds the program's base (between syscall and its swapgs, or between the final swapgs
 * and sysretq). The interrupted CS then says ring 0, yet GS is the user's: the RPL test the other
 * vectors use would leave the handler with the wrong per-CPU block. These vectors therefore ask
 * the GS base itself (Linux's "paranoid entry", arch/x86/entry/entry_64.S). */
#ifndef FERRITE_ARCH_X86_64_IST_VECTORS_H
#define FERRITE_ARCH_X86_64_IST_VECTORS_H

#define FERRITE_IST_VECTOR_MASK 0x40104

#endif
