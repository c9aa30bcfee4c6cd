// The IDT, the handler registry and the dispatcher every interrupt stub calls (chapters 5 and 7).
#include "arch/x86_64/idt.h"

#include <array>
#include <atomic>

#include "arch/x86_64/exceptions.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/ist_vectors.h"
#include "arch/x86_64/user_mode.h"
#include "platform/pc/pic8259.h"
#include "lib/log.h"
#include "lib/panic.h"

// interrupt_stubs.S: the entry address of each vector's stub.
extern "C" const std::uint64_t interrupt_stub_table[ferrite::arch::kVectorCount];

namespace ferrite::arch {

namespace {

// One 16-byte gate (Intel SDM Vol. 3A 7.14.1 "64-Bit Mode IDT", figure 7-8 "64-Bit IDT Gate
// Descriptors"; 6.14.1 and figure 6-7 in editions before 2023):
//
//   bytes 0..1   handler offset 15:0      byte  5      P | DPL (2 bits) | 0 | type (4 bits)
//   bytes 2..3   code segment selector    bytes 6..7   handler offset 31:16
//   byte  4      IST index (bits 0..2)    bytes 8..11  handler offset 63:32, 12..15 reserved
//
// Type 0b1110 is an interrupt gate: the CPU clears RFLAGS.IF on entry, so a handler never
// races with another interrupt on this CPU. (A trap gate, 0b1111, would leave IF alone.)
struct GateDescriptor {
  std::uint16_t offset_low;
  std::uint16_t selector;
  std::uint8_t ist;
  std::uint8_t attributes;
  std::uint16_t offset_middle;
  std::uint32_t offset_high;
  std::uint32_t reserved;
};
static_assert(sizeof(GateDescriptor) == 16);

constexpr std::uint8_t kGatePresent = 1u << 7;
constexpr std::uint8_t kInterruptGateType = 0b1110;  // SDM Vol. 3A table 3-2

constexpr GateDescriptor interrupt_gate(std::uint64_t handler, InterruptStack stack) {
  return {
      .offset_low = static_cast<std::uint16_t>(handler),
      .selector = kKernelCodeSelector,
      .ist = static_cast<std::uint8_t>(stack),
      .attributes = kGatePresent | kInterruptGateType,  // DPL 0: `int N` from ring 3 gets #GP (idt.h)
      .offset_middle = static_cast<std::uint16_t>(handler >> 16),
      .offset_high = static_cast<std::uint32_t>(handler >> 32),
      .reserved = 0,
  };
}

alignas(16) constinit std::array<GateDescriptor, kVectorCount> idt{};
constinit std::array<std::atomic<InterruptHandler>, kVectorCount> handlers{};
constinit std::atomic<std::uint64_t> unexpected_interrupts{0};
constinit std::atomic<InterruptReturnHook> return_hook{nullptr};

}  // namespace

namespace {

constexpr InterruptStack stack_of(std::uint8_t vector) {
  switch (vector) {
    case kDoubleFaultVector:
      return InterruptStack::double_fault;
    case kNmiVector:
      return InterruptStack::nmi;
    case kMachineCheckVector:
      return InterruptStack::machine_check;
    default:
      return InterruptStack::none;
  }
}

// interrupt_stubs.S sends exactly the vectors with an IST stack through its paranoid entry.
constexpr bool ist_vectors_match_the_assembler() {
  for (unsigned vector = 0; vector < kExceptionVectorCount; ++vector) {
    const bool listed = ((FERRITE_IST_VECTOR_MASK >> vector) & 1) != 0;
    if ((stack_of(static_cast<std::uint8_t>(vector)) != InterruptStack::none) != listed)
      return false;
  }
  return true;
}
static_assert(ist_vectors_match_the_assembler());

}  // namespace

InterruptStack interrupt_stack_of(std::uint8_t vector) {
  return stack_of(vector);
}

void init_idt() {
  for (unsigned vector = 0; vector < kVectorCount; ++vector) {
    idt[vector] = interrupt_gate(interrupt_stub_table[vector],
                                 interrupt_stack_of(static_cast<std::uint8_t>(vector)));
  }
  const DescriptorTablePointer pointer{sizeof(idt) - 1,
                                       reinterpret_cast<std::uint64_t>(idt.data())};
  asm volatile("lidt %0" : : "m"(pointer) : "memory");
}

void set_handler(std::uint8_t vector, InterruptHandler handler) {
  handlers[vector].store(handler, std::memory_order_release);
}

InterruptHandler handler(std::uint8_t vector) {
  return handlers[vector].load(std::memory_order_acquire);
}

void set_gate_present(std::uint8_t vector, bool present) {
  // A volatile access: the compiler must not drop a store that only the CPU reads.
  volatile std::uint8_t& attributes = idt[vector].attributes;
  attributes = present ? (attributes | kGatePresent) : (attributes & ~kGatePresent);
}

void set_interrupt_return_hook(InterruptReturnHook hook) {
  return_hook.store(hook, std::memory_order_release);
}

void report_unexpected_interrupt(const InterruptFrame& frame) {
  unexpected_interrupts.fetch_add(1, std::memory_order_relaxed);
  log::warn("unexpected interrupt {} (rip {:#x})", frame.vector, frame.rip);
}

std::uint64_t unexpected_interrupt_count() {
  return unexpected_interrupts.load(std::memory_order_relaxed);
}

}  // namespace ferrite::arch

extern "C" void interrupt_dispatch(ferrite::arch::InterruptFrame* frame) {
  using namespace ferrite::arch;
  const auto vector = static_cast<std::uint8_t>(frame->vector);
  if (ferrite::pc::pic::is_irq_vector(vector)) {
    ferrite::pc::pic::handle_irq(*frame);
  } else if (const InterruptHandler registered = handler(vector)) {
    registered(*frame);
  } else if (vector < kExceptionVectorCount) {
    handle_exception(*frame);
  } else {
    report_unexpected_interrupt(*frame);
  }
  if (vector >= kExceptionVectorCount) {
    if (const InterruptReturnHook hook = return_hook.load(std::memory_order_acquire)) hook();
  }
  // Chapter 14: a program asked to end ends here — not from an IST stack, which no thread owns.
  // The ring test first: an interrupt of kernel code (a preempted kernel thread) pays two
  // instructions for it, not a call and the IST lookup.
  if ((frame->cs & 3) == 3 && interrupt_stack_of(vector) == InterruptStack::none) {
    prepare_return_to_user(*frame);
  }
}
