// The report every CPU exception produces, and what happens after it (chapters 5 and 6).
#include "arch/x86_64/exceptions.h"

#include <atomic>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/user_mode.h"
#include "lib/format.h"
#include "lib/log.h"
#include "lib/panic.h"
#include "mm/page.h"

namespace ferrite::arch {

namespace {

static_assert(PageFaultError(0b00000).protection_violation() == false);
static_assert(PageFaultError(0b00011).write() && PageFaultError(0b00011).protection_violation());
static_assert(PageFaultError(0b10100).instruction_fetch() && PageFaultError(0b10100).user_mode());
static_assert(SelectorError(8 * 14 + 2 + 1).table() == SelectorError::Table::idt);
static_assert(SelectorError(8 * 14 + 2 + 1).index() == 14 && SelectorError(8 * 14 + 3).external());
static_assert(SelectorError(0x2C).table() == SelectorError::Table::ldt);
static_assert(SelectorError(0x28).table() == SelectorError::Table::gdt);

constinit FaultHook fault_hook = nullptr;
constinit FaultDescriber fault_describer = nullptr;
constinit std::array<std::atomic<std::uint64_t>, kExceptionVectorCount> counts{};

// #DB, NMI and #BP leave the interrupted code intact: report and return to it.
constexpr bool is_resumable(std::uint8_t vector) {
  return vector == 1 || vector == kNmiVector || vector == kBreakpointVector;
}

void describe_page_fault(fmt::Sink& out, PageFaultError error) {
  fmt::format_to(
      out, "{}, {}, {}", error.protection_violation() ? "protection violation" : "not present",
      error.instruction_fetch() ? "instruction fetch" : (error.write() ? "write" : "read"),
      error.user_mode() ? "user mode" : "kernel mode");
  if (error.reserved_bit_set()) fmt::format_to(out, ", reserved bit set in a page-table entry");
  if (error.protection_key()) fmt::format_to(out, ", protection key");
  if (error.shadow_stack()) fmt::format_to(out, ", shadow stack");
  if (error.hlat_paging()) fmt::format_to(out, ", HLAT paging");
  if (error.sgx()) fmt::format_to(out, ", SGX");
}

void describe_selector_error(fmt::Sink& out, SelectorError error) {
  if (error.raw() == 0) {
    fmt::format_to(out, "no segment involved");
    return;
  }
  fmt::format_to(out, "{} entry {}", to_string(error.table()), error.index());
  if (error.table() == SelectorError::Table::gdt || error.table() == SelectorError::Table::ldt) {
    fmt::format_to(out, " (selector {:#x})", error.index() * 8);
  } else {
    fmt::format_to(out, " (the gate of vector {})", error.index());
  }
  if (error.external()) fmt::format_to(out, ", during delivery of an external event");
}

// For addresses in a guard page: the likely story behind the fault.
void describe_guard_page_hit(fmt::Sink& out, std::uintptr_t address, std::string_view what) {
  static constexpr std::string_view kStackNames[] = {"boot stack", "double-fault stack",
                                                     "NMI stack", "machine-check stack"};
  const auto guards = stack_guard_pages();
  for (std::size_t i = 0; i < guards.size(); ++i) {
    if (address >= guards[i] && address < guards[i] + mm::kPageBytes) {
      fmt::format_to(out, "  {} {:#x} is in the guard page below the {}: a stack overflow\n", what,
                     address, kStackNames[i]);
    }
  }
}

void write_registers(fmt::Sink& out, const InterruptFrame& f) {
  fmt::format_to(out, "  RIP {:#018x}  CS  {:#06x}  RFLAGS {:#010x}\n", f.rip, f.cs, f.rflags);
  fmt::format_to(out, "  RSP {:#018x}  SS  {:#06x}\n", f.rsp, f.ss);
  fmt::format_to(out, "  RAX {:#018x}  RBX {:#018x}  RCX {:#018x}\n", f.rax, f.rbx, f.rcx);
  fmt::format_to(out, "  RDX {:#018x}  RSI {:#018x}  RDI {:#018x}\n", f.rdx, f.rsi, f.rdi);
  fmt::format_to(out, "  RBP {:#018x}  R8  {:#018x}  R9  {:#018x}\n", f.rbp, f.r8, f.r9);
  fmt::format_to(out, "  R10 {:#018x}  R11 {:#018x}  R12 {:#018x}\n", f.r10, f.r11, f.r12);
  fmt::format_to(out, "  R13 {:#018x}  R14 {:#018x}  R15 {:#018x}\n", f.r13, f.r14, f.r15);
}

// The whole report as text: name, vector, decoded error code, CR2, registers, and for the
// exceptions on IST stacks, which stack the handler runs on.
void write_report(fmt::Sink& out, const InterruptFrame& frame) {
  const auto vector = static_cast<std::uint8_t>(frame.vector);
  const ExceptionInfo& info = kExceptions[vector];
  fmt::format_to(out, "\nEXCEPTION: {} ({}, vector {})\n", info.name, info.mnemonic, vector);

  if (info.has_error_code) {
    fmt::format_to(out, "  error code {:#x}: ", frame.error_code);
    if (vector == kPageFaultVector) {
      describe_page_fault(out, PageFaultError(frame.error_code));
    } else if (has_selector_error_code(vector)) {
      describe_selector_error(out, SelectorError(frame.error_code));
    } else if (vector == kDoubleFaultVector || vector == kAlignmentCheckVector) {
      fmt::format_to(out, "(always 0)");
    } else {
      fmt::format_to(out, "(see the SDM's description of {})", info.mnemonic);
    }
    fmt::format_to(out, "\n");
  }
  if (vector == kPageFaultVector || vector == kDoubleFaultVector) {
    // A double fault often starts as a page fault that could not be delivered: its CR2 tells.
    const std::uint64_t address = read_cr2();
    fmt::format_to(out, "  CR2 {:#018x} ({})\n", address,
                   vector == kPageFaultVector ? "the address that was accessed"
                                              : "the address of the last page fault");
    describe_guard_page_hit(out, address, "CR2");
  }
  if (const InterruptStack ist = interrupt_stack_of(vector); ist != InterruptStack::none) {
    // The frame lies on the stack this handler runs on.
    const auto here = reinterpret_cast<std::uintptr_t>(&frame);
    const StackRange stack = interrupt_stack(ist);
    if (stack.contains(here)) {
      fmt::format_to(out, "  handler runs on its own IST{} stack [{:#x}, {:#x})\n",
                     static_cast<unsigned>(ist), stack.bottom, stack.top);
    } else {
      fmt::format_to(out, "  WARNING: handler is not on its IST{} stack (rsp {:#x})\n",
                     static_cast<unsigned>(ist), here);
    }
    describe_guard_page_hit(out, frame.rsp, "interrupted RSP");
  }
  if (fault_describer != nullptr) {
    fault_describer(out, vector == kPageFaultVector || vector == kDoubleFaultVector ? read_cr2() : 0,
                    frame.rsp);
  }
  write_registers(out, frame);
}

}  // namespace

void set_fault_describer(FaultDescriber describer) { fault_describer = describer; }

void set_fault_hook(FaultHook hook) {
  fault_hook = hook;
}

std::uint64_t exception_count(std::uint8_t vector) {
  return vector < counts.size() ? counts[vector].load(std::memory_order_relaxed) : 0;
}

void handle_exception(InterruptFrame& frame) {
  const auto vector = static_cast<std::uint8_t>(frame.vector);
  counts[vector].fetch_add(1, std::memory_order_relaxed);

  // Chapter 14: an exception in a user program is that program's problem (a demand page, or
  // the end of the program; user_mode.h), and a fault inside a user copy becomes EFAULT. Only
  // what is left is a kernel bug.
  // NMI, #DF and #MC are not the program's doing (and run on IST stacks no thread owns): they
  // keep the kernel's handling below.
  if ((frame.cs & 3) == 3 && interrupt_stack_of(vector) == InterruptStack::none) {
    if (handle_user_mode_exception(frame)) return;
  } else if (fix_up_user_access(frame)) {
    return;
  }

  // Room for the whole report. On the IST stacks (16 KiB) and on the kernel stack this is fine.
  char text[1536];
  fmt::BufferSink report(text);
  write_report(report, frame);

  // Into the log, never to the console directly: the interrupted code may hold the console (an
  // NMI can arrive anywhere), and a handler must not wait for it. The console shows the report
  // once task code runs again, or the panic below shows it at once.
  if (is_resumable(vector)) {
    log::write(log::Level::warn, report.view());
    return;
  }
  log::write(log::Level::error, report.view());
  if (fault_hook != nullptr) fault_hook(frame);
  const ExceptionInfo& info = kExceptions[vector];
  panic("unrecoverable CPU exception: {} ({}) at rip {:#x}", info.name, info.mnemonic, frame.rip);
}

}  // namespace ferrite::arch
