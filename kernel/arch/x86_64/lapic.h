// The local APIC (chapter 13): every x86 CPU's own interrupt controller. It accepts interrupts for
// its CPU, needs an EOI after each one, and has a timer of its own — the time-slice clock of the
// scheduler. Two ways to reach its registers (Intel SDM Vol. 3A chapter 11 "Advanced Programmable
// Interrupt Controller (APIC)"; chapter 10 in editions before 2023):
//   xAPIC:  4 KiB of memory-mapped registers at the physical address in IA32_APIC_BASE,
//           register n at offset n * 16 (11.4.1 "The Local APIC Block Diagram", table 11-1);
//           the page must be mapped uncached (it is a device, not RAM).
//   x2APIC: the same registers as MSRs 0x800 + n (11.12.1.2 "x2APIC Register Address Space"),
//           when CPUID.01H:ECX[21] says the CPU has it.
// Device IRQs come from the 8259 through LINT0 (virtual-wire mode, 11.5.1) until the I/O APIC
// (platform/pc/ioapic.h) takes over and LINT0 is masked. This file only knows the CPU side.
#pragma once

#include <cstdint>
#include <string_view>

#include "arch/x86_64/cpu.h"

namespace ferrite::arch::lapic {

// High vectors: the APIC ranks interrupts by vector / 16, so the timer outranks device IRQs.
inline constexpr std::uint8_t kTimerVector = 0xF0;
// The spurious vector's low 4 bits must be 1111 on older CPUs (11.9 "Spurious Interrupt").
inline constexpr std::uint8_t kSpuriousVector = 0xFF;

enum class Mode : std::uint8_t { xapic, x2apic };
constexpr std::string_view to_string(Mode mode) {
  return mode == Mode::x2apic ? "x2APIC" : "xAPIC";
}

[[nodiscard]] bool supported();      // CPUID.01H:EDX[9]
[[nodiscard]] bool has_x2apic();     // CPUID.01H:ECX[21]
[[nodiscard]] bool has_tsc_deadline();  // CPUID.01H:ECX[24]
// The registers' physical address, from IA32_APIC_BASE (normally 0xFEE00000).
[[nodiscard]] std::uint64_t physical_base();

// Enables this CPU's local APIC: x2APIC mode where the CPU has it, else xAPIC through
// `mmio_virtual`, the registers' page mapped uncached. Sets the spurious vector (with its
// handler, which sends no EOI), LINT0 to ExtINT (so the 8259's IRQs keep arriving), LINT1 to NMI,
// and accepts every priority. The timer stays masked.
void init(std::uintptr_t mmio_virtual);
// Masks LINT0: the 8259's virtual wire is cut once the I/O APIC delivers the device IRQs.
void mask_lint0();
[[nodiscard]] bool enabled();
[[nodiscard]] Mode mode();
[[nodiscard]] std::uint32_t id();

namespace detail {
// Where init() put the EOI register: its address in the xAPIC page, or null in x2APIC mode,
// where it is MSR kX2apicEoiMsr (SDM Vol. 3A 11.12.1.2, table 11-6).
extern constinit volatile std::uint32_t* eoi_register;
inline constexpr std::uint32_t kX2apicEoiMsr = 0x80B;
}  // namespace detail

// End of interrupt: after every interrupt the local APIC delivered (not spurious ones, not the
// 8259's ExtINT ones). Inline: the tick's handler pays a test and a store, not a call.
inline void eoi() {
  if (volatile std::uint32_t* reg = detail::eoi_register) {
    *reg = 0;
  } else {
    write_msr(detail::kX2apicEoiMsr, 0);
  }
}

// ---- The timer (11.5.4 "APIC Timer") ----
// Calibration, in the same window as the TSC's (time/clock.cpp), so that boot waits once:
// start_count() lets the timer count down from its largest value (divide-by-16, one-shot,
// masked); counted() is how far it has got since; set_timer_hz() stops it and records the
// frequency measured from it (counts per second after the divider), which the two modes below
// convert with.
void start_count();
[[nodiscard]] std::uint32_t counted();
void set_timer_hz(std::uint64_t hz);
[[nodiscard]] std::uint64_t timer_hz();  // 0 before set_timer_hz
// Interrupts on kTimerVector every `period_ns` (periodic mode) or once after `delay_ns`
// (one-shot mode), in units of the calibrated frequency.
void start_periodic(std::uint64_t period_ns);
void start_one_shot(std::uint64_t delay_ns);
// TSC-deadline mode (11.5.4.1): one interrupt when the TSC reaches `tsc`. Only where
// has_tsc_deadline(); writing 0 disarms it.
void arm_tsc_deadline(std::uint64_t tsc);
void stop_timer();

[[nodiscard]] std::uint64_t spurious_count();

}  // namespace ferrite::arch::lapic
