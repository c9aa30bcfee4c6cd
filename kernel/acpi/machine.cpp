// Finding this machine's ACPI tables at boot and saying what they hold, in one or two lines.
#include "acpi/machine.h"

#include "console/print.h"
#include "lib/format.h"
#include "mm/layout.h"

namespace ferrite::acpi {
namespace {

// Physical memory through the kernel's map of it. Only 0..4 GiB is read: that much is mapped
// from the first instruction to the last (mm/layout.h), and firmware puts its tables there
// (a table above 4 GiB is reported as out of range rather than read through a missing map).
class KernelPhysicalReader final : public PhysicalReader {
 public:
  std::span<const std::byte> read(std::uint64_t phys, std::size_t length) const override {
    if (phys >= mm::kEarlyPhysicalMapLimit || length > mm::kEarlyPhysicalMapLimit - phys) return {};
    return {mm::physical_to_virtual<const std::byte>(phys), length};
  }
};

// A few KiB: a global, not a stack object, and constant-initialised (nothing runs before init).
constinit AcpiInfo tables;
constinit bool tables_usable = false;

// Each line is put together in small buffers and printed with one println, so it stays one
// line whatever else prints. Every piece has a bounded width: both lines stay within 80 columns
// ("acpi: rev 2 BOCHS, 4 CPUs, IOAPIC 0xfec00000, PM timer 0x608" is 61).
void print_summary(const AcpiInfo& info) {
  char cpus[64] = "";
  if (info.madt) {
    const std::size_t count = info.madt->enabled_cpus();
    if (info.madt->ioapics().empty()) {
      fmt::format_to_buffer(cpus, "{} CPU{}, no IOAPIC", count, count == 1 ? "" : "s");
    } else {
      fmt::format_to_buffer(cpus, "{} CPU{}, IOAPIC {:#x}", count, count == 1 ? "" : "s",
                            info.madt->ioapics()[0].address);
    }
  } else {
    fmt::format_to_buffer(cpus, "MADT: {}", to_string(info.madt.error()));
  }
  char timer[32] = "";
  if (info.fadt && info.fadt->pm_timer) {
    fmt::format_to_buffer(timer, ", PM timer {:#x}", info.fadt->pm_timer->address);
  }
  println("acpi: rev {} {}, {}{}", info.revision, info.oem(), static_cast<const char*>(cpus),
          static_cast<const char*>(timer));

  if (!info.fadt) {
    println("acpi: FADT: {}", to_string(info.fadt.error()));
    return;
  }
  char hpet[32] = "";
  if (info.hpet) fmt::format_to_buffer(hpet, "HPET {:#x}, ", info.hpet->address);
  char reset[48] = "";
  if (info.fadt->reset_register) {
    fmt::format_to_buffer(reset, "reset {:#x}={:#x}, ", info.fadt->reset_register->address,
                          info.fadt->reset_value);
  }
  char s5[32] = "no S5";
  if (info.s5) fmt::format_to_buffer(s5, "S5 {}/{}", info.s5->a, info.s5->b);
  println("acpi: {}{}{}", static_cast<const char*>(hpet), static_cast<const char*>(reset),
          static_cast<const char*>(s5));
}

}  // namespace

void init(const boot::BootInfo& boot_info) {
  const KernelPhysicalReader memory;
  std::uint64_t rsdp = 0;
  if (boot_info.rsdp()) {
    rsdp = *boot_info.rsdp();
  } else if (const auto found = find_rsdp_in_bios_area(memory)) {
    rsdp = *found;
  } else {
    println("acpi: no tables: no RSDP from the bootloader, none in the BIOS area");
    return;
  }
  auto parsed = parse(memory, rsdp);
  if (!parsed) {
    println("acpi: tables unusable: {}", to_string(parsed.error()));
    return;
  }
  tables = *parsed;
  tables_usable = true;
  print_summary(tables);
}

const AcpiInfo* machine_tables() {
  return tables_usable ? &tables : nullptr;
}

}  // namespace ferrite::acpi
