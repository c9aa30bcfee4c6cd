// Finding this machine's ACPI tables at boot and saying what they hold (acpi/summary.h).
#include "acpi/machine.h"

#include "acpi/summary.h"
#include "lib/log.h"
#include "mm/layout.h"
#include "mm/memory.h"

namespace ferrite::acpi {
namespace {

// Physical memory through the kernel's map of it, 0..4 GiB (firmware puts its tables there; a
// table above 4 GiB is reported as out of range). The physical map holds RAM and ACPI regions,
// but firmware may keep tables in memory it marks reserved (SeaBIOS does, at the top of RAM):
// such pages are mapped on first use, like device memory (mm::map_mmio).
class KernelPhysicalReader final : public PhysicalReader {
 public:
  std::span<const std::byte> read(std::uint64_t phys, std::size_t length) const override {
    if (phys >= mm::kEarlyPhysicalMapLimit || length > mm::kEarlyPhysicalMapLimit - phys) return {};
    const std::uint64_t end = phys + length;
    for (std::uint64_t page = phys & ~(mm::kPageBytes - 1); page < end; page += mm::kPageBytes) {
      const mm::VirtAddr virt(reinterpret_cast<std::uint64_t>(mm::physical_to_virtual<std::byte>(page)));
      if (!mm::kernel_translate(virt) && !mm::map_mmio(page, mm::kPageBytes)) return {};
    }
    return {mm::physical_to_virtual<const std::byte>(phys), length};
  }
};

// A few KiB: a global, not a stack object, and constant-initialised (nothing runs before init).
constinit AcpiInfo tables;
constinit bool tables_usable = false;

}  // namespace

void init(const boot::BootInfo& boot_info) {
  const KernelPhysicalReader memory;
  std::uint64_t rsdp = 0;
  if (boot_info.rsdp()) {
    rsdp = *boot_info.rsdp();
  } else if (const auto found = find_rsdp_in_bios_area(memory)) {
    rsdp = *found;
  } else {
    log::warn("acpi: no tables: no RSDP from the bootloader, none in the BIOS area");
    return;
  }
  auto parsed = parse(memory, rsdp);
  if (!parsed) {
    log::warn("acpi: tables unusable: {}", to_string(parsed.error()));
    return;
  }
  tables = *parsed;
  tables_usable = true;
  const Summary summary = summarize(tables);
  for (std::size_t i = 0; i < summary.count; ++i) log::info("{}", summary.line(i));
}

const AcpiInfo* machine_tables() {
  return tables_usable ? &tables : nullptr;
}

std::expected<Hpet, AcpiError> machine_hpet() {
  if (!tables_usable) return std::unexpected(AcpiError::table_missing);
  return read_hpet(KernelPhysicalReader{}, tables);
}

std::expected<SleepType, AcpiError> machine_s5() {
  if (!tables_usable) return std::unexpected(AcpiError::table_missing);
  return read_s5(KernelPhysicalReader{}, tables);
}

std::optional<SleepControl> machine_s5_control() {
  if (!tables_usable || !tables.fadt) return std::nullopt;
  const Fadt& fadt = *tables.fadt;
  // The PM1 blocks are I/O ports on every PC (their 32-bit FADT fields hold a port number).
  if (fadt.pm1a_control_port == 0 || fadt.pm1a_control_port > 0xFFFF ||
      fadt.pm1b_control_port > 0xFFFF) {
    log::warn("acpi: no usable PM1 control port in the FADT (PM1a {:#x}, PM1b {:#x})",
              fadt.pm1a_control_port, fadt.pm1b_control_port);
    return std::nullopt;
  }
  const std::expected<SleepType, AcpiError> s5 = machine_s5();
  if (!s5) {
    log::warn("acpi: no S5 sleep type: {}", to_string(s5.error()));
    return std::nullopt;
  }
  return SleepControl{static_cast<std::uint16_t>(fadt.pm1a_control_port),
                      static_cast<std::uint16_t>(fadt.pm1b_control_port), *s5};
}

}  // namespace ferrite::acpi
