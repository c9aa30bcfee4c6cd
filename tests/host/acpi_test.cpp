// Host tests of the ACPI table parser (kernel/acpi): real tables that QEMU's SeaBIOS and OVMF
// built (dumped by tools/dump_acpi.py into tests/host/fixtures/acpi/), then the same tables
// damaged in every way the parser must survive: each gives its AcpiError, none reads out of
// bounds (every simulated memory segment is its own exact-size heap block, so ASan sees a read
// one byte past it).
#include "acpi/acpi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "acpi/summary.h"
#include "acpi/tables.h"
#include "support/mutator.h"

namespace ferrite::acpi {
namespace {

// Physical memory made of separate segments; anything outside them is unreadable.
class SimulatedMemory final : public PhysicalReader {
 public:
  void place(std::uint64_t phys, std::span<const std::byte> bytes) {
    auto block = std::make_unique<std::byte[]>(std::max<std::size_t>(bytes.size(), 1));
    std::copy(bytes.begin(), bytes.end(), block.get());
    segments_.insert_or_assign(phys, Segment{std::move(block), bytes.size()});
  }
  void fill(std::uint64_t phys, std::size_t length, std::byte value = std::byte{0}) {
    place(phys, std::vector<std::byte>(length, value));
  }
  void remove(std::uint64_t phys) { segments_.erase(containing(phys)); }
  // Shortens the segment holding `phys` so that it ends at `phys` (everything from there on is
  // unreadable), as if the table ran past the end of memory.
  void cut_at(std::uint64_t phys) {
    auto it = containing(phys);
    const std::vector<std::byte> kept(it->second.data.get(),
                                      it->second.data.get() + (phys - it->first));
    place(it->first, kept);
  }

  std::span<const std::byte> read(std::uint64_t phys, std::size_t length) const override {
    auto it = segments_.upper_bound(phys);
    if (it == segments_.begin() || length == 0) return {};
    --it;
    const std::uint64_t offset = phys - it->first;
    if (offset > it->second.size || length > it->second.size - offset) return {};
    return {it->second.data.get() + offset, length};
  }
  std::span<std::byte> writable(std::uint64_t phys, std::size_t length) {
    const std::span<const std::byte> bytes = read(phys, length);
    EXPECT_FALSE(bytes.empty()) << std::hex << phys << " +" << length << " is not simulated";
    return {const_cast<std::byte*>(bytes.data()), bytes.size()};
  }
  template <class T>
  void poke(std::uint64_t phys, T value) {
    const auto bytes = writable(phys, sizeof(T));
    if (!bytes.empty()) std::memcpy(bytes.data(), &value, sizeof(T));
  }
  template <class T>
  T peek(std::uint64_t phys) const {
    T value{};
    const auto bytes = read(phys, sizeof(T));
    if (!bytes.empty()) std::memcpy(&value, bytes.data(), sizeof(T));
    return value;
  }
  std::vector<std::pair<std::uint64_t, std::size_t>> segments() const {
    std::vector<std::pair<std::uint64_t, std::size_t>> out;
    for (const auto& [base, segment] : segments_) out.emplace_back(base, segment.size);
    return out;
  }

 private:
  struct Segment {
    std::unique_ptr<std::byte[]> data;
    std::size_t size = 0;
  };
  std::map<std::uint64_t, Segment>::iterator containing(std::uint64_t phys) {
    auto it = segments_.upper_bound(phys);
    EXPECT_NE(it, segments_.begin());
    return std::prev(it);
  }
  std::map<std::uint64_t, Segment> segments_;
};

using Bytes = std::vector<std::byte>;

// acpi::parse as a value, for EXPECT_EQ (the kernel fills its global AcpiInfo in place).
std::expected<AcpiInfo, AcpiError> parse(const PhysicalReader& memory, std::uint64_t rsdp) {
  AcpiInfo info;
  if (const auto parsed = acpi::parse(memory, rsdp, info); !parsed) {
    return std::unexpected(parsed.error());
  }
  return info;
}

struct Fixture {
  std::string description;
  std::uint64_t rsdp = 0;
  SimulatedMemory memory;
};

// Reads the container tools/dump_acpi.py writes (its docstring has the format).
std::unique_ptr<Fixture> load_fixture(const std::string& name) {
  const std::string path = std::string(FERRITE_ACPI_FIXTURES) + "/" + name;
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file) << "cannot open " << path;
  const std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::size_t at = 0;
  const auto take = [&](std::size_t n) {
    EXPECT_LE(at + n, data.size()) << path << " is truncated";
    const std::size_t start = std::min(at, data.size());
    at += n;
    return std::string_view(data).substr(start, n);
  };
  const auto number = [&]<class T>(T) {
    T value{};
    const std::string_view bytes = take(sizeof(T));
    std::memcpy(&value, bytes.data(), bytes.size());
    return value;
  };
  auto fixture = std::make_unique<Fixture>();
  EXPECT_EQ(take(8), "FRACPI01") << path;
  fixture->rsdp = number(std::uint64_t{});
  fixture->description = std::string(take(number(std::uint32_t{})));
  const auto records = number(std::uint32_t{});
  for (std::uint32_t i = 0; i < records && at <= data.size(); ++i) {
    const auto address = number(std::uint64_t{});
    const std::string_view bytes = take(number(std::uint32_t{}));
    fixture->memory.place(address, std::as_bytes(std::span(bytes.data(), bytes.size())));
  }
  EXPECT_EQ(at, data.size()) << path << " has trailing bytes";
  return fixture;
}

constexpr const char* all_fixtures[] = {"seabios-pc.bin", "seabios-q35-smp4.bin",
                                        "ovmf-q35-smp2.bin", "ovmf-pc.bin"};

std::uint32_t table_length(const SimulatedMemory& memory, std::uint64_t phys) {
  return memory.peek<std::uint32_t>(phys + offsetof(layout::TableHeader, length));
}

// Sets a checksum byte so that `length` bytes from `phys` sum to 0 again.
void fix_checksum(SimulatedMemory& memory, std::uint64_t phys, std::size_t length,
                  std::size_t checksum_offset) {
  const auto bytes = memory.writable(phys, length);
  if (bytes.empty()) return;
  bytes[checksum_offset] = std::byte{0};
  std::uint8_t sum = 0;
  for (std::byte b : bytes) sum = static_cast<std::uint8_t>(sum + std::to_integer<std::uint8_t>(b));
  bytes[checksum_offset] = std::byte(static_cast<std::uint8_t>(-sum));
}
void fix_table_checksum(SimulatedMemory& memory, std::uint64_t phys) {
  fix_checksum(memory, phys, table_length(memory, phys), offsetof(layout::TableHeader, checksum));
}

const TableEntry* find_table(const AcpiInfo& info, std::string_view signature) {
  for (const TableEntry& entry : info.tables()) {
    if (entry.name() == signature) return &entry;
  }
  return nullptr;
}

// Boot's summary lines and the shell's `acpi` details (defined with the summary tests below).
std::vector<std::string> summary_lines(const AcpiInfo& info, const PhysicalReader& memory);

std::string describe(const AcpiInfo& info) {
  std::ostringstream out;
  out << std::hex << "rev " << int{info.revision} << " oem '" << info.oem() << "' root "
      << (info.uses_xsdt ? "XSDT" : "RSDT") << " at 0x" << info.root_address << "\n";
  for (const TableEntry& t : info.tables()) {
    out << "  " << t.name() << " at 0x" << t.address << " len " << std::dec << t.length << std::hex
        << (t.error ? std::string(" ") + std::string(to_string(*t.error)) : "") << "\n";
  }
  if (info.madt) {
    const Madt& m = *info.madt;
    out << "MADT lapic 0x" << m.local_apic_address << " 8259s " << m.has_8259s << " skipped "
        << m.skipped_entries << "\n";
    for (const auto& c : m.cpus())
      out << "  cpu uid " << c.processor_uid << " apic " << c.apic_id << " en " << c.enabled
          << " oc " << c.online_capable << "\n";
    for (const auto& io : m.ioapics())
      out << "  ioapic " << int{io.id} << " 0x" << io.address << " gsi " << io.gsi_base << "\n";
    for (const auto& o : m.isos())
      out << "  iso bus " << int{o.bus} << " irq " << int{o.source_irq} << " gsi " << o.gsi
          << " pol " << int(o.polarity) << " trig " << int(o.trigger) << "\n";
    for (const auto& n : m.lapic_nmis())
      out << "  lapic nmi uid " << n.processor_uid << " lint " << int{n.lint} << "\n";
  } else {
    out << "MADT: " << to_string(info.madt.error()) << "\n";
  }
  if (info.fadt) {
    const Fadt& f = *info.fadt;
    out << "FADT rev " << int{f.revision} << " sci " << f.sci_interrupt << " flags 0x" << f.flags
        << " boot_arch 0x" << f.iapc_boot_arch << " pm1a 0x" << f.pm1a_control_port << " dsdt 0x"
        << f.dsdt_address;
    if (f.pm_timer)
      out << " pmtimer space " << int{f.pm_timer->raw_space} << " 0x" << f.pm_timer->address
          << " bits " << std::dec << int{f.pm_timer_bits} << std::hex;
    if (f.reset_register)
      out << " reset space " << int{f.reset_register->raw_space} << " 0x"
          << f.reset_register->address << " = 0x" << int{f.reset_value};
    out << "\n";
  } else {
    out << "FADT: " << to_string(info.fadt.error()) << "\n";
  }
  return out.str();
}

// --- Building tables from scratch, for cases the fixtures do not have. -----------------

Bytes table_bytes(std::string_view signature, std::uint8_t revision, const Bytes& body) {
  layout::TableHeader header{};
  std::memcpy(header.signature.data(), signature.data(), 4);
  header.length = static_cast<std::uint32_t>(sizeof(header) + body.size());
  header.revision = revision;
  std::memcpy(header.oem_id.data(), "FERRIT", 6);
  Bytes out(sizeof(header));
  std::memcpy(out.data(), &header, sizeof(header));
  out.insert(out.end(), body.begin(), body.end());
  std::uint8_t sum = 0;
  for (std::byte b : out) sum = static_cast<std::uint8_t>(sum + std::to_integer<std::uint8_t>(b));
  out[offsetof(layout::TableHeader, checksum)] = std::byte(static_cast<std::uint8_t>(-sum));
  return out;
}

// A revision-6 FACP table whose fields after the header are those of `fadt`.
Bytes fadt_table(const layout::Fadt& fadt) {
  Bytes body(sizeof(fadt) - sizeof(layout::TableHeader));
  std::memcpy(body.data(), reinterpret_cast<const std::byte*>(&fadt) + sizeof(layout::TableHeader),
              body.size());
  return table_bytes("FACP", 6, body);
}

template <class T>
void append_struct(Bytes& out, const T& value) {
  const auto* bytes = reinterpret_cast<const std::byte*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

// A small machine: an ACPI 1.0 RSDP at 0xE0010, its RSDT at 0x1000, then the given tables.
struct SyntheticMachine {
  static constexpr std::uint64_t rsdp = 0xE0010;
  static constexpr std::uint64_t rsdt = 0x1000;
  SimulatedMemory memory;
  std::vector<std::uint64_t> addresses;

  explicit SyntheticMachine(const std::vector<Bytes>& tables) {
    std::uint64_t next = 0x2000;
    Bytes rsdt_body;
    for (const Bytes& table : tables) {
      memory.place(next, table);
      addresses.push_back(next);
      append_struct(rsdt_body, static_cast<std::uint32_t>(next));
      next += 0x1000;
    }
    memory.place(rsdt, table_bytes("RSDT", 1, rsdt_body));
    layout::Rsdp r{};
    std::memcpy(r.signature.data(), "RSD PTR ", 8);
    std::memcpy(r.oem_id.data(), "FERRIT", 6);
    r.rsdt_address = rsdt;
    Bytes v1(layout::rsdp_v1_size);
    std::memcpy(v1.data(), &r, v1.size());
    memory.place(rsdp, v1);
    fix_checksum(memory, rsdp, layout::rsdp_v1_size, offsetof(layout::Rsdp, checksum));
  }
};

Bytes madt_body(std::uint32_t flags = layout::madt_pcat_compat) {
  Bytes body;
  append_struct(body, std::uint32_t{0xFEE00000});
  append_struct(body, flags);
  return body;
}

// --- The real tables, as QEMU 7.2 builds them. ---------------------------------------

// What every QEMU x86 machine has, under either firmware: one I/O APIC at the standard address
// with GSIs from 0, the timer (ISA IRQ 0) on GSI 2, the PCI IRQs 5, 9, 10, 11 level triggered
// active high, LINT1 as NMI on every CPU, the local APIC at 0xFEE00000, the legacy PIC pair,
// an HPET at 0xFED00000, and a static _S5_ of {0, 0}.
void expect_common_qemu_facts(const AcpiInfo& info, const PhysicalReader& memory) {
  EXPECT_EQ(info.oem(), "BOCHS");
  for (const TableEntry& table : info.tables()) EXPECT_FALSE(table.error) << table.name();
  EXPECT_EQ(info.dropped_tables, 0u);
  EXPECT_EQ(info.null_table_pointers, 0u);
  ASSERT_TRUE(info.madt) << to_string(info.madt.error());
  const Madt& madt = *info.madt;
  EXPECT_EQ(madt.local_apic_address, 0xFEE00000u);
  EXPECT_FALSE(madt.local_apic_address_overridden);
  EXPECT_TRUE(madt.has_8259s);
  ASSERT_EQ(madt.ioapics().size(), 1u);
  EXPECT_EQ(madt.ioapics()[0].id, 0);
  EXPECT_EQ(madt.ioapics()[0].address, 0xFEC00000u);
  EXPECT_EQ(madt.ioapics()[0].gsi_base, 0u);
  ASSERT_EQ(madt.isos().size(), 5u);
  EXPECT_EQ(madt.isos()[0].source_irq, 0);
  EXPECT_EQ(madt.isos()[0].gsi, 2u);
  EXPECT_EQ(madt.isos()[0].polarity, Polarity::conforms);
  EXPECT_EQ(madt.isos()[0].trigger, Trigger::conforms);
  const std::uint8_t pci_irqs[] = {5, 9, 10, 11};
  for (std::size_t i = 0; i < 4; ++i) {
    const InterruptOverride& iso = madt.isos()[i + 1];
    EXPECT_EQ(iso.bus, 0);
    EXPECT_EQ(iso.source_irq, pci_irqs[i]);
    EXPECT_EQ(iso.gsi, pci_irqs[i]);
    EXPECT_EQ(iso.polarity, Polarity::active_high);
    EXPECT_EQ(iso.trigger, Trigger::level);
  }
  EXPECT_EQ(madt.gsi_for_isa_irq(0), 2u);
  EXPECT_EQ(madt.gsi_for_isa_irq(1), 1u);  // no override: identity
  EXPECT_EQ(madt.gsi_for_isa_irq(4), 4u);
  // The routes the I/O APIC is programmed with (platform/pc/ioapic.cpp).
  EXPECT_EQ(madt.isa_route(0), (IsaRoute{.gsi = 2}));  // conforms: ISA's edge, active high
  EXPECT_EQ(madt.isa_route(1), (IsaRoute{.gsi = 1}));
  EXPECT_EQ(madt.isa_route(2), std::nullopt);  // the cascade: GSI 2 is IRQ 0's
  EXPECT_EQ(madt.isa_route(9), (IsaRoute{.gsi = 9, .level_triggered = true}));
  ASSERT_EQ(madt.lapic_nmis().size(), 1u);
  EXPECT_EQ(madt.lapic_nmis()[0].processor_uid, LocalApicNmi::all_processors);
  EXPECT_EQ(madt.lapic_nmis()[0].lint, 1);
  EXPECT_EQ(madt.skipped_entries, 0u);
  EXPECT_EQ(madt.dropped_entries, 0u);
  for (std::size_t i = 0; i < madt.cpus().size(); ++i) {
    EXPECT_EQ(madt.cpus()[i].processor_uid, i);
    EXPECT_EQ(madt.cpus()[i].apic_id, i);
    EXPECT_TRUE(madt.cpus()[i].enabled);
    EXPECT_FALSE(madt.cpus()[i].x2apic_entry);
  }

  ASSERT_TRUE(info.fadt) << to_string(info.fadt.error());
  EXPECT_EQ(info.fadt->sci_interrupt, 9);
  EXPECT_FALSE(info.fadt->hardware_reduced);
  ASSERT_TRUE(info.fadt->pm_timer);
  EXPECT_EQ(info.fadt->pm_timer->space, Register::Space::io);
  EXPECT_EQ(info.fadt->pm_timer_bits, 24);  // TMR_VAL_EXT clear
  // Read when asked (power-off, the shell's `acpi`), not by parse().
  const auto s5 = read_s5(memory, info);
  ASSERT_TRUE(s5) << to_string(s5.error());
  EXPECT_EQ(s5->a, 0);
  EXPECT_EQ(s5->b, 0);
  const auto hpet = read_hpet(memory, info);
  ASSERT_TRUE(hpet) << to_string(hpet.error());
  EXPECT_EQ(hpet->address, 0xFED00000u);
  EXPECT_EQ(hpet->event_timer_block_id, 0x8086A201u);  // Intel, 3 timers, rev 1
}

TEST(AcpiFixtures, SeaBiosPc) {
  const auto fixture = load_fixture("seabios-pc.bin");
  const auto info = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(info) << to_string(info.error());
  SCOPED_TRACE(describe(*info));
  EXPECT_EQ(info->rsdp_address, 0xF59D0u);
  EXPECT_EQ(info->revision, 0);  // SeaBIOS: ACPI 1.0 RSDP, RSDT only
  EXPECT_FALSE(info->uses_xsdt);
  EXPECT_EQ(info->root_address, 0x7FE1AD8u);
  EXPECT_FALSE(info->xsdt_error);
  ASSERT_EQ(info->tables().size(), 4u);
  EXPECT_EQ(info->tables()[0].name(), "FACP");
  EXPECT_EQ(info->tables()[1].name(), "APIC");
  EXPECT_EQ(info->tables()[2].name(), "HPET");
  EXPECT_EQ(info->tables()[3].name(), "WAET");
  expect_common_qemu_facts(*info, fixture->memory);
  ASSERT_EQ(info->madt->cpus().size(), 1u);
  EXPECT_EQ(info->madt->enabled_cpus(), 1u);
  // PIIX4 power management: SeaBIOS puts its I/O base at 0x600 (OVMF at 0xB000, below).
  EXPECT_EQ(info->fadt->revision, 1);
  EXPECT_EQ(info->fadt->pm_timer->address, 0x608u);
  EXPECT_EQ(info->fadt->pm1a_control_port, 0x604u);
  EXPECT_FALSE(info->fadt->reset_register);  // an ACPI 1.0 FADT has no reset register
  EXPECT_EQ(info->fadt->dsdt_address, 0x7FE0040u);
}

TEST(AcpiFixtures, SeaBiosQ35FourCpus) {
  const auto fixture = load_fixture("seabios-q35-smp4.bin");
  const auto info = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(info) << to_string(info.error());
  SCOPED_TRACE(describe(*info));
  EXPECT_EQ(info->revision, 0);
  EXPECT_FALSE(info->uses_xsdt);
  ASSERT_NE(find_table(*info, "MCFG"), nullptr);  // PCI Express configuration space
  expect_common_qemu_facts(*info, fixture->memory);
  EXPECT_EQ(info->madt->cpus().size(), 4u);  // -smp 4
  EXPECT_EQ(info->madt->enabled_cpus(), 4u);
  // ICH9: PM base 0x600; reset through the reset control register 0xCF9.
  EXPECT_EQ(info->fadt->revision, 3);
  EXPECT_EQ(info->fadt->pm_timer->address, 0x608u);
  EXPECT_EQ(info->fadt->iapc_boot_arch, 0x2);  // an 8042 keyboard controller
  ASSERT_TRUE(info->fadt->reset_register);
  EXPECT_EQ(info->fadt->reset_register->space, Register::Space::io);
  EXPECT_EQ(info->fadt->reset_register->address, 0xCF9u);
  EXPECT_EQ(info->fadt->reset_value, 0x0F);
}

TEST(AcpiFixtures, OvmfQ35TwoCpus) {
  const auto fixture = load_fixture("ovmf-q35-smp2.bin");
  const auto info = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(info) << to_string(info.error());
  SCOPED_TRACE(describe(*info));
  EXPECT_EQ(info->revision, 2);  // OVMF: ACPI 2.0+ RSDP with an XSDT
  EXPECT_TRUE(info->uses_xsdt);
  EXPECT_EQ(info->root_address, 0x777D0E8u);
  EXPECT_FALSE(info->xsdt_error);
  ASSERT_NE(find_table(*info, "BGRT"), nullptr);  // OVMF's boot logo table
  expect_common_qemu_facts(*info, fixture->memory);
  EXPECT_EQ(info->madt->cpus().size(), 2u);
  EXPECT_EQ(info->fadt->pm_timer->address, 0x608u);
  ASSERT_TRUE(info->fadt->reset_register);
  EXPECT_EQ(info->fadt->reset_register->address, 0xCF9u);
}

TEST(AcpiFixtures, OvmfPc) {
  const auto fixture = load_fixture("ovmf-pc.bin");
  const auto info = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(info) << to_string(info.error());
  SCOPED_TRACE(describe(*info));
  EXPECT_EQ(info->revision, 2);
  EXPECT_TRUE(info->uses_xsdt);
  expect_common_qemu_facts(*info, fixture->memory);
  EXPECT_EQ(info->madt->cpus().size(), 1u);
  EXPECT_EQ(info->fadt->pm_timer->address, 0xB008u);  // OVMF's PIIX4 PM base is 0xB000
  EXPECT_EQ(info->fadt->pm1a_control_port, 0xB004u);
  EXPECT_FALSE(info->fadt->reset_register);
}

// --- Finding the RSDP in the BIOS areas (ACPI 6.5 5.2.5.1). ---------------------------

// Low memory as a BIOS leaves it: the BDA with the EBDA segment at 0x40E, a 1 KiB EBDA at
// 0x9FC00, and the 128 KiB BIOS area, all zeros.
SimulatedMemory bios_low_memory(std::uint16_t ebda_segment = 0x9FC0) {
  SimulatedMemory memory;
  memory.fill(0x400, 0x100);
  memory.poke<std::uint16_t>(0x40E, ebda_segment);
  memory.fill(0x9FC00, 0x400);
  memory.fill(0xE0000, 0x20000);
  return memory;
}

void copy_rsdp(const SimulatedMemory& from, std::uint64_t from_phys, SimulatedMemory& to,
               std::uint64_t to_phys) {
  const auto bytes = from.read(from_phys, layout::rsdp_v1_size);
  ASSERT_FALSE(bytes.empty());
  const auto target = to.writable(to_phys, bytes.size());
  ASSERT_FALSE(target.empty());
  std::copy(bytes.begin(), bytes.end(), target.begin());
}

TEST(AcpiBiosScan, FindsSeaBiosRsdp) {
  for (const char* name : {"seabios-pc.bin", "seabios-q35-smp4.bin"}) {
    const auto fixture = load_fixture(name);
    SimulatedMemory memory = bios_low_memory(fixture->memory.peek<std::uint16_t>(0x40E));
    copy_rsdp(fixture->memory, fixture->rsdp, memory, fixture->rsdp);
    const auto found = find_rsdp_in_bios_area(memory);
    ASSERT_TRUE(found) << name << ": " << to_string(found.error());
    EXPECT_EQ(*found, fixture->rsdp) << name;
  }
}

TEST(AcpiBiosScan, TheEbdaComesFirst) {
  const auto fixture = load_fixture("seabios-pc.bin");
  SimulatedMemory memory = bios_low_memory();
  copy_rsdp(fixture->memory, fixture->rsdp, memory, 0xE0000);
  copy_rsdp(fixture->memory, fixture->rsdp, memory, 0x9FC00 + 0x30);
  EXPECT_EQ(find_rsdp_in_bios_area(memory), 0x9FC30u);
  // Only the first KiB of the EBDA is searched.
  memory.fill(0x9FC00, 0x800);
  copy_rsdp(fixture->memory, fixture->rsdp, memory, 0x9FC00 + 0x400);
  EXPECT_EQ(find_rsdp_in_bios_area(memory), 0xE0000u);
}

TEST(AcpiBiosScan, SkipsBadCopiesAndUnalignedOnes) {
  const auto fixture = load_fixture("seabios-pc.bin");
  SimulatedMemory memory = bios_low_memory();
  copy_rsdp(fixture->memory, fixture->rsdp, memory, 0xE0008);  // not on a 16-byte boundary
  EXPECT_EQ(find_rsdp_in_bios_area(memory), std::unexpected(AcpiError::not_found_in_bios_area));
  copy_rsdp(fixture->memory, fixture->rsdp, memory, 0xE1000);
  memory.poke<std::uint8_t>(0xE1000 + 9, 'X');  // OEM id changed, checksum now wrong
  copy_rsdp(fixture->memory, fixture->rsdp, memory, 0xE2000);
  EXPECT_EQ(find_rsdp_in_bios_area(memory), 0xE2000u);
}

TEST(AcpiBiosScan, StopsAtTheEndOfTheArea) {
  const auto fixture = load_fixture("seabios-pc.bin");
  SimulatedMemory memory = bios_low_memory();
  // The signature in the last 16 bytes: a 20-byte RSDP cannot fit, and must not be read.
  const auto rsdp = fixture->memory.read(fixture->rsdp, 16);
  const auto target = memory.writable(0xFFFF0, 16);
  std::copy(rsdp.begin(), rsdp.end(), target.begin());
  EXPECT_EQ(find_rsdp_in_bios_area(memory), std::unexpected(AcpiError::not_found_in_bios_area));
  copy_rsdp(fixture->memory, fixture->rsdp, memory, 0xFFFE0);
  EXPECT_EQ(find_rsdp_in_bios_area(memory), 0xFFFE0u);
}

TEST(AcpiBiosScan, IgnoresAnEbdaPointerOutsideLowMemory) {
  const auto fixture = load_fixture("seabios-pc.bin");
  for (std::uint16_t segment : {0x0000, 0x0010, 0xA000, 0xFFFF}) {
    SimulatedMemory memory = bios_low_memory(segment);
    copy_rsdp(fixture->memory, fixture->rsdp, memory, 0xF0000);
    EXPECT_EQ(find_rsdp_in_bios_area(memory), 0xF0000u) << segment;
  }
}

TEST(AcpiBiosScan, NothingReadableMeansNotFound) {
  const SimulatedMemory empty;
  EXPECT_EQ(find_rsdp_in_bios_area(empty), std::unexpected(AcpiError::not_found_in_bios_area));
  // OVMF: no RSDP below 1 MiB (GRUB passes it in a Multiboot2 tag instead).
  SimulatedMemory memory = bios_low_memory();
  EXPECT_EQ(find_rsdp_in_bios_area(memory), std::unexpected(AcpiError::not_found_in_bios_area));
}

// --- From the boot protocol's RSDP to the tables: the path the kernel takes. ----------

template <class T>
void put(Bytes& out, T value) {
  append_struct(out, value);
}

// Under OVMF, GRUB copies both RSDPs into Multiboot2 tags 14 (ACPI 1.0) and 15 (ACPI 2.0+);
// the copies are only 8-byte aligned. BootInfo must pick the 2.0 copy, and it must parse.
TEST(AcpiBootInfo, Multiboot2RsdpTagLeadsToTheTables) {
  auto fixture = load_fixture("ovmf-q35-smp2.bin");
  const auto rsdp_v2 = fixture->memory.read(fixture->rsdp, 36);
  ASSERT_FALSE(rsdp_v2.empty());
  // The ACPI 1.0 copy: the first 20 bytes, revision 0, its own checksum (OVMF has one like it).
  Bytes rsdp_v1(rsdp_v2.begin(), rsdp_v2.begin() + 20);
  rsdp_v1[15] = std::byte{0};
  rsdp_v1[8] = std::byte{0};
  std::uint8_t sum = 0;
  for (std::byte b : rsdp_v1)
    sum = static_cast<std::uint8_t>(sum + std::to_integer<std::uint8_t>(b));
  rsdp_v1[8] = std::byte(static_cast<std::uint8_t>(-sum));
  Bytes block;
  put(block, std::uint32_t{0});  // total_size, set below
  put(block, std::uint32_t{0});
  put(block, std::uint32_t{6});  // memory map: one usable region
  put(block, std::uint32_t{16 + 24});
  put(block, std::uint32_t{24});
  put(block, std::uint32_t{0});
  put(block, std::uint64_t{0x100000});
  put(block, std::uint64_t{0x7000000});
  put(block, std::uint32_t{1});
  put(block, std::uint32_t{0});
  const auto rsdp_tag = [&](std::uint32_t type, std::span<const std::byte> copy) {
    put(block, type);
    put(block, static_cast<std::uint32_t>(8 + copy.size()));
    block.insert(block.end(), copy.begin(), copy.end());
    block.resize((block.size() + 7) / 8 * 8);
  };
  rsdp_tag(14, rsdp_v1);
  const std::size_t v2_copy = block.size() + 8;
  rsdp_tag(15, rsdp_v2);
  put(block, std::uint32_t{0});  // end tag
  put(block, std::uint32_t{8});
  const auto total = static_cast<std::uint32_t>(block.size());
  std::memcpy(block.data(), &total, 4);
  constexpr std::uint64_t block_phys = 0x89770;  // where GRUB put it in this very boot
  fixture->memory.place(block_phys, block);

  const auto boot = boot::parse_multiboot2(fixture->memory, block_phys);
  ASSERT_TRUE(boot) << boot::to_string(boot.error());
  ASSERT_TRUE(boot->rsdp());
  EXPECT_EQ(*boot->rsdp(), block_phys + v2_copy);
  EXPECT_NE(*boot->rsdp() % 16, 0u);
  const auto info = parse(fixture->memory, *boot->rsdp());
  ASSERT_TRUE(info) << to_string(info.error());
  EXPECT_EQ(info->revision, 2);
  EXPECT_TRUE(info->uses_xsdt);
  ASSERT_TRUE(info->madt);
  EXPECT_EQ(info->madt->cpus().size(), 2u);
}

// QEMU's PVH boot (-kernel) passes the RSDP's address in the start info.
TEST(AcpiBootInfo, PvhRsdpAddressLeadsToTheTables) {
  auto fixture = load_fixture("seabios-q35-smp4.bin");
  Bytes start_info;
  put(start_info, std::uint32_t{boot::pvh_start_info_magic});
  put(start_info, std::uint32_t{1});       // version
  put(start_info, std::uint32_t{0});       // flags
  put(start_info, std::uint32_t{0});       // nr_modules
  put(start_info, std::uint64_t{0});       // modlist_paddr
  put(start_info, std::uint64_t{0});       // cmdline_paddr
  put(start_info, fixture->rsdp);          // rsdp_paddr
  put(start_info, std::uint64_t{0x6000});  // memmap_paddr
  put(start_info, std::uint32_t{1});
  put(start_info, std::uint32_t{0});
  Bytes memory_map;
  put(memory_map, std::uint64_t{0x100000});
  put(memory_map, std::uint64_t{0x7000000});
  put(memory_map, std::uint32_t{1});
  put(memory_map, std::uint32_t{0});
  fixture->memory.place(0x5000, start_info);
  fixture->memory.place(0x6000, memory_map);

  const auto boot = boot::parse_pvh(fixture->memory, 0x5000);
  ASSERT_TRUE(boot) << boot::to_string(boot.error());
  ASSERT_EQ(boot->rsdp(), fixture->rsdp);
  const auto info = parse(fixture->memory, *boot->rsdp());
  ASSERT_TRUE(info) << to_string(info.error());
  ASSERT_TRUE(info->madt);
  EXPECT_EQ(info->madt->cpus().size(), 4u);
}

// --- Damaged RSDPs and root tables: parse() fails with a clear error. -------------------

TEST(AcpiDamage, RsdpSignatureAndChecksum) {
  auto fixture = load_fixture("seabios-pc.bin");
  auto& memory = fixture->memory;
  memory.poke<char>(fixture->rsdp + 3, 'X');
  EXPECT_EQ(parse(memory, fixture->rsdp), std::unexpected(AcpiError::rsdp_bad_signature));
  memory.poke<char>(fixture->rsdp + 3, ' ');
  ASSERT_TRUE(parse(memory, fixture->rsdp));
  memory.poke<char>(fixture->rsdp + 9, 'b');  // OEM id "bOCHS"
  EXPECT_EQ(parse(memory, fixture->rsdp), std::unexpected(AcpiError::rsdp_bad_checksum));
}

TEST(AcpiDamage, RsdpExtendedChecksumAndLength) {
  auto fixture = load_fixture("ovmf-q35-smp2.bin");
  auto& memory = fixture->memory;
  const std::uint64_t rsdp = fixture->rsdp;
  memory.poke<std::uint8_t>(rsdp + 33, 1);  // a reserved byte: only the extended sum covers it
  EXPECT_EQ(parse(memory, rsdp), std::unexpected(AcpiError::rsdp_bad_extended_checksum));
  memory.poke<std::uint8_t>(rsdp + 33, 0);
  for (std::uint32_t length : {0u, 20u, 35u, 0x10000u, 0xFFFFFFFFu}) {
    memory.poke<std::uint32_t>(rsdp + 20, length);
    fix_checksum(memory, rsdp, 36, offsetof(layout::Rsdp, extended_checksum));
    EXPECT_EQ(parse(memory, rsdp), std::unexpected(AcpiError::rsdp_bad_length)) << length;
  }
  memory.poke<std::uint32_t>(rsdp + 20, 40);  // plausible, but memory ends after 36 bytes
  EXPECT_EQ(parse(memory, rsdp), std::unexpected(AcpiError::rsdp_out_of_range));
}

TEST(AcpiDamage, RsdpOutOfRange) {
  auto fixture = load_fixture("ovmf-pc.bin");
  EXPECT_EQ(parse(fixture->memory, 0x1234560), std::unexpected(AcpiError::rsdp_out_of_range));
  EXPECT_EQ(parse(fixture->memory, 0xFFFF'FFFF'FFFF'FFF0),
            std::unexpected(AcpiError::rsdp_out_of_range));
  // Only the revision-0 part is readable: the RSDP says revision 2, the rest is missing.
  fixture->memory.cut_at(fixture->rsdp + 30);
  EXPECT_EQ(parse(fixture->memory, fixture->rsdp), std::unexpected(AcpiError::rsdp_out_of_range));
}

TEST(AcpiDamage, NoRootTable) {
  auto fixture = load_fixture("seabios-pc.bin");
  fixture->memory.poke<std::uint32_t>(fixture->rsdp + 16, 0);
  fix_checksum(fixture->memory, fixture->rsdp, 20, offsetof(layout::Rsdp, checksum));
  EXPECT_EQ(parse(fixture->memory, fixture->rsdp), std::unexpected(AcpiError::no_root_table));
}

// The RSDT of seabios-pc.bin: 0x7FE1AD8, 52 bytes, the last table in its memory segment.
constexpr std::uint64_t seabios_pc_rsdt = 0x7FE1AD8;

TEST(AcpiDamage, RsdtPointingToUnmappedMemory) {
  auto fixture = load_fixture("seabios-pc.bin");
  fixture->memory.poke<std::uint32_t>(fixture->rsdp + 16, 0x40000000);
  fix_checksum(fixture->memory, fixture->rsdp, 20, offsetof(layout::Rsdp, checksum));
  EXPECT_EQ(parse(fixture->memory, fixture->rsdp), std::unexpected(AcpiError::table_out_of_range));
}

TEST(AcpiDamage, RsdtBadChecksumOrSignature) {
  auto fixture = load_fixture("seabios-pc.bin");
  auto& memory = fixture->memory;
  memory.poke<std::uint8_t>(seabios_pc_rsdt + 10, 'b');
  EXPECT_EQ(parse(memory, fixture->rsdp), std::unexpected(AcpiError::table_bad_checksum));
  fix_table_checksum(memory, seabios_pc_rsdt);
  ASSERT_TRUE(parse(memory, fixture->rsdp));
  memory.poke<char>(seabios_pc_rsdt, 'X');  // "XSDT" where the RSDP's RSDT field points
  fix_table_checksum(memory, seabios_pc_rsdt);
  EXPECT_EQ(parse(memory, fixture->rsdp), std::unexpected(AcpiError::table_bad_signature));
}

TEST(AcpiDamage, RsdtLengths) {
  auto fixture = load_fixture("seabios-pc.bin");
  auto& memory = fixture->memory;
  const auto with_length = [&](std::uint32_t length) {
    memory.poke<std::uint32_t>(seabios_pc_rsdt + 4, length);
    const std::uint32_t checked = std::min<std::uint32_t>(length, 52);
    if (checked >= 36) fix_checksum(memory, seabios_pc_rsdt, checked, 9);
    return parse(memory, fixture->rsdp);
  };
  EXPECT_EQ(with_length(0), std::unexpected(AcpiError::table_too_short));
  EXPECT_EQ(with_length(35), std::unexpected(AcpiError::table_too_short));
  EXPECT_EQ(with_length(51), std::unexpected(AcpiError::root_not_whole_entries));
  EXPECT_EQ(with_length(53), std::unexpected(AcpiError::table_out_of_range));  // past memory
  EXPECT_EQ(with_length(0x7FFFFFFF), std::unexpected(AcpiError::table_too_long));
  const auto shorter = with_length(44);  // a valid RSDT listing the first two tables only
  ASSERT_TRUE(shorter);
  EXPECT_EQ(shorter->tables().size(), 2u);
  EXPECT_EQ(read_hpet(memory, *shorter), std::unexpected(AcpiError::table_missing));  // the third
  EXPECT_TRUE(shorter->madt);
}

TEST(AcpiDamage, TruncatedXsdtFallsBackToTheRsdt) {
  auto fixture = load_fixture("ovmf-q35-smp2.bin");
  constexpr std::uint64_t xsdt = 0x777D0E8;
  fixture->memory.cut_at(xsdt + 50);  // the XSDT now runs past the end of memory
  const auto info = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(info) << to_string(info.error());
  EXPECT_EQ(info->xsdt_error, AcpiError::table_out_of_range);
  EXPECT_FALSE(info->uses_xsdt);
  EXPECT_EQ(info->root_address, 0x777D074u);
  ASSERT_TRUE(info->madt);
  EXPECT_EQ(info->madt->cpus().size(), 2u);
}

TEST(AcpiDamage, XsdtAndRsdtBothBroken) {
  auto fixture = load_fixture("ovmf-q35-smp2.bin");
  fixture->memory.poke<std::uint8_t>(0x777D0E8 + 10, 'x');  // XSDT checksum
  fixture->memory.poke<std::uint32_t>(0x777D074 + 4, 37);   // RSDT not whole entries
  fix_checksum(fixture->memory, 0x777D074, 37, 9);
  EXPECT_EQ(parse(fixture->memory, fixture->rsdp),
            std::unexpected(AcpiError::root_not_whole_entries));
}

TEST(AcpiDamage, NullAndUnmappedTablePointers) {
  auto fixture = load_fixture("seabios-pc.bin");
  auto& memory = fixture->memory;
  memory.poke<std::uint32_t>(seabios_pc_rsdt + 36 + 8, 0);            // HPET's entry: null
  memory.poke<std::uint32_t>(seabios_pc_rsdt + 36 + 12, 0x20000000);  // WAET's: unmapped
  fix_table_checksum(memory, seabios_pc_rsdt);
  const auto info = parse(memory, fixture->rsdp);
  ASSERT_TRUE(info) << to_string(info.error());
  EXPECT_EQ(info->null_table_pointers, 1u);
  ASSERT_EQ(info->tables().size(), 3u);
  EXPECT_EQ(info->tables()[2].address, 0x20000000u);
  EXPECT_EQ(info->tables()[2].error, AcpiError::table_out_of_range);
  EXPECT_EQ(read_hpet(memory, *info), std::unexpected(AcpiError::table_missing));
  EXPECT_TRUE(info->madt);
  EXPECT_TRUE(info->fadt);
}

// --- A damaged table is that table's error; the others still parse. --------------------

// OVMF puts each table on its own page: in ovmf-pc.bin each is its own memory segment.
constexpr std::uint64_t ovmf_pc_madt = 0x7779000, ovmf_pc_fadt = 0x777A000;
constexpr std::uint64_t ovmf_pc_dsdt = 0x777B000, ovmf_pc_hpet = 0x7778000;

TEST(AcpiDamage, BadMadtChecksumKeepsTheOtherTables) {
  auto fixture = load_fixture("ovmf-pc.bin");
  fixture->memory.poke<std::uint8_t>(ovmf_pc_madt + 50, 0x55);
  const auto info = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->madt, std::unexpected(AcpiError::table_bad_checksum));
  EXPECT_EQ(find_table(*info, "APIC")->error, AcpiError::table_bad_checksum);
  EXPECT_TRUE(info->fadt);
  EXPECT_TRUE(read_hpet(fixture->memory, *info));
  EXPECT_TRUE(read_s5(fixture->memory, *info));
}

TEST(AcpiDamage, MadtRunningPastTheEndOfMemory) {
  auto fixture = load_fixture("ovmf-pc.bin");
  fixture->memory.cut_at(ovmf_pc_madt + 100);  // declared 120 bytes
  const auto info = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->madt, std::unexpected(AcpiError::table_out_of_range));
  // Not even a whole header: the entry's signature is unknown, so there is no MADT.
  fixture->memory.cut_at(ovmf_pc_madt + 20);
  const auto again = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->madt, std::unexpected(AcpiError::table_missing));
  EXPECT_EQ(again->tables()[1].address, ovmf_pc_madt);
  EXPECT_EQ(again->tables()[1].name(), std::string_view("\0\0\0\0", 4));
  EXPECT_EQ(again->tables()[1].error, AcpiError::table_out_of_range);
}

TEST(AcpiDamage, MissingMadtIsAnError) {
  auto fixture = load_fixture("ovmf-pc.bin");
  fixture->memory.poke<char>(ovmf_pc_madt + 3, 'X');  // "APIX": some other table
  fix_table_checksum(fixture->memory, ovmf_pc_madt);
  const auto info = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->madt, std::unexpected(AcpiError::table_missing));
  EXPECT_NE(find_table(*info, "APIX"), nullptr);
}

// The kernel parses into one AcpiInfo: nothing of an earlier parse may survive the next.
TEST(AcpiDamage, ParsingAgainStartsFromBlank) {
  const auto four_cpus = load_fixture("seabios-q35-smp4.bin");
  const auto one_cpu = load_fixture("seabios-pc.bin");
  auto broken_madt = load_fixture("ovmf-pc.bin");
  broken_madt->memory.poke<std::uint8_t>(ovmf_pc_madt + 50, 0x55);

  AcpiInfo info;
  ASSERT_TRUE(acpi::parse(four_cpus->memory, four_cpus->rsdp, info));
  ASSERT_TRUE(info.madt);
  EXPECT_EQ(info.madt->enabled_cpus(), 4u);
  ASSERT_TRUE(acpi::parse(one_cpu->memory, one_cpu->rsdp, info));
  ASSERT_TRUE(info.madt);
  EXPECT_EQ(info.madt->cpus().size(), 1u);
  EXPECT_EQ(info.madt->enabled_cpus(), 1u);

  ASSERT_TRUE(acpi::parse(broken_madt->memory, broken_madt->rsdp, info));
  const auto fresh = parse(broken_madt->memory, broken_madt->rsdp);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(info.madt, std::unexpected(AcpiError::table_bad_checksum));
  EXPECT_EQ(info.revision, fresh->revision);
  EXPECT_EQ(info.uses_xsdt, fresh->uses_xsdt);
  EXPECT_EQ(info.root_address, fresh->root_address);
  ASSERT_EQ(info.tables().size(), fresh->tables().size());
  for (std::size_t i = 0; i < info.tables().size(); ++i) {
    EXPECT_EQ(info.tables()[i].name(), fresh->tables()[i].name());
    EXPECT_EQ(info.tables()[i].error, fresh->tables()[i].error);
  }
  ASSERT_TRUE(info.fadt);
  EXPECT_EQ(info.fadt->dsdt_address, fresh->fadt->dsdt_address);
}

// The MADT entries of ovmf-pc.bin, from offset 44: LAPIC (8), IOAPIC (12), 5 ISOs (10 each),
// LAPIC NMI (6): 44 + 8 + 12 + 50 + 6 = 120.
constexpr std::uint64_t madt_first_entry = ovmf_pc_madt + 44;
constexpr std::uint64_t madt_nmi_entry = ovmf_pc_madt + 114;

std::expected<Madt, AcpiError> madt_after(Fixture& fixture,
                                          const std::function<void(SimulatedMemory&)>& damage) {
  damage(fixture.memory);
  fix_table_checksum(fixture.memory, ovmf_pc_madt);
  const auto info = parse(fixture.memory, fixture.rsdp);
  EXPECT_TRUE(info);
  return info ? info->madt : std::unexpected(info.error());
}

TEST(AcpiDamage, MadtEntryLengths) {
  // Length 0 would never advance, length 1 would split the next header: both are refused,
  // for a known type (LAPIC NMI) and for one the parser would otherwise just skip.
  for (std::uint8_t type : {4, 0x7F}) {
    for (std::uint8_t length : {0, 1}) {
      auto fixture = load_fixture("ovmf-pc.bin");
      EXPECT_EQ(madt_after(*fixture,
                           [&](SimulatedMemory& m) {
                             m.poke(madt_nmi_entry, type);
                             m.poke(madt_nmi_entry + 1, length);
                           }),
                std::unexpected(AcpiError::madt_entry_too_short))
          << int{type} << " " << int{length};
    }
  }
  {
    // A LAPIC entry too short for its fields, followed by a well-formed entry of a skipped type
    // in its old place, so that only the type's own size check can refuse it.
    auto fixture = load_fixture("ovmf-pc.bin");
    EXPECT_EQ(madt_after(*fixture,
                         [](SimulatedMemory& m) {
                           m.poke<std::uint8_t>(madt_first_entry + 1, 4);
                           m.poke<std::uint8_t>(madt_first_entry + 4, 0x7F);
                           m.poke<std::uint8_t>(madt_first_entry + 5, 4);
                         }),
              std::unexpected(AcpiError::madt_entry_too_short));
  }
  {
    auto fixture = load_fixture("ovmf-pc.bin");  // the last entry runs past the table
    EXPECT_EQ(madt_after(*fixture,
                         [](SimulatedMemory& m) { m.poke<std::uint8_t>(madt_nmi_entry + 1, 7); }),
              std::unexpected(AcpiError::madt_entry_past_end));
  }
  {
    auto fixture = load_fixture("ovmf-pc.bin");  // the table ends inside the last entry
    EXPECT_EQ(madt_after(*fixture,
                         [](SimulatedMemory& m) { m.poke<std::uint32_t>(ovmf_pc_madt + 4, 119); }),
              std::unexpected(AcpiError::madt_entry_past_end));
  }
  {
    auto fixture = load_fixture("ovmf-pc.bin");  // one byte after the last entry: half a header
    auto madt = madt_after(*fixture, [](SimulatedMemory& m) {
      m.poke<std::uint32_t>(ovmf_pc_madt + 4, 115);
      m.poke<std::uint8_t>(madt_nmi_entry, 0x7F);  // the tail is now a lone type byte
    });
    EXPECT_EQ(madt, std::unexpected(AcpiError::madt_entry_past_end));
  }
  {
    auto fixture = load_fixture("ovmf-pc.bin");  // shorter than the MADT's fixed fields
    EXPECT_EQ(madt_after(*fixture,
                         [](SimulatedMemory& m) { m.poke<std::uint32_t>(ovmf_pc_madt + 4, 40); }),
              std::unexpected(AcpiError::table_too_short));
  }
}

TEST(AcpiDamage, UnknownMadtEntriesAreSkippedAndCounted) {
  auto fixture = load_fixture("ovmf-pc.bin");
  const auto madt = madt_after(*fixture, [](SimulatedMemory& m) {
    m.poke<std::uint8_t>(madt_nmi_entry, 0x7F);         // LAPIC NMI -> an unknown type
    m.poke<std::uint8_t>(madt_first_entry + 20, 0x0B);  // first ISO -> type 11 (ARM GICC)
  });
  ASSERT_TRUE(madt) << to_string(madt.error());
  EXPECT_EQ(madt->skipped_entries, 2u);
  EXPECT_EQ(madt->lapic_nmis().size(), 0u);
  EXPECT_EQ(madt->isos().size(), 4u);
  EXPECT_EQ(madt->cpus().size(), 1u);
  EXPECT_EQ(madt->ioapics().size(), 1u);
}

TEST(AcpiSynthetic, X2ApicEntriesOverridesAndCapacity) {
  Bytes body = madt_body(0);
  append_struct(body, layout::MadtLocalApicAddressOverride{{5, 12}, 0, 0x1'2345'6000});
  for (std::uint32_t i = 0; i < Madt::max_local_apics + 6; ++i) {
    // Alternate enabled / online-capable / unusable.
    const std::uint32_t flags = i % 3 == 0 ? 1 : i % 3 == 1 ? 2 : 0;
    append_struct(body, layout::MadtLocalX2Apic{{9, 16}, 0, 300 + i, flags, 1000 + i});
  }
  append_struct(body, layout::MadtLocalX2ApicNmi{{10, 12}, 0xD, 0xFFFFFFFF, 1, {}});
  append_struct(body, layout::MadtNmiSource{{3, 8}, 0x5, 23});
  // A longer entry of a known type (a later revision's extra bytes) is accepted.
  body.insert(body.end(),
              {std::byte{1}, std::byte{14}, std::byte{2}, std::byte{0}, std::byte{0}, std::byte{0},
               std::byte{0xC0}, std::byte{0xFE}, std::byte{24}, std::byte{0}, std::byte{0},
               std::byte{0}, std::byte{0xAA}, std::byte{0xBB}});
  SyntheticMachine machine({table_bytes("APIC", 5, body)});
  const auto info = parse(machine.memory, SyntheticMachine::rsdp);
  ASSERT_TRUE(info) << to_string(info.error());
  ASSERT_TRUE(info->madt) << to_string(info->madt.error());
  const Madt& madt = *info->madt;
  EXPECT_EQ(madt.local_apic_address, 0x1'2345'6000u);
  EXPECT_TRUE(madt.local_apic_address_overridden);
  EXPECT_FALSE(madt.has_8259s);
  EXPECT_EQ(madt.cpus().size(), Madt::max_local_apics);
  EXPECT_EQ(madt.dropped_entries, 6u);
  EXPECT_EQ(madt.cpus()[4].apic_id, 304u);
  EXPECT_EQ(madt.cpus()[4].processor_uid, 1004u);
  EXPECT_TRUE(madt.cpus()[3].enabled);
  EXPECT_TRUE(madt.cpus()[4].online_capable);
  EXPECT_FALSE(madt.cpus()[5].enabled || madt.cpus()[5].online_capable);
  EXPECT_TRUE(madt.cpus()[0].x2apic_entry);
  EXPECT_EQ(madt.enabled_cpus(), 22u);  // i = 0, 3, ..., 63
  ASSERT_EQ(madt.lapic_nmis().size(), 1u);
  EXPECT_EQ(madt.lapic_nmis()[0].processor_uid, LocalApicNmi::all_processors);
  EXPECT_EQ(madt.lapic_nmis()[0].polarity, Polarity::active_high);
  EXPECT_EQ(madt.lapic_nmis()[0].trigger, Trigger::level);
  ASSERT_EQ(madt.nmi_source_count, 1u);
  EXPECT_EQ(madt.nmi_sources[0].gsi, 23u);
  EXPECT_EQ(madt.nmi_sources[0].trigger, Trigger::edge);
  ASSERT_EQ(madt.ioapics().size(), 1u);
  EXPECT_EQ(madt.ioapics()[0].id, 2);
  EXPECT_EQ(madt.ioapics()[0].gsi_base, 24u);
  EXPECT_EQ(info->fadt, std::unexpected(AcpiError::table_missing));
  EXPECT_EQ(read_s5(machine.memory, *info), std::unexpected(AcpiError::table_missing));
}

// --- FADT, DSDT and HPET damage. -----------------------------------------------------

// ISA IRQ -> GSI with every kind of INTI flags (ACPI 6.5 table 5.50) and overrides that swap
// pins, built directly (no table bytes needed for the resolution itself).
TEST(AcpiIsaRoute, OverridesDecideGsiPolarityAndTrigger) {
  Madt madt;
  const auto add = [&](std::uint8_t bus, std::uint8_t irq, std::uint32_t gsi, Polarity polarity,
                       Trigger trigger) {
    madt.overrides[madt.override_count++] = {bus, irq, gsi, polarity, trigger};
  };
  // No overrides at all: identity, edge, active high, for all 16 lines.
  for (std::uint8_t irq = 0; irq < 16; ++irq) EXPECT_EQ(madt.isa_route(irq), (IsaRoute{.gsi = irq}));
  add(0, 0, 2, Polarity::conforms, Trigger::conforms);
  add(0, 9, 20, Polarity::active_low, Trigger::level);
  add(0, 5, 5, Polarity::active_high, Trigger::level);
  add(0, 7, 7, Polarity::active_low, Trigger::edge);
  add(0, 11, 11, Polarity::reserved, Trigger::reserved);  // reserved: the ISA default
  add(1, 3, 30, Polarity::active_low, Trigger::level);    // not bus 0: not an ISA override
  EXPECT_EQ(madt.isa_route(0), (IsaRoute{.gsi = 2}));
  EXPECT_EQ(madt.isa_route(2), std::nullopt);
  EXPECT_EQ(madt.isa_route(9), (IsaRoute{.gsi = 20, .active_low = true, .level_triggered = true}));
  EXPECT_EQ(madt.isa_route(5), (IsaRoute{.gsi = 5, .level_triggered = true}));
  EXPECT_EQ(madt.isa_route(7), (IsaRoute{.gsi = 7, .active_low = true}));
  EXPECT_EQ(madt.isa_route(11), (IsaRoute{.gsi = 11}));
  EXPECT_EQ(madt.isa_route(3), (IsaRoute{.gsi = 3}));
  EXPECT_EQ(madt.isa_route(1), (IsaRoute{.gsi = 1}));
  // A source whose identity pin another IRQ's override took gets no route.
  EXPECT_EQ(madt.isa_route(20), std::nullopt);  // GSI 20 is IRQ 9's
}

TEST(AcpiDamage, FadtTooShortOrDsdtBroken) {
  {
    auto fixture = load_fixture("ovmf-pc.bin");
    fixture->memory.poke<std::uint32_t>(ovmf_pc_fadt + 4, 100);
    fix_checksum(fixture->memory, ovmf_pc_fadt, 100, 9);
    const auto info = parse(fixture->memory, fixture->rsdp);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->fadt, std::unexpected(AcpiError::table_too_short));
    EXPECT_EQ(read_s5(fixture->memory, *info),
              std::unexpected(AcpiError::table_too_short));  // no FADT, no DSDT
    EXPECT_TRUE(info->madt);
  }
  {
    auto fixture = load_fixture("ovmf-pc.bin");
    fixture->memory.poke<std::uint32_t>(ovmf_pc_fadt + 40, 0);  // DSDT pointer
    fix_table_checksum(fixture->memory, ovmf_pc_fadt);
    const auto info = parse(fixture->memory, fixture->rsdp);
    ASSERT_TRUE(info && info->fadt);
    EXPECT_EQ(read_s5(fixture->memory, *info), std::unexpected(AcpiError::fadt_no_dsdt));
  }
  {
    auto fixture = load_fixture("ovmf-pc.bin");
    fixture->memory.poke<std::uint8_t>(ovmf_pc_dsdt + 1000, 0x42);
    EXPECT_EQ(read_s5(fixture->memory, *parse(fixture->memory, fixture->rsdp)),
              std::unexpected(AcpiError::table_bad_checksum));
    fixture->memory.cut_at(ovmf_pc_dsdt + 4000);
    EXPECT_EQ(read_s5(fixture->memory, *parse(fixture->memory, fixture->rsdp)),
              std::unexpected(AcpiError::table_out_of_range));
  }
  {
    auto fixture = load_fixture("ovmf-pc.bin");  // the DSDT pointer leads to the MADT
    fixture->memory.poke<std::uint32_t>(ovmf_pc_fadt + 40, ovmf_pc_madt);
    fix_table_checksum(fixture->memory, ovmf_pc_fadt);
    EXPECT_EQ(read_s5(fixture->memory, *parse(fixture->memory, fixture->rsdp)),
              std::unexpected(AcpiError::table_bad_signature));
  }
}

TEST(AcpiDamage, HpetTooShort) {
  auto fixture = load_fixture("ovmf-pc.bin");
  fixture->memory.poke<std::uint32_t>(ovmf_pc_hpet + 4, 50);
  fix_checksum(fixture->memory, ovmf_pc_hpet, 50, 9);
  const auto info = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(info);
  EXPECT_EQ(read_hpet(fixture->memory, *info), std::unexpected(AcpiError::table_too_short));
  EXPECT_TRUE(info->madt);
  // The shell's `acpi` names it: the table list shows only the header's checks, which pass.
  EXPECT_EQ(summary_lines(*info, fixture->memory),
            (std::vector<std::string>{
                "acpi: rev 2 BOCHS, 1 CPU, IOAPIC 0xfec00000, PM timer 0xb008", "acpi: S5 0/0",
                "acpi: HPET: table length is shorter than its fixed fields"}));
}

// The PM1 control blocks power-off writes to: X_PM1x_CNT_BLK when set (an I/O port; a block in
// another space is none), else PM1x_CNT_BLK if PM1_CNT_LEN says the register is there.
TEST(AcpiSynthetic, Pm1ControlFromTheExtendedBlockOrTheLegacyOne) {
  const auto fadt_with = [](const layout::Fadt& fadt) {
    SyntheticMachine machine({fadt_table(fadt)});
    const auto info = parse(machine.memory, SyntheticMachine::rsdp);
    EXPECT_TRUE(info && info->fadt);
    return info && info->fadt ? *info->fadt : Fadt{};
  };
  layout::Fadt fadt{};
  fadt.pm1a_control_block = 0x404;
  fadt.pm1b_control_block = 0x408;
  fadt.pm1_control_length = 2;
  EXPECT_EQ(fadt_with(fadt).pm1a_control_port, 0x404u);
  EXPECT_EQ(fadt_with(fadt).pm1b_control_port, 0x408u);
  fadt.x_pm1a_control_block = {layout::address_space_io, 16, 0, 2, 0x604};
  EXPECT_EQ(fadt_with(fadt).pm1a_control_port, 0x604u);  // the extended block wins
  EXPECT_EQ(fadt_with(fadt).pm1b_control_port, 0x408u);  // X_PM1b_CNT_BLK is 0: not set
  fadt.x_pm1a_control_block = {layout::address_space_memory, 16, 0, 2, 0xFED00000};
  EXPECT_EQ(fadt_with(fadt).pm1a_control_port, 0u);  // memory-mapped: not a port ferrite drives
  fadt.x_pm1a_control_block = {};
  fadt.pm1_control_length = 1;  // too short for the 16-bit register: none
  EXPECT_EQ(fadt_with(fadt).pm1a_control_port, 0u);
}

TEST(AcpiSleepControl, WhatEachFixtureSaysPowerOffWrites) {
  const std::map<std::string, std::uint16_t> pm1a = {{"seabios-pc.bin", 0x604},
                                                     {"seabios-q35-smp4.bin", 0x604},
                                                     {"ovmf-q35-smp2.bin", 0x604},
                                                     {"ovmf-pc.bin", 0xB004}};
  for (const auto& [name, port] : pm1a) {
    const auto fixture = load_fixture(name);
    const auto info = parse(fixture->memory, fixture->rsdp);
    ASSERT_TRUE(info && info->fadt) << name;
    const auto s5 = read_s5(fixture->memory, *info);
    ASSERT_TRUE(s5) << name;
    EXPECT_EQ(sleep_control(*info->fadt, *s5), (SleepControl{port, 0, SleepType{0, 0}})) << name;
  }
}

TEST(AcpiSleepControl, RefusesWhatCannotBeWritten) {
  Fadt fadt;
  fadt.pm1a_control_port = 0x604;
  EXPECT_EQ(sleep_control(fadt, SleepType{7, 5}), (SleepControl{0x604, 0, SleepType{7, 5}}));
  // SLP_TYP is 3 bits: a larger value would be cut to another sleep state.
  EXPECT_EQ(sleep_control(fadt, SleepType{8, 0}), std::unexpected(AcpiError::s5_type_too_large));
  EXPECT_EQ(sleep_control(fadt, SleepType{0, 0xFF}), std::unexpected(AcpiError::s5_type_too_large));
  fadt.pm1b_control_port = 0x10000;  // not a port
  EXPECT_EQ(sleep_control(fadt, SleepType{}), std::unexpected(AcpiError::fadt_no_pm1_control));
  fadt.pm1b_control_port = 0;
  fadt.pm1a_control_port = 0;  // no PM1a: nothing to write
  EXPECT_EQ(sleep_control(fadt, SleepType{}), std::unexpected(AcpiError::fadt_no_pm1_control));
}

TEST(AcpiSynthetic, FadtTimerAndResetFromGenericAddresses) {
  layout::Fadt fadt{};
  fadt.dsdt = 0;
  fadt.pm_timer_block = 0x408;  // superseded by X_PM_TMR_BLK below
  fadt.pm_timer_length = 4;
  fadt.flags = layout::fadt_timer_32_bits | layout::fadt_reset_supported;
  fadt.reset_register = {layout::address_space_memory, 8, 0, 1, 0xFED0'0F00};
  fadt.reset_value = 0x42;
  fadt.x_pm_timer_block = {layout::address_space_memory, 32, 0, 3, 0xFED4'0000};
  SyntheticMachine machine({fadt_table(fadt)});
  const auto info = parse(machine.memory, SyntheticMachine::rsdp);
  ASSERT_TRUE(info && info->fadt);
  ASSERT_TRUE(info->fadt->pm_timer);
  EXPECT_EQ(info->fadt->pm_timer->space, Register::Space::memory);
  EXPECT_EQ(info->fadt->pm_timer->address, 0xFED40000u);
  EXPECT_EQ(info->fadt->pm_timer_bits, 32);
  ASSERT_TRUE(info->fadt->reset_register);
  EXPECT_EQ(info->fadt->reset_register->address, 0xFED00F00u);
  EXPECT_EQ(info->fadt->reset_value, 0x42);
  EXPECT_EQ(read_s5(machine.memory, *info), std::unexpected(AcpiError::fadt_no_dsdt));

  // Without RESET_REG_SUP the register is not offered, whatever the field holds.
  fadt.flags = 0;
  SyntheticMachine without_reset({fadt_table(fadt)});
  const auto again = parse(without_reset.memory, SyntheticMachine::rsdp);
  ASSERT_TRUE(again && again->fadt);
  EXPECT_FALSE(again->fadt->reset_register);
  EXPECT_EQ(again->fadt->pm_timer_bits, 24);
}

// --- The _S5_ scan over AML bytes. ----------------------------------------------------

Bytes aml(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(std::byte(static_cast<std::uint8_t>(v)));
  return out;
}

TEST(AcpiS5, ReadsTheCommonEncodings) {
  // Name (_S5_, Package (4) {0x05, 0x07, Zero, Zero}) with BytePrefix constants.
  auto s5 = find_s5_in_aml(
      aml({0x10, 0x08, '_', 'S', '5', '_', 0x12, 0x0A, 0x04, 0x0A, 0x05, 0x0A, 0x07, 0x00, 0x00}));
  ASSERT_TRUE(s5);
  EXPECT_EQ(s5->a, 5);
  EXPECT_EQ(s5->b, 7);
  // Name (\_S5_, Package (2) {One, WordPrefix 0x0006}), with a two-byte PkgLength (0x40 0x00).
  s5 = find_s5_in_aml(
      aml({0x08, '\\', '_', 'S', '5', '_', 0x12, 0x47, 0x00, 0x02, 0x01, 0x0B, 0x06, 0x00}));
  ASSERT_TRUE(s5);
  EXPECT_EQ(s5->a, 1);
  EXPECT_EQ(s5->b, 6);
  // DWordPrefix and QWordPrefix: the low byte.
  s5 = find_s5_in_aml(aml({0x08, '_', 'S',  '5',  '_', 0x12, 0x10, 0x02, 0x0C, 0x03, 0,
                           0,    0,   0x0E, 0x04, 0,   0,    0,    0,    0,    0,    0}));
  ASSERT_TRUE(s5);
  EXPECT_EQ(s5->a, 3);
  EXPECT_EQ(s5->b, 4);
}

TEST(AcpiS5, OnlyANamedPackageCounts) {
  // "_S5_" as a reference (no NameOp before it), or inside a string: not found.
  EXPECT_EQ(find_s5_in_aml(aml({0x70, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0x00})),
            std::unexpected(AcpiError::s5_not_found));
  EXPECT_EQ(find_s5_in_aml(aml({'_', 'S', '5', '_'})), std::unexpected(AcpiError::s5_not_found));
  EXPECT_EQ(find_s5_in_aml(aml({})), std::unexpected(AcpiError::s5_not_found));
  // Named, but not a package.
  EXPECT_EQ(find_s5_in_aml(aml({0x08, '_', 'S', '5', '_', 0x0A, 0x05})),
            std::unexpected(AcpiError::s5_bad_encoding));
}

TEST(AcpiS5, EveryReadIsBounded) {
  // The AML ends at each possible point after the name: never a read past it.
  const Bytes whole =
      aml({0x08, '_', 'S', '5', '_', 0x12, 0x0A, 0x04, 0x0A, 0x05, 0x0A, 0x07, 0x00, 0x00});
  for (std::size_t cut = 5; cut < 12; ++cut) {  // from 12 on, both values are there
    const auto heap = std::make_unique<std::byte[]>(cut);
    std::copy(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut), heap.get());
    EXPECT_EQ(find_s5_in_aml({heap.get(), cut}), std::unexpected(AcpiError::s5_bad_encoding))
        << cut;
  }
  // A package whose PkgLength ends before its second element.
  EXPECT_EQ(find_s5_in_aml(aml({0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x0A, 0x05, 0x00})),
            std::unexpected(AcpiError::s5_bad_encoding));
  // One element, or an element that is not an integer constant (a string).
  EXPECT_EQ(find_s5_in_aml(aml({0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x01, 0x00})),
            std::unexpected(AcpiError::s5_bad_encoding));
  EXPECT_EQ(find_s5_in_aml(aml({0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0D, 'a', 0, 0})),
            std::unexpected(AcpiError::s5_bad_encoding));
  // A four-byte PkgLength claiming ~256 MiB: bounded by the AML's end.
  EXPECT_EQ(
      find_s5_in_aml(aml({0x08, '_', 'S', '5', '_', 0x12, 0xCF, 0xFF, 0xFF, 0xFF, 0x02, 0x00})),
      std::unexpected(AcpiError::s5_bad_encoding));
}

TEST(AcpiS5, TheFixturesDsdtHasIt) {
  auto fixture = load_fixture("ovmf-pc.bin");
  // Rename _S5_ in the DSDT (and fix the checksum): then it is not there.
  const auto dsdt =
      fixture->memory.writable(ovmf_pc_dsdt, table_length(fixture->memory, ovmf_pc_dsdt));
  const std::string_view text(reinterpret_cast<const char*>(dsdt.data()), dsdt.size());
  const std::size_t at = text.find("_S5_");
  ASSERT_NE(at, std::string_view::npos);
  EXPECT_EQ(std::to_integer<int>(dsdt[at - 1]), 0x08);  // NameOp
  EXPECT_EQ(std::to_integer<int>(dsdt[at + 4]), 0x12);  // PackageOp
  dsdt[at + 2] = std::byte{'4'};
  fix_table_checksum(fixture->memory, ovmf_pc_dsdt);
  EXPECT_EQ(read_s5(fixture->memory, *parse(fixture->memory, fixture->rsdp)),
            std::unexpected(AcpiError::s5_not_found));
}

// --- Random damage: whatever the bytes, parse() returns; ASan/UBSan watch every read. ---

TEST(AcpiFuzz, RandomDamageNeverCrashes) {
  std::mt19937_64 random(20261129);
  std::size_t parsed = 0, failed = 0;
  for (const char* name : all_fixtures) {
    for (int round = 0; round < 400; ++round) {
      auto fixture = load_fixture(name);
      auto& memory = fixture->memory;
      const auto segments = memory.segments();
      const int flips = 1 + static_cast<int>(random() % 8);
      for (int i = 0; i < flips; ++i) {
        const auto& [base, size] = segments[random() % segments.size()];
        if (size == 0) continue;
        const std::uint64_t at = base + random() % size;
        memory.poke<std::uint8_t>(at, static_cast<std::uint8_t>(random()));
      }
      // Half the time, make every table's checksum right again, so the damage reaches the
      // parsers behind the checksum test.
      if (random() % 2 == 0) {
        for (const auto& [base, size] : segments) {
          std::uint64_t at = base;
          while (at + sizeof(layout::TableHeader) <= base + size) {
            const std::uint32_t length = table_length(memory, at);
            if (length < sizeof(layout::TableHeader) || length > base + size - at) break;
            fix_table_checksum(memory, at);
            at += length;
          }
        }
        fix_checksum(memory, fixture->rsdp, 20, 8);
        if (!memory.read(fixture->rsdp, 36).empty()) fix_checksum(memory, fixture->rsdp, 36, 32);
      }
      if (random() % 8 == 0) {
        const auto& [base, size] = segments[random() % segments.size()];
        memory.cut_at(base + random() % (size + 1));
      }
      const auto info = parse(memory, fixture->rsdp);
      if (!info) {
        ++failed;
        EXPECT_FALSE(to_string(info.error()).empty());
        continue;
      }
      ++parsed;
      EXPECT_LE(info->tables().size(), AcpiInfo::max_tables);
      if (info->madt) {
        EXPECT_LE(info->madt->cpus().size(), Madt::max_local_apics);
        EXPECT_LE(info->madt->isos().size(), Madt::max_overrides);
      }
      (void)describe(*info);       // reads every field the parser filled in
      (void)summary_lines(*info,
                          memory);  // the details read, all within 80 columns, whatever the damage
    }
  }
  std::printf("random damage: %zu parsed, %zu refused\n", parsed, failed);
  // Both outcomes must have happened, or the loop tested nothing.
  EXPECT_GT(parsed, 100u);
  EXPECT_GT(failed, 10u);
}

TEST(AcpiErrors, EveryErrorHasAMessage) {
  for (int e = 0; e <= static_cast<int>(AcpiError::not_found_in_bios_area); ++e) {
    const std::string_view text = to_string(static_cast<AcpiError>(e));
    EXPECT_FALSE(text.empty());
    EXPECT_NE(text, "unknown ACPI error") << e;
    // "acpi: tables unusable: " (23 columns) + the message fits in 80 columns.
    EXPECT_LE(text.size(), 57u) << text;
  }
}

// --- The boot summary (acpi/summary.h). ------------------------------------------------

void append_lines(const Summary& summary, std::vector<std::string>& lines) {
  EXPECT_FALSE(summary.truncated);
  for (std::size_t i = 0; i < summary.count; ++i) {
    EXPECT_LE(summary.line(i).size(), 80u);
    lines.emplace_back(summary.line(i));
  }
}

std::vector<std::string> summary_lines(const AcpiInfo& info,
                                       const std::expected<Hpet, AcpiError>& hpet,
                                       const std::expected<SleepType, AcpiError>& s5) {
  std::vector<std::string> lines;
  append_lines(summarize(info), lines);                    // what boot prints
  append_lines(summarize_details(info, hpet, s5), lines);  // what the shell's `acpi` adds
  return lines;
}

// Boot's lines, then the details as the shell's `acpi` reads them from `memory`.
std::vector<std::string> summary_lines(const AcpiInfo& info, const PhysicalReader& memory) {
  return summary_lines(info, read_hpet(memory, info), read_s5(memory, info));
}

TEST(AcpiSummary, WhatTheKernelPrintsForEachFixture) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"seabios-pc.bin",
       {"acpi: rev 0 BOCHS, 1 CPU, IOAPIC 0xfec00000, PM timer 0x608",
        "acpi: HPET 0xfed00000, S5 0/0"}},
      {"seabios-q35-smp4.bin",
       {"acpi: rev 0 BOCHS, 4 CPUs, IOAPIC 0xfec00000, PM timer 0x608",
        "acpi: HPET 0xfed00000, reset 0xcf9=0xf, S5 0/0"}},
      {"ovmf-q35-smp2.bin",
       {"acpi: rev 2 BOCHS, 2 CPUs, IOAPIC 0xfec00000, PM timer 0x608",
        "acpi: HPET 0xfed00000, reset 0xcf9=0xf, S5 0/0"}},
      {"ovmf-pc.bin",
       {"acpi: rev 2 BOCHS, 1 CPU, IOAPIC 0xfec00000, PM timer 0xb008",
        "acpi: HPET 0xfed00000, S5 0/0"}},
  };
  for (const auto& [name, lines] : expected) {
    const auto fixture = load_fixture(name);
    const auto info = parse(fixture->memory, fixture->rsdp);
    ASSERT_TRUE(info) << name;
    EXPECT_EQ(summary_lines(*info, fixture->memory), lines) << name;
    EXPECT_EQ(summarize(*info).count, 1u) << name;  // boot prints the first line only
  }
}

TEST(AcpiSummary, NamesTheBrokenTables) {
  auto fixture = load_fixture("ovmf-pc.bin");
  fixture->memory.poke<std::uint8_t>(ovmf_pc_madt + 50, 0x55);
  fixture->memory.poke<std::uint8_t>(ovmf_pc_dsdt + 50, 0x55);
  const auto info = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(info);
  EXPECT_EQ(summary_lines(*info, fixture->memory),
            (std::vector<std::string>{
                "acpi: rev 2 BOCHS, MADT unusable, PM timer 0xb008",
                "acpi: MADT: table checksum does not add up to 0",
                "acpi: HPET 0xfed00000, no S5",
                "acpi: DSDT: table checksum does not add up to 0",
            }));
  fixture->memory.poke<std::uint8_t>(ovmf_pc_fadt + 50, 0x55);
  const auto no_fadt = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(no_fadt);
  EXPECT_EQ(
      summary_lines(*no_fadt, fixture->memory),
      (std::vector<std::string>{
          "acpi: rev 2 BOCHS, MADT unusable", "acpi: MADT: table checksum does not add up to 0",
          "acpi: FADT: table checksum does not add up to 0",
          "acpi: HPET 0xfed00000",  // it needs no FADT
      }));
}

TEST(AcpiSummary, WidestValuesStayWithin80Columns) {
  AcpiInfo info;
  info.revision = 255;
  std::memcpy(info.oem_id.data(), "WWWWWW", 6);
  Madt madt;
  madt.local_apic_count = Madt::max_local_apics;
  for (auto& cpu : madt.local_apics) cpu.enabled = true;
  madt.io_apic_count = 1;
  madt.io_apics[0].address = 0xFFFFFFFF;
  info.madt = madt;
  Fadt fadt;
  fadt.pm_timer = Register{Register::Space::memory, 0, 32, ~std::uint64_t{0}};
  fadt.reset_register = Register{Register::Space::memory, 0, 8, ~std::uint64_t{0}};
  fadt.reset_value = 0xFF;
  info.fadt = fadt;
  const auto lines = summary_lines(info, Hpet{~std::uint64_t{0}, 0, 0, 0}, SleepType{255, 255});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "acpi: rev 255 WWWWWW, 64 CPUs, IOAPIC 0xffffffff, PM timer 0xffffffffffffffff");
}

// --- Mutation fuzzing: one table (or the RSDP) of a real fixture damaged, its checksum mostly
// made right again so the damage reaches the table parsers; the result keeps AcpiInfo's promises.

// A fixture's memory as plain records, so each case builds a fresh SimulatedMemory cheaply.
struct FixtureImage {
  std::uint64_t rsdp = 0;
  std::vector<std::pair<std::uint64_t, Bytes>> segments;
  std::vector<std::uint64_t> tables;  // every table's address, from walking each segment
};

FixtureImage image_of(const char* name) {
  auto fixture = load_fixture(name);
  FixtureImage image;
  image.rsdp = fixture->rsdp;
  for (const auto& [base, size] : fixture->memory.segments()) {
    const auto bytes = fixture->memory.read(base, size);
    image.segments.emplace_back(base, Bytes(bytes.begin(), bytes.end()));
    std::uint64_t at = base;
    while (at + sizeof(layout::TableHeader) <= base + size) {
      const std::uint32_t length = table_length(fixture->memory, at);
      if (length < sizeof(layout::TableHeader) || length > base + size - at) break;
      image.tables.push_back(at);
      at += length;
    }
  }
  return image;
}

bool sums_to_zero(std::span<const std::byte> bytes) {
  std::uint8_t sum = 0;
  for (std::byte b : bytes) sum = static_cast<std::uint8_t>(sum + std::to_integer<std::uint8_t>(b));
  return sum == 0;
}

// What parse() promises about whatever it returns, and that the readers behind it agree.
void check_acpi_contract(const SimulatedMemory& memory, std::uint64_t rsdp) {
  const auto info = parse(memory, rsdp);
  const auto again = parse(memory, rsdp);
  ASSERT_EQ(info.has_value(), again.has_value()) << "not deterministic";
  if (!info) {
    EXPECT_EQ(info.error(), again.error());
    EXPECT_NE(to_string(info.error()), "unknown ACPI error");
    return;
  }
  EXPECT_EQ(describe(*info), describe(*again)) << "not deterministic";
  EXPECT_NE(info->root_address, 0u);
  EXPECT_LE(info->tables().size(), AcpiInfo::max_tables);
  for (const TableEntry& table : info->tables()) {
    EXPECT_NE(table.address, 0u);
    if (table.error) continue;
    // A table without an error is all there, of a plausible length, and sums to zero.
    EXPECT_GE(table.length, sizeof(layout::TableHeader));
    EXPECT_LE(table.length, 1u << 20);
    const auto bytes = memory.read(table.address, table.length);
    ASSERT_FALSE(bytes.empty()) << table.name() << " said usable but is not readable";
    EXPECT_TRUE(sums_to_zero(bytes)) << table.name();
  }
  if (info->madt) {
    const Madt& m = *info->madt;
    EXPECT_LE(m.cpus().size(), Madt::max_local_apics);
    EXPECT_LE(m.ioapics().size(), Madt::max_io_apics);
    EXPECT_LE(m.isos().size(), Madt::max_overrides);
    EXPECT_LE(m.lapic_nmis().size(), Madt::max_local_apic_nmis);
    EXPECT_LE(m.nmi_source_count, Madt::max_nmi_sources);
    const TableEntry* entry = find_table(*info, "APIC");
    ASSERT_NE(entry, nullptr) << "a MADT that the root table does not list";
    EXPECT_FALSE(entry->error.has_value());
  }
  if (info->fadt) {
    const TableEntry* entry = find_table(*info, "FACP");
    ASSERT_NE(entry, nullptr) << "a FADT that the root table does not list";
    EXPECT_FALSE(entry->error.has_value());
  }
  const auto s5 = read_s5(memory, *info);
  EXPECT_EQ(s5, read_s5(memory, *info)) << "not deterministic";
  if (s5 && info->fadt) {
    if (const auto control = sleep_control(*info->fadt, *s5)) {
      EXPECT_LE(control->type.a, 7);
      EXPECT_LE(control->type.b, 7);
      EXPECT_NE(control->pm1a_control_port, 0);
    }
  }
  const auto hpet = read_hpet(memory, *info);
  if (!hpet) {
    EXPECT_NE(to_string(hpet.error()), "unknown ACPI error");
  }
  for (const std::string& line : summary_lines(*info, memory)) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST(AcpiFuzz, MutatedTablesKeepTheContract) {
  std::vector<FixtureImage> images;
  for (const char* name : all_fixtures) images.push_back(image_of(name));
  std::size_t parsed = 0;
  const std::uint64_t runs =
      ferrite::testing::fuzz("AcpiFuzz", 20261130, 20000, [&](auto& mutator, std::uint64_t) {
        const FixtureImage& image = images[mutator.below(images.size())];
        SimulatedMemory memory;
        for (const auto& [base, bytes] : image.segments) memory.place(base, bytes);
        // The RSDP one case in eight, else one table, replaced by its damaged copy (which may be
        // shorter or longer: the rest of its segment is dropped, as if memory ended there).
        const bool rsdp = mutator.chance(8);
        const std::uint64_t at =
            rsdp ? image.rsdp : image.tables[mutator.below(image.tables.size())];
        const std::size_t length = rsdp ? 36 : table_length(memory, at);
        const auto original = memory.read(at, length);
        if (original.empty()) return;  // an ACPI 1.0 RSDP at the very end of its segment
        Bytes damaged = mutator.mutate(original);
        memory.place(at, damaged);
        if (!mutator.chance(4) && damaged.size() >= sizeof(layout::TableHeader)) {
          if (rsdp) {
            fix_checksum(memory, at, 20, 8);
            if (damaged.size() >= 36) fix_checksum(memory, at, 36, 32);
          } else if (table_length(memory, at) <= damaged.size() &&
                     table_length(memory, at) >= sizeof(layout::TableHeader)) {
            fix_table_checksum(memory, at);
          }
        }
        check_acpi_contract(memory, image.rsdp);
        parsed += parse(memory, image.rsdp).has_value();
      });
  // the contract was checked on parsed machines, not just errors
  ferrite::testing::report_accepted("ACPI machines", parsed, runs, 20000, 5000);
}

TEST(AcpiFuzz, EverySystematicMutationOfTheMadtKeepsTheContract) {
  const FixtureImage image = image_of("ovmf-q35-smp2.bin");
  auto fixture = load_fixture("ovmf-q35-smp2.bin");
  const auto info = parse(fixture->memory, fixture->rsdp);
  ASSERT_TRUE(info.has_value());
  const TableEntry* madt = find_table(*info, "APIC");
  ASSERT_NE(madt, nullptr);
  const auto bytes = fixture->memory.read(madt->address, madt->length);
  ferrite::testing::for_each_systematic_mutation(
      "MadtSystematic", Bytes(bytes.begin(), bytes.end()), [&](const Bytes& damaged) {
        SimulatedMemory memory;
        for (const auto& [base, segment] : image.segments) memory.place(base, segment);
        memory.place(madt->address, damaged);
        if (damaged.size() >= sizeof(layout::TableHeader) &&
            table_length(memory, madt->address) <= damaged.size() &&
            table_length(memory, madt->address) >= sizeof(layout::TableHeader)) {
          fix_table_checksum(memory, madt->address);
        }
        check_acpi_contract(memory, image.rsdp);
      });
}

// The \_S5_ scan against the AML grammar written out a second time, plainly (ACPI 6.5 20.2.4
// PkgLength, 20.2.3 data objects): the first `Name (_S5_, ...)` decides.
std::expected<SleepType, AcpiError> s5_by_the_grammar(const Bytes& aml) {
  const auto byte = [&](std::size_t i) { return std::to_integer<std::uint8_t>(aml[i]); };
  for (std::size_t i = 0; i + 4 <= aml.size(); ++i) {
    if (byte(i) != '_' || byte(i + 1) != 'S' || byte(i + 2) != '5' || byte(i + 3) != '_') continue;
    const bool name_op =
        (i >= 1 && byte(i - 1) == 0x08) || (i >= 2 && byte(i - 1) == '\\' && byte(i - 2) == 0x08);
    if (!name_op) continue;
    const auto bad = std::unexpected(AcpiError::s5_bad_encoding);
    std::size_t p = i + 4;
    if (p >= aml.size() || byte(p) != 0x12) return bad;
    const std::size_t package = ++p;  // PkgLength counts from its own first byte
    if (p >= aml.size()) return bad;
    const unsigned extra = byte(p) >> 6;
    if (p + extra >= aml.size()) return bad;
    std::size_t length = extra == 0 ? byte(p) & 0x3F : byte(p) & 0x0F;
    for (unsigned k = 1; k <= extra; ++k) length += std::size_t{byte(p + k)} << (8 * k - 4);
    p += 1 + extra;
    const std::size_t end = std::min(aml.size(), package + length);
    if (p >= end || byte(p) < 2) return bad;  // NumElements
    ++p;
    std::uint8_t values[2];
    for (std::uint8_t& value : values) {
      if (p >= end) return bad;
      const std::uint8_t op = byte(p++);
      std::size_t size = 0;
      if (op == 0x00 || op == 0x01 || op == 0xFF) {
        value = op;
      } else if (op == 0x0A || op == 0x0B || op == 0x0C || op == 0x0E) {
        size = op == 0x0A ? 1 : op == 0x0B ? 2 : op == 0x0C ? 4 : 8;
        if (p + size > end) return bad;
        value = byte(p);
      } else {
        return bad;
      }
      p += size;
    }
    return SleepType{values[0], values[1]};
  }
  return std::unexpected(AcpiError::s5_not_found);
}

// The bytes around each fixture DSDT's \_S5_ (the whole DSDT is mostly other AML).
std::vector<Bytes> s5_neighbourhoods() {
  std::vector<Bytes> out;
  for (const char* name : all_fixtures) {
    auto fixture = load_fixture(name);
    const auto info = parse(fixture->memory, fixture->rsdp);
    if (!info || !info->fadt) continue;
    const std::uint64_t dsdt = info->fadt->dsdt_address;
    const auto body = fixture->memory.read(dsdt + 36, table_length(fixture->memory, dsdt) - 36);
    const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
    const std::size_t at = text.find("_S5_");
    if (at == std::string_view::npos) continue;
    const std::size_t from = at >= 24 ? at - 24 : 0;
    out.emplace_back(body.begin() + static_cast<long>(from),
                     body.begin() + static_cast<long>(std::min(body.size(), at + 40)));
  }
  return out;
}

void check_s5_scan(const Bytes& bytes) {
  const Bytes aml(bytes.begin(), bytes.end());  // exactly sized for ASan
  const auto found = find_s5_in_aml(aml);
  EXPECT_EQ(found, find_s5_in_aml(aml)) << "not deterministic";
  EXPECT_EQ(found, s5_by_the_grammar(aml));
}

TEST(AcpiFuzz, S5ScanOfMutatedAmlFollowsTheGrammar) {
  const std::vector<Bytes> samples = s5_neighbourhoods();
  ASSERT_EQ(samples.size(), std::size(all_fixtures));
  for (const Bytes& sample : samples) ASSERT_TRUE(find_s5_in_aml(sample).has_value());
  std::size_t found = 0;
  const std::uint64_t runs =
      ferrite::testing::fuzz("S5Fuzz", 20261130, 50000, [&](auto& mutator, std::uint64_t) {
        const Bytes aml = mutator.mutate(samples[mutator.below(samples.size())]);
        check_s5_scan(aml);
        found += find_s5_in_aml(aml).has_value();
      });
  ferrite::testing::report_accepted("_S5_ snippets", found, runs, 50000, 5000);
  for (const Bytes& sample : samples) {
    ferrite::testing::for_each_systematic_mutation("S5Systematic", sample, check_s5_scan);
  }
}

}  // namespace
}  // namespace ferrite::acpi
