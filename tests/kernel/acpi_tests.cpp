// Chapter 13 in the running kernel: the ACPI tables acpi::init read at boot describe this
// machine. Under QEMU: at least one enabled CPU, an I/O APIC, the local APIC where the
// boot CPU's own APIC id says, and a PM timer port that really counts.
#include <cstdint>

#include "acpi/machine.h"
#include "arch/x86_64/cpu.h"
#include "test/ktest.h"

namespace {

std::uint32_t inl(std::uint16_t port) {
  std::uint32_t value;
  asm volatile("inl %w1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

}  // namespace

KTEST(acpi_tables_list_cpus_and_an_ioapic) {
  const ferrite::acpi::AcpiInfo* tables = ferrite::acpi::machine_tables();
  KASSERT(tables != nullptr);
  KASSERT(tables->madt.has_value());
  KEXPECT(tables->madt->enabled_cpus() >= 1);
  KEXPECT(tables->madt->ioapics().size() >= 1);
  KEXPECT(tables->madt->local_apic_address != 0);
  KEXPECT_EQ(tables->madt->local_apic_address % 4096, 0u);
}

KTEST(acpi_madt_lists_the_boot_cpu) {
  const ferrite::acpi::AcpiInfo* tables = ferrite::acpi::machine_tables();
  KASSERT(tables != nullptr && tables->madt.has_value());
  // CPUID leaf 1, EBX bits 31-24: the initial APIC id of the CPU running this (Intel SDM
  // Vol. 2A, CPUID). The MADT must list it as an enabled processor.
  const std::uint32_t apic_id = ferrite::arch::cpuid(1).ebx >> 24;
  bool listed = false;
  for (const auto& cpu : tables->madt->cpus())
    listed = listed || (cpu.apic_id == apic_id && cpu.enabled);
  KEXPECT(listed);
}

KTEST(acpi_pm_timer_counts) {
  const ferrite::acpi::AcpiInfo* tables = ferrite::acpi::machine_tables();
  KASSERT(tables != nullptr && tables->fadt.has_value() && tables->fadt->pm_timer.has_value());
  const auto& timer = *tables->fadt->pm_timer;
  KASSERT(timer.space == ferrite::acpi::Register::Space::io);
  const auto port = static_cast<std::uint16_t>(timer.address);
  const std::uint32_t mask = tables->fadt->pm_timer_bits == 32 ? 0xFFFF'FFFFu : 0x00FF'FFFFu;
  const std::uint32_t first = inl(port) & mask;
  bool moved = false;
  for (int i = 0; i < 1'000'000 && !moved; ++i) moved = (inl(port) & mask) != first;
  KEXPECT(moved);
}

// What `shutdown` writes (acpi::machine_s5_control): the FADT's PM1a control port and the
// DSDT's \_S5_ sleep types, read now. QEMU puts PM1a_CNT at 0x604 on both its PC and q35 under
// SeaBIOS, with no PM1b, and its \_S5_ is {0, 0}.
KTEST(acpi_s5_control_is_qemus_pm1a_port_and_sleep_type_0) {
  const auto control = ferrite::acpi::machine_s5_control();
  KASSERT(control.has_value());
  KEXPECT_EQ(control->pm1a_control_port, 0x604u);
  KEXPECT_EQ(control->pm1b_control_port, 0u);
  KEXPECT_EQ(control->type.a, 0u);
  KEXPECT_EQ(control->type.b, 0u);
}
