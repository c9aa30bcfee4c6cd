// What the kernel says about its ACPI tables (boot's summary, the shell's details), put together
// piece by piece into fixed buffers.
#include "acpi/summary.h"

#include "lib/format.h"

namespace ferrite::acpi {
namespace {

class LineWriter {
 public:
  explicit LineWriter(Summary& summary) : summary_(summary) {}

  // A call is its type-erased arguments and a call to add_erased(): a summary is put together
  // rarely (once at boot, once per `acpi`), where under QEMU's TCG every instruction costs most
  // in being translated.
  template <class... Args>
  void add(fmt::FormatStringFor<Args...> format, const Args&... args) {
    const std::array<fmt::detail::Argument, sizeof...(Args)> arguments{
        fmt::detail::Argument{&args, &fmt::detail::format_erased<Args>}...};
    add_erased(format.text(), arguments);
  }
  void end_line() {
    if (summary_.count < Summary::max_lines) ++summary_.count;
  }

 private:
  [[gnu::noinline]] void add_erased(std::string_view format,
                                    std::span<const fmt::detail::Argument> arguments) {
    if (summary_.count == Summary::max_lines) return;
    auto& text = summary_.text[summary_.count];
    std::size_t& used = summary_.length[summary_.count];
    fmt::BufferSink sink(std::span<char>(text.data() + used, text.size() - used));
    fmt::detail::vformat_direct(sink, format, arguments);
    const std::size_t wanted = sink.wanted_size();
    if (wanted > Summary::columns - used) summary_.truncated = true;
    used += wanted < Summary::columns - used ? wanted : Summary::columns - used;
  }

  Summary& summary_;
};

const char* plural(std::size_t n) {
  return n == 1 ? "" : "s";
}

}  // namespace

Summary summarize(const AcpiInfo& info) {
  Summary summary;
  LineWriter out(summary);

  out.add("acpi: rev {} {}, ", info.revision, info.oem());
  if (info.madt) {
    const std::size_t cpus = info.madt->enabled_cpus();
    out.add("{} CPU{}, ", cpus, plural(cpus));
    if (info.madt->ioapics().empty()) {
      out.add("no IOAPIC");
    } else {
      out.add("IOAPIC {:#x}", info.madt->ioapics()[0].address);
    }
  } else {
    out.add("MADT unusable");
  }
  if (info.fadt && info.fadt->pm_timer) out.add(", PM timer {:#x}", info.fadt->pm_timer->address);
  out.end_line();

  if (!info.madt) {
    out.add("acpi: MADT: {}", to_string(info.madt.error()));
    out.end_line();
  }

  if (!info.fadt) {
    out.add("acpi: FADT: {}", to_string(info.fadt.error()));
    out.end_line();
  }
  return summary;
}

Summary summarize_details(const AcpiInfo& info, const std::expected<Hpet, AcpiError>& hpet,
                          const std::expected<SleepType, AcpiError>& s5) {
  Summary summary;
  LineWriter out(summary);
  if (!info.fadt) {  // summarize() names the FADT's error; the HPET does not need it
    if (hpet) {
      out.add("acpi: HPET {:#x}", hpet->address);
      out.end_line();
    }
  } else {
    out.add("acpi: ");
    if (hpet) out.add("HPET {:#x}, ", hpet->address);
    if (info.fadt->reset_register) {
      out.add("reset {:#x}={:#x}, ", info.fadt->reset_register->address, info.fadt->reset_value);
    }
    if (s5) {
      out.add("S5 {}/{}", s5->a, s5->b);
    } else {
      out.add("no S5");
    }
    out.end_line();
  }
  // A listed table that is unusable says so (a missing one is no error: the HPET is optional).
  if (!hpet && hpet.error() != AcpiError::table_missing) {
    out.add("acpi: HPET: {}", to_string(hpet.error()));
    out.end_line();
  }
  // "Not found" is a fact about the firmware's AML; anything else is a damaged DSDT.
  if (info.fadt && !s5 && s5.error() != AcpiError::s5_not_found) {
    out.add("acpi: DSDT: {}", to_string(s5.error()));
    out.end_line();
  }
  return summary;
}

}  // namespace ferrite::acpi
