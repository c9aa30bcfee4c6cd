// ACPI tables -> AcpiInfo. Each table is read in two steps: its 36-byte header (is it there, is
// the signature right, is the length plausible?), then all `length` bytes at once, which are
// checksummed before any field is believed. Fields are copied out with memcpy after a bounds
// check: firmware tables are packed and only byte-aligned.
#include "acpi/acpi.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "acpi/tables.h"
#include "lib/panic.h"

namespace ferrite::acpi {
namespace {

using Bytes = std::span<const std::byte>;
using Signature = std::array<char, 4>;

// The largest table ferrite accepts. QEMU's DSDT is ~8 KiB, big servers' a few hundred KiB;
// a larger length is a damaged header, and reading it would map megabytes for nothing.
constexpr std::uint32_t max_table_length = 1u << 20;
constexpr std::uint32_t max_rsdp_length = 1024;

constexpr Signature rsdt_signature{'R', 'S', 'D', 'T'};
constexpr Signature xsdt_signature{'X', 'S', 'D', 'T'};
constexpr Signature madt_signature{'A', 'P', 'I', 'C'};
constexpr Signature fadt_signature{'F', 'A', 'C', 'P'};
constexpr Signature dsdt_signature{'D', 'S', 'D', 'T'};
constexpr Signature hpet_signature{'H', 'P', 'E', 'T'};
constexpr std::array<char, 8> rsdp_signature{'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};

template <class T>
T load(Bytes bytes, std::size_t offset) {
  FERRITE_ASSERT(offset <= bytes.size() && sizeof(T) <= bytes.size() - offset);
  T value;
  __builtin_memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// A table struct that may be longer than the table (older revisions are shorter): the bytes the
// table has, zeros for the rest. One out-of-line copy serves every struct.
[[gnu::noinline]] void copy_prefix(void* to, std::size_t size, Bytes bytes) {
  __builtin_memcpy(to, bytes.data(), std::min(size, bytes.size()));
}

template <class T>
T load_prefix(Bytes bytes) {
  T value{};
  copy_prefix(&value, sizeof(T), bytes);
  return value;
}

bool sums_to_zero(Bytes bytes) {
  std::uint8_t sum = 0;
  for (std::byte b : bytes) sum = static_cast<std::uint8_t>(sum + std::to_integer<std::uint8_t>(b));
  return sum == 0;
}

// Reads and checks one table: header readable, signature as expected (if one is), length at
// least the header's and at most max_table_length, all of it readable, checksum zero.
std::expected<Bytes, AcpiError> read_table(const PhysicalReader& memory, std::uint64_t phys,
                                           const std::optional<Signature>& expected) {
  const Bytes header_bytes = memory.read(phys, sizeof(layout::TableHeader));
  if (header_bytes.empty()) return std::unexpected(AcpiError::table_out_of_range);
  const auto signature = load<Signature>(header_bytes, offsetof(layout::TableHeader, signature));
  const auto length = load<std::uint32_t>(header_bytes, offsetof(layout::TableHeader, length));
  if (expected && signature != *expected) return std::unexpected(AcpiError::table_bad_signature);
  if (length < sizeof(layout::TableHeader)) return std::unexpected(AcpiError::table_too_short);
  if (length > max_table_length) return std::unexpected(AcpiError::table_too_long);
  const Bytes table = memory.read(phys, length);
  if (table.empty()) return std::unexpected(AcpiError::table_out_of_range);
  if (!sums_to_zero(table)) return std::unexpected(AcpiError::table_bad_checksum);
  return table;
}

Polarity polarity_of(std::uint16_t inti_flags) {
  return static_cast<Polarity>(inti_flags & 3);
}
Trigger trigger_of(std::uint16_t inti_flags) {
  return static_cast<Trigger>((inti_flags >> 2) & 3);
}

template <class T, std::size_t N>
void append(std::array<T, N>& items, std::size_t& count, const T& item, std::size_t& dropped) {
  if (count < N) {
    items[count++] = item;
  } else {
    ++dropped;
  }
}

// A known MADT entry must hold its type's fields; a longer one (a later revision's) is fine.
// Copies them into `fields`, or says the entry is too short.
template <class Entry>
bool load_entry(Bytes entry, Entry& fields) {
  if (entry.size() < sizeof(Entry)) return false;
  __builtin_memcpy(&fields, entry.data(), sizeof(Entry));
  return true;
}

// One MADT entry, `entry` being exactly its declared bytes. False if a known type's entry is
// too short for its fields.
bool read_madt_entry(layout::MadtEntryType type, Bytes entry, Madt& madt) {
  using Type = layout::MadtEntryType;
  switch (type) {
    case Type::local_apic: {
      layout::MadtLocalApic e;
      if (!load_entry(entry, e)) break;
      append(madt.local_apics, madt.local_apic_count,
             LocalApic{e.processor_uid, e.apic_id, (e.flags & layout::local_apic_enabled) != 0,
                       (e.flags & layout::local_apic_online_capable) != 0, false},
             madt.dropped_entries);
      return true;
    }
    case Type::local_x2apic: {
      layout::MadtLocalX2Apic e;
      if (!load_entry(entry, e)) break;
      append(madt.local_apics, madt.local_apic_count,
             LocalApic{e.processor_uid, e.x2apic_id, (e.flags & layout::local_apic_enabled) != 0,
                       (e.flags & layout::local_apic_online_capable) != 0, true},
             madt.dropped_entries);
      return true;
    }
    case Type::io_apic: {
      layout::MadtIoApic e;
      if (!load_entry(entry, e)) break;
      append(madt.io_apics, madt.io_apic_count, IoApic{e.io_apic_id, e.address, e.gsi_base},
             madt.dropped_entries);
      return true;
    }
    case Type::interrupt_source_override: {
      layout::MadtInterruptSourceOverride e;
      if (!load_entry(entry, e)) break;
      append(madt.overrides, madt.override_count,
             InterruptOverride{e.bus, e.source, e.gsi, polarity_of(e.flags), trigger_of(e.flags)},
             madt.dropped_entries);
      return true;
    }
    case Type::nmi_source: {
      layout::MadtNmiSource e;
      if (!load_entry(entry, e)) break;
      append(madt.nmi_sources, madt.nmi_source_count,
             NmiSource{e.gsi, polarity_of(e.flags), trigger_of(e.flags)}, madt.dropped_entries);
      return true;
    }
    case Type::local_apic_nmi: {
      layout::MadtLocalApicNmi e;
      if (!load_entry(entry, e)) break;
      const std::uint32_t uid =
          e.processor_uid == 0xFF ? LocalApicNmi::all_processors : e.processor_uid;
      append(madt.local_apic_nmis, madt.local_apic_nmi_count,
             LocalApicNmi{uid, e.lint, polarity_of(e.flags), trigger_of(e.flags)},
             madt.dropped_entries);
      return true;
    }
    case Type::local_x2apic_nmi: {
      layout::MadtLocalX2ApicNmi e;
      if (!load_entry(entry, e)) break;
      append(madt.local_apic_nmis, madt.local_apic_nmi_count,
             LocalApicNmi{e.processor_uid, e.lint, polarity_of(e.flags), trigger_of(e.flags)},
             madt.dropped_entries);
      return true;
    }
    case Type::local_apic_address_override: {
      layout::MadtLocalApicAddressOverride e;
      if (!load_entry(entry, e)) break;
      madt.local_apic_address = e.address;
      madt.local_apic_address_overridden = true;
      return true;
    }
    default:
      ++madt.skipped_entries;  // e.g. 6-8 (IA-64 SAPIC), 11+ (ARM GIC, wake-up mailbox, ...)
      return true;
  }
  return false;
}

std::expected<void, AcpiError> read_madt(Bytes table, Madt& madt) {
  if (table.size() < sizeof(layout::Madt)) return std::unexpected(AcpiError::table_too_short);
  madt.local_apic_address = load<std::uint32_t>(table, offsetof(layout::Madt, local_apic_address));
  const auto flags = load<std::uint32_t>(table, offsetof(layout::Madt, flags));
  madt.has_8259s = (flags & layout::madt_pcat_compat) != 0;
  std::size_t offset = sizeof(layout::Madt);
  while (offset < table.size()) {
    const std::size_t left = table.size() - offset;
    if (left < sizeof(layout::MadtEntryHeader))
      return std::unexpected(AcpiError::madt_entry_past_end);
    const auto header = load<layout::MadtEntryHeader>(table, offset);
    // A length below 2 would never advance `offset`: refuse it rather than loop forever.
    if (header.length < sizeof(layout::MadtEntryHeader)) {
      return std::unexpected(AcpiError::madt_entry_too_short);
    }
    if (header.length > left) return std::unexpected(AcpiError::madt_entry_past_end);
    if (!read_madt_entry(static_cast<layout::MadtEntryType>(header.type),
                         table.subspan(offset, header.length), madt)) {
      return std::unexpected(AcpiError::madt_entry_too_short);
    }
    offset += header.length;
  }
  return {};
}

Register register_from(const layout::GenericAddress& gas) {
  Register r;
  r.raw_space = gas.address_space;
  r.space = gas.address_space <= 2 ? static_cast<Register::Space>(gas.address_space)
                                   : Register::Space::other;
  r.bit_width = gas.bit_width;
  r.address = gas.address;
  return r;
}

constexpr std::size_t end_of(std::size_t offset, std::size_t size) {
  return offset + size;
}

std::expected<void, AcpiError> read_fadt(Bytes table, Fadt& fadt) {
  if (table.size() < layout::fadt_v1_size) return std::unexpected(AcpiError::table_too_short);
  // Fields past the table's end are zero in this copy; each use below also checks the length,
  // so a zero is never mistaken for a value the firmware gave.
  const auto f = load_prefix<layout::Fadt>(table);
  const std::size_t length = table.size();
  const auto has = [length](std::size_t offset, std::size_t size) {
    return length >= end_of(offset, size);
  };

  fadt.revision = f.header.revision;
  fadt.sci_interrupt = f.sci_interrupt;
  fadt.flags = f.flags;
  fadt.iapc_boot_arch = f.iapc_boot_arch;
  fadt.hardware_reduced = (f.flags & layout::fadt_hardware_reduced) != 0;
  // ACPI 6.5 5.2.9: X_PM1x_CNT_BLK, when set, supersedes PM1x_CNT_BLK.
  const auto control_port = [&](std::uint32_t block, std::size_t x_offset,
                                const layout::GenericAddress& x) -> std::uint32_t {
    if (has(x_offset, sizeof(layout::GenericAddress)) && x.address != 0) {
      const bool io_port = x.address_space == layout::address_space_io && x.address <= 0xFFFF;
      return io_port ? static_cast<std::uint32_t>(x.address) : 0;
    }
    return f.pm1_control_length >= 2 ? block : 0;
  };
  fadt.pm1a_control_port = control_port(
      f.pm1a_control_block, offsetof(layout::Fadt, x_pm1a_control_block), f.x_pm1a_control_block);
  fadt.pm1b_control_port = control_port(
      f.pm1b_control_block, offsetof(layout::Fadt, x_pm1b_control_block), f.x_pm1b_control_block);

  // ACPI 6.5 5.2.9: when the 64-bit X_PM_TMR_BLK is set, PM_TMR_BLK is to be ignored.
  if (has(offsetof(layout::Fadt, x_pm_timer_block), sizeof(layout::GenericAddress)) &&
      f.x_pm_timer_block.address != 0) {
    fadt.pm_timer = register_from(f.x_pm_timer_block);
  } else if (f.pm_timer_block != 0 && f.pm_timer_length >= 4) {
    fadt.pm_timer = Register{Register::Space::io, layout::address_space_io, 32, f.pm_timer_block};
  }
  if (fadt.pm_timer) fadt.pm_timer_bits = (f.flags & layout::fadt_timer_32_bits) ? 32 : 24;

  if (has(offsetof(layout::Fadt, reset_value), 1) && (f.flags & layout::fadt_reset_supported) &&
      f.reset_register.address != 0) {
    fadt.reset_register = register_from(f.reset_register);
    fadt.reset_value = f.reset_value;
  }

  if (has(offsetof(layout::Fadt, x_dsdt), sizeof(std::uint64_t)) && f.x_dsdt != 0) {
    fadt.dsdt_address = f.x_dsdt;
  } else {
    fadt.dsdt_address = f.dsdt;
  }
  return {};
}

// Reads a table straight into its field of AcpiInfo (no copy of the large Madt), or records
// why the table is unusable.
template <class T>
void read_into(std::expected<T, AcpiError>& field, const std::expected<Bytes, AcpiError>& table,
               std::expected<void, AcpiError> (*read)(Bytes, T&)) {
  if (!table) {
    field = std::unexpected(table.error());
    return;
  }
  if (const auto done = read(*table, field.emplace()); !done) {
    field = std::unexpected(done.error());
  }
}

std::expected<Hpet, AcpiError> hpet_from(Bytes table) {
  if (table.size() < sizeof(layout::Hpet)) return std::unexpected(AcpiError::table_too_short);
  const auto h = load<layout::Hpet>(table, 0);
  return Hpet{h.base_address.address, h.hpet_number, h.minimum_tick, h.event_timer_block_id};
}

// --- The _S5_ scan. Without an AML interpreter, the usual trick (also used by many hobby
// kernels) is to look for the bytes that `Name (_S5_, Package () {a, b, ...})` compiles to
// (ACPI 6.5 20.2, AML grammar): NameOp 0x08 [root prefix '\'] "_S5_" PackageOp 0x12 PkgLength
// NumElements, then the elements as integer constants. This finds static definitions only: an
// _S5_ built by a method, or one inside a conditional that should not apply, is not seen.
// Every step is bounded by the AML's size and by the package's own PkgLength.

constexpr std::uint8_t aml_name_op = 0x08;
constexpr std::uint8_t aml_root_prefix = '\\';
constexpr std::uint8_t aml_package_op = 0x12;
constexpr std::uint8_t aml_zero_op = 0x00, aml_one_op = 0x01, aml_ones_op = 0xFF;
constexpr std::uint8_t aml_byte_prefix = 0x0A, aml_word_prefix = 0x0B;
constexpr std::uint8_t aml_dword_prefix = 0x0C, aml_qword_prefix = 0x0E;

class AmlCursor {
 public:
  AmlCursor(Bytes aml, std::size_t position, std::size_t end)
      : aml_(aml), position_(position), end_(std::min(end, aml.size())) {}
  std::optional<std::uint8_t> next() {
    if (position_ >= end_) return std::nullopt;
    return std::to_integer<std::uint8_t>(aml_[position_++]);
  }
  std::size_t position() const { return position_; }

 private:
  Bytes aml_;
  std::size_t position_;
  std::size_t end_;
};

// ACPI 6.5 20.2.4: PkgLength. Bits 7-6 of the lead byte count the bytes that follow (0-3);
// with none, bits 5-0 are the length; otherwise bits 3-0 are its low nibble and each following
// byte adds 8 more bits. The length counts the PkgLength bytes themselves.
std::optional<std::size_t> read_package_length(AmlCursor& cursor) {
  const auto lead = cursor.next();
  if (!lead) return std::nullopt;
  const unsigned following = *lead >> 6;
  if (following == 0) return *lead & 0x3F;
  std::size_t length = *lead & 0x0F;
  for (unsigned i = 0; i < following; ++i) {
    const auto byte = cursor.next();
    if (!byte) return std::nullopt;
    length |= std::size_t{*byte} << (4 + 8 * i);
  }
  return length;
}

std::optional<std::uint8_t> read_integer_constant(AmlCursor& cursor) {
  const auto op = cursor.next();
  if (!op) return std::nullopt;
  const auto low_byte_of = [&](unsigned bytes) -> std::optional<std::uint8_t> {
    const auto low = cursor.next();
    for (unsigned i = 1; low && i < bytes; ++i) {
      if (!cursor.next()) return std::nullopt;
    }
    return low;  // SLP_TYP is a 3-bit field: the low byte holds it
  };
  switch (*op) {
    case aml_zero_op:
      return 0;
    case aml_one_op:
      return 1;
    case aml_ones_op:
      return 0xFF;
    case aml_byte_prefix:
      return low_byte_of(1);
    case aml_word_prefix:
      return low_byte_of(2);
    case aml_dword_prefix:
      return low_byte_of(4);
    case aml_qword_prefix:
      return low_byte_of(8);
    default:
      return std::nullopt;
  }
}

// expected::and_then, which GCC 12's <expected> does not have yet.
template <class Read>
auto then(std::expected<Bytes, AcpiError> table, Read read) -> decltype(read(Bytes{})) {
  if (!table) return std::unexpected(table.error());
  return read(*table);
}

// The first listed table with `signature` (ACPI allows one of each of the tables ferrite reads),
// read and checked again: table_missing if the root table does not list it.
std::expected<Bytes, AcpiError> listed_table(const PhysicalReader& memory, const AcpiInfo& info,
                                             const Signature& signature) {
  for (const TableEntry& entry : info.tables()) {
    if (entry.signature != signature) continue;
    if (entry.error) return std::unexpected(*entry.error);
    return read_table(memory, entry.address, entry.signature);
  }
  return std::unexpected(AcpiError::table_missing);
}

}  // namespace

std::expected<SleepType, AcpiError> find_s5_in_aml(Bytes aml) {
  constexpr std::array<std::byte, 4> name{std::byte{'_'}, std::byte{'S'}, std::byte{'5'},
                                          std::byte{'_'}};
  for (std::size_t i = 0; i + name.size() <= aml.size(); ++i) {
    if (!std::equal(name.begin(), name.end(), aml.begin() + static_cast<std::ptrdiff_t>(i)))
      continue;
    const auto byte_at = [&](std::size_t at) { return std::to_integer<std::uint8_t>(aml[at]); };
    const bool named =
        (i >= 1 && byte_at(i - 1) == aml_name_op) ||
        (i >= 2 && byte_at(i - 1) == aml_root_prefix && byte_at(i - 2) == aml_name_op);
    if (!named) continue;  // a reference to _S5_, or the bytes inside some other name or data

    AmlCursor cursor(aml, i + name.size(), aml.size());
    if (cursor.next() != aml_package_op) return std::unexpected(AcpiError::s5_bad_encoding);
    const std::size_t package_start = cursor.position();
    const auto package_length = read_package_length(cursor);
    if (!package_length) return std::unexpected(AcpiError::s5_bad_encoding);
    // From here on nothing may be read past the package's own end.
    AmlCursor body(aml, cursor.position(), package_start + *package_length);
    const auto count = body.next();
    if (!count || *count < 2) return std::unexpected(AcpiError::s5_bad_encoding);
    const auto a = read_integer_constant(body);
    const auto b = read_integer_constant(body);
    if (!a || !b) return std::unexpected(AcpiError::s5_bad_encoding);
    return SleepType{*a, *b};
  }
  return std::unexpected(AcpiError::s5_not_found);
}

std::size_t Madt::enabled_cpus() const {
  return static_cast<std::size_t>(std::count_if(cpus().begin(), cpus().end(),
                                                [](const LocalApic& cpu) { return cpu.enabled; }));
}

std::uint32_t Madt::gsi_for_isa_irq(std::uint8_t irq) const {
  for (const InterruptOverride& o : isos()) {
    if (o.bus == 0 && o.source_irq == irq) return o.gsi;
  }
  return irq;
}

std::optional<IsaRoute> Madt::isa_route(std::uint8_t irq) const {
  for (const InterruptOverride& o : isos()) {
    if (o.bus != 0 || o.source_irq != irq) continue;
    return IsaRoute{.gsi = o.gsi,
                    .active_low = o.polarity == Polarity::active_low,
                    .level_triggered = o.trigger == Trigger::level};
  }
  for (const InterruptOverride& o : isos()) {
    if (o.bus == 0 && o.gsi == irq) return std::nullopt;  // its pin belongs to o.source_irq
  }
  return IsaRoute{.gsi = irq};
}

std::string_view AcpiInfo::oem() const {
  std::string_view id(oem_id.data(), oem_id.size());
  while (!id.empty() && (id.back() == ' ' || id.back() == '\0')) id.remove_suffix(1);
  return id;
}

std::expected<void, AcpiError> parse(const PhysicalReader& memory, std::uint64_t rsdp_phys,
                                     AcpiInfo& info) {
  // A blank AcpiInfo, whatever it held: constructed in place, not assigned from a temporary
  // of a few KiB.
  std::construct_at(&info);
  info.rsdp_address = rsdp_phys;

  // ACPI 6.5 5.2.5.3: the first 20 bytes have their own checksum; revision 2 adds a length
  // and an extended checksum over all of it.
  const Bytes v1 = memory.read(rsdp_phys, layout::rsdp_v1_size);
  if (v1.empty()) return std::unexpected(AcpiError::rsdp_out_of_range);
  const auto rsdp = load_prefix<layout::Rsdp>(v1);
  if (rsdp.signature != rsdp_signature) return std::unexpected(AcpiError::rsdp_bad_signature);
  if (!sums_to_zero(v1)) return std::unexpected(AcpiError::rsdp_bad_checksum);
  info.revision = rsdp.revision;
  info.oem_id = rsdp.oem_id;

  std::uint64_t xsdt_address = 0;
  if (rsdp.revision >= 2) {
    const Bytes v2 = memory.read(rsdp_phys, sizeof(layout::Rsdp));
    if (v2.empty()) return std::unexpected(AcpiError::rsdp_out_of_range);
    const auto length = load<std::uint32_t>(v2, offsetof(layout::Rsdp, length));
    if (length < sizeof(layout::Rsdp) || length > max_rsdp_length) {
      return std::unexpected(AcpiError::rsdp_bad_length);
    }
    const Bytes all = memory.read(rsdp_phys, length);
    if (all.empty()) return std::unexpected(AcpiError::rsdp_out_of_range);
    if (!sums_to_zero(all)) return std::unexpected(AcpiError::rsdp_bad_extended_checksum);
    xsdt_address = load<std::uint64_t>(all, offsetof(layout::Rsdp, xsdt_address));
  }

  // A root table must hold whole entries (4 bytes each in the RSDT, 8 in the XSDT).
  const auto read_root = [&memory](std::uint64_t phys, bool xsdt) {
    auto table = read_table(memory, phys, xsdt ? xsdt_signature : rsdt_signature);
    const std::size_t entry_size = xsdt ? layout::xsdt_entry_size : layout::rsdt_entry_size;
    if (table && (table->size() - sizeof(layout::TableHeader)) % entry_size != 0) {
      table = std::unexpected(AcpiError::root_not_whole_entries);
    }
    return table;
  };

  // The XSDT when there is one; a broken XSDT with a sound RSDT still boots (as ACPICA does).
  std::expected<Bytes, AcpiError> root = std::unexpected(AcpiError::no_root_table);
  if (xsdt_address != 0) {
    root = read_root(xsdt_address, true);
    if (root) {
      info.uses_xsdt = true;
      info.root_address = xsdt_address;
    } else {
      info.xsdt_error = root.error();
    }
  }
  if (!root && rsdp.rsdt_address != 0) {
    root = read_root(rsdp.rsdt_address, false);
    if (root) info.root_address = rsdp.rsdt_address;
  }
  if (!root) return std::unexpected(root.error());  // the RSDT's if both are broken

  // One pass over the list: each table's header and checksum, and the first MADT and FADT
  // (ACPI allows one of each) read while their bytes are at hand.
  bool madt_seen = false;
  bool fadt_seen = false;
  const std::size_t entry_size = info.uses_xsdt ? layout::xsdt_entry_size : layout::rsdt_entry_size;
  for (std::size_t offset = sizeof(layout::TableHeader); offset < root->size();
       offset += entry_size) {
    const std::uint64_t address =
        info.uses_xsdt ? load<std::uint64_t>(*root, offset) : load<std::uint32_t>(*root, offset);
    if (address == 0) {
      ++info.null_table_pointers;
      continue;
    }
    if (info.table_count == AcpiInfo::max_tables) {
      ++info.dropped_tables;
      continue;
    }
    TableEntry& entry = info.table_list[info.table_count++];
    entry.address = address;
    if (const Bytes header = memory.read(address, sizeof(layout::TableHeader)); !header.empty()) {
      entry.signature = load<Signature>(header, offsetof(layout::TableHeader, signature));
      entry.length = load<std::uint32_t>(header, offsetof(layout::TableHeader, length));
    }
    const auto table = read_table(memory, address, std::nullopt);
    if (!table) entry.error = table.error();
    if (entry.signature == madt_signature && !madt_seen) {
      madt_seen = true;
      read_into(info.madt, table, read_madt);
    } else if (entry.signature == fadt_signature && !fadt_seen) {
      fadt_seen = true;
      read_into(info.fadt, table, read_fadt);
    }
  }
  return {};
}

std::expected<Hpet, AcpiError> read_hpet(const PhysicalReader& memory, const AcpiInfo& info) {
  return then(listed_table(memory, info, hpet_signature), hpet_from);
}

std::expected<SleepControl, AcpiError> sleep_control(const Fadt& fadt, SleepType s5) {
  if (fadt.pm1a_control_port == 0 || fadt.pm1a_control_port > 0xFFFF ||
      fadt.pm1b_control_port > 0xFFFF) {
    return std::unexpected(AcpiError::fadt_no_pm1_control);
  }
  constexpr std::uint8_t max_sleep_type = 7;  // SLP_TYP, bits 12-10 of PM1_CNT
  if (s5.a > max_sleep_type || s5.b > max_sleep_type) {
    return std::unexpected(AcpiError::s5_type_too_large);
  }
  return SleepControl{static_cast<std::uint16_t>(fadt.pm1a_control_port),
                      static_cast<std::uint16_t>(fadt.pm1b_control_port), s5};
}

std::expected<SleepType, AcpiError> read_s5(const PhysicalReader& memory, const AcpiInfo& info) {
  if (!info.fadt) return std::unexpected(info.fadt.error());
  if (info.fadt->dsdt_address == 0) return std::unexpected(AcpiError::fadt_no_dsdt);
  return then(read_table(memory, info.fadt->dsdt_address, dsdt_signature),
              [](Bytes dsdt) { return find_s5_in_aml(dsdt.subspan(sizeof(layout::TableHeader))); });
}

std::expected<std::uint64_t, AcpiError> find_rsdp_in_bios_area(const PhysicalReader& memory) {
  constexpr std::uint64_t ebda_pointer = 0x40E;  // BIOS data area: EBDA segment (real mode)
  constexpr std::size_t ebda_scan_length = 1024;
  constexpr std::uint64_t bios_area_start = 0xE0000;
  constexpr std::size_t bios_area_length = 0x20000;  // up to 1 MiB
  constexpr std::size_t alignment = 16;

  const auto scan = [&](std::uint64_t start, std::size_t length) -> std::optional<std::uint64_t> {
    const Bytes area = memory.read(start, length);
    if (area.empty()) return std::nullopt;
    for (std::size_t offset = 0; offset + layout::rsdp_v1_size <= area.size();
         offset += alignment) {
      const Bytes candidate = area.subspan(offset, layout::rsdp_v1_size);
      if (load<std::array<char, 8>>(candidate, 0) == rsdp_signature && sums_to_zero(candidate)) {
        return start + offset;
      }
    }
    return std::nullopt;
  };

  if (const Bytes pointer = memory.read(ebda_pointer, 2); !pointer.empty()) {
    const std::uint64_t ebda = std::uint64_t{load<std::uint16_t>(pointer, 0)} << 4;
    // The EBDA lies below the 640 KiB line; anything else is not an EBDA pointer.
    if (ebda >= 0x400 && ebda + ebda_scan_length <= 0xA0000) {
      if (const auto found = scan(ebda, ebda_scan_length)) return *found;
    }
  }
  if (const auto found = scan(bios_area_start, bios_area_length)) return *found;
  return std::unexpected(AcpiError::not_found_in_bios_area);
}

}  // namespace ferrite::acpi
