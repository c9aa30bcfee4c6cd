// CPU exceptions (chapters 5 and 6): the 32 reserved vectors, their names, the decoding of their
// error codes, and the one handler that reports them. #DB, NMI and #BP are reported and execution
// continues; every other exception cannot be resumed safely, so it is reported in red and the
// kernel stops (or, in a test image that expects this fault, the test's fault hook decides).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "arch/x86_64/error_code_vectors.h"
#include "arch/x86_64/interrupt_frame.h"
#include "lib/format.h"

namespace ferrite::arch {

// The vectors the rest of the kernel refers to by name.
inline constexpr std::uint8_t kDivideErrorVector = 0;
inline constexpr std::uint8_t kNmiVector = 2;
inline constexpr std::uint8_t kBreakpointVector = 3;
inline constexpr std::uint8_t kInvalidOpcodeVector = 6;
inline constexpr std::uint8_t kDoubleFaultVector = 8;
inline constexpr std::uint8_t kGeneralProtectionVector = 13;
inline constexpr std::uint8_t kPageFaultVector = 14;
inline constexpr std::uint8_t kAlignmentCheckVector = 17;
inline constexpr std::uint8_t kMachineCheckVector = 18;

// What happens after the handler (Intel SDM Vol. 3A 7.5 "Exception Classifications").
enum class ExceptionKind : std::uint8_t {
  fault,      // reported before the instruction; RIP points at it (resuming retries it)
  trap,       // reported after the instruction; RIP points at the next one
  abort,      // the CPU state may be lost; cannot be resumed
  interrupt,  // NMI: not caused by the instruction at RIP
  reserved,   // vectors Intel keeps for the future
};

struct ExceptionInfo {
  std::string_view mnemonic;  // "#PF"
  std::string_view name;      // "Page Fault"
  ExceptionKind kind;
  bool has_error_code;  // pushed by the CPU: checked against error_code_vectors.h below
};

// Intel SDM Vol. 3A table 7-1 "Protected-Mode Exceptions and Interrupts" and 7.15 "Exception and
// Interrupt Reference"; vectors 28-30 are AMD's (AMD APM Vol. 2 table 8-1).
inline constexpr std::array<ExceptionInfo, 32> kExceptions = {{
    {"#DE", "Divide Error", ExceptionKind::fault, false},
    {"#DB", "Debug", ExceptionKind::trap, false},  // a fault for some debug conditions
    {"NMI", "Non-Maskable Interrupt", ExceptionKind::interrupt, false},
    {"#BP", "Breakpoint", ExceptionKind::trap, false},
    {"#OF", "Overflow", ExceptionKind::trap, false},
    {"#BR", "BOUND Range Exceeded", ExceptionKind::fault, false},
    {"#UD", "Invalid Opcode", ExceptionKind::fault, false},
    {"#NM", "Device Not Available", ExceptionKind::fault, false},
    {"#DF", "Double Fault", ExceptionKind::abort, true},                   // error code always 0
    {"#CSO", "Coprocessor Segment Overrun", ExceptionKind::abort, false},  // not on 64-bit CPUs
    {"#TS", "Invalid TSS", ExceptionKind::fault, true},
    {"#NP", "Segment Not Present", ExceptionKind::fault, true},
    {"#SS", "Stack-Segment Fault", ExceptionKind::fault, true},
    {"#GP", "General Protection", ExceptionKind::fault, true},
    {"#PF", "Page Fault", ExceptionKind::fault, true},
    {"#15", "Reserved", ExceptionKind::reserved, false},
    {"#MF", "x87 Floating-Point Error", ExceptionKind::fault, false},
    {"#AC", "Alignment Check", ExceptionKind::fault, true},  // error code always 0
    {"#MC", "Machine Check", ExceptionKind::abort, false},
    {"#XM", "SIMD Floating-Point Exception", ExceptionKind::fault, false},
    {"#VE", "Virtualization Exception", ExceptionKind::fault, false},
    {"#CP", "Control Protection Exception", ExceptionKind::fault, true},
    {"#22", "Reserved", ExceptionKind::reserved, false},
    {"#23", "Reserved", ExceptionKind::reserved, false},
    {"#24", "Reserved", ExceptionKind::reserved, false},
    {"#25", "Reserved", ExceptionKind::reserved, false},
    {"#26", "Reserved", ExceptionKind::reserved, false},
    {"#27", "Reserved", ExceptionKind::reserved, false},
    {"#HV", "Hypervisor Injection Exception", ExceptionKind::fault, false},
    {"#VC", "VMM Communication Exception", ExceptionKind::fault, true},
    {"#SX", "Security Exception", ExceptionKind::fault, true},
    {"#31", "Reserved", ExceptionKind::reserved, false},
}};

// The table and the stubs (which read error_code_vectors.h) agree on every vector.
constexpr bool exception_table_matches_error_code_vectors() {
  for (unsigned vector = 0; vector < kExceptions.size(); ++vector) {
    const bool listed = ((FERRITE_ERROR_CODE_VECTOR_MASK >> vector) & 1) != 0;
    if (kExceptions[vector].has_error_code != listed) return false;
  }
  return true;
}
static_assert(exception_table_matches_error_code_vectors(),
              "kExceptions[].has_error_code disagrees with FERRITE_ERROR_CODE_VECTOR_MASK");

// The page-fault error code (SDM Vol. 3A 5.7 "Page-Fault Exceptions", figure 5-12; 4.7 and
// figure 4-12 in editions before 2023).
class PageFaultError {
 public:
  constexpr explicit PageFaultError(std::uint64_t code) : code_(code) {}
  // 0: the page was not present; 1: it was, but the access broke its protection.
  constexpr bool protection_violation() const { return bit(0); }
  constexpr bool write() const { return bit(1); }              // 0: a read
  constexpr bool user_mode() const { return bit(2); }          // 0: CPL 0-2
  constexpr bool reserved_bit_set() const { return bit(3); }   // a corrupt page-table entry
  constexpr bool instruction_fetch() const { return bit(4); }  // NX page executed
  constexpr bool protection_key() const { return bit(5); }
  constexpr bool shadow_stack() const { return bit(6); }
  constexpr bool hlat_paging() const { return bit(7); }
  constexpr bool sgx() const { return bit(15); }
  constexpr std::uint64_t raw() const { return code_; }

 private:
  constexpr bool bit(unsigned n) const { return (code_ >> n & 1) != 0; }
  std::uint64_t code_;
};

// The selector error code of #TS, #NP, #SS and #GP (SDM Vol. 3A 7.13 "Error Code", figure 7-7).
// It names the descriptor the CPU was loading; 0 means "not about a particular segment".
class SelectorError {
 public:
  enum class Table : std::uint8_t { gdt, idt, ldt };
  constexpr explicit SelectorError(std::uint64_t code) : code_(code) {}
  constexpr bool external() const { return (code_ & 1) != 0; }  // caused by an outside event
  // Bit 1 set: an IDT gate; otherwise bit 2 picks the LDT (1) or GDT (0).
  constexpr Table table() const {
    if ((code_ & 2) != 0) return Table::idt;
    return (code_ & 4) != 0 ? Table::ldt : Table::gdt;
  }
  constexpr std::uint16_t index() const { return static_cast<std::uint16_t>(code_ >> 3 & 0x1FFF); }
  constexpr std::uint64_t raw() const { return code_; }

 private:
  std::uint64_t code_;
};

constexpr std::string_view to_string(SelectorError::Table table) {
  switch (table) {
    case SelectorError::Table::gdt:
      return "GDT";
    case SelectorError::Table::idt:
      return "IDT";
    case SelectorError::Table::ldt:
      return "LDT";
  }
  return "?";
}

// Whether the error code of this vector is a selector error code.
constexpr bool has_selector_error_code(std::uint8_t vector) {
  return vector >= 10 && vector <= 13;
}

// Handles one of vectors 0..31 (called by the dispatcher when no other handler is registered).
// Chapter 14: an exception in ring 3 goes to the process layer's hooks first (user_mode.h), and
// a fault inside a user copy to its fix-up; only what is left is reported as a kernel fault.
void handle_exception(InterruptFrame& frame);

// Test images that expect a fault install a hook. It runs after the report of any exception that
// cannot be resumed, and ends the test (it exits QEMU with its verdict); if it returns, or there
// is no hook, the kernel panics.
using FaultHook = void (*)(const InterruptFrame& frame);
void set_fault_hook(FaultHook hook);

// The kernel above the CPU may know more about an address than "some stack": the scheduler names
// the thread whose stack guard page it is in, and the thread that was running (chapter 13). The
// describer adds lines to every exception report; it must not take locks.
using FaultDescriber = void (*)(fmt::Sink& out, std::uintptr_t cr2, std::uintptr_t rsp);
void set_fault_describer(FaultDescriber describer);

// How often each exception has been taken (for tests: "did #BP really run?").
[[nodiscard]] std::uint64_t exception_count(std::uint8_t vector);

}  // namespace ferrite::arch
