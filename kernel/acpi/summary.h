// What the kernel says about the ACPI tables: at boot one line, up to three when tables are
// damaged; the shell's `acpi` adds the tables boot does not read. Each line within 80 columns.
// Portable, so the host tests check the text for every fixture and every damage.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "acpi/acpi.h"

namespace ferrite::acpi {

struct Summary {
  static constexpr std::size_t max_lines = 4;
  static constexpr std::size_t columns = 80;

  std::array<std::array<char, columns + 1>, max_lines> text{};
  std::array<std::size_t, max_lines> length{};
  std::size_t count = 0;
  bool truncated = false;  // a line was longer than `columns` and was cut (a bug in summarize)

  std::string_view line(std::size_t i) const { return {text[i].data(), length[i]}; }
};

// Boot: "acpi: rev 2 BOCHS, 4 CPUs, IOAPIC 0xfec00000, PM timer 0x608" (what chapter 13 needs);
// then the MADT's error if it is unusable, and the FADT's if it is.
Summary summarize(const AcpiInfo& info);

// The details (read_hpet, read_s5): "acpi: HPET 0xfed00000, reset 0xcf9=0xf, S5 0/0" (without a
// FADT, whose error summarize names, the HPET only), then the HPET table's error if it is listed
// but unusable, and the DSDT's if the S5 scan met one.
Summary summarize_details(const AcpiInfo& info, const std::expected<Hpet, AcpiError>& hpet,
                          const std::expected<SleepType, AcpiError>& s5);

}  // namespace ferrite::acpi
