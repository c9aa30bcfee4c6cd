// Thin, inline wrappers around the x86_64 instructions the kernel needs: port I/O, the
// interrupt flag, halting, control registers, MSRs and the time-stamp counter.
// Intel SDM Vol. 2 describes each instruction; Vol. 3A chapter 2 the control registers.
#pragma once

#include <cstdint>

namespace ferrite::arch {

inline void outb(std::uint16_t port, std::uint8_t value) {
  asm volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
inline void outw(std::uint16_t port, std::uint16_t value) {
  asm volatile("outw %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
inline void outl(std::uint16_t port, std::uint32_t value) {
  asm volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
inline std::uint8_t inb(std::uint16_t port) {
  std::uint8_t value;
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
  return value;
}
inline std::uint16_t inw(std::uint16_t port) {
  std::uint16_t value;
  asm volatile("inw %1, %0" : "=a"(value) : "Nd"(port) : "memory");
  return value;
}
inline std::uint32_t inl(std::uint16_t port) {
  std::uint32_t value;
  asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
  return value;
}

// A write to an unused port takes about a microsecond: old devices (the 8259 PIC) need that pause.
inline void io_wait() { outb(0x80, 0); }

inline void disable_interrupts() { asm volatile("cli" ::: "memory"); }
inline void enable_interrupts() { asm volatile("sti" ::: "memory"); }
inline void halt() { asm volatile("hlt" ::: "memory"); }

// `sti` takes effect after the next instruction, so `sti; hlt` cannot lose an interrupt that
// arrives between the two: it wakes the hlt (SDM Vol. 2B, STI). The idle loops rely on this.
inline void enable_interrupts_and_halt() { asm volatile("sti; hlt" ::: "memory"); }

[[noreturn]] inline void halt_forever() {
  for (;;) {
    disable_interrupts();
    halt();
  }
}

constexpr std::uint64_t kRflagsInterruptFlag = 1u << 9;

inline std::uint64_t read_rflags() {
  std::uint64_t flags;
  asm volatile("pushfq; popq %0" : "=r"(flags) : : "memory");
  return flags;
}
inline bool interrupts_enabled() { return (read_rflags() & kRflagsInterruptFlag) != 0; }

// The pair behind every "interrupts off for a moment" section: returns whether they were on, so
// restore_interrupts puts back exactly that (sections nest; an interrupt handler, which runs
// with interrupts off, leaves them off).
inline bool save_and_disable_interrupts() {
  const bool were_enabled = interrupts_enabled();
  disable_interrupts();
  return were_enabled;
}
inline void restore_interrupts(bool were_enabled) {
  if (were_enabled) enable_interrupts();
}

inline std::uint64_t read_cr0() {
  std::uint64_t value;
  asm volatile("mov %%cr0, %0" : "=r"(value));
  return value;
}
inline void write_cr0(std::uint64_t value) { asm volatile("mov %0, %%cr0" : : "r"(value) : "memory"); }
inline std::uint64_t read_cr2() {
  std::uint64_t value;
  asm volatile("mov %%cr2, %0" : "=r"(value));
  return value;
}
inline std::uint64_t read_cr3() {
  std::uint64_t value;
  asm volatile("mov %%cr3, %0" : "=r"(value));
  return value;
}
inline void write_cr3(std::uint64_t value) { asm volatile("mov %0, %%cr3" : : "r"(value) : "memory"); }
inline std::uint64_t read_cr4() {
  std::uint64_t value;
  asm volatile("mov %%cr4, %0" : "=r"(value));
  return value;
}
inline void write_cr4(std::uint64_t value) { asm volatile("mov %0, %%cr4" : : "r"(value) : "memory"); }

inline std::uint64_t read_msr(std::uint32_t msr) {
  std::uint32_t low, high;
  asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
  return (std::uint64_t{high} << 32) | low;
}
inline void write_msr(std::uint32_t msr, std::uint64_t value) {
  asm volatile("wrmsr"
               :
               : "c"(msr), "a"(static_cast<std::uint32_t>(value)),
                 "d"(static_cast<std::uint32_t>(value >> 32))
               : "memory");
}

inline std::uint64_t read_tsc() {
  std::uint32_t low, high;
  asm volatile("rdtsc" : "=a"(low), "=d"(high));
  return (std::uint64_t{high} << 32) | low;
}

struct CpuidResult {
  std::uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(std::uint32_t leaf, std::uint32_t subleaf = 0) {
  CpuidResult r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}

inline void invlpg(std::uint64_t virtual_address) {
  asm volatile("invlpg (%0)" : : "r"(virtual_address) : "memory");
}

inline void breakpoint() { asm volatile("int3"); }

}  // namespace ferrite::arch
