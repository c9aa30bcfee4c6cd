// Finding this machine's ACPI tables at boot and saying what they hold (acpi/summary.h).
#include "acpi/machine.h"

#include "acpi/summary.h"
#include "lib/log.h"
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

}  // namespace ferrite::acpi
