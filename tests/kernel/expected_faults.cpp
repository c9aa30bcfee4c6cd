// Expected-fault scenarios (chapters 5 and 6): each boot triggers one CPU exception that cannot be
// resumed and succeeds only if that exception's handler reports it with the right details —
// vector, faulting instruction, error code, CR2, the stack it runs on. `fault=<name>` on the
// command line picks the scenario; the run exits with failure on any other outcome (a different
// fault, a panic, or returning from the trigger).
#include <array>
#include <cstdint>
#include <string_view>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/exceptions.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "platform/pc/qemu_exit.h"
#include "boot/command_line.h"
#include "boot/start.h"
#include "console/print.h"
#include "init.h"
#include "lib/panic_hook.h"
#include "mm/memory.h"
#include "sched/scheduler.h"

// The faulting instructions, in assembly so the test knows their exact addresses: a fault's
// saved RIP must point at the instruction that faulted (Intel SDM Vol. 3A 7.5 "Exception
// Classifications": faults report the address of the faulting instruction).
asm(R"(
        .text
        .global trigger_divide_error, divide_error_instruction
trigger_divide_error:
        movl $1, %eax
        xorl %edx, %edx
        xorl %ecx, %ecx
divide_error_instruction:
        divl %ecx
        ret

        .global trigger_invalid_opcode, invalid_opcode_instruction
trigger_invalid_opcode:
invalid_opcode_instruction:
        ud2
        ret

        .global trigger_general_protection, general_protection_instruction
trigger_general_protection:
        movabsq $0x8000000000000000, %rax   /* not canonical: bits 63..47 differ */
general_protection_instruction:
        movq (%rax), %rax
        ret

        .global trigger_page_fault, page_fault_instruction
trigger_page_fault:
        movabsq $0x0000400000000000, %rax   /* lower half, never mapped by the kernel */
page_fault_instruction:
        movq (%rax), %rax
        ret
)");

extern "C" {
void trigger_divide_error();
void trigger_invalid_opcode();
void trigger_general_protection();
void trigger_page_fault();
extern const char divide_error_instruction[], invalid_opcode_instruction[];
extern const char general_protection_instruction[], page_fault_instruction[];
}

namespace {

namespace arch = ferrite::arch;
namespace pc = ferrite::pc;
using ferrite::println;

constexpr std::uint64_t kUnmappedAddress = 0x0000'4000'0000'0000;

std::uint64_t address_of(const char* label) {
  return reinterpret_cast<std::uint64_t>(label);
}

// Prints one check of the hook and returns whether it held.
bool check(bool ok, std::string_view what) {
  println("  check: {} ... {}", what, ok ? "ok" : "FAILED");
  return ok;
}

bool running_on_double_fault_stack(const arch::InterruptFrame& frame) {
  return arch::interrupt_stack(arch::InterruptStack::double_fault)
      .contains(reinterpret_cast<std::uintptr_t>(&frame));
}

bool is_in_boot_stack_guard_page(std::uint64_t address) {
  const std::uintptr_t guard = arch::stack_guard_pages()[0];
  return address >= guard && address < guard + 4096;
}

// ---- divide error --------------------------------------------------------------------------
bool divide_error_expected(const arch::InterruptFrame& frame) {
  bool ok = check(frame.vector == arch::kDivideErrorVector, "vector 0 (#DE)");
  ok &= check(frame.rip == address_of(divide_error_instruction), "RIP is the div instruction");
  ok &= check(frame.error_code == 0, "no error code (the stub's dummy 0)");
  return ok;
}

// ---- invalid opcode ------------------------------------------------------------------------
bool invalid_opcode_expected(const arch::InterruptFrame& frame) {
  bool ok = check(frame.vector == arch::kInvalidOpcodeVector, "vector 6 (#UD)");
  ok &= check(frame.rip == address_of(invalid_opcode_instruction), "RIP is the ud2 instruction");
  return ok;
}

// ---- general protection from a non-canonical address ----------------------------------------
bool general_protection_expected(const arch::InterruptFrame& frame) {
  bool ok = check(frame.vector == arch::kGeneralProtectionVector, "vector 13 (#GP)");
  ok &= check(frame.rip == address_of(general_protection_instruction), "RIP is the load");
  ok &= check(frame.error_code == 0, "error code 0 (no segment involved)");
  ok &= check(frame.rax == 0x8000'0000'0000'0000, "RAX in the frame holds the address");
  return ok;
}

// ---- page fault on an unmapped read --------------------------------------------------------
bool page_fault_expected(const arch::InterruptFrame& frame) {
  const arch::PageFaultError error(frame.error_code);
  bool ok = check(frame.vector == arch::kPageFaultVector, "vector 14 (#PF)");
  ok &= check(frame.rip == address_of(page_fault_instruction), "RIP is the load");
  ok &= check(arch::read_cr2() == kUnmappedAddress, "CR2 is the address read");
  ok &= check(!error.protection_violation(), "error code: page not present");
  ok &= check(!error.write(), "error code: a read");
  ok &= check(!error.user_mode(), "error code: kernel mode");
  ok &= check(!error.instruction_fetch() && !error.reserved_bit_set(),
              "error code: no instruction fetch, no reserved bit");
  return ok;
}

// ---- kernel stack overflow -> double fault on the IST stack --------------------------------
// Each call pushes a return address and a frame; the boot stack's guard page (unmapped by
// mm::init) stops it. The #PF cannot be delivered — the CPU would push its frame onto the same
// unmapped page — so the CPU raises #DF, which switches to its IST stack (SDM Vol. 3A 7.14.5).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"  // the whole point
[[gnu::noinline]] int recurse_forever(int depth) {
  volatile char local[64];
  local[0] = static_cast<char>(depth);
  return recurse_forever(depth + 1) + local[0];  // not a tail call: the stack must grow
}
#pragma GCC diagnostic pop

void trigger_stack_overflow() {
  const std::uintptr_t guard = arch::stack_guard_pages()[0];
  if (ferrite::mm::kernel_mapper().translate(ferrite::mm::VirtAddr(guard))) {
    println("the boot stack's guard page {:#x} is mapped: an overflow would not fault", guard);
    pc::exit_qemu(pc::QemuExitCode::failure);
  }
  println("boot stack guard page {:#x} is unmapped; recursing", guard);
  (void)recurse_forever(0);
}

bool stack_overflow_expected(const arch::InterruptFrame& frame) {
  bool ok = check(frame.vector == arch::kDoubleFaultVector, "vector 8 (#DF)");
  ok &= check(running_on_double_fault_stack(frame), "the handler runs on the IST1 stack");
  ok &= check(is_in_boot_stack_guard_page(arch::read_cr2()),
              "CR2 (of the undeliverable #PF) is in the boot stack's guard page");
  ok &= check(frame.error_code == 0, "error code 0");
  return ok;
}

// ---- a kernel thread's stack overflow (chapter 13): the #DF report names the thread ----------
// The thread's stack has its own unmapped guard page; the fault describer the scheduler installs
// says whose guard page CR2 is in, and which thread was running.
void trigger_thread_stack_overflow() {
  const auto thread = ferrite::sched::spawn("overflow", [](void*) -> std::int64_t {
    return recurse_forever(0);
  }, nullptr, ferrite::sched::Priority::high);
  if (!thread) {
    println("cannot spawn the thread: {}", ferrite::sched::to_string(thread.error()));
    return;
  }
  println("spawned thread {} \"overflow\"; waiting for it", (*thread)->id);
  (void)ferrite::sched::join(**thread);
}

bool thread_stack_overflow_expected(const arch::InterruptFrame& frame) {
  bool ok = check(frame.vector == arch::kDoubleFaultVector, "vector 8 (#DF)");
  ok &= check(running_on_double_fault_stack(frame), "the handler runs on the IST1 stack");
  const ferrite::sched::Thread& running = ferrite::sched::current();
  ok &= check(running.name_view() == "overflow", "the running thread is \"overflow\"");
  ok &= check(arch::read_cr2() >= running.guard_page && arch::read_cr2() < running.guard_page + 4096,
              "CR2 is in that thread's guard page");
  return ok;
}

// ---- the seed's scenario: a fault whose handler is missing becomes a double fault -----------
// With the #PF gate marked not present, delivering the page fault itself faults (#NP, a
// "contributory" exception); a contributory exception while delivering a #PF is a double fault
// (SDM Vol. 3A table 7-5 "Conditions for Generating a Double Fault").
void trigger_missing_handler() {
  arch::set_gate_present(arch::kPageFaultVector, false);
  trigger_page_fault();
}

bool missing_handler_expected(const arch::InterruptFrame& frame) {
  bool ok = check(frame.vector == arch::kDoubleFaultVector, "vector 8 (#DF)");
  ok &= check(running_on_double_fault_stack(frame), "the handler runs on the IST1 stack");
  ok &= check(arch::read_cr2() == kUnmappedAddress, "CR2 is the address of the first fault");
  ok &= check(arch::exception_count(arch::kPageFaultVector) == 0, "no #PF handler ever ran");
  return ok;
}

struct Scenario {
  std::string_view name;
  void (*trigger)();
  bool (*expected)(const arch::InterruptFrame& frame);  // whether the fault is the one expected
};

constexpr std::array kScenarios = {
    Scenario{"divide_error", trigger_divide_error, divide_error_expected},
    Scenario{"invalid_opcode", trigger_invalid_opcode, invalid_opcode_expected},
    Scenario{"general_protection", trigger_general_protection, general_protection_expected},
    Scenario{"page_fault", trigger_page_fault, page_fault_expected},
    Scenario{"stack_overflow", trigger_stack_overflow, stack_overflow_expected},
    Scenario{"missing_handler", trigger_missing_handler, missing_handler_expected},
    Scenario{"thread_stack_overflow", trigger_thread_stack_overflow, thread_stack_overflow_expected},
};

constinit const Scenario* current = nullptr;

}  // namespace

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  ferrite::set_panic_hook([](std::source_location, std::string_view) {
    ferrite::console::write_serial("expected_faults: panic: FAILED\n");
    pc::exit_qemu(pc::QemuExitCode::failure);
  });
  ferrite::init(boot_info);

  const ferrite::boot::CommandLine command_line(boot_info.command_line());
  const std::string_view wanted = command_line.get("fault").value_or("");
  for (const Scenario& scenario : kScenarios) {
    if (scenario.name != wanted) continue;
    current = &scenario;
    arch::set_fault_hook([](const arch::InterruptFrame& frame) {
      const bool ok = current->expected(frame);
      println("expected_faults: {} {}", current->name, ok ? "[ok]" : "[failed]");
      println("{} passed, {} failed", ok ? 1 : 0, ok ? 0 : 1);
      pc::exit_qemu(ok ? pc::QemuExitCode::success : pc::QemuExitCode::failure);
    });
    println("expected_faults: triggering {}", scenario.name);
    scenario.trigger();
    println("expected_faults: {} returned without a fault: FAILED", scenario.name);
    pc::exit_qemu(pc::QemuExitCode::failure);
  }
  println("expected_faults: unknown scenario \"{}\"; use fault=<name> with one of:", wanted);
  for (const Scenario& scenario : kScenarios) println("  {}", scenario.name);
  pc::exit_qemu(pc::QemuExitCode::failure);
}
