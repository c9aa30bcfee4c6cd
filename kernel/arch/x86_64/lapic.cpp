// The local APIC: register access in both modes, EOI, spurious interrupts and the timer.
#include "arch/x86_64/lapic.h"

#include <atomic>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "lib/panic.h"

namespace ferrite::arch::lapic {

namespace {

// IA32_APIC_BASE (SDM Vol. 3A 11.4.4, figure 11-5): bit 8 BSP, bit 10 x2APIC enable (EXTD),
// bit 11 APIC global enable, bits 12.. the registers' physical page.
constexpr std::uint32_t kMsrApicBase = 0x1B;
constexpr std::uint64_t kBaseX2apicEnable = 1u << 10;
constexpr std::uint64_t kBaseGlobalEnable = 1u << 11;
constexpr std::uint64_t kBaseAddressMask = 0x000F'FFFF'FFFF'F000;
// IA32_TSC_DEADLINE (11.5.4.1).
constexpr std::uint32_t kMsrTscDeadline = 0x6E0;
constexpr std::uint32_t kX2apicMsrBase = 0x800;

// Register numbers: the xAPIC offset / 16, which is also the x2APIC MSR minus 0x800 (table 11-1,
// table 11-6 "Local APIC Register Address Map Supported by x2APIC").
enum class Register : std::uint32_t {
  id = 0x02,
  task_priority = 0x08,
  eoi = 0x0B,
  spurious = 0x0F,
  lvt_timer = 0x32,
  lvt_lint0 = 0x35,
  lvt_lint1 = 0x36,
  timer_initial_count = 0x38,
  timer_current_count = 0x39,
  timer_divide = 0x3E,
};

constexpr std::uint32_t kSpuriousSoftwareEnable = 1u << 8;  // figure 11-23
// Local vector table entries (figure 11-8 "Local Vector Table"): delivery mode bits 8..10,
// mask bit 16, timer mode bits 17..18.
constexpr std::uint32_t kLvtMasked = 1u << 16;
constexpr std::uint32_t kDeliveryNmi = 0b100u << 8;
constexpr std::uint32_t kDeliveryExtInt = 0b111u << 8;
constexpr std::uint32_t kTimerOneShot = 0b00u << 17;
constexpr std::uint32_t kTimerPeriodic = 0b01u << 17;
constexpr std::uint32_t kTimerTscDeadline = 0b10u << 17;
constexpr std::uint32_t kDivideBy16 = 0b0011;  // figure 11-10 "Divide Configuration Register"

constinit Mode current_mode = Mode::xapic;
constinit volatile std::uint32_t* mmio = nullptr;
constinit bool is_enabled = false;
constinit std::uint64_t timer_frequency = 0;
constinit std::atomic<std::uint64_t> spurious_interrupts{0};

std::uint32_t read(Register reg) {
  const auto n = static_cast<std::uint32_t>(reg);
  if (current_mode == Mode::x2apic) return static_cast<std::uint32_t>(read_msr(kX2apicMsrBase + n));
  return mmio[n * 4];  // n * 16 bytes: the registers are 16-byte aligned, 32 bits used
}

void write(Register reg, std::uint32_t value) {
  const auto n = static_cast<std::uint32_t>(reg);
  if (current_mode == Mode::x2apic) {
    write_msr(kX2apicMsrBase + n, value);
  } else {
    mmio[n * 4] = value;
  }
}

std::uint32_t counts_for(std::uint64_t ns) {
  FERRITE_ASSERT(timer_frequency != 0);
  const std::uint64_t counts = ns * timer_frequency / 1'000'000'000;  // ns < 2^64 / 2^30: fine
  return counts == 0 ? 1 : (counts > 0xFFFF'FFFF ? 0xFFFF'FFFF : static_cast<std::uint32_t>(counts));
}

}  // namespace

static_assert(detail::kX2apicEoiMsr == kX2apicMsrBase + static_cast<std::uint32_t>(Register::eoi));
constinit volatile std::uint32_t* detail::eoi_register = nullptr;

bool supported() { return (cpuid(1).edx & (1u << 9)) != 0; }
bool has_x2apic() { return (cpuid(1).ecx & (1u << 21)) != 0; }
bool has_tsc_deadline() { return (cpuid(1).ecx & (1u << 24)) != 0; }
std::uint64_t physical_base() { return read_msr(kMsrApicBase) & kBaseAddressMask; }

void init(std::uintptr_t mmio_virtual) {
  FERRITE_ASSERT(supported());
  std::uint64_t base = read_msr(kMsrApicBase) | kBaseGlobalEnable;
  if (has_x2apic()) {
    // xAPIC -> x2APIC is allowed from the enabled state (11.12.5 figure 11-27).
    write_msr(kMsrApicBase, base);
    base |= kBaseX2apicEnable;
    current_mode = Mode::x2apic;
  } else {
    current_mode = Mode::xapic;
    mmio = reinterpret_cast<volatile std::uint32_t*>(mmio_virtual);
    detail::eoi_register = &mmio[static_cast<std::uint32_t>(Register::eoi) * 4];
  }
  write_msr(kMsrApicBase, base);

  set_handler(kSpuriousVector, [](InterruptFrame&) {
    // No EOI for a spurious interrupt (11.9): it set no in-service bit.
    spurious_interrupts.fetch_add(1, std::memory_order_relaxed);
  });
  write(Register::task_priority, 0);  // accept every interrupt class
  write(Register::lvt_timer, kLvtMasked | kTimerVector);
  // Virtual-wire mode (MP spec 3.6.2.2; SDM 11.5.1): the 8259's INTR arrives on LINT0 as ExtINT,
  // NMI on LINT1. Firmware usually leaves it like this; PVH boots get no firmware to do it.
  write(Register::lvt_lint0, kDeliveryExtInt);
  write(Register::lvt_lint1, kDeliveryNmi);
  write(Register::spurious, kSpuriousSoftwareEnable | kSpuriousVector);
  is_enabled = true;
}

void mask_lint0() { write(Register::lvt_lint0, kLvtMasked | kDeliveryExtInt); }

bool enabled() { return is_enabled; }
Mode mode() { return current_mode; }
std::uint32_t id() {
  const std::uint32_t raw = read(Register::id);
  return current_mode == Mode::x2apic ? raw : raw >> 24;  // xAPIC: bits 24..31 (figure 11-6)
}


void start_count() {
  write(Register::timer_divide, kDivideBy16);
  write(Register::lvt_timer, kLvtMasked | kTimerOneShot | kTimerVector);
  write(Register::timer_initial_count, 0xFFFF'FFFF);
}

std::uint32_t counted() { return 0xFFFF'FFFF - read(Register::timer_current_count); }

void set_timer_hz(std::uint64_t hz) {
  write(Register::timer_initial_count, 0);  // stops start_count()'s count
  timer_frequency = hz;
}

std::uint64_t timer_hz() { return timer_frequency; }

void start_periodic(std::uint64_t period_ns) {
  write(Register::timer_divide, kDivideBy16);
  write(Register::lvt_timer, kTimerPeriodic | kTimerVector);
  write(Register::timer_initial_count, counts_for(period_ns));
}

void start_one_shot(std::uint64_t delay_ns) {
  write(Register::timer_divide, kDivideBy16);
  write(Register::lvt_timer, kTimerOneShot | kTimerVector);
  write(Register::timer_initial_count, counts_for(delay_ns));
}

void arm_tsc_deadline(std::uint64_t tsc) {
  FERRITE_ASSERT(has_tsc_deadline());
  write(Register::lvt_timer, kTimerTscDeadline | kTimerVector);
  // The LVT write must land before the MSR write (11.5.4.1: "software should ... serialize").
  asm volatile("mfence" ::: "memory");
  write_msr(kMsrTscDeadline, tsc);
}

void stop_timer() {
  write(Register::lvt_timer, kLvtMasked | kTimerVector);
  write(Register::timer_initial_count, 0);
  if (has_tsc_deadline()) write_msr(kMsrTscDeadline, 0);
}

std::uint64_t spurious_count() { return spurious_interrupts.load(std::memory_order_relaxed); }

}  // namespace ferrite::arch::lapic
