/* The user-mode segment selectors, for the assembler (syscall_entry.S) and C++ (gdt.h takes its
 * constants from here): GDT index * 8 | RPL 3 (Intel SDM Vol. 3A 3.4.2). The order is fixed by
 * SYSRET, which takes SS = STAR[63:48] + 8 and CS = STAR[63:48] + 16 (SDM Vol. 2B SYSRET):
 * user data must sit directly below user code. */
#ifndef FERRITE_ARCH_X86_64_SEGMENT_SELECTORS_H
#define FERRITE_ARCH_X86_64_SEGMENT_SELECTORS_H

#define FERRITE_KERNEL_CODE_SELECTOR 0x08
#define FERRITE_KERNEL_DATA_SELECTOR 0x10
#define FERRITE_USER_DATA_SELECTOR 0x1B
#define FERRITE_USER_CODE_SELECTOR 0x23

/* The `vector` word of a frame built by the syscall entry stub rather than by an interrupt: no
 * interrupt vector has this number, so a handler can tell the two apart. */
#define FERRITE_SYSCALL_FRAME_VECTOR 0x100

#endif
