/* The exception vectors for which the CPU pushes an error code: one list, read by the assembler
 * (interrupt_stubs.S, through the C preprocessor) and by C++ (exceptions.h checks its table
 * against it). Bit N set = vector N has an error code: 8 #DF, 10 #TS, 11 #NP, 12 #SS, 13 #GP,
 * 14 #PF, 17 #AC, 21 #CP, 29 #VC, 30 #SX (Intel SDM Vol. 3A table 7-1 "Protected-Mode
 * Exceptions and Interrupts"; AMD APM Vol. 2 8.2 for #VC and #SX). Vectors 32-255 never have one.
 * A plain macro, not constexpr: the assembler has to read it too. */
#ifndef FERRITE_ARCH_X86_64_ERROR_CODE_VECTORS_H
#define FERRITE_ARCH_X86_64_ERROR_CODE_VECTORS_H

#define FERRITE_ERROR_CODE_VECTOR_MASK 0x60227D00

#endif
