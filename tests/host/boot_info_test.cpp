// Host tests for the boot-information parsers (kernel/boot): Multiboot2 blocks and PVH start infos
// are built byte by byte here, well-formed and broken, and the memory-map normaliser is checked
// against a page-by-page model. Buffers are allocated at their exact size so ASan sees any
// read past the end.
#include "boot/boot_info.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "boot/command_line.h"
#include "support/mutator.h"

namespace ferrite::boot {

void PrintTo(const MemoryRegion& region, std::ostream* out) {
  *out << "{0x" << std::hex << region.base << "..0x" << region.end() << std::dec << " "
       << to_string(region.type) << "}";
}
void PrintTo(ParseError error, std::ostream* out) {
  *out << to_string(error);
}

namespace {

using Bytes = std::vector<std::byte>;
using Type = MemoryType;
constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

// ---------------------------------------------------------------------------------------------
// Byte-level builders.

void put_bytes(Bytes& out, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const std::byte*>(data);
  out.insert(out.end(), bytes, bytes + size);
}
template <typename T>
void put(Bytes& out, T value) {
  put_bytes(out, &value, sizeof(value));
}
void put_string(Bytes& out, std::string_view text, bool terminate = true) {
  put_bytes(out, text.data(), text.size());
  if (terminate) out.push_back(std::byte{0});
}
template <typename T>
void poke(Bytes& out, std::size_t offset, T value) {
  std::memcpy(out.data() + offset, &value, sizeof(value));
}

// A copy in a heap block of exactly the right size: one byte further is an ASan report.
class ExactBuffer {
 public:
  explicit ExactBuffer(const Bytes& bytes)
      : size_(bytes.size()), data_(new std::byte[std::max<std::size_t>(size_, 1)]) {
    std::copy(bytes.begin(), bytes.end(), data_.get());
  }
  std::span<const std::byte> span() const { return {data_.get(), size_}; }

 private:
  std::size_t size_;
  std::unique_ptr<std::byte[]> data_;
};

struct RawRegion {
  std::uint64_t base, length;
  std::uint32_t type;
};

// Multiboot2 spec 3.6: fixed part, then 8-byte aligned tags, then the end tag.
class Multiboot2Builder {
 public:
  // A tag whose size field says 8 + body.size(), padded to 8 bytes.
  Multiboot2Builder& tag(std::uint32_t type, const Bytes& body) {
    return tag_with_size(type, body, static_cast<std::uint32_t>(8 + body.size()));
  }
  Multiboot2Builder& tag_with_size(std::uint32_t type, const Bytes& body, std::uint32_t size) {
    tag_offsets_.push_back(tags_.size() + 8);
    put(tags_, type);
    put(tags_, size);
    tags_.insert(tags_.end(), body.begin(), body.end());
    while (tags_.size() % 8 != 0) tags_.push_back(std::byte{0});
    return *this;
  }
  Multiboot2Builder& command_line(std::string_view text) { return string_tag(1, text); }
  Multiboot2Builder& bootloader_name(std::string_view text) { return string_tag(2, text); }
  Multiboot2Builder& string_tag(std::uint32_t type, std::string_view text) {
    Bytes body;
    put_string(body, text);
    return tag(type, body);
  }
  Multiboot2Builder& module(std::uint32_t start, std::uint32_t end, std::string_view text = "") {
    Bytes body;
    put(body, start);
    put(body, end);
    put_string(body, text);
    return tag(3, body);
  }
  Multiboot2Builder& basic_meminfo(std::uint32_t lower_kib, std::uint32_t upper_kib) {
    Bytes body;
    put(body, lower_kib);
    put(body, upper_kib);
    return tag(4, body);
  }
  Multiboot2Builder& memory_map(const std::vector<RawRegion>& entries,
                                std::uint32_t entry_size = 24) {
    Bytes body;
    put(body, entry_size);
    put(body, std::uint32_t{0});  // entry_version
    for (const RawRegion& entry : entries) {
      const std::size_t start = body.size();
      put(body, entry.base);
      put(body, entry.length);
      put(body, entry.type);
      body.resize(start + entry_size, std::byte{0xAA});  // reserved / future fields
    }
    return tag(6, body);
  }
  Multiboot2Builder& framebuffer(std::uint64_t addr, std::uint32_t pitch, std::uint32_t width,
                                 std::uint32_t height, std::uint8_t bpp, std::uint8_t type,
                                 const Bytes& color_info) {
    Bytes body;
    put(body, addr);
    put(body, pitch);
    put(body, width);
    put(body, height);
    put(body, bpp);
    put(body, type);
    put(body, std::uint16_t{0});  // reserved
    body.insert(body.end(), color_info.begin(), color_info.end());
    return tag(8, body);
  }
  Multiboot2Builder& rsdp(bool acpi2) {
    Bytes body(acpi2 ? 36 : 20, std::byte{0x52});
    return tag(acpi2 ? 15 : 14, body);
  }
  Multiboot2Builder& raw(const Bytes& bytes) {
    tags_.insert(tags_.end(), bytes.begin(), bytes.end());
    return *this;
  }

  Bytes build(bool with_end_tag = true) const {
    Bytes block;
    put(block, std::uint32_t{0});  // total_size, patched below
    put(block, std::uint32_t{0});  // reserved
    block.insert(block.end(), tags_.begin(), tags_.end());
    if (with_end_tag) {
      put(block, std::uint32_t{0});
      put(block, std::uint32_t{8});
    }
    poke(block, 0, static_cast<std::uint32_t>(block.size()));
    return block;
  }
  // Offset of the n-th tag's body (just after its 8-byte header) in the built block.
  std::size_t body_offset(std::size_t n) const { return tag_offsets_.at(n) + 8; }

 private:
  Bytes tags_;
  std::vector<std::size_t> tag_offsets_;
};

// What QEMU's SeaBIOS reports for 128 MiB (E820), the shape every test below starts from.
const std::vector<RawRegion> qemu_memory_map = {
    {0x0, 0x9FC00, 1},        {0x9FC00, 0x400, 2},     {0xF0000, 0x10000, 2},
    {0x100000, 0x7EE0000, 1}, {0x7FE0000, 0x20000, 2}, {0xFFFC0000, 0x40000, 2},
};

std::expected<BootInfo, ParseError> parse_mb2(const Bytes& block, std::uint64_t phys = 0x10000) {
  const ExactBuffer buffer(block);
  return parse_multiboot2(buffer.span(), phys);
}

// Physical memory made of separate exact-size segments; anything else is unreadable.
class FakePhysicalMemory final : public PhysicalReader {
 public:
  void place(std::uint64_t phys, const Bytes& bytes) {
    segments_.insert_or_assign(phys, std::make_unique<ExactBuffer>(bytes));
  }
  std::span<const std::byte> read(std::uint64_t phys, std::size_t length) const override {
    ++reads;
    auto it = segments_.upper_bound(phys);
    if (it == segments_.begin() || length == 0) return {};
    --it;
    const std::span<const std::byte> segment = it->second->span();
    const std::uint64_t offset = phys - it->first;
    if (offset > segment.size() || length > segment.size() - offset) return {};
    return segment.subspan(offset, length);
  }
  mutable std::size_t reads = 0;

 private:
  std::map<std::uint64_t, std::unique_ptr<ExactBuffer>> segments_;
};

// Xen start_info.h: struct hvm_start_info (version 1, 56 bytes).
struct StartInfo {
  std::uint32_t magic = pvh_start_info_magic;
  std::uint32_t version = 1;
  std::uint32_t flags = 0;
  std::uint32_t nr_modules = 0;
  std::uint64_t modlist_paddr = 0;
  std::uint64_t cmdline_paddr = 0;
  std::uint64_t rsdp_paddr = 0;
  std::uint64_t memmap_paddr = 0;
  std::uint32_t memmap_entries = 0;
  std::uint32_t reserved = 0;

  Bytes bytes() const {
    Bytes out;
    put(out, magic);
    put(out, version);
    put(out, flags);
    put(out, nr_modules);
    put(out, modlist_paddr);
    put(out, cmdline_paddr);
    put(out, rsdp_paddr);
    put(out, memmap_paddr);
    put(out, memmap_entries);
    put(out, reserved);
    return out;
  }
};
static_assert(sizeof(StartInfo) == 56);

Bytes pvh_memmap(const std::vector<RawRegion>& entries) {
  Bytes out;
  for (const RawRegion& entry : entries) {
    put(out, entry.base);
    put(out, entry.length);
    put(out, entry.type);
    put(out, std::uint32_t{0});
  }
  return out;
}

constexpr std::uint64_t start_info_phys = 0x6000;
constexpr std::uint64_t memmap_phys = 0x7000;
constexpr std::uint64_t cmdline_phys = 0x8000;
constexpr std::uint64_t modlist_phys = 0x9000;

// A PVH setup like QEMU's: start info, memory map and command line in low memory.
struct PvhFixture {
  FakePhysicalMemory memory;
  StartInfo info;

  PvhFixture() {
    info.memmap_paddr = memmap_phys;
    info.memmap_entries = static_cast<std::uint32_t>(qemu_memory_map.size());
    memory.place(memmap_phys, pvh_memmap(qemu_memory_map));
  }
  std::expected<BootInfo, ParseError> parse() {
    memory.place(start_info_phys, info.bytes());
    return parse_pvh(memory, start_info_phys);
  }
};

std::vector<MemoryRegion> regions_of(const BootInfo& boot) {
  return {boot.memory_map().begin(), boot.memory_map().end()};
}

// The normalised form the parsers promise: sorted, disjoint, non-empty, and no two touching
// regions of the same type.
void expect_normalised(const BootInfo& boot) {
  const auto map = boot.memory_map();
  for (std::size_t i = 0; i < map.size(); ++i) {
    EXPECT_GT(map[i].length, 0u) << "region " << i;
    if (i == 0) continue;
    EXPECT_LE(map[i - 1].end(), map[i].base) << "regions " << i - 1 << " and " << i;
    if (map[i - 1].end() == map[i].base) {
      EXPECT_NE(map[i - 1].type, map[i].type) << "unmerged neighbours at " << i;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// BootInfo itself.

constinit BootInfo global_boot_info;  // must compile: the kernel keeps one of these as a global

TEST(BootInfo, IsAConstinitGlobalOfAFewKilobytes) {
  static_assert(std::is_trivially_copyable_v<BootInfo>);
  static_assert(std::is_trivially_destructible_v<BootInfo>);
  static_assert(sizeof(BootInfo) <= 4 * 1024);
  EXPECT_EQ(global_boot_info.protocol(), Protocol::none);
  EXPECT_TRUE(global_boot_info.memory_map().empty());
  EXPECT_TRUE(global_boot_info.command_line().empty());
  EXPECT_FALSE(global_boot_info.framebuffer().has_value());
  EXPECT_FALSE(global_boot_info.diagnostics().any());
}

TEST(BootInfo, E820TypesMapToMemoryTypes) {
  EXPECT_EQ(memory_type_from_e820(1), Type::usable);
  EXPECT_EQ(memory_type_from_e820(2), Type::reserved);
  EXPECT_EQ(memory_type_from_e820(3), Type::acpi_reclaimable);
  EXPECT_EQ(memory_type_from_e820(4), Type::acpi_nvs);
  EXPECT_EQ(memory_type_from_e820(5), Type::bad);
  EXPECT_EQ(memory_type_from_e820(0), std::nullopt);
  EXPECT_EQ(memory_type_from_e820(7), std::nullopt);
  EXPECT_EQ(memory_type_from_e820(0xF0000001), std::nullopt);
}

TEST(BootInfo, UnknownE820TypesBecomeReservedAndAreCounted) {
  BootInfo boot;
  ASSERT_TRUE(boot.add_e820_region(0x1000, 0x1000, 7).has_value());
  ASSERT_TRUE(boot.add_e820_region(0x3000, 0x1000, 1).has_value());
  EXPECT_EQ(regions_of(boot), (std::vector<MemoryRegion>{{0x1000, 0x1000, Type::reserved},
                                                         {0x3000, 0x1000, Type::usable}}));
  EXPECT_EQ(boot.diagnostics().unknown_region_types, 1);
  EXPECT_EQ(boot.diagnostics().last_unknown_region_type, 7u);
  EXPECT_TRUE(boot.diagnostics().any());
}

// Issue 9, bug 11: every UEFI boot warned about "one region of unknown type": GRUB reports the
// firmware's runtime-services code as type 20. It is reserved memory, and no surprise.
TEST(BootInfo, GrubFirmwareCodeRegionsAreReservedWithoutADiagnostic) {
  BootInfo boot;
  ASSERT_TRUE(boot.add_e820_region(0x7e00000, 0x100000, 20).has_value());
  EXPECT_EQ(regions_of(boot), (std::vector<MemoryRegion>{{0x7e00000, 0x100000, Type::reserved}}));
  EXPECT_FALSE(boot.diagnostics().any());
}

TEST(MemoryMap, DisjointRegionsComeOutSortedByBase) {
  BootInfo boot;
  ASSERT_TRUE(boot.add_memory_region({0x100000, 0x1000, Type::usable}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x0, 0x1000, Type::reserved}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x8000, 0x1000, Type::acpi_nvs}).has_value());
  EXPECT_EQ(regions_of(boot), (std::vector<MemoryRegion>{{0x0, 0x1000, Type::reserved},
                                                         {0x8000, 0x1000, Type::acpi_nvs},
                                                         {0x100000, 0x1000, Type::usable}}));
  EXPECT_EQ(boot.diagnostics().overlapping_regions, 0);
  EXPECT_EQ(boot.usable_bytes(), 0x1000u);
}

TEST(MemoryMap, TouchingRegionsOfTheSameTypeMerge) {
  BootInfo boot;
  ASSERT_TRUE(boot.add_memory_region({0x2000, 0x1000, Type::usable}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x0, 0x1000, Type::usable}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x1000, 0x1000, Type::usable}).has_value());
  EXPECT_EQ(regions_of(boot), (std::vector<MemoryRegion>{{0x0, 0x3000, Type::usable}}));
  EXPECT_EQ(boot.diagnostics().overlapping_regions, 0) << "touching is not overlapping";
}

TEST(MemoryMap, TouchingRegionsOfDifferentTypesStaySeparate) {
  BootInfo boot;
  ASSERT_TRUE(boot.add_memory_region({0x0, 0x1000, Type::usable}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x1000, 0x1000, Type::acpi_reclaimable}).has_value());
  EXPECT_EQ(regions_of(boot),
            (std::vector<MemoryRegion>{{0x0, 0x1000, Type::usable},
                                       {0x1000, 0x1000, Type::acpi_reclaimable}}));
}

TEST(MemoryMap, ReservedHoleInsideUsableSplitsIt) {
  BootInfo boot;
  ASSERT_TRUE(boot.add_memory_region({0x0, 0x10000, Type::usable}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x4000, 0x1000, Type::reserved}).has_value());
  EXPECT_EQ(regions_of(boot), (std::vector<MemoryRegion>{{0x0, 0x4000, Type::usable},
                                                         {0x4000, 0x1000, Type::reserved},
                                                         {0x5000, 0xB000, Type::usable}}));
  EXPECT_EQ(boot.diagnostics().overlapping_regions, 1);
  EXPECT_EQ(boot.usable_bytes(), 0xF000u);
}

TEST(MemoryMap, UsableClaimOverReservedMemoryIsIgnored) {
  BootInfo boot;
  ASSERT_TRUE(boot.add_memory_region({0x0, 0x10000, Type::reserved}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x4000, 0x1000, Type::usable}).has_value());
  EXPECT_EQ(regions_of(boot), (std::vector<MemoryRegion>{{0x0, 0x10000, Type::reserved}}));
  EXPECT_EQ(boot.diagnostics().overlapping_regions, 1);
  EXPECT_EQ(boot.usable_bytes(), 0u);
}

TEST(MemoryMap, PartialOverlapGivesTheOverlapToTheStricterType) {
  BootInfo boot;
  ASSERT_TRUE(boot.add_memory_region({0x0, 0x3000, Type::usable}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x2000, 0x3000, Type::acpi_nvs}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x4000, 0x3000, Type::usable}).has_value());
  EXPECT_EQ(regions_of(boot), (std::vector<MemoryRegion>{{0x0, 0x2000, Type::usable},
                                                         {0x2000, 0x3000, Type::acpi_nvs},
                                                         {0x5000, 0x2000, Type::usable}}));
  EXPECT_EQ(boot.diagnostics().overlapping_regions, 2);
}

TEST(MemoryMap, StricterTypeWinsForEveryPair) {
  const std::array<Type, 5> by_strictness = {Type::usable, Type::acpi_reclaimable, Type::acpi_nvs,
                                             Type::reserved, Type::bad};
  for (std::size_t weaker = 0; weaker < by_strictness.size(); ++weaker) {
    for (std::size_t stronger = weaker + 1; stronger < by_strictness.size(); ++stronger) {
      for (const bool stronger_first : {false, true}) {
        BootInfo boot;
        const MemoryRegion weak{0x0, 0x2000, by_strictness[weaker]};
        const MemoryRegion strong{0x1000, 0x2000, by_strictness[stronger]};
        ASSERT_TRUE(boot.add_memory_region(stronger_first ? strong : weak).has_value());
        ASSERT_TRUE(boot.add_memory_region(stronger_first ? weak : strong).has_value());
        EXPECT_EQ(regions_of(boot),
                  (std::vector<MemoryRegion>{{0x0, 0x1000, by_strictness[weaker]},
                                             {0x1000, 0x2000, by_strictness[stronger]}}))
            << to_string(by_strictness[weaker]) << " vs " << to_string(by_strictness[stronger]);
      }
    }
  }
}

TEST(MemoryMap, LargeUsableRegionFillsGapsAroundExistingOnes) {
  BootInfo boot;
  ASSERT_TRUE(boot.add_memory_region({0x1000, 0x1000, Type::usable}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x3000, 0x1000, Type::reserved}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x6000, 0x1000, Type::usable}).has_value());
  ASSERT_TRUE(boot.add_memory_region({0x0, 0x10000, Type::usable}).has_value());
  EXPECT_EQ(regions_of(boot), (std::vector<MemoryRegion>{{0x0, 0x3000, Type::usable},
                                                         {0x3000, 0x1000, Type::reserved},
                                                         {0x4000, 0xC000, Type::usable}}));
  EXPECT_EQ(boot.diagnostics().overlapping_regions, 1) << "one entry overlapped";
}

TEST(MemoryMap, DuplicateEntriesCollapseAndAreCounted) {
  BootInfo boot;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(boot.add_memory_region({0x100000, 0x100000, Type::usable}).has_value());
  }
  EXPECT_EQ(regions_of(boot), (std::vector<MemoryRegion>{{0x100000, 0x100000, Type::usable}}));
  EXPECT_EQ(boot.diagnostics().overlapping_regions, 2);
}

TEST(MemoryMap, InsertionOrderDoesNotChangeTheResult) {
  std::array<MemoryRegion, 5> regions = {{{0x0, 0xA0000, Type::usable},
                                          {0x9F000, 0x2000, Type::reserved},
                                          {0x100000, 0x700000, Type::usable},
                                          {0x300000, 0x100000, Type::acpi_reclaimable},
                                          {0x6FF000, 0x2000, Type::bad}}};
  std::sort(regions.begin(), regions.end(),
            [](const auto& a, const auto& b) { return a.base < b.base; });
  std::vector<MemoryRegion> first;
  int orders = 0;
  do {
    BootInfo boot;
    for (const MemoryRegion& region : regions) {
      ASSERT_TRUE(boot.add_memory_region(region).has_value());
    }
    if (orders++ == 0) first = regions_of(boot);
    EXPECT_EQ(regions_of(boot), first) << "order #" << orders;
  } while (std::next_permutation(regions.begin(), regions.end(),
                                 [](const auto& a, const auto& b) { return a.base < b.base; }));
  EXPECT_EQ(orders, 120);
  EXPECT_EQ(first, (std::vector<MemoryRegion>{{0x0, 0x9F000, Type::usable},
                                              {0x9F000, 0x2000, Type::reserved},
                                              {0x100000, 0x200000, Type::usable},
                                              {0x300000, 0x100000, Type::acpi_reclaimable},
                                              {0x400000, 0x2FF000, Type::usable},
                                              {0x6FF000, 0x2000, Type::bad},
                                              {0x701000, 0xFF000, Type::usable}}));
}

TEST(MemoryMap, EmptyRegionsAreIgnoredAndCounted) {
  BootInfo boot;
  ASSERT_TRUE(boot.add_memory_region({0x1000, 0, Type::reserved}).has_value());
  EXPECT_TRUE(boot.memory_map().empty());
  EXPECT_EQ(boot.diagnostics().empty_regions, 1);
}

TEST(MemoryMap, RegionPastTheTopOfTheAddressSpaceIsClamped) {
  BootInfo boot;
  const std::uint64_t base = 0xFFFF'FFFF'FFFF'0000;
  ASSERT_TRUE(boot.add_memory_region({base, 0x20000, Type::reserved}).has_value());
  ASSERT_EQ(boot.memory_map().size(), 1u);
  EXPECT_EQ(boot.memory_map()[0].base, base);
  EXPECT_EQ(boot.memory_map()[0].end(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(boot.diagnostics().clamped_regions, 1);
}

TEST(MemoryMap, FullMapRefusesANewRegionButStillMerges) {
  BootInfo boot;
  // Separated by holes, so nothing merges.
  for (std::uint64_t i = 0; i < BootInfo::max_memory_regions; ++i) {
    ASSERT_TRUE(boot.add_memory_region({i * 0x2000, 0x1000, Type::usable}).has_value()) << i;
  }
  ASSERT_EQ(boot.memory_map().size(), BootInfo::max_memory_regions);
  const std::uint64_t after_last = BootInfo::max_memory_regions * 0x2000;

  const auto one_too_many = boot.add_memory_region({after_last, 0x1000, Type::usable});
  ASSERT_FALSE(one_too_many.has_value());
  EXPECT_EQ(one_too_many.error(), ParseError::too_many_memory_regions);

  BootInfo merging;
  for (std::uint64_t i = 0; i < BootInfo::max_memory_regions; ++i) {
    ASSERT_TRUE(merging.add_memory_region({i * 0x2000, 0x1000, Type::usable}).has_value());
  }
  // Filling every hole with usable memory merges everything into one region.
  ASSERT_TRUE(merging.add_memory_region({0x0, after_last, Type::usable}).has_value());
  EXPECT_EQ(regions_of(merging), (std::vector<MemoryRegion>{{0x0, after_last, Type::usable}}));
  // A reserved hole in the middle of the one region fits easily now.
  ASSERT_TRUE(merging.add_memory_region({0x4000, 0x1000, Type::reserved}).has_value());
  EXPECT_EQ(merging.memory_map().size(), 3u);
}

TEST(MemoryMap, FillingTheHolesOfAFullMapNeedsNoSpareSlots) {
  // usable, hole, reserved, hole, usable, ...: each hole touches one usable neighbour, on
  // either side, so a usable region over everything must grow those neighbours in place.
  BootInfo boot;
  for (std::uint64_t i = 0; i < BootInfo::max_memory_regions; ++i) {
    const Type type = i % 2 == 0 ? Type::usable : Type::reserved;
    ASSERT_TRUE(boot.add_memory_region({i * 0x2000, 0x1000, type}).has_value()) << i;
  }
  const std::uint64_t end = (BootInfo::max_memory_regions - 1) * 0x2000 + 0x1000;  // last region's
  const auto filled = boot.add_memory_region({0x0, end, Type::usable});
  ASSERT_TRUE(filled.has_value()) << to_string(filled.error());
  expect_normalised(boot);
  ASSERT_EQ(boot.memory_map().size(), BootInfo::max_memory_regions);
  EXPECT_EQ(boot.memory_map()[0], (MemoryRegion{0x0, 0x2000, Type::usable}));
  EXPECT_EQ(boot.memory_map()[1], (MemoryRegion{0x2000, 0x1000, Type::reserved}));
  EXPECT_EQ(boot.memory_map()[2], (MemoryRegion{0x3000, 0x3000, Type::usable}));  // both holes
  EXPECT_EQ(boot.memory_map().back().end(), end);
  EXPECT_EQ(boot.usable_bytes(), end - BootInfo::max_memory_regions / 2 * 0x1000);
}

TEST(MemoryMap, SplitThatWouldOverflowIsRefused) {
  BootInfo boot;
  for (std::uint64_t i = 0; i < BootInfo::max_memory_regions; ++i) {
    ASSERT_TRUE(boot.add_memory_region({i * 0x10000, 0x8000, Type::usable}).has_value());
  }
  const auto split = boot.add_memory_region({0x2000, 0x1000, Type::reserved});
  ASSERT_FALSE(split.has_value());
  EXPECT_EQ(split.error(), ParseError::too_many_memory_regions);
}

// Random maps over 64 pages, checked page by page against the rule itself: each page gets the
// most restrictive type among the entries covering it.
TEST(MemoryMap, MatchesAPageByPageModelOnRandomMaps) {
  constexpr std::uint64_t page = 0x1000;
  constexpr std::size_t pages = 64;
  std::mt19937 random(12345);
  for (int round = 0; round < 2000; ++round) {
    std::array<int, pages> model;
    model.fill(-1);
    BootInfo boot;
    const int entries = 1 + static_cast<int>(random() % 12);
    for (int e = 0; e < entries; ++e) {
      const std::size_t first = random() % pages;
      const std::size_t count = random() % (pages - first + 1);  // may be 0
      const auto type = static_cast<Type>(random() % 5);
      ASSERT_TRUE(boot.add_memory_region({first * page, count * page, type}).has_value());
      for (std::size_t p = first; p < first + count; ++p) {
        if (model[p] < 0 || restrictiveness(type) > restrictiveness(static_cast<Type>(model[p]))) {
          model[p] = static_cast<int>(type);
        }
      }
    }
    expect_normalised(boot);
    std::array<int, pages> actual;
    actual.fill(-1);
    for (const MemoryRegion& region : boot.memory_map()) {
      ASSERT_EQ(region.base % page, 0u);
      ASSERT_LE(region.end(), pages * page);
      for (std::uint64_t p = region.base / page; p < region.end() / page; ++p) {
        actual[p] = static_cast<int>(region.type);
      }
    }
    ASSERT_EQ(actual, model) << "round " << round;
    if (HasFailure()) return;
  }
}

TEST(BootInfo, LongCommandLineIsCutAtAWordBoundary) {
  std::string text;
  while (text.size() < BootInfo::max_command_line + 100) text += "option=value ";
  text += "heap=256K";
  BootInfo boot;
  boot.set_command_line(text);
  const std::string_view kept = boot.command_line();
  EXPECT_TRUE(boot.diagnostics().command_line_truncated);
  EXPECT_LE(kept.size(), BootInfo::max_command_line);
  EXPECT_GT(kept.size(), BootInfo::max_command_line - 13);
  EXPECT_TRUE(kept.ends_with("option=value")) << kept;
  EXPECT_EQ(text.substr(0, kept.size()), kept);
}

TEST(BootInfo, CommandLineWithoutSpacesIsCutAtCapacity) {
  const std::string text(BootInfo::max_command_line + 1, 'x');
  BootInfo boot;
  boot.set_command_line(text);
  EXPECT_EQ(boot.command_line(), std::string(BootInfo::max_command_line, 'x'));
  EXPECT_TRUE(boot.diagnostics().command_line_truncated);
}

TEST(BootInfo, CommandLineThatFitsExactlyIsKept) {
  const std::string text(BootInfo::max_command_line, 'y');
  BootInfo boot;
  boot.set_command_line(text);
  EXPECT_EQ(boot.command_line(), text);
  EXPECT_FALSE(boot.diagnostics().command_line_truncated);
}

TEST(BootInfo, BootloaderNameIsCopiedAndBounded) {
  BootInfo boot;
  std::string name = "GRUB 2.06";
  boot.set_bootloader_name(name);
  name[0] = 'X';  // BootInfo owns its copy
  EXPECT_EQ(boot.bootloader_name(), "GRUB 2.06");
  boot.set_bootloader_name(std::string(200, 'n'));
  EXPECT_EQ(boot.bootloader_name().size(), BootInfo::max_bootloader_name);
  EXPECT_TRUE(boot.diagnostics().bootloader_name_truncated);
}

TEST(BootInfo, ModulesBeyondCapacityAreDroppedAndCounted) {
  BootInfo boot;
  for (std::uint64_t i = 0; i < BootInfo::max_modules + 3; ++i) {
    boot.add_module({i * 0x1000, i * 0x1000 + 0x800});
  }
  ASSERT_EQ(boot.modules().size(), BootInfo::max_modules);
  EXPECT_EQ(boot.modules().back(), (Module{(BootInfo::max_modules - 1) * 0x1000,
                                           (BootInfo::max_modules - 1) * 0x1000 + 0x800}));
  EXPECT_EQ(boot.diagnostics().dropped_modules, 3);
}

TEST(ParseError, EveryErrorHasItsOwnMessage) {
  std::vector<std::string_view> seen;
  for (int e = 0; e <= static_cast<int>(ParseError::too_many_memory_regions); ++e) {
    const std::string_view message = to_string(static_cast<ParseError>(e));
    EXPECT_NE(message, "unknown boot information error") << e;
    EXPECT_EQ(std::count(seen.begin(), seen.end(), message), 0) << message;
    seen.push_back(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Multiboot2.

TEST(Multiboot2, ParsesAGrubLikeBlock) {
  Multiboot2Builder builder;
  builder.command_line("layout=de heap=256K quiet")
      .bootloader_name("GRUB 2.06-13+deb12u1")
      .module(0x200000, 0x280000, "initrd")
      .basic_meminfo(639, 130048)
      .tag(9, Bytes(20, std::byte{0x11}))  // ELF sections: skipped
      .memory_map(qemu_memory_map)
      .framebuffer(0xFD000000, 4096, 1024, 768, 32, 1,
                   Bytes{std::byte{16}, std::byte{8}, std::byte{8}, std::byte{8}, std::byte{0},
                         std::byte{8}})
      .rsdp(true);
  const Bytes block = builder.build();
  const std::uint64_t phys = 0x9500;
  const auto boot = parse_mb2(block, phys);
  ASSERT_TRUE(boot.has_value()) << to_string(boot.error());

  EXPECT_EQ(boot->protocol(), Protocol::multiboot2);
  EXPECT_EQ(boot->command_line(), "layout=de heap=256K quiet");
  EXPECT_EQ(boot->bootloader_name(), "GRUB 2.06-13+deb12u1");
  EXPECT_EQ(regions_of(*boot), (std::vector<MemoryRegion>{{0x0, 0x9FC00, Type::usable},
                                                          {0x9FC00, 0x400, Type::reserved},
                                                          {0xF0000, 0x10000, Type::reserved},
                                                          {0x100000, 0x7EE0000, Type::usable},
                                                          {0x7FE0000, 0x20000, Type::reserved},
                                                          {0xFFFC0000, 0x40000, Type::reserved}}));
  EXPECT_EQ(boot->usable_bytes(), 0x9FC00u + 0x7EE0000u);
  ASSERT_EQ(boot->modules().size(), 1u);
  EXPECT_EQ(boot->modules()[0], (Module{0x200000, 0x280000}));
  ASSERT_TRUE(boot->framebuffer().has_value());
  EXPECT_EQ(*boot->framebuffer(), (Framebuffer{.phys_addr = 0xFD000000,
                                               .pitch = 4096,
                                               .width = 1024,
                                               .height = 768,
                                               .bpp = 32,
                                               .kind = Framebuffer::Kind::rgb,
                                               .red = {16, 8},
                                               .green = {8, 8},
                                               .blue = {0, 8}}));
  // The RSDP tag holds a copy of the RSDP: its address is inside the block.
  EXPECT_EQ(boot->rsdp(), phys + builder.body_offset(7));
  EXPECT_EQ(boot->info_block(), (PhysicalRange{phys, block.size()}));
  EXPECT_FALSE(boot->diagnostics().any());
}

TEST(Multiboot2, TheCommandLineFeedsCommandLine) {
  const auto boot = parse_mb2(Multiboot2Builder{}
                                  .command_line("test=heap allocator=bump")
                                  .memory_map(qemu_memory_map)
                                  .build());
  ASSERT_TRUE(boot.has_value());
  const CommandLine options(boot->command_line());
  EXPECT_EQ(options.get("allocator"), "bump");
  EXPECT_EQ(options.get("test"), "heap");
}

TEST(Multiboot2, MinimalBlockWithOnlyAMemoryMap) {
  const auto boot = parse_mb2(Multiboot2Builder{}.memory_map(qemu_memory_map).build());
  ASSERT_TRUE(boot.has_value()) << to_string(boot.error());
  EXPECT_EQ(boot->command_line(), "");
  EXPECT_EQ(boot->bootloader_name(), "");
  EXPECT_FALSE(boot->framebuffer().has_value());
  EXPECT_FALSE(boot->rsdp().has_value());
  EXPECT_TRUE(boot->modules().empty());
  EXPECT_EQ(boot->memory_map().size(), qemu_memory_map.size());
}

TEST(Multiboot2, OverlappingMemoryMapIsNormalisedAndReported) {
  // Firmware that reports the EBDA both as RAM and as reserved, and a duplicate entry.
  const auto boot = parse_mb2(Multiboot2Builder{}
                                  .memory_map({{0x0, 0xA0000, 1},
                                               {0x9FC00, 0x400, 2},
                                               {0x100000, 0x1000000, 1},
                                               {0x100000, 0x1000000, 1},
                                               {0x800000, 0x10000, 3}})
                                  .build());
  ASSERT_TRUE(boot.has_value()) << to_string(boot.error());
  EXPECT_EQ(regions_of(*boot),
            (std::vector<MemoryRegion>{{0x0, 0x9FC00, Type::usable},
                                       {0x9FC00, 0x400, Type::reserved},
                                       {0x100000, 0x700000, Type::usable},
                                       {0x800000, 0x10000, Type::acpi_reclaimable},
                                       {0x810000, 0x8F0000, Type::usable}}));
  EXPECT_EQ(boot->diagnostics().overlapping_regions, 3);
  EXPECT_TRUE(boot->diagnostics().any());
}

TEST(Multiboot2, LargerEntrySizeIsSteppedOver) {
  const auto boot = parse_mb2(Multiboot2Builder{}.memory_map(qemu_memory_map, 32).build());
  ASSERT_TRUE(boot.has_value()) << to_string(boot.error());
  EXPECT_EQ(boot->memory_map().size(), qemu_memory_map.size());
  EXPECT_EQ(boot->memory_map()[3], (MemoryRegion{0x100000, 0x7EE0000, Type::usable}));
}

TEST(Multiboot2, SeveralMemoryMapTagsAreCombined) {
  const auto boot = parse_mb2(
      Multiboot2Builder{}.memory_map({{0x0, 0x1000, 1}}).memory_map({{0x1000, 0x1000, 1}}).build());
  ASSERT_TRUE(boot.has_value());
  EXPECT_EQ(regions_of(*boot), (std::vector<MemoryRegion>{{0x0, 0x2000, Type::usable}}));
}

TEST(Multiboot2, BasicMeminfoStandsInForAMissingMemoryMap) {
  const auto boot = parse_mb2(Multiboot2Builder{}.basic_meminfo(639, 64 * 1024).build());
  ASSERT_TRUE(boot.has_value()) << to_string(boot.error());
  EXPECT_EQ(regions_of(*boot), (std::vector<MemoryRegion>{{0x0, 639 * KiB, Type::usable},
                                                          {MiB, 64 * MiB, Type::usable}}));
  EXPECT_TRUE(boot->diagnostics().memory_map_from_basic_meminfo);
}

TEST(Multiboot2, BasicMeminfoIsIgnoredWhenAMemoryMapExists) {
  const auto boot =
      parse_mb2(Multiboot2Builder{}.basic_meminfo(639, 1).memory_map(qemu_memory_map).build());
  ASSERT_TRUE(boot.has_value());
  EXPECT_FALSE(boot->diagnostics().memory_map_from_basic_meminfo);
  EXPECT_EQ(boot->memory_map().size(), qemu_memory_map.size());
}

TEST(Multiboot2, NoMemoryInformationAtAllIsAnError) {
  const auto boot = parse_mb2(Multiboot2Builder{}.command_line("quiet").build());
  ASSERT_FALSE(boot.has_value());
  EXPECT_EQ(boot.error(), ParseError::missing_memory_map);
}

TEST(Multiboot2, IndexedAndEgaTextFramebuffers) {
  Bytes palette;
  put(palette, std::uint16_t{2});
  palette.resize(palette.size() + 6, std::byte{0x7F});
  const auto indexed = parse_mb2(Multiboot2Builder{}
                                     .memory_map(qemu_memory_map)
                                     .framebuffer(0xA0000, 320, 320, 200, 8, 0, palette)
                                     .build());
  ASSERT_TRUE(indexed.has_value()) << to_string(indexed.error());
  ASSERT_TRUE(indexed->framebuffer().has_value());
  EXPECT_EQ(indexed->framebuffer()->kind, Framebuffer::Kind::indexed);
  EXPECT_EQ(indexed->framebuffer()->bpp, 8);

  const auto text = parse_mb2(Multiboot2Builder{}
                                  .memory_map(qemu_memory_map)
                                  .framebuffer(0xB8000, 160, 80, 25, 16, 2, {})
                                  .build());
  ASSERT_TRUE(text.has_value()) << to_string(text.error());
  EXPECT_EQ(text->framebuffer()->kind, Framebuffer::Kind::ega_text);
  EXPECT_EQ(text->framebuffer()->phys_addr, 0xB8000u);
  EXPECT_EQ(text->framebuffer()->width, 80u);
  EXPECT_EQ(text->framebuffer()->height, 25u);
}

TEST(Multiboot2, BadFramebufferTags) {
  const auto unknown = parse_mb2(Multiboot2Builder{}
                                     .memory_map(qemu_memory_map)
                                     .framebuffer(0xA0000, 1, 1, 1, 8, 3, Bytes(6))
                                     .build());
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error(), ParseError::unknown_framebuffer_type);

  const auto short_rgb = parse_mb2(Multiboot2Builder{}
                                       .memory_map(qemu_memory_map)
                                       .framebuffer(0xA0000, 1, 1, 1, 32, 1, Bytes(5))
                                       .build());
  ASSERT_FALSE(short_rgb.has_value());
  EXPECT_EQ(short_rgb.error(), ParseError::tag_too_small);

  Bytes palette_claiming_more;
  put(palette_claiming_more, std::uint16_t{256});
  palette_claiming_more.resize(2 + 3 * 16);
  const auto short_palette =
      parse_mb2(Multiboot2Builder{}
                    .memory_map(qemu_memory_map)
                    .framebuffer(0xA0000, 1, 1, 1, 8, 0, palette_claiming_more)
                    .build());
  ASSERT_FALSE(short_palette.has_value());
  EXPECT_EQ(short_palette.error(), ParseError::tag_too_small);

  const auto too_short =
      parse_mb2(Multiboot2Builder{}.memory_map(qemu_memory_map).tag(8, Bytes(16)).build());
  ASSERT_FALSE(too_short.has_value());
  EXPECT_EQ(too_short.error(), ParseError::tag_too_small);
}

TEST(Multiboot2, AcpiTwoRsdpIsPreferredWhicheverComesFirst) {
  for (const bool new_first : {false, true}) {
    Multiboot2Builder builder;
    builder.memory_map(qemu_memory_map);
    if (new_first) {
      builder.rsdp(true).rsdp(false);
    } else {
      builder.rsdp(false).rsdp(true);
    }
    const auto boot = parse_mb2(builder.build(), 0x40000);
    ASSERT_TRUE(boot.has_value());
    EXPECT_EQ(boot->rsdp(), 0x40000 + builder.body_offset(new_first ? 1 : 2)) << new_first;
  }
  Multiboot2Builder old_only;
  old_only.memory_map(qemu_memory_map).rsdp(false);
  const auto boot = parse_mb2(old_only.build(), 0x40000);
  ASSERT_TRUE(boot.has_value());
  EXPECT_EQ(boot->rsdp(), 0x40000 + old_only.body_offset(1));
}

TEST(Multiboot2, RsdpTagTooShortForItsRevision) {
  const auto boot =
      parse_mb2(Multiboot2Builder{}.memory_map(qemu_memory_map).tag(15, Bytes(20)).build());
  ASSERT_FALSE(boot.has_value());
  EXPECT_EQ(boot.error(), ParseError::tag_too_small);
}

struct MalformedCase {
  const char* name;
  Bytes block;
  ParseError expected;
};

std::vector<MalformedCase> malformed_blocks() {
  std::vector<MalformedCase> cases;
  const Bytes valid = Multiboot2Builder{}.memory_map(qemu_memory_map).build();

  Bytes small_total = valid;
  poke(small_total, 0, std::uint32_t{4});
  cases.push_back({"total_size below 8", small_total, ParseError::block_too_small});
  cases.push_back({"buffer below 8 bytes", Bytes(4), ParseError::block_too_small});

  Bytes big_total = valid;
  poke(big_total, 0, static_cast<std::uint32_t>(valid.size() + 8));
  cases.push_back({"total_size past the buffer", big_total, ParseError::block_exceeds_buffer});

  cases.push_back({"tag size below 8", Multiboot2Builder{}.tag_with_size(1, Bytes(8), 4).build(),
                   ParseError::tag_too_small});
  cases.push_back({"tag runs past the end",
                   Multiboot2Builder{}.tag_with_size(1, Bytes(8), 4096).build(),
                   ParseError::tag_exceeds_block});
  cases.push_back({"no end tag", Multiboot2Builder{}.memory_map(qemu_memory_map).build(false),
                   ParseError::missing_end_tag});
  cases.push_back(
      {"only the fixed part", Multiboot2Builder{}.build(false), ParseError::missing_end_tag});
  cases.push_back({"half a tag header at the end",
                   Multiboot2Builder{}.memory_map(qemu_memory_map).raw(Bytes(4)).build(false),
                   ParseError::missing_end_tag});
  // An odd-sized last tag ending exactly at total_size: its padding has nowhere to go.
  Bytes odd_last = Multiboot2Builder{}.tag_with_size(1, Bytes(8), 13).build(false);
  odd_last.resize(8 + 13);
  poke(odd_last, 0, static_cast<std::uint32_t>(odd_last.size()));
  cases.push_back({"odd last tag without end tag", odd_last, ParseError::missing_end_tag});

  cases.push_back({"entry_size 20", Multiboot2Builder{}.memory_map(qemu_memory_map, 20).build(),
                   ParseError::bad_memory_map_entry_size});
  cases.push_back({"entry_size 28", Multiboot2Builder{}.memory_map(qemu_memory_map, 28).build(),
                   ParseError::bad_memory_map_entry_size});
  cases.push_back({"entry_size 0", Multiboot2Builder{}.memory_map({}, 0).build(),
                   ParseError::bad_memory_map_entry_size});
  Bytes partial_entry;
  put(partial_entry, std::uint32_t{24});
  put(partial_entry, std::uint32_t{0});
  partial_entry.resize(partial_entry.size() + 24 + 16);
  cases.push_back({"memory map with a partial entry",
                   Multiboot2Builder{}.tag(6, partial_entry).build(),
                   ParseError::memory_map_not_whole_entries});
  cases.push_back({"memory map tag without entry_size",
                   Multiboot2Builder{}.tag(6, Bytes(4)).build(), ParseError::tag_too_small});

  Bytes unterminated;
  put_string(unterminated, "quiet heap=1M", false);
  cases.push_back({"command line without NUL",
                   Multiboot2Builder{}.memory_map(qemu_memory_map).tag(1, unterminated).build(),
                   ParseError::unterminated_string});
  cases.push_back({"bootloader name without NUL",
                   Multiboot2Builder{}.memory_map(qemu_memory_map).tag(2, unterminated).build(),
                   ParseError::unterminated_string});
  cases.push_back({"empty string tag", Multiboot2Builder{}.tag(1, {}).build(),
                   ParseError::unterminated_string});
  cases.push_back({"module ending before its start",
                   Multiboot2Builder{}.memory_map(qemu_memory_map).module(0x5000, 0x4000).build(),
                   ParseError::module_ends_before_start});
  cases.push_back({"module tag too short", Multiboot2Builder{}.tag(3, Bytes(4)).build(),
                   ParseError::tag_too_small});
  cases.push_back({"basic meminfo too short", Multiboot2Builder{}.tag(4, Bytes(4)).build(),
                   ParseError::tag_too_small});
  return cases;
}

TEST(Multiboot2, MalformedBlocksGiveTheMatchingError) {
  for (const MalformedCase& test : malformed_blocks()) {
    const auto boot = parse_mb2(test.block);
    ASSERT_FALSE(boot.has_value()) << test.name;
    EXPECT_EQ(boot.error(), test.expected) << test.name << ": got " << to_string(boot.error());
  }
}

TEST(Multiboot2, EveryTruncationIsAnError) {
  const Bytes block = Multiboot2Builder{}
                          .command_line("layout=de quiet")
                          .bootloader_name("GRUB")
                          .memory_map(qemu_memory_map)
                          .rsdp(true)
                          .build();
  for (std::size_t size = 0; size < block.size(); ++size) {
    Bytes cut(block.begin(), block.begin() + static_cast<std::ptrdiff_t>(size));
    // As handed over: total_size still claims the whole block.
    const auto claimed = parse_mb2(cut);
    ASSERT_FALSE(claimed.has_value()) << size;
    EXPECT_EQ(claimed.error(),
              size < 8 ? ParseError::block_too_small : ParseError::block_exceeds_buffer);
    // A total_size that agrees with the cut: the end tag is gone, so this must fail too.
    if (size >= 4) poke(cut, 0, static_cast<std::uint32_t>(size));
    const auto consistent = parse_mb2(cut);
    EXPECT_FALSE(consistent.has_value()) << size;
  }
}

// Random damage to a valid block: whatever the outcome, no read may leave the buffer (ASan
// watches), and a block that still parses must give a normalised map.
TEST(Multiboot2, RandomCorruptionNeverReadsOutOfBounds) {
  const Bytes valid = Multiboot2Builder{}
                          .command_line("layout=de quiet")
                          .bootloader_name("GRUB")
                          .module(0x200000, 0x201000)
                          .memory_map(qemu_memory_map)
                          .framebuffer(0xFD000000, 4096, 1024, 768, 32, 1, Bytes(6))
                          .rsdp(false)
                          .build();
  std::mt19937 random(2024);
  int parsed = 0;
  for (int round = 0; round < 5000; ++round) {
    Bytes damaged = valid;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int f = 0; f < flips; ++f) {
      // Keep total_size mostly sane so the damage reaches the tags.
      const std::size_t at = 4 + random() % (damaged.size() - 4);
      damaged[at] = static_cast<std::byte>(random());
    }
    const auto boot = parse_mb2(damaged);
    if (boot.has_value()) {
      ++parsed;
      expect_normalised(*boot);
      EXPECT_LE(boot->command_line().size(), BootInfo::max_command_line);
    }
  }
  EXPECT_GT(parsed, 0) << "some damage (e.g. in memory-map lengths) must leave a valid block";
}

TEST(Multiboot2, ReadsThroughAPhysicalReader) {
  const Bytes block = Multiboot2Builder{}.command_line("quiet").memory_map(qemu_memory_map).build();
  FakePhysicalMemory memory;
  memory.place(0x10000, block);
  const auto boot = parse_multiboot2(memory, 0x10000);
  ASSERT_TRUE(boot.has_value()) << to_string(boot.error());
  EXPECT_EQ(boot->command_line(), "quiet");
  EXPECT_EQ(boot->info_block(), (PhysicalRange{0x10000, block.size()}));

  const auto nowhere = parse_multiboot2(memory, 0x90000);
  ASSERT_FALSE(nowhere.has_value());
  EXPECT_EQ(nowhere.error(), ParseError::info_block_out_of_range);

  Bytes claims_more = block;
  poke(claims_more, 0, static_cast<std::uint32_t>(block.size() + 64));
  memory.place(0x20000, claims_more);
  const auto overlong = parse_multiboot2(memory, 0x20000);
  ASSERT_FALSE(overlong.has_value());
  EXPECT_EQ(overlong.error(), ParseError::info_block_out_of_range);
}

// ---------------------------------------------------------------------------------------------
// PVH.

TEST(Pvh, ParsesAQemuLikeStartInfo) {
  PvhFixture pvh;
  Bytes command_line;
  put_string(command_line, "allocator=linked_list test=heap");
  pvh.memory.place(cmdline_phys, command_line);
  pvh.info.cmdline_paddr = cmdline_phys;
  pvh.info.rsdp_paddr = 0xF52E0;
  Bytes modules;
  for (const std::uint64_t value : {0x400000ull, 0x12345ull, 0ull, 0ull}) put(modules, value);
  pvh.memory.place(modlist_phys, modules);
  pvh.info.modlist_paddr = modlist_phys;
  pvh.info.nr_modules = 1;

  const auto boot = pvh.parse();
  ASSERT_TRUE(boot.has_value()) << to_string(boot.error());
  EXPECT_EQ(boot->protocol(), Protocol::pvh);
  EXPECT_EQ(boot->command_line(), "allocator=linked_list test=heap");
  EXPECT_EQ(boot->bootloader_name(), "");
  EXPECT_EQ(boot->rsdp(), 0xF52E0u);
  EXPECT_FALSE(boot->framebuffer().has_value());
  ASSERT_EQ(boot->modules().size(), 1u);
  EXPECT_EQ(boot->modules()[0], (Module{0x400000, 0x400000 + 0x12345}));
  EXPECT_EQ(boot->memory_map().size(), qemu_memory_map.size());
  EXPECT_EQ(boot->memory_map()[3], (MemoryRegion{0x100000, 0x7EE0000, Type::usable}));
  EXPECT_EQ(boot->info_block(), (PhysicalRange{start_info_phys, 56}));
  EXPECT_FALSE(boot->diagnostics().any());
}

TEST(Pvh, AbsentOptionalFieldsStayAbsent) {
  PvhFixture pvh;
  const auto boot = pvh.parse();
  ASSERT_TRUE(boot.has_value()) << to_string(boot.error());
  EXPECT_EQ(boot->command_line(), "");
  EXPECT_FALSE(boot->rsdp().has_value());
  EXPECT_TRUE(boot->modules().empty());
}

TEST(Pvh, NewerVersionsAreAccepted) {
  PvhFixture pvh;
  pvh.info.version = 2;  // "New versions are guaranteed to be backwards-compatible."
  EXPECT_TRUE(pvh.parse().has_value());
}

TEST(Pvh, OverlappingMemoryMapIsNormalisedAndReported) {
  PvhFixture pvh;
  const std::vector<RawRegion> overlapping = {
      {0x0, 0x100000, 1}, {0xF0000, 0x10000, 2}, {0x100000, 0x100000, 1}, {0x180000, 0x1000, 9}};
  pvh.memory.place(memmap_phys, pvh_memmap(overlapping));
  pvh.info.memmap_entries = static_cast<std::uint32_t>(overlapping.size());
  const auto boot = pvh.parse();
  ASSERT_TRUE(boot.has_value()) << to_string(boot.error());
  EXPECT_EQ(regions_of(*boot), (std::vector<MemoryRegion>{{0x0, 0xF0000, Type::usable},
                                                          {0xF0000, 0x10000, Type::reserved},
                                                          {0x100000, 0x80000, Type::usable},
                                                          {0x180000, 0x1000, Type::reserved},
                                                          {0x181000, 0x7F000, Type::usable}}));
  EXPECT_EQ(boot->diagnostics().overlapping_regions, 2);
  EXPECT_EQ(boot->diagnostics().unknown_region_types, 1);
}

TEST(Pvh, BadHeaderIsRejected) {
  PvhFixture wrong_magic;
  wrong_magic.info.magic = 0x336ec579;
  ASSERT_FALSE(wrong_magic.parse().has_value());
  EXPECT_EQ(wrong_magic.parse().error(), ParseError::bad_pvh_magic);

  PvhFixture version_zero;
  version_zero.info.version = 0;
  ASSERT_FALSE(version_zero.parse().has_value());
  EXPECT_EQ(version_zero.parse().error(), ParseError::unsupported_pvh_version);
}

TEST(Pvh, StartInfoOutsideReadableMemory) {
  FakePhysicalMemory memory;
  const auto nothing = parse_pvh(memory, start_info_phys);
  ASSERT_FALSE(nothing.has_value());
  EXPECT_EQ(nothing.error(), ParseError::info_block_out_of_range);

  // Only the version-0 part (40 bytes) is readable: the version-1 fields are not.
  Bytes header_only = StartInfo{}.bytes();
  header_only.resize(40);
  memory.place(start_info_phys, header_only);
  const auto cut = parse_pvh(memory, start_info_phys);
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error(), ParseError::info_block_out_of_range);
}

TEST(Pvh, MemoryMapProblems) {
  PvhFixture no_map;
  no_map.info.memmap_entries = 0;
  ASSERT_FALSE(no_map.parse().has_value());
  EXPECT_EQ(no_map.parse().error(), ParseError::missing_memory_map);

  PvhFixture null_map;
  null_map.info.memmap_paddr = 0;
  EXPECT_EQ(null_map.parse().error(), ParseError::missing_memory_map);

  PvhFixture unmapped;
  unmapped.info.memmap_paddr = 0x123000;
  EXPECT_EQ(unmapped.parse().error(), ParseError::memory_map_out_of_range);

  PvhFixture too_many_entries;
  too_many_entries.info.memmap_entries += 1;  // one entry past the table
  EXPECT_EQ(too_many_entries.parse().error(), ParseError::memory_map_out_of_range);

  PvhFixture absurd_count;
  absurd_count.info.memmap_entries = 0xFFFFFFFF;
  EXPECT_EQ(absurd_count.parse().error(), ParseError::memory_map_out_of_range);
  EXPECT_LT(absurd_count.memory.reads, 10u) << "the table is read at once, not entry by entry";

  PvhFixture all_empty;
  all_empty.memory.place(memmap_phys, pvh_memmap({{0x1000, 0, 1}}));
  all_empty.info.memmap_entries = 1;
  EXPECT_EQ(all_empty.parse().error(), ParseError::missing_memory_map);
}

TEST(Pvh, CommandLineProblems) {
  PvhFixture unmapped;
  unmapped.info.cmdline_paddr = 0x55000;
  ASSERT_FALSE(unmapped.parse().has_value());
  EXPECT_EQ(unmapped.parse().error(), ParseError::command_line_out_of_range);

  PvhFixture runs_off_the_end;  // no NUL before readable memory ends
  Bytes no_nul;
  put_string(no_nul, "quiet", false);
  runs_off_the_end.memory.place(cmdline_phys, no_nul);
  runs_off_the_end.info.cmdline_paddr = cmdline_phys;
  EXPECT_EQ(runs_off_the_end.parse().error(), ParseError::command_line_out_of_range);

  PvhFixture garbage;  // readable, but no NUL for many kilobytes
  garbage.memory.place(cmdline_phys, Bytes(64 * KiB, std::byte{'a'}));
  garbage.info.cmdline_paddr = cmdline_phys;
  EXPECT_EQ(garbage.parse().error(), ParseError::unterminated_string);

  PvhFixture at_the_top;  // reading on would wrap around to address 0, which holds a NUL
  at_the_top.info.cmdline_paddr = std::numeric_limits<std::uint64_t>::max() - 2;
  at_the_top.memory.place(at_the_top.info.cmdline_paddr, Bytes(3, std::byte{'a'}));
  at_the_top.memory.place(0, Bytes(16, std::byte{0}));
  EXPECT_EQ(at_the_top.parse().error(), ParseError::command_line_out_of_range);
}

// A QEMU-like start info whose command line is `length` characters of "key=value key=value ...".
std::expected<BootInfo, ParseError> parse_pvh_with_long_command_line(std::size_t length, std::string& text) {
  while (text.size() < length) text += "key=value ";
  text.resize(length);
  PvhFixture pvh;
  Bytes bytes;
  put_string(bytes, text);
  pvh.memory.place(cmdline_phys, bytes);
  pvh.info.cmdline_paddr = cmdline_phys;
  return pvh.parse();
}

TEST(Pvh, LongCommandLineIsTruncatedLikeMultiboot2) {
  std::string text;
  const auto boot = parse_pvh_with_long_command_line(2000, text);
  ASSERT_TRUE(boot.has_value()) << to_string(boot.error());
  EXPECT_TRUE(boot->diagnostics().command_line_truncated);
  EXPECT_TRUE(boot->command_line().ends_with("key=value")) << boot->command_line();
  EXPECT_LE(boot->command_line().size(), BootInfo::max_command_line);

  const auto via_multiboot2 =
      parse_mb2(Multiboot2Builder{}.command_line(text).memory_map(qemu_memory_map).build());
  ASSERT_TRUE(via_multiboot2.has_value());
  EXPECT_EQ(via_multiboot2->command_line(), boot->command_line());
}

// Issue 9, bug 10: exactly 4096 characters (QEMU's longest) panicked on a "missing" NUL.
TEST(Pvh, CommandLineOfTheLongestLengthQemuPassesIsTruncated) {
  for (const std::size_t length : {4095u, 4096u}) {
    std::string text;
    const auto boot = parse_pvh_with_long_command_line(length, text);
    ASSERT_TRUE(boot.has_value()) << length << ": " << to_string(boot.error());
    EXPECT_TRUE(boot->diagnostics().command_line_truncated);
    EXPECT_LE(boot->command_line().size(), BootInfo::max_command_line);
  }
}

TEST(Pvh, ModuleProblems) {
  PvhFixture unmapped;
  unmapped.info.nr_modules = 1;
  unmapped.info.modlist_paddr = 0x77000;
  ASSERT_FALSE(unmapped.parse().has_value());
  EXPECT_EQ(unmapped.parse().error(), ParseError::module_list_out_of_range);

  PvhFixture wrapping;
  Bytes module;
  for (const std::uint64_t value : {0xFFFF'FFFF'FFFF'F000ull, 0x2000ull, 0ull, 0ull}) {
    put(module, value);
  }
  wrapping.memory.place(modlist_phys, module);
  wrapping.info.nr_modules = 1;
  wrapping.info.modlist_paddr = modlist_phys;
  EXPECT_EQ(wrapping.parse().error(), ParseError::module_ends_before_start);

  PvhFixture many;
  Bytes list;
  const std::uint32_t count = BootInfo::max_modules + 2;
  for (std::uint64_t i = 0; i < count; ++i) {
    for (const std::uint64_t value : {0x1000000 + i * 0x10000, std::uint64_t{0x800}, 0ul, 0ul}) {
      put(list, value);
    }
  }
  many.memory.place(modlist_phys, list);
  many.info.nr_modules = count;
  many.info.modlist_paddr = modlist_phys;
  const auto boot = many.parse();
  ASSERT_TRUE(boot.has_value()) << to_string(boot.error());
  EXPECT_EQ(boot->modules().size(), BootInfo::max_modules);
  EXPECT_EQ(boot->modules()[1], (Module{0x1010000, 0x1010800}));
  EXPECT_EQ(boot->diagnostics().dropped_modules, 2);
}

// ---------------------------------------------------------------------------------------------
// Mutation fuzzing: whatever the bootloader hands over, a BootInfo that comes out keeps its
// promises (boot_info.h), and the same bytes always give the same BootInfo.

// The promises of any BootInfo a parser returns.
void expect_boot_info_contract(const BootInfo& boot) {
  expect_normalised(boot);
  EXPECT_LE(boot.memory_map().size(), BootInfo::max_memory_regions);
  EXPECT_FALSE(boot.memory_map().empty()) << "a BootInfo without memory";
  for (const MemoryRegion& region : boot.memory_map()) {
    EXPECT_GE(region.end(), region.base) << "region wraps around";
  }
  EXPECT_LE(boot.command_line().size(), BootInfo::max_command_line);
  EXPECT_LE(boot.bootloader_name().size(), BootInfo::max_bootloader_name);
  EXPECT_EQ(boot.command_line().find('\0'), std::string_view::npos);
  EXPECT_EQ(boot.bootloader_name().find('\0'), std::string_view::npos);
  if (boot.diagnostics().command_line_truncated) {
    EXPECT_FALSE(boot.command_line().ends_with(' ')) << "cut in the middle of its spaces";
  }
  EXPECT_LE(boot.modules().size(), BootInfo::max_modules);
  for (const Module& module : boot.modules()) EXPECT_LE(module.start, module.end);
  if (boot.framebuffer()) {
    const auto kind = boot.framebuffer()->kind;
    EXPECT_TRUE(kind == Framebuffer::Kind::indexed || kind == Framebuffer::Kind::rgb ||
                kind == Framebuffer::Kind::ega_text);
  }
}

// Two parses of the same bytes give the same BootInfo.
void expect_same_boot_info(const BootInfo& a, const BootInfo& b) {
  EXPECT_EQ(regions_of(a), regions_of(b));
  EXPECT_EQ(a.command_line(), b.command_line());
  EXPECT_EQ(a.bootloader_name(), b.bootloader_name());
  EXPECT_TRUE(std::ranges::equal(a.modules(), b.modules()));
  EXPECT_EQ(a.framebuffer(), b.framebuffer());
  EXPECT_EQ(a.rsdp(), b.rsdp());
  EXPECT_EQ(a.info_block(), b.info_block());
  EXPECT_EQ(a.diagnostics().overlapping_regions, b.diagnostics().overlapping_regions);
  EXPECT_EQ(a.diagnostics().dropped_modules, b.diagnostics().dropped_modules);
  EXPECT_EQ(a.diagnostics().command_line_truncated, b.diagnostics().command_line_truncated);
}

void expect_known_error(ParseError error) {
  EXPECT_NE(to_string(error), "unknown boot information error");
}

void check_multiboot2_contract(const Bytes& block) {
  constexpr std::uint64_t phys = 0x10000;
  const auto boot = parse_mb2(block, phys);
  const auto again = parse_mb2(block, phys);
  ASSERT_EQ(boot.has_value(), again.has_value()) << "not deterministic";
  // The same bytes read through a PhysicalReader give the same answer, when they are readable.
  FakePhysicalMemory memory;
  memory.place(phys, block);
  const auto through_reader = parse_multiboot2(memory, phys);
  if (!boot) {
    expect_known_error(boot.error());
    EXPECT_EQ(boot.error(), again.error());
    if (through_reader) ADD_FAILURE() << "the reader accepted what the span refused";
    return;
  }
  expect_boot_info_contract(*boot);
  expect_same_boot_info(*boot, *again);
  ASSERT_TRUE(through_reader.has_value()) << to_string(through_reader.error());
  expect_same_boot_info(*boot, *through_reader);
  // The information block is the bytes total_size says, inside what the bootloader gave.
  std::uint32_t total_size = 0;
  std::memcpy(&total_size, block.data(), 4);
  EXPECT_EQ(boot->info_block(), (PhysicalRange{phys, total_size}));
  EXPECT_LE(total_size, block.size());
  // GRUB's RSDP copy lies inside the block: a tag body after the fixed part, 20 bytes or more.
  if (boot->rsdp()) {
    EXPECT_GE(*boot->rsdp(), phys + 16);
    EXPECT_LE(*boot->rsdp() + 20, phys + total_size);
  }
}

Bytes rich_multiboot2_block() {
  return Multiboot2Builder{}
      .command_line("layout=de quiet heap=256K")
      .bootloader_name("GRUB 2.06")
      .module(0x200000, 0x201000, "initramfs")
      .basic_meminfo(639, 129920)
      .memory_map(qemu_memory_map)
      .framebuffer(0xFD000000, 4096, 1024, 768, 32, 1, Bytes(6))
      .rsdp(false)
      .rsdp(true)
      .build();
}

TEST(BootInfoFuzz, MutatedMultiboot2BlocksKeepTheContract) {
  const std::vector<Bytes> samples = {
      rich_multiboot2_block(),
      Multiboot2Builder{}.basic_meminfo(639, 129920).command_line("x").build(),  // no memory map
  };
  std::size_t accepted = 0;
  const std::uint64_t runs =
      ferrite::testing::fuzz("Multiboot2Fuzz", 20261130, 50000, [&](auto& mutator, std::uint64_t) {
        Bytes block = mutator.mutate(samples[mutator.below(samples.size())]);
        // Mostly keep total_size true to the (changed) length, so the damage reaches the tags.
        if (block.size() >= 4 && !mutator.chance(4))
          poke(block, 0, static_cast<std::uint32_t>(block.size()));
        check_multiboot2_contract(block);
        accepted += parse_mb2(block).has_value();
      });
  ferrite::testing::report_accepted("Multiboot2 blocks", accepted, runs, 50000, 1000);
}

TEST(BootInfoFuzz, EverySystematicMutationOfAMultiboot2BlockKeepsTheContract) {
  ferrite::testing::for_each_systematic_mutation("Multiboot2Systematic", rich_multiboot2_block(),
                                                 check_multiboot2_contract);
}

// PVH: the start info and what it points to (memory map, command line, module list), each in
// its own exactly sized piece of fake physical memory; one piece is damaged per case.
struct PvhPieces {
  Bytes start_info, memmap, command_line, modules;
};

std::expected<BootInfo, ParseError> parse_pvh_pieces(const PvhPieces& pieces) {
  FakePhysicalMemory memory;
  memory.place(start_info_phys, pieces.start_info);
  memory.place(memmap_phys, pieces.memmap);
  memory.place(cmdline_phys, pieces.command_line);
  memory.place(modlist_phys, pieces.modules);
  return parse_pvh(memory, start_info_phys);
}

void check_pvh_contract(const PvhPieces& pieces) {
  const auto boot = parse_pvh_pieces(pieces);
  const auto again = parse_pvh_pieces(pieces);
  ASSERT_EQ(boot.has_value(), again.has_value()) << "not deterministic";
  if (!boot) {
    expect_known_error(boot.error());
    EXPECT_EQ(boot.error(), again.error());
    return;
  }
  expect_boot_info_contract(*boot);
  expect_same_boot_info(*boot, *again);
  EXPECT_EQ(boot->info_block(), (PhysicalRange{start_info_phys, 56}));
}

PvhPieces qemu_like_pvh() {
  PvhPieces pieces;
  StartInfo info;
  info.memmap_paddr = memmap_phys;
  info.memmap_entries = static_cast<std::uint32_t>(qemu_memory_map.size());
  info.cmdline_paddr = cmdline_phys;
  info.nr_modules = 2;
  info.modlist_paddr = modlist_phys;
  info.rsdp_paddr = 0xF5A00;
  pieces.start_info = info.bytes();
  pieces.memmap = pvh_memmap(qemu_memory_map);
  put_string(pieces.command_line, "console=ttyS0 layout=us heap=1M");
  for (const std::uint64_t value :
       {0x1000000ull, 0x8000ull, 0ull, 0ull, 0x2000000ull, 0x10ull, 0ull, 0ull}) {
    put(pieces.modules, value);
  }
  return pieces;
}

TEST(BootInfoFuzz, MutatedPvhStartInfoKeepsTheContract) {
  const PvhPieces valid = qemu_like_pvh();
  ASSERT_TRUE(parse_pvh_pieces(valid).has_value());
  std::size_t accepted = 0;
  const std::uint64_t runs =
      ferrite::testing::fuzz("PvhFuzz", 20261130, 50000, [&](auto& mutator, std::uint64_t) {
        PvhPieces pieces = valid;
        Bytes* damaged[] = {&pieces.start_info, &pieces.memmap, &pieces.command_line,
                            &pieces.modules};
        Bytes& piece = *damaged[mutator.below(std::size(damaged))];
        piece = mutator.mutate(piece);
        check_pvh_contract(pieces);
        accepted += parse_pvh_pieces(pieces).has_value();
      });
  ferrite::testing::report_accepted("PVH start infos", accepted, runs, 50000, 1000);
}

TEST(BootInfoFuzz, EverySystematicMutationOfThePvhStartInfoKeepsTheContract) {
  const PvhPieces valid = qemu_like_pvh();
  ferrite::testing::for_each_systematic_mutation("PvhSystematic", valid.start_info,
                                                 [&](const Bytes& start_info) {
                                                   PvhPieces pieces = valid;
                                                   pieces.start_info = start_info;
                                                   check_pvh_contract(pieces);
                                                 });
}

}  // namespace
}  // namespace ferrite::boot
