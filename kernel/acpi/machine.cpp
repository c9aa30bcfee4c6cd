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
    // map_mmio leaves the pages the physical map has already as they are.
    if (length != 0 && !mm::map_mmio(phys, length)) return {};
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
  if (const auto parsed = parse(memory, rsdp, tables); !parsed) {
    log::warn("acpi: tables unusable: {}", to_string(parsed.error()));
    return;
  }
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
  if (!tables_usable) return std::nullopt;  // init() said why
  if (!tables.fadt) {
    log::warn("acpi: cannot power off through ACPI: FADT: {}", to_string(tables.fadt.error()));
    return std::nullopt;
  }
  const std::expected<SleepType, AcpiError> s5 = machine_s5();
  const std::expected<SleepControl, AcpiError> control =
      s5 ? sleep_control(*tables.fadt, *s5) : std::unexpected(s5.error());
  if (!control) {
    log::warn("acpi: cannot power off through ACPI: {}", to_string(control.error()));
    return std::nullopt;
  }
  return *control;
}

}  // namespace ferrite::acpi
