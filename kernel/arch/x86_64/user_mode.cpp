// Ring 3 set-up, the switch of user state, and the exception paths of user code (chapter 14).
#include "arch/x86_64/user_mode.h"

#include "arch/x86_64/context.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/cpu_local.h"
#include "arch/x86_64/exceptions.h"
#include "arch/x86_64/gdt.h"
#include "lib/log.h"

extern "C" {
// syscall_entry.S
void syscall_entry();
[[noreturn]] void user_mode_enter(std::uint64_t entry, std::uint64_t stack_pointer);
[[noreturn]] void user_mode_resume(const ferrite::arch::InterruptFrame* frame,
                                   std::uint64_t kernel_stack_top);
// syscall_entry.S calls through this pointer with the frame it built (never null: see below).
extern void (*ferrite_syscall_handler)(ferrite::arch::InterruptFrame& frame);
// syscall_entry.S calls this with interrupts off, on the way back to ring 3.
void syscall_return_to_user(ferrite::arch::InterruptFrame* frame);
// user_copy.S: read by its stac/clac guards.
extern bool ferrite_smap_enabled;
// user_copy.S: the (instruction that may fault, where to continue) pairs.
struct UserAccessFixup {
  std::uint64_t instruction;
  std::uint64_t fixup;
};
extern const UserAccessFixup user_access_fixups[];
extern const UserAccessFixup user_access_fixups_end[];
}

namespace ferrite::arch {

namespace {

// MSRs (SDM Vol. 4 table 2-2; Vol. 2B SYSCALL/SYSRET; Vol. 3A 5.8.8 "Fast System Calls in
// 64-Bit Mode").
constexpr std::uint32_t kMsrEfer = 0xC000'0080;
constexpr std::uint32_t kMsrStar = 0xC000'0081;   // segment bases for SYSCALL and SYSRET
constexpr std::uint32_t kMsrLstar = 0xC000'0082;  // SYSCALL's RIP in 64-bit mode
constexpr std::uint32_t kMsrFmask = 0xC000'0084;  // RFLAGS bits SYSCALL clears
constexpr std::uint32_t kMsrFsBase = 0xC000'0100;
constexpr std::uint64_t kEferSyscallEnable = 1u << 0;

// RFLAGS bits (SDM Vol. 1 3.4.3). SYSCALL clears those in FMASK: IF (no interrupt before the
// stub has a kernel stack), TF (no single-step trap in the kernel), DF (the ABI's string
// direction), NT, AC (SMAP stays closed). NT: a program may set it with popf at any CPL; in
// 64-bit mode it only makes the next iretq raise #GP (SDM Vol. 2A IRET: "IF EFLAGS.NT = 1 ...
// IA-32e mode: #GP(0)"), and interrupts and exceptions clear it but SYSCALL keeps it — so a
// kernel that left it set would fault in ring 0 at its next iretq: the system call's way out
// after execve or rt_sigreturn, or another thread's interrupt return after a switch (Linux
// masks it for the same reason).
constexpr std::uint64_t kRflagsTrap = 1u << 8;
constexpr std::uint64_t kRflagsDirection = 1u << 10;
constexpr std::uint64_t kRflagsNestedTask = 1u << 14;
constexpr std::uint64_t kRflagsAlignmentCheck = 1u << 18;

// CR4 and CPUID.(EAX=07H,ECX=0):EBX (SDM Vol. 3A 2.5; Vol. 2A CPUID table 3-8).
constexpr std::uint64_t kCr4Smep = 1u << 20;
constexpr std::uint64_t kCr4Smap = 1u << 21;
constexpr std::uint32_t kCpuidSmep = 1u << 7;
constexpr std::uint32_t kCpuidSmap = 1u << 20;

// Before the process layer registers its hooks (and in test images without one) the two hooks
// on the system-call path are these, not null: the fast path tests nothing to call them.
void syscall_without_process_layer(InterruptFrame& frame) {
  frame.rax = static_cast<std::uint64_t>(-38);  // -ENOSYS: no process layer in this image
}
void nothing_before_return(InterruptFrame&) {}

constinit UserPageResolver page_resolver = nullptr;
constinit UserFaultHandler fault_handler = nullptr;
constinit UserReturnHook return_hook = nothing_before_return;
constinit bool smep_on = false;

template <unsigned Offset>
void cpu_local_write(std::uint64_t value) {
  asm volatile("movq %0, %%gs:%c1" : : "r"(value), "i"(Offset) : "memory");
}

mm::FaultAccess access_of(PageFaultError error) {
  if (error.instruction_fetch()) return mm::FaultAccess::execute;
  return error.write() ? mm::FaultAccess::write : mm::FaultAccess::read;
}

const UserAccessFixup* find_fixup(std::uint64_t rip) {
  for (const UserAccessFixup* entry = user_access_fixups; entry != user_access_fixups_end;
       ++entry) {
    if (entry->instruction == rip) return entry;
  }
  return nullptr;
}

}  // namespace

void init_user_context(UserContext& context) {
  init_fpu_state(context.fpu);
  context.fs_base = 0;
}

void init_user_mode() {
  write_msr(kMsrEfer, read_msr(kMsrEfer) | kEferSyscallEnable);
  // STAR[47:32]: SYSCALL loads CS from it and SS from it + 8 (kernel code, kernel data).
  // STAR[63:48]: SYSRET to 64-bit code loads CS from it + 16 and SS from it + 8, both with RPL 3
  // (user code 0x23, user data 0x1B: base 0x10). gdt.h asserts the order this needs.
  const std::uint64_t sysret_base = kUserDataSelector - 8;
  write_msr(kMsrStar, (sysret_base << 48) | (std::uint64_t{kKernelCodeSelector} << 32));
  write_msr(kMsrLstar, reinterpret_cast<std::uint64_t>(&syscall_entry));
  write_msr(kMsrFmask,
            kRflagsInterruptFlag | kRflagsTrap | kRflagsDirection | kRflagsNestedTask |
                kRflagsAlignmentCheck);
  // The user's GS base lives in IA32_KERNEL_GS_BASE while the kernel runs; swapgs exchanges it
  // with the kernel's on every crossing. Programs start with 0 (as on Linux).
  write_msr(kMsrKernelGsBase, 0);

  // SMEP: ring 0 cannot execute user pages; SMAP: ring 0 cannot read or write them except
  // between stac and clac (SDM Vol. 3A 5.6.1 "Determination of Access Rights").
  const std::uint32_t features = cpuid(0).eax >= 7 ? cpuid(7, 0).ebx : 0;
  std::uint64_t cr4 = read_cr4();
  if ((features & kCpuidSmep) != 0) cr4 |= kCr4Smep, smep_on = true;
  if ((features & kCpuidSmap) != 0) cr4 |= kCr4Smap, ferrite_smap_enabled = true;
  write_cr4(cr4);

  // Debug level, as the other details of a boot that went as expected (init.cpp): `dmesg` shows
  // it, and `log=debug` prints it at boot.
  log::debug("user mode: syscall entry {:#x}, SMEP {}, SMAP {}, FPU state by {} (XCR0 {:#x})",
             reinterpret_cast<std::uint64_t>(&syscall_entry), smep_on ? "on" : "off (CPU lacks it)",
             ferrite_smap_enabled ? "on" : "off (CPU lacks it)",
             fpu_uses_xsave() ? "XSAVE" : "FXSAVE", fpu_xcr0());
}

bool smep_enabled() {
  return smep_on;
}
bool smap_enabled() {
  return ferrite_smap_enabled;
}

void save_user_context(UserContext& context) {
  save_fpu_state(context.fpu);
  context.fs_base = read_msr(kMsrFsBase);
}

void load_user_context(const UserContext& context, std::uintptr_t kernel_stack_top) {
  restore_fpu_state(context.fpu);
  write_msr(kMsrFsBase, context.fs_base);
  set_privilege_stack(kernel_stack_top);
  cpu_local_write<FERRITE_CPU_LOCAL_KERNEL_STACK>(kernel_stack_top);
}

void set_user_fs_base(std::uint64_t base) {
  write_msr(kMsrFsBase, base);
}
std::uint64_t user_fs_base() {
  return read_msr(kMsrFsBase);
}

void enter_user_mode(std::uint64_t entry, std::uint64_t stack_pointer) {
  user_mode_enter(entry, stack_pointer);
}

void resume_user_mode(const InterruptFrame& frame, std::uintptr_t kernel_stack_top) {
  user_mode_resume(&frame, kernel_stack_top);
}

void set_user_mode_hooks(SyscallHandler syscall, UserPageResolver resolver, UserFaultHandler fault,
                         UserReturnHook before_return) {
  ferrite_syscall_handler = syscall != nullptr ? syscall : syscall_without_process_layer;
  page_resolver = resolver;
  fault_handler = fault;
  return_hook = before_return != nullptr ? before_return : nothing_before_return;
}

void prepare_return_to_user(InterruptFrame& frame) {
  return_hook(frame);
}

bool handle_user_mode_exception(InterruptFrame& frame) {
  const auto vector = static_cast<std::uint8_t>(frame.vector);
  std::uint64_t address = frame.rip;
  if (vector == kPageFaultVector) {
    address = read_cr2();
    // Demand paging: the first touch of a page the program may have.
    if (page_resolver != nullptr &&
        page_resolver(address, access_of(PageFaultError(frame.error_code)))) {
      return true;
    }
  }
  if (fault_handler == nullptr) return false;
  return fault_handler(frame, address);  // true: a signal handler of the program's takes it
}

bool fix_up_user_access(InterruptFrame& frame) {
  const auto vector = static_cast<std::uint8_t>(frame.vector);
  if (vector != kPageFaultVector && vector != kGeneralProtectionVector) return false;
  const UserAccessFixup* fixup = find_fixup(frame.rip);
  if (fixup == nullptr) return false;
  if (vector == kPageFaultVector) {
    const std::uint64_t address = read_cr2();
    if (address < mm::kUserEnd && page_resolver != nullptr &&
        page_resolver(address, access_of(PageFaultError(frame.error_code)))) {
      return true;  // mapped now: the copy resumes where it stopped (rep movsb keeps its counts)
    }
  }
  frame.rip = fixup->fixup;
  return true;
}

}  // namespace ferrite::arch

extern "C" {
constinit ferrite::arch::SyscallHandler ferrite_syscall_handler =
    ferrite::arch::syscall_without_process_layer;
}

extern "C" void syscall_return_to_user(ferrite::arch::InterruptFrame* frame) {
  ferrite::arch::prepare_return_to_user(*frame);
}
