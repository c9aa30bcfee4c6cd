// The Interrupt Descriptor Table and the one C++ entry point of every interrupt (chapters 5 and 7).
// All 256 vectors lead through interrupt_stubs.S to interrupt_dispatch(), which routes them:
//   0..31   CPU exceptions          -> exceptions.cpp (named reports; a registered handler wins)
//   32..47  ISA IRQs 0-15 (from the 8259s, or the I/O APIC) -> pic8259.cpp (handler, EOI)
//   48..255 free (software `int N`) -> the registered handler, else "unexpected interrupt N"
//
// Software `int N` and the error-code vectors. For the vectors in error_code_vectors.h the CPU
// pushes an error code and the stub does not; a software `int N` never pushes one (SDM Vol. 3A
// 7.13), so `int $14` would hand the dispatcher a frame one word off (vector where the error code
// should be, RIP in CS's place, ...) and iretq would return to garbage. Therefore:
//   - every gate has DPL 0, so `int N` from CPL 3 raises #GP (with a correct frame) instead of
//     entering the gate (SDM Vol. 3A 7.12.1.1). Chapter 14 (user mode) keeps it that way: only a
//     gate meant for user `int` may get DPL 3 (#BP for int3 if debuggers need it, #OF for into,
//     or an `int 0x80` system-call vector), and none of them may be an error-code vector;
//   - ring-0 code must not `int` an error-code vector either: the CPU cannot stop it, the rule
//     is ours. Tests raise those exceptions for real (a bad access, ud2), never with `int`.
#pragma once

#include <cstdint>

#include "arch/x86_64/interrupt_frame.h"
#include "arch/x86_64/tss.h"

namespace ferrite::arch {

inline constexpr unsigned kVectorCount = 256;
inline constexpr unsigned kExceptionVectorCount = 32;  // reserved for the CPU (SDM Vol. 3A 7.2)

// Runs with interrupts disabled (all gates are interrupt gates) on the interrupted stack, or on
// the IST stack for #DF, NMI and #MC. It may modify the frame.
using InterruptHandler = void (*)(InterruptFrame& frame);

// Builds all 256 gates and loads the IDT with lidt. Call after init_gdt() (the gates name the
// kernel code selector and IST entries of the TSS).
void init_idt();

// Registers (or with nullptr removes) the handler of one vector. For IRQ lines use
// pic::set_irq_handler, which also unmasks the line.
void set_handler(std::uint8_t vector, InterruptHandler handler);
[[nodiscard]] InterruptHandler handler(std::uint8_t vector);

// Marks a gate not present (or present again). Delivering an interrupt through a not-present
// gate raises #NP — the test of the seed's "missing handler becomes a double fault" uses this.
void set_gate_present(std::uint8_t vector, bool present);

// The IST entry a vector's gate selects (none for most).
[[nodiscard]] InterruptStack interrupt_stack_of(std::uint8_t vector);

// Called at the end of every interrupt that is not a CPU exception (IRQs, APIC timer, `int N`
// >= 32), after the handler and its EOI, still with interrupts off and on the interrupted
// thread's stack: the scheduler switches threads here when an interrupt made that necessary
// (chapter 13). Never for exceptions: #DF, NMI and #MC run on IST stacks no thread owns.
using InterruptReturnHook = void (*)();
void set_interrupt_return_hook(InterruptReturnHook hook);

// Prints "unexpected interrupt N" with the interrupted RIP and counts it.
void report_unexpected_interrupt(const InterruptFrame& frame);
[[nodiscard]] std::uint64_t unexpected_interrupt_count();

}  // namespace ferrite::arch

// Called by interrupt_stubs.S for every vector.
extern "C" void interrupt_dispatch(ferrite::arch::InterruptFrame* frame);
