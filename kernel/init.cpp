// The kernel's start-up sequence; each step names the chapter that explains it.
#include "init.h"

#include "acpi/machine.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/lapic.h"
#include "lib/panic.h"
#include "platform/pc/ioapic.h"
#include "platform/pc/pic8259.h"
#include "platform/pc/pit.h"
#include "platform/pc/ps2.h"
#include "boot/command_line.h"
#include "console/console.h"
#include "lib/log.h"
#include "fs/initramfs.h"
#include "proc/procfs.h"
#include "tty/console.h"
#include "mm/address_space.h"
#include "mm/heap.h"
#include "mm/memory.h"
#include "arch/x86_64/user_mode.h"
#include "proc/spawn.h"
#include "sched/scheduler.h"
#include "time/clock.h"
#include "time/tick.h"

namespace ferrite {

namespace {

void init_local_apic() {
  if (!arch::lapic::supported()) {
    log::info("lapic: none (the PIT drives the tick)");
    return;
  }
  const auto registers = mm::map_mmio(arch::lapic::physical_base(), 4096);
  if (!registers) panic("lapic: cannot map its registers: {}", mm::to_string(registers.error()));
  arch::lapic::init(registers->value());
}

// After the clock, which measured the local APIC timer. Debug level, like the other details of
// a boot that went as expected (`dmesg` shows them, `log=debug` at boot): every line costs the
// boot a scroll of the screen and its bytes on the serial port (issue 9's boot-time budget).
void report_local_apic() {
  if (!arch::lapic::enabled()) return;
  log::debug("lapic: {} id {} at {:#x}, timer {} MHz, TSC-deadline {}",
             arch::lapic::to_string(arch::lapic::mode()), arch::lapic::id(),
             arch::lapic::physical_base(), fmt::Thousandths{arch::lapic::timer_hz() / 1000},
             arch::lapic::has_tsc_deadline() ? "yes" : "no");
}

// The ACPI PM timer, if the FADT gives it as an I/O port: the clock's refinement reference.
std::optional<time::PmTimer> pm_timer() {
  const acpi::AcpiInfo* tables = acpi::machine_tables();
  if (tables == nullptr || !tables->fadt || !tables->fadt->pm_timer) return std::nullopt;
  const acpi::Register& reg = *tables->fadt->pm_timer;
  if (reg.space != acpi::Register::Space::io || reg.address > 0xFFFF) return std::nullopt;
  return time::PmTimer{static_cast<std::uint16_t>(reg.address),
                       static_cast<std::uint8_t>(tables->fadt->pm_timer_bits == 32 ? 32 : 24)};
}

// `timeslice=MS`, checked like the heap's sizes: a value that is not a number of milliseconds
// (or is 0) gives the default, one above kMaxTimeSliceMs gives that; either is reported.
std::uint64_t time_slice_ns(const boot::CommandLine& command_line) {
  constexpr std::uint64_t kNsPerMs = 1'000'000;
  constexpr std::uint64_t kMaxTimeSliceMs = 1000;
  const std::optional<std::string_view> text = command_line.get("timeslice");
  if (!text) return sched::kDefaultTimeSliceNs;
  const std::optional<std::uint64_t> ms = boot::parse_size(*text);
  if (!ms || *ms == 0) {
    log::warn("sched: timeslice={} is not a number of milliseconds; using {} ms", *text,
              sched::kDefaultTimeSliceNs / kNsPerMs);
    return sched::kDefaultTimeSliceNs;
  }
  if (*ms > kMaxTimeSliceMs) {
    log::warn("sched: timeslice={} is more than {} ms; using {} ms", *text, kMaxTimeSliceMs,
              kMaxTimeSliceMs);
    return kMaxTimeSliceMs * kNsPerMs;
  }
  return *ms * kNsPerMs;
}

// The I/O APICs take the device IRQs over from the 8259 pair, which is then masked entirely.
// Stays on the 8259 without a local APIC, without MADT I/O APICs, or with `ioapic=off` (to test
// that path on machines that have one).
void init_io_apic(const boot::CommandLine& command_line) {
  const acpi::AcpiInfo* tables = acpi::machine_tables();
  const acpi::Madt* madt = tables != nullptr && tables->madt ? &*tables->madt : nullptr;
  if (!arch::lapic::enabled() || madt == nullptr || madt->ioapics().empty()) {
    log::info("ioapic: none (the 8259 keeps the device IRQs)");
    return;
  }
  if (command_line.get("ioapic") == "off") {
    log::info("ioapic: off on the command line (the 8259 keeps the device IRQs)");
    return;
  }
  for (const acpi::IoApic& chip : madt->ioapics()) {
    // 82093AA 3.0: the register window is 0x20 bytes inside one page.
    const auto registers = mm::map_mmio(chip.address, 4096);
    if (!registers) panic("ioapic: cannot map its registers: {}", mm::to_string(registers.error()));
    const unsigned pins = pc::ioapic::add_chip(chip.id, registers->value(), chip.gsi_base);
    log::debug("ioapic: id {} at {:#x}, {} pins, GSI {}-{}", chip.id, chip.address, pins,
               chip.gsi_base, chip.gsi_base + pins - 1);
  }
  const std::uint32_t cpu = arch::lapic::id();
  if (cpu > 0xFF) panic("ioapic: local APIC id {} does not fit a physical destination", cpu);
  if (pc::ioapic::route_isa_irqs(*madt, static_cast<std::uint8_t>(cpu)) == 0) {
    log::warn("ioapic: no ISA IRQ has a pin; the 8259 keeps the device IRQs");
    return;
  }
  pc::pic::use_ioapic();
  log::info("ioapic: device IRQs on vectors {}-{}, 8259 masked", pc::pic::kMasterVectorOffset,
            pc::pic::kMasterVectorOffset + pc::pic::kLineCount - 1);
}

}  // namespace

void init(const boot::BootInfo& boot_info) {
  // Chapter 13: the clock's calibration window opens here and closes at time::init_clock(); the
  // work in between is what it measures over, instead of a wait.
  time::start_calibration();
  const boot::CommandLine command_line(boot_info.command_line());
  if (const auto level = boot::log_level(command_line)) {
    console::set_level(*level);
  } else {
    log::warn("log: unknown level \"{}\" (debug, info, warn, error); using info", level.error());
  }
  // Chapters 5-7 (GDT/TSS, IDT, PIC, PIT, keyboard) plug in here.
  arch::init_gdt();   // GDT + TSS whose IST stacks catch double faults (chapter 6)
  arch::init_idt();   // 256 gates -> interrupt_stubs.S -> interrupt_dispatch (chapter 5)
  pc::pic::init();  // the 8259 pair moved to vectors 32-47, lines masked (chapter 7)
  console::use_serial_interrupts();  // serial output sent by IRQ 4 from now on
  pc::pit::init();  // IRQ 0 at 1000 Hz: ticks
  const auto ps2 = pc::ps2::init();  // the 8042, IRQ 1 on, scancode set 1
  arch::enable_interrupts();
  if (ps2) {
    // Worth a line at boot only if the keyboard did not answer (why: report_local_apic()).
    log::message(ps2->keyboard_acknowledged ? log::Level::debug : log::Level::info,
                 "interrupts: on; timer {} Hz; PS/2 keyboard ready ({} controller{})",
                 pc::pit::frequency_hz(), ps2->dual_channel ? "dual-port" : "single-port",
                 ps2->keyboard_acknowledged ? "" : ", keyboard did not answer");
  } else {
    log::info("interrupts: on; timer {} Hz; no keyboard: {}", pc::pit::frequency_hz(),
            pc::ps2::to_string(ps2.error()));
  }

  // Chapters 8-9: our own page tables (physical memory map, W^X kernel, stack guard pages)
  // and the frame allocator. Chapter 10-11: the heap with the chosen allocator.
  mm::init(boot_info);
  mm::init_heap(mm::heap_config_from(command_line));

  // Chapter 13: this CPU's local APIC (its timer drives the tick), then, after the clock, the I/O
  // APIC, which takes the device IRQs from the 8259 (until then they reach the CPU through
  // LINT0). Its timer counts for its calibration while the ACPI tables are read.
  init_local_apic();
  time::start_lapic_calibration();
  // Chapter 13: the firmware's ACPI tables (CPUs, I/O APICs, timers), read-only.
  acpi::init(boot_info);
  // Chapter 14: the initramfs (the first boot module) becomes the file tree programs see.
  fs::mount_initramfs(boot_info);
  // The TSC clock and the local APIC timer, calibrated against PIT channel 2 over the windows
  // opened above, later refined against the ACPI PM timer (chapter 13). Log timestamps come from
  // it from here on: the PIT's IRQ 0 stops with the APIC tick.
  time::init_clock(pm_timer());
  log::set_clock(time::now_ns);
  report_local_apic();
  init_io_apic(command_line);  // the 8259's lines move to the I/O APIC (chapter 13)
  time::start_tick();
  // Chapter 13: from here on the kernel has threads; this code goes on as thread 1 "main".
  sched::init(time_slice_ns(command_line));
  // Chapter 14: ring 3 — the syscall MSRs, SMEP/SMAP, SSE for programs — and the process layer's
  // hooks for system calls, demand paging and faults in user code.
  arch::init_user_mode();
  proc::init();
  if (fs::Tree* tree = fs::initramfs(); tree != nullptr) proc::procfs::mount(*tree);  // /proc
  // Chapter 14: /dev/console is the console in every image (programs' output works even where
  // nothing types); kernel_main picks the keyboard layout from the command line later.
  tty::init_console(drivers::keyboard::kUsLayout);
}

}  // namespace ferrite
