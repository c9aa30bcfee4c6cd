// Host tests for the paging code (chapters 8-9): address types, pages and frames, the entry format,
// and the mapper walking real page tables that live in a buffer standing in for physical memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "lib/format.h"
#include "mm/address.h"
#include "mm/frame_allocator.h"
#include "mm/mapper.h"
#include "mm/page.h"
#include "mm/page_table.h"
#include "mm/physical_map.h"
#include "mm/physical_memory.h"

namespace ferrite::mm {

// Readable gtest failure messages (found by argument-dependent lookup, so not in the anonymous
// namespace).
void PrintTo(VirtAddr address, std::ostream* out) {
  *out << "VirtAddr " << std::hex << address.value();
}
void PrintTo(PhysAddr address, std::ostream* out) {
  *out << "PhysAddr " << std::hex << address.value();
}
void PrintTo(PageTableFlags flags, std::ostream* out) {
  *out << "flags " << std::hex << flags.bits();
}
void PrintTo(MapError error, std::ostream* out) {
  *out << to_string(error);
}

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;

using Flags = PageTableFlags;

// The error of a failed result, or nothing if it succeeded (reading .error() of a success is UB).
template <class T>
std::optional<MapError> error_of(const std::expected<T, MapError>& result) {
  if (result.has_value()) return std::nullopt;
  return result.error();
}

// ---------------------------------------------------------------------------------------------
// Addresses

TEST(VirtAddr, CanonicalFormIsBit47CopiedUpwards) {
  EXPECT_TRUE(VirtAddr::try_from(0).has_value());
  EXPECT_TRUE(VirtAddr::try_from(0x0000'7fff'ffff'ffff).has_value());   // top of the lower half
  EXPECT_FALSE(VirtAddr::try_from(0x0000'8000'0000'0000).has_value());  // first address of the hole
  EXPECT_FALSE(VirtAddr::try_from(0xffff'7fff'ffff'ffff).has_value());  // last address of the hole
  EXPECT_TRUE(VirtAddr::try_from(0xffff'8000'0000'0000).has_value());   // bottom of the higher half
  EXPECT_TRUE(VirtAddr::try_from(0xffff'ffff'ffff'ffff).has_value());
  EXPECT_FALSE(VirtAddr::try_from(0x0001'0000'0000'0000).has_value());  // one stray high bit
  EXPECT_FALSE(VirtAddr::try_from(0x8000'0000'0000'0000).has_value());
  EXPECT_EQ(VirtAddr::try_from(0x1234'5678)->value(), 0x1234'5678u);
}

TEST(VirtAddr, SignExtensionMakesAnyValueCanonical) {
  EXPECT_EQ(VirtAddr::sign_extended(0x0000'8000'0000'0000).value(), 0xffff'8000'0000'0000u);
  EXPECT_EQ(VirtAddr::sign_extended(0x0000'7fff'ffff'f000).value(), 0x0000'7fff'ffff'f000u);
  EXPECT_EQ(VirtAddr::sign_extended(0x1234'0000'0000'1000).value(), 0x1000u);  // bits 48+ dropped
}

TEST(VirtAddrDeathTest, UncheckedConstructionOfANonCanonicalValuePanics) {
  EXPECT_DEATH(VirtAddr(0x0000'8000'0000'0000), "is_canonical");
}

TEST(VirtAddrDeathTest, ArithmeticIntoTheHolePanics) {
  const VirtAddr top_of_lower_half(0x0000'7fff'ffff'f000);
  EXPECT_DEATH((void)(top_of_lower_half + 0x1000), "is_canonical");
  EXPECT_DEATH((void)(VirtAddr(0x1000) - 0x2000), "assertion failed");
}

TEST(VirtAddr, SplitsIntoFourTableIndicesAndAnOffset) {
  // Built from known parts, so each field can be checked separately.
  const std::uint64_t p4 = 0x1a3, p3 = 0x0f2, p2 = 0x1ff, p1 = 0x001, offset = 0xabc;
  const VirtAddr address =
      VirtAddr::sign_extended(p4 << 39 | p3 << 30 | p2 << 21 | p1 << 12 | offset);
  EXPECT_EQ(address.p4_index(), p4);
  EXPECT_EQ(address.p3_index(), p3);
  EXPECT_EQ(address.p2_index(), p2);
  EXPECT_EQ(address.p1_index(), p1);
  EXPECT_EQ(address.page_offset(), offset);
  EXPECT_EQ(address.table_index(4), p4);
  EXPECT_EQ(address.table_index(1), p1);
  EXPECT_GE(address.value(), 0xffff'8000'0000'0000u);  // p4 >= 256 is the higher half
}

TEST(VirtAddr, AlignmentAndTypedArithmetic) {
  const VirtAddr address(0x12'3456);
  EXPECT_EQ(address.align_down(4 * KiB).value(), 0x12'3000u);
  EXPECT_EQ(address.align_up(4 * KiB).value(), 0x12'4000u);
  EXPECT_EQ(address.align_up(2 * MiB).value(), 0x20'0000u);
  EXPECT_TRUE(VirtAddr(0x20'0000).is_aligned(2 * MiB));
  EXPECT_FALSE(address.is_aligned(16));
  EXPECT_EQ((address + 0x10).value(), 0x12'3466u);
  EXPECT_EQ(VirtAddr(0x5000) - VirtAddr(0x3000), 0x2000u);
  EXPECT_LT(VirtAddr(0x1000), VirtAddr(0xffff'8000'0000'0000));
  EXPECT_EQ(VirtAddr::from_pointer(&address).as_pointer<const VirtAddr>(), &address);
}

TEST(AddressDeathTest, AlignmentMustBeAPowerOfTwo) {
  EXPECT_DEATH((void)VirtAddr(0x1000).align_down(3), "is_power_of_two");
  EXPECT_DEATH((void)PhysAddr(0x1000).align_up(0), "is_power_of_two");
}

TEST(PhysAddr, HoldsAtMost52Bits) {
  EXPECT_TRUE(PhysAddr::try_from(0x000f'ffff'ffff'ffff).has_value());
  EXPECT_FALSE(PhysAddr::try_from(0x0010'0000'0000'0000).has_value());
  EXPECT_EQ(PhysAddr(0x1234).align_down(0x1000), PhysAddr(0x1000));
  EXPECT_EQ(PhysAddr(0x1234).align_up(0x1000), PhysAddr(0x2000));
  EXPECT_EQ(PhysAddr(0x3000) - PhysAddr(0x1000), 0x2000u);
  EXPECT_EQ(PhysAddr(0x3000) + 0x10, PhysAddr(0x3010));
}

TEST(PhysAddrDeathTest, ValuesBeyond52BitsPanic) {
  EXPECT_DEATH(PhysAddr(0x0010'0000'0000'0000), "kLimit");
  EXPECT_DEATH((void)(PhysAddr(0x000f'ffff'ffff'f000) + 0x1000), "assertion failed");
}

// Formats with ferrite::fmt into a std::string.
template <class... Args>
std::string formatted(fmt::FormatStringFor<Args...> format, const Args&... args) {
  char buffer[256];
  const std::size_t length = fmt::format_to_buffer(buffer, format, args...);
  EXPECT_LT(length, sizeof buffer);
  return std::string(buffer, length);
}

TEST(AddressFormatting, HexByDefaultAnyIntegerSpecOnRequest) {
  EXPECT_EQ(formatted("{}", PhysAddr(0xb8000)), "0xb8000");
  EXPECT_EQ(formatted("{}", VirtAddr(0xffff'8000'0000'1000)), "0xffff800000001000");
  EXPECT_EQ(formatted("{:#018x}", PhysAddr(0x1000)), "0x0000000000001000");
  EXPECT_EQ(formatted("{:d}", VirtAddr(4096)), "4096");
  EXPECT_FALSE((fmt::is_valid_format<PhysAddr>("{:s}")));  // caught at compile time in real code
}

// ---------------------------------------------------------------------------------------------
// Pages and frames

TEST(Page, ContainingRoundsDownStartingAtRequiresAlignment) {
  const VirtAddr address(0x4020'1234);
  EXPECT_EQ(Page4KiB::containing(address).start().value(), 0x4020'1000u);
  EXPECT_EQ(Page2MiB::containing(address).start().value(), 0x4020'0000u);
  EXPECT_EQ(Page1GiB::containing(address).start().value(), 0x4000'0000u);
  EXPECT_FALSE(Page4KiB::starting_at(address).has_value());
  EXPECT_FALSE(Page2MiB::starting_at(VirtAddr(0x4020'1000)).has_value());
  ASSERT_TRUE(Page2MiB::starting_at(VirtAddr(0x4020'0000)).has_value());
  EXPECT_EQ(Page2MiB::starting_at(VirtAddr(0x4020'0000))->start().value(), 0x4020'0000u);
  EXPECT_EQ(Frame1GiB::containing(PhysAddr(0x7fff'ffff)).start(), PhysAddr(0x4000'0000));
  EXPECT_FALSE(Frame2MiB::starting_at(PhysAddr(0x1000)).has_value());
  EXPECT_EQ(Frame4KiB::starting_at(PhysAddr(0x1000))->start(), PhysAddr(0x1000));
}

TEST(Page, RangesIterateEveryPageOnce) {
  const Page4KiB first = Page4KiB::containing(VirtAddr(0x10'0000));
  const auto range = Page4KiB::range(first, first + 5);
  EXPECT_EQ(range.size(), 5u);
  std::vector<std::uint64_t> starts;
  for (Page4KiB page : range) starts.push_back(page.start().value());
  EXPECT_EQ(starts,
            (std::vector<std::uint64_t>{0x10'0000, 0x10'1000, 0x10'2000, 0x10'3000, 0x10'4000}));
  EXPECT_TRUE(range.contains(first + 4));
  EXPECT_FALSE(range.contains(first + 5));
  EXPECT_TRUE(Page4KiB::range(first, first).empty());

  const Frame2MiB frame = Frame2MiB::containing(PhysAddr(0));
  std::uint64_t count = 0;
  for (Frame2MiB f : Frame2MiB::range(frame, frame + 3)) {
    EXPECT_EQ(f.start().value(), count++ * 2 * MiB);
  }
  EXPECT_EQ(count, 3u);
}

TEST(PageDeathTest, MovingPastTheLowerHalfPanics) {
  const Page4KiB last = Page4KiB::containing(VirtAddr(0x0000'7fff'ffff'f000));
  EXPECT_DEATH((void)(last + 1), "is_canonical");
}

TEST(PageSize, BytesAndNames) {
  EXPECT_EQ(bytes(PageSize::size_4kib), 4 * KiB);
  EXPECT_EQ(bytes(PageSize::size_2mib), 2 * MiB);
  EXPECT_EQ(bytes(PageSize::size_1gib), 1 * GiB);
  EXPECT_EQ(to_string(PageSize::size_2mib), "2 MiB");
}

// ---------------------------------------------------------------------------------------------
// Entry format

TEST(PageTableFlags, BitPositionsFollowTheIntelManual) {
  // Intel SDM Vol. 3A 4.5, table "Format of a Page-Table Entry that Maps a 4-KByte Page".
  EXPECT_EQ(Flags::present.bits(), 1u << 0);
  EXPECT_EQ(Flags::writable.bits(), 1u << 1);
  EXPECT_EQ(Flags::user.bits(), 1u << 2);
  EXPECT_EQ(Flags::write_through.bits(), 1u << 3);
  EXPECT_EQ(Flags::cache_disable.bits(), 1u << 4);
  EXPECT_EQ(Flags::accessed.bits(), 1u << 5);
  EXPECT_EQ(Flags::dirty.bits(), 1u << 6);
  EXPECT_EQ(Flags::huge.bits(), 1u << 7);
  EXPECT_EQ(Flags::global.bits(), 1u << 8);
  EXPECT_EQ(Flags::no_execute.bits(), std::uint64_t{1} << 63);
}

TEST(PageTableFlags, SetOperations) {
  const Flags kernel_data = Flags::present | Flags::writable | Flags::no_execute;
  EXPECT_TRUE(kernel_data.contains(Flags::writable));
  EXPECT_TRUE(kernel_data.contains(Flags::present | Flags::no_execute));
  EXPECT_FALSE(kernel_data.contains(Flags::writable | Flags::user));
  EXPECT_EQ(kernel_data.without(Flags::writable), Flags::present | Flags::no_execute);
  EXPECT_EQ(kernel_data & Flags::writable, Flags::writable);
  EXPECT_TRUE((kernel_data & Flags::user).empty());
  EXPECT_TRUE(Flags{}.empty());
  Flags flags;
  flags |= Flags::global;
  EXPECT_EQ(flags, Flags::global);
}

TEST(PageTableFlags, PrintByName) {
  EXPECT_EQ(formatted("{}", Flags::present | Flags::writable | Flags::no_execute),
            "present | writable | no_execute");
  EXPECT_EQ(formatted("{}", Flags{}), "(none)");
  EXPECT_EQ(formatted("[{:<12}]", Flags::huge), "[huge        ]");
  EXPECT_EQ(formatted("{}", Flags::user | Flags::from_bits(std::uint64_t{1} << 9)), "user | 0x200");
  EXPECT_EQ(formatted("{}", Flags::from_bits(~PageTableEntry::kAddressMask)),
            "present | writable | user | write_through | cache_disable | accessed | dirty | huge "
            "| global | no_execute | 0x7ff0000000000e00");
}

TEST(PageTableEntry, KeepsAddressAndFlagsApart) {
  PageTableEntry entry;
  EXPECT_TRUE(entry.is_unused());
  EXPECT_FALSE(entry.is_present());
  const PhysAddr address(0x000f'ffff'ffff'f000);  // the highest 52-bit frame
  const Flags flags = Flags::present | Flags::writable | Flags::no_execute;
  entry.set(address, flags);
  EXPECT_EQ(entry.raw(), address.value() | flags.bits());
  EXPECT_EQ(entry.address(), address);
  EXPECT_EQ(entry.flags(), flags);
  EXPECT_TRUE(entry.is_present());

  entry.set_flags(Flags::present | Flags::user);
  EXPECT_EQ(entry.address(), address);
  EXPECT_EQ(entry.flags(), Flags::present | Flags::user);
  entry.clear();
  EXPECT_TRUE(entry.is_unused());
}

TEST(PageTableEntry, OsAvailableBitsAreFlagsNotAddress) {
  PageTableEntry entry;
  const Flags os_bits = Flags::from_bits(std::uint64_t{1} << 9 | std::uint64_t{1} << 52);
  entry.set(PhysAddr(0x5000), Flags::present | os_bits);
  EXPECT_EQ(entry.address(), PhysAddr(0x5000));
  EXPECT_TRUE(entry.flags().contains(os_bits));
}

TEST(PageTableEntryDeathTest, UnalignedAddressPanics) {
  PageTableEntry entry;
  EXPECT_DEATH(entry.set(PhysAddr(0x1234), Flags::present), "is_aligned");
}

TEST(PageTable, Is512EntriesInOneAlignedFrame) {
  EXPECT_EQ(sizeof(PageTable), 4096u);
  EXPECT_EQ(alignof(PageTable), 4096u);
  EXPECT_EQ(PageTable::kEntryCount, 512u);
}

// ---------------------------------------------------------------------------------------------
// The mapper, over simulated physical memory

// A zeroed, 4 KiB-aligned buffer that plays the physical addresses [base, base + size).
class SimulatedPhysicalMemory {
 public:
  SimulatedPhysicalMemory(std::uint64_t base, std::uint64_t size)
      : base_(base), frames_(size / sizeof(PageTable)) {}

  std::uint64_t base() const { return base_; }
  std::uint64_t end() const { return base_ + frames_.size() * sizeof(PageTable); }
  PhysicalMemoryView view() const {
    return PhysicalMemoryView{reinterpret_cast<std::uintptr_t>(frames_.data()) - base_};
  }

 private:
  std::uint64_t base_;
  std::vector<PageTable> frames_;  // PageTable only for its size and alignment
};

// Hands out the simulated memory's frames in order, filled with garbage so that a mapper which
// forgets to zero a new table is caught. `budget` limits how many it gives before failing.
class ScriptedFrameSource final : public FrameSource {
 public:
  ScriptedFrameSource(const SimulatedPhysicalMemory& memory, std::uint64_t first)
      : memory_(memory), next_(first) {}

  std::optional<Frame4KiB> allocate_frame() override {
    if (budget == 0 || next_ >= memory_.end()) return std::nullopt;
    --budget;
    const Frame4KiB frame = *Frame4KiB::starting_at(PhysAddr(next_));
    next_ += 4096;
    std::memset(memory_.view().pointer_to(frame.start()), 0xa5, 4096);
    handed_out.push_back(frame);
    return frame;
  }

  std::uint64_t budget = UINT64_MAX;
  std::vector<Frame4KiB> handed_out;

 private:
  const SimulatedPhysicalMemory& memory_;
  std::uint64_t next_;
};

// The TLB hook: a plain function pointer, so the record is a global. Cleared by each test.
std::vector<VirtAddr> flushed_pages;
void record_flush(VirtAddr page) {
  flushed_pages.push_back(page);
}

class MapperTest : public ::testing::Test {
 protected:
  // A fake physical base that is not 0, so a mapper mixing up "physical" and "buffer offset"
  // reads the wrong memory (ASan then reports it).
  static constexpr std::uint64_t kMemoryBase = 0x8000'0000;
  static constexpr std::uint64_t kMemorySize = 16 * MiB;

  void SetUp() override { flushed_pages.clear(); }

  // The entry the CPU would use at `level` for `address` (the test's own walk, for inspection).
  const PageTableEntry& entry_at(VirtAddr address, int level) const {
    const PageTable* table = memory.view().pointer_to<PageTable>(level4.start());
    for (int current = 4; current > level; --current) {
      const PageTableEntry& entry = (*table)[address.table_index(current)];
      EXPECT_TRUE(entry.is_present()) << "no table at level " << current;
      table = memory.view().pointer_to<PageTable>(entry.address());
    }
    return (*table)[address.table_index(level)];
  }
  PageTableEntry& mutable_entry_at(VirtAddr address, int level) {
    return const_cast<PageTableEntry&>(entry_at(address, level));
  }

  SimulatedPhysicalMemory memory{kMemoryBase, kMemorySize};
  Frame4KiB level4 = *Frame4KiB::starting_at(PhysAddr(kMemoryBase));  // first frame, zeroed
  ScriptedFrameSource frames{memory, kMemoryBase + 4096};
  Mapper mapper{level4, memory.view(), record_flush};
};

const Flags kData = Flags::present | Flags::writable | Flags::no_execute;

TEST_F(MapperTest, EmptyTablesTranslateNothing) {
  EXPECT_FALSE(mapper.translate(VirtAddr(0)).has_value());
  EXPECT_FALSE(mapper.translate(VirtAddr(0xffff'ffff'8000'0000)).has_value());
}

// The kernel's half once user spaces exist (mm::init): below an existing level-4 entry a map
// still makes the tables it needs; a map that would need a new level-4 entry fails, takes no
// frame and changes nothing.
TEST_F(MapperTest, FixedLevel4EntriesAreNeverCreated) {
  const Frame4KiB frame = *Frame4KiB::starting_at(PhysAddr(0x1234'5000));
  const VirtAddr prepared(0xffff'c000'0000'0000);  // level-4 entry 384
  ASSERT_TRUE(mapper.map(Page4KiB::containing(prepared), frame, kData, frames).has_value());
  mapper.fix_level4_entries_from(256);

  const Page4KiB same_entry = Page4KiB::containing(prepared + (std::uint64_t{1} << 30));
  EXPECT_TRUE(mapper.map(same_entry, frame, kData, frames).has_value());
  EXPECT_TRUE(mapper.translate(same_entry.start()).has_value());

  const std::size_t frames_before = frames.handed_out.size();
  const Page4KiB new_entry = Page4KiB::containing(VirtAddr(0xffff'd000'0000'0000));  // entry 416
  const auto refused = mapper.map(new_entry, frame, kData, frames);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), MapError::level4_entries_fixed);
  EXPECT_EQ(frames.handed_out.size(), frames_before);
  EXPECT_FALSE(entry_at(new_entry.start(), 4).is_present());

  // The lower half is not fixed: user mappings still get their level-4 entries.
  EXPECT_TRUE(mapper.map(Page4KiB::containing(VirtAddr(0x40'0000)), frame, kData, frames).has_value());
}

TEST_F(MapperTest, Map4KiBTranslateUnmapRoundTrip) {
  const Page4KiB page = Page4KiB::containing(VirtAddr(0xdead'b000));
  const Frame4KiB frame = *Frame4KiB::starting_at(PhysAddr(0x1234'5000));
  ASSERT_TRUE(mapper.map(page, frame, kData, frames).has_value());
  EXPECT_TRUE(flushed_pages.empty()) << "mapping a not-present entry needs no TLB flush";

  const auto translation = mapper.translate(page.start() + 0xabc);
  ASSERT_TRUE(translation.has_value());
  EXPECT_EQ(translation->address, PhysAddr(0x1234'5abc));
  EXPECT_EQ(translation->page_size, PageSize::size_4kib);
  EXPECT_EQ(translation->flags, kData);
  EXPECT_FALSE(mapper.translate(page.start() + 0x1000).has_value());  // the neighbour

  const auto unmapped = mapper.unmap(page);
  ASSERT_TRUE(unmapped.has_value());
  EXPECT_EQ(*unmapped, frame);
  EXPECT_EQ(flushed_pages, std::vector<VirtAddr>{page.start()});
  EXPECT_FALSE(mapper.translate(page.start()).has_value());
  EXPECT_EQ(frames.handed_out.size(), 3u);  // level-3, level-2 and level-1 tables
}

TEST_F(MapperTest, Map2MiBTranslateUnmapRoundTrip) {
  const Page2MiB page = Page2MiB::containing(VirtAddr(0xffff'c000'0040'0000));
  const Frame2MiB frame = *Frame2MiB::starting_at(PhysAddr(0x1'0060'0000));
  ASSERT_TRUE(mapper.map(page, frame, kData, frames).has_value());
  EXPECT_EQ(frames.handed_out.size(), 2u);  // level-3 and level-2 tables only

  for (std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{0x1234}, 2 * MiB - 1}) {
    const auto translation = mapper.translate(page.start() + offset);
    ASSERT_TRUE(translation.has_value()) << offset;
    EXPECT_EQ(translation->address, frame.start() + offset);
    EXPECT_EQ(translation->page_size, PageSize::size_2mib);
    EXPECT_EQ(translation->flags, kData | Flags::huge);
  }
  EXPECT_FALSE(mapper.translate(page.start() + 2 * MiB).has_value());
  EXPECT_TRUE(entry_at(page.start(), 2).flags().contains(Flags::huge));

  const auto unmapped = mapper.unmap(page);
  ASSERT_TRUE(unmapped.has_value());
  EXPECT_EQ(*unmapped, frame);
  EXPECT_EQ(flushed_pages, std::vector<VirtAddr>{page.start()});
  EXPECT_FALSE(mapper.translate(page.start() + 0x1234).has_value());
}

TEST_F(MapperTest, Map1GiBTranslateUnmapRoundTrip) {
  const Page1GiB page = Page1GiB::containing(VirtAddr(0xffff'8000'4000'0000));
  const Frame1GiB frame = *Frame1GiB::starting_at(PhysAddr(0x3'4000'0000));
  ASSERT_TRUE(mapper.map(page, frame, Flags::present | Flags::writable, frames).has_value());
  EXPECT_EQ(frames.handed_out.size(), 1u);  // the level-3 table only

  for (std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{0x2345'6789}, GiB - 1}) {
    const auto translation = mapper.translate(page.start() + offset);
    ASSERT_TRUE(translation.has_value()) << offset;
    EXPECT_EQ(translation->address, frame.start() + offset);
    EXPECT_EQ(translation->page_size, PageSize::size_1gib);
  }
  EXPECT_FALSE(mapper.translate(page.start() + GiB).has_value());
  EXPECT_FALSE(mapper.translate(page.start() - 1).has_value());

  const auto unmapped = mapper.unmap(page);
  ASSERT_TRUE(unmapped.has_value());
  EXPECT_EQ(*unmapped, frame);
  EXPECT_EQ(flushed_pages, std::vector<VirtAddr>{page.start()});
  EXPECT_FALSE(mapper.translate(page.start()).has_value());
}

TEST_F(MapperTest, PhysicalMemoryMapWith1GiBPages) {
  // What the kernel does at boot: map physical 0..4 GiB at a fixed offset with 1 GiB pages.
  const VirtAddr offset(0xffff'8000'0000'0000);
  for (std::uint64_t i = 0; i < 4; ++i) {
    const Page1GiB page = Page1GiB::containing(offset + i * GiB);
    const Frame1GiB frame = *Frame1GiB::starting_at(PhysAddr(i * GiB));
    ASSERT_TRUE(mapper.map(page, frame, kData | Flags::global, frames).has_value());
  }
  for (std::uint64_t physical : {std::uint64_t{0}, std::uint64_t{0xb8000}, 3 * GiB + 0x1234}) {
    EXPECT_EQ(mapper.translate(offset + physical)->address, PhysAddr(physical));
  }
  EXPECT_FALSE(mapper.translate(offset + 4 * GiB).has_value());
  EXPECT_EQ(frames.handed_out.size(), 1u);
}

TEST_F(MapperTest, NeighbouringPagesShareIntermediateTables) {
  const Page4KiB first = Page4KiB::containing(VirtAddr(0x40'0000));
  ASSERT_TRUE(mapper.map(first, *Frame4KiB::starting_at(PhysAddr(0x10'0000)), kData, frames));
  ASSERT_EQ(frames.handed_out.size(), 3u);

  // Same level-1 table: no new frames.
  ASSERT_TRUE(mapper.map(first + 1, *Frame4KiB::starting_at(PhysAddr(0x20'0000)), kData, frames));
  ASSERT_TRUE(mapper.map(first + 511, *Frame4KiB::starting_at(PhysAddr(0x30'0000)), kData, frames));
  EXPECT_EQ(frames.handed_out.size(), 3u);
  // The next 2 MiB: a new level-1 table under the same level-2 table.
  ASSERT_TRUE(mapper.map(first + 512, *Frame4KiB::starting_at(PhysAddr(0x40'0000)), kData, frames));
  EXPECT_EQ(frames.handed_out.size(), 4u);
  // The next 1 GiB: new level-2 and level-1 tables under the same level-3 table.
  ASSERT_TRUE(mapper.map(Page4KiB::containing(first.start() + GiB),
                         *Frame4KiB::starting_at(PhysAddr(0x50'0000)), kData, frames));
  EXPECT_EQ(frames.handed_out.size(), 6u);

  EXPECT_EQ(entry_at(first.start(), 2).address(), entry_at((first + 1).start(), 2).address());
  EXPECT_EQ(mapper.translate((first + 1).start())->address, PhysAddr(0x20'0000));
  EXPECT_EQ(mapper.translate((first + 511).start())->address, PhysAddr(0x30'0000));
  EXPECT_EQ(mapper.translate((first + 512).start())->address, PhysAddr(0x40'0000));
}

TEST_F(MapperTest, NewTablesAreZeroedAndLinkedPermissively) {
  const Page4KiB page = Page4KiB::containing(VirtAddr(0x1234'5000));
  ASSERT_TRUE(mapper.map(page, *Frame4KiB::starting_at(PhysAddr(0x9000)), Flags::present, frames));
  for (int level = 4; level >= 2; --level) {
    const PageTableEntry& entry = entry_at(page.start(), level);
    EXPECT_EQ(entry.flags(), Flags::present | Flags::writable) << "level " << level;
  }
  // The scripted source filled each table with 0xa5: all other entries must read as unused.
  const PageTable& level1 =
      *memory.view().pointer_to<PageTable>(entry_at(page.start(), 2).address());
  for (std::size_t i = 0; i < PageTable::kEntryCount; ++i) {
    if (i != page.start().p1_index()) {
      EXPECT_TRUE(level1[i].is_unused()) << i;
    }
  }
  EXPECT_EQ(entry_at(page.start(), 1).flags(), Flags::present);
}

TEST_F(MapperTest, UserPagesGetUserTablesAndWidenExistingOnes) {
  const Page4KiB kernel_page = Page4KiB::containing(VirtAddr(0x60'0000));
  ASSERT_TRUE(mapper.map(kernel_page, *Frame4KiB::starting_at(PhysAddr(0x1000)), kData, frames));
  EXPECT_FALSE(entry_at(kernel_page.start(), 2).flags().contains(Flags::user));
  EXPECT_TRUE(flushed_pages.empty());

  const Page4KiB user_page = kernel_page + 1;
  ASSERT_TRUE(mapper.map(user_page, *Frame4KiB::starting_at(PhysAddr(0x2000)),
                         Flags::present | Flags::user, frames));
  for (int level = 4; level >= 2; --level) {
    EXPECT_TRUE(entry_at(user_page.start(), level).flags().contains(Flags::user)) << level;
  }
  // Widening entries the CPU may have cached is followed by a flush (one per widened entry).
  EXPECT_EQ(flushed_pages, std::vector<VirtAddr>(3, user_page.start()));
  // The kernel page itself stays kernel-only: its own entry decides.
  EXPECT_FALSE(mapper.translate(kernel_page.start())->flags.contains(Flags::user));
  EXPECT_TRUE(mapper.translate(user_page.start())->flags.contains(Flags::user));
}

TEST_F(MapperTest, TheHugeBitIsTheMappersBusiness) {
  // For a 4 KiB page bit 7 means PAT, so a caller's `huge` is dropped...
  const Page4KiB small = Page4KiB::containing(VirtAddr(0x1000));
  ASSERT_TRUE(mapper.map(small, *Frame4KiB::starting_at(PhysAddr(0x1000)),
                         Flags::present | Flags::huge, frames));
  EXPECT_FALSE(entry_at(small.start(), 1).flags().contains(Flags::huge));
  // ...and a large page gets it (and `present`) without asking.
  const Page2MiB large = Page2MiB::containing(VirtAddr(0x4000'0000));
  ASSERT_TRUE(mapper.map(large, *Frame2MiB::starting_at(PhysAddr(0)), Flags::writable, frames));
  EXPECT_EQ(entry_at(large.start(), 2).flags(), Flags::present | Flags::writable | Flags::huge);
}

TEST_F(MapperTest, UpdateFlagsKeepsTheFrameAndFlushes) {
  const Page4KiB page = Page4KiB::containing(VirtAddr(0x7000'0000));
  const Frame4KiB frame = *Frame4KiB::starting_at(PhysAddr(0xabc'd000));
  ASSERT_TRUE(mapper.map(page, frame, kData, frames));

  ASSERT_TRUE(mapper.update_flags(page, Flags::present | Flags::no_execute).has_value());
  const auto translation = mapper.translate(page.start());
  ASSERT_TRUE(translation.has_value());
  EXPECT_EQ(translation->address, frame.start());
  EXPECT_EQ(translation->flags, Flags::present | Flags::no_execute);
  EXPECT_EQ(flushed_pages, std::vector<VirtAddr>{page.start()});

  const Page2MiB large = Page2MiB::containing(VirtAddr(0x8000'0000));
  ASSERT_TRUE(mapper.map(large, *Frame2MiB::starting_at(PhysAddr(0x20'0000)), kData, frames));
  ASSERT_TRUE(mapper.update_flags(large, Flags::present | Flags::global).has_value());
  EXPECT_EQ(mapper.translate(large.start() + 5)->flags,
            Flags::present | Flags::global | Flags::huge);
  EXPECT_EQ(mapper.translate(large.start() + 5)->address, PhysAddr(0x20'0005));
  EXPECT_EQ(flushed_pages.back(), large.start());
}

TEST_F(MapperTest, HigherHalfAddressesUseTheUpperLevel4Entries) {
  const Page4KiB page = Page4KiB::containing(VirtAddr(0xffff'ffff'8010'0000));
  ASSERT_TRUE(mapper.map(page, *Frame4KiB::starting_at(PhysAddr(0x10'0000)), kData, frames));
  EXPECT_EQ(page.start().p4_index(), 511u);
  EXPECT_TRUE(entry_at(page.start(), 4).is_present());
  EXPECT_FALSE(mapper.translate(VirtAddr(0x0000'7fff'8010'0000)).has_value());  // same low bits
  EXPECT_EQ(mapper.translate(page.start() + 42)->address, PhysAddr(0x10'002a));
}

// --- every error case ---

TEST_F(MapperTest, MappingTwiceIsAlreadyMapped) {
  const Page4KiB page = Page4KiB::containing(VirtAddr(0x5000));
  ASSERT_TRUE(mapper.map(page, *Frame4KiB::starting_at(PhysAddr(0x1000)), kData, frames));
  const auto again = mapper.map(page, *Frame4KiB::starting_at(PhysAddr(0x2000)), kData, frames);
  EXPECT_EQ(error_of(again), MapError::already_mapped);
  EXPECT_EQ(mapper.translate(page.start())->address, PhysAddr(0x1000));  // unchanged

  const Page2MiB large = Page2MiB::containing(VirtAddr(0x4000'0000));
  ASSERT_TRUE(mapper.map(large, *Frame2MiB::starting_at(PhysAddr(0)), kData, frames));
  EXPECT_EQ(error_of(mapper.map(large, *Frame2MiB::starting_at(PhysAddr(0)), kData, frames)),
            MapError::already_mapped);
  const Page1GiB giant = Page1GiB::containing(VirtAddr(0x80'0000'0000));
  ASSERT_TRUE(mapper.map(giant, *Frame1GiB::starting_at(PhysAddr(0)), kData, frames));
  EXPECT_EQ(error_of(mapper.map(giant, *Frame1GiB::starting_at(PhysAddr(0)), kData, frames)),
            MapError::already_mapped);
}

TEST_F(MapperTest, UnmapAndUpdateOfUnmappedPagesAreNotMapped) {
  const Page4KiB page = Page4KiB::containing(VirtAddr(0x5000));
  // No tables at all...
  EXPECT_EQ(error_of(mapper.unmap(page)), MapError::not_mapped);
  EXPECT_EQ(error_of(mapper.update_flags(page, kData)), MapError::not_mapped);
  EXPECT_EQ(error_of(mapper.unmap(Page1GiB::containing(page.start()))), MapError::not_mapped);
  // ...and tables present but the entry empty (a neighbour is mapped).
  ASSERT_TRUE(mapper.map(page + 1, *Frame4KiB::starting_at(PhysAddr(0x1000)), kData, frames));
  EXPECT_EQ(error_of(mapper.unmap(page)), MapError::not_mapped);
  EXPECT_EQ(error_of(mapper.update_flags(page, kData)), MapError::not_mapped);
  // ...and after an unmap.
  ASSERT_TRUE(mapper.unmap(page + 1).has_value());
  EXPECT_EQ(error_of(mapper.unmap(page + 1)), MapError::not_mapped);
  EXPECT_EQ(flushed_pages, std::vector<VirtAddr>{(page + 1).start()});  // errors flush nothing
}

TEST_F(MapperTest, SmallPagesInsideAHugePageAreParentIsHugePage) {
  const Page2MiB large = Page2MiB::containing(VirtAddr(0x4000'0000));
  ASSERT_TRUE(mapper.map(large, *Frame2MiB::starting_at(PhysAddr(0)), kData, frames));
  const Page4KiB inside = Page4KiB::containing(large.start() + 0x3000);
  EXPECT_EQ(error_of(mapper.map(inside, *Frame4KiB::starting_at(PhysAddr(0x1000)), kData, frames)),
            MapError::parent_is_huge_page);
  EXPECT_EQ(error_of(mapper.unmap(inside)), MapError::parent_is_huge_page);
  EXPECT_EQ(error_of(mapper.update_flags(inside, kData)), MapError::parent_is_huge_page);

  const Page1GiB giant = Page1GiB::containing(VirtAddr(0x80'0000'0000));
  ASSERT_TRUE(mapper.map(giant, *Frame1GiB::starting_at(PhysAddr(0)), kData, frames));
  EXPECT_EQ(error_of(mapper.map(Page2MiB::containing(giant.start() + 4 * MiB),
                                *Frame2MiB::starting_at(PhysAddr(0)), kData, frames)),
            MapError::parent_is_huge_page);
  EXPECT_EQ(error_of(mapper.unmap(Page4KiB::containing(giant.start() + 5))),
            MapError::parent_is_huge_page);
  // The huge pages themselves are untouched.
  EXPECT_EQ(mapper.translate(inside.start())->page_size, PageSize::size_2mib);
  EXPECT_EQ(mapper.translate(giant.start() + 4 * MiB)->page_size, PageSize::size_1gib);
}

TEST_F(MapperTest, HugeRequestsOverSmallPagesAreMappedWithSmallerPages) {
  const Page4KiB small = Page4KiB::containing(VirtAddr(0x4000'3000));
  ASSERT_TRUE(mapper.map(small, *Frame4KiB::starting_at(PhysAddr(0x1000)), kData, frames));
  const Page2MiB large = Page2MiB::containing(small.start());
  const Page1GiB giant = Page1GiB::containing(small.start());
  EXPECT_EQ(error_of(mapper.map(large, *Frame2MiB::starting_at(PhysAddr(0)), kData, frames)),
            MapError::mapped_with_smaller_pages);
  EXPECT_EQ(error_of(mapper.map(giant, *Frame1GiB::starting_at(PhysAddr(0)), kData, frames)),
            MapError::mapped_with_smaller_pages);
  EXPECT_EQ(error_of(mapper.unmap(large)), MapError::mapped_with_smaller_pages);
  EXPECT_EQ(error_of(mapper.unmap(giant)), MapError::mapped_with_smaller_pages);
  EXPECT_EQ(error_of(mapper.update_flags(large, kData)), MapError::mapped_with_smaller_pages);
  EXPECT_EQ(mapper.translate(small.start())->address, PhysAddr(0x1000));  // still there
  EXPECT_TRUE(flushed_pages.empty());
}

TEST_F(MapperTest, RunningOutOfFramesAtEachLevelIsFrameAllocationFailed) {
  const Page4KiB page = Page4KiB::containing(VirtAddr(0x1234'5000));
  const Frame4KiB frame = *Frame4KiB::starting_at(PhysAddr(0x6000));
  // No frame: fails creating the level-3 table. Then one frame per attempt: each attempt gets one
  // level further (the tables made by failed attempts stay, empty, and are reused) and fails
  // creating the level-2, then the level-1 table.
  for (std::uint64_t budget : {0, 1, 1}) {
    frames.budget = budget;
    EXPECT_EQ(error_of(mapper.map(page, frame, kData, frames)), MapError::frame_allocation_failed);
    EXPECT_FALSE(mapper.translate(page.start()).has_value());
  }
  EXPECT_EQ(frames.handed_out.size(), 2u);
  frames.budget = 1;
  ASSERT_TRUE(mapper.map(page, frame, kData, frames).has_value());
  EXPECT_EQ(mapper.translate(page.start())->address, frame.start());
}

TEST_F(MapperTest, TranslateMasksThePatBitOfHugePages) {
  // Bit 12 of a huge page's entry is PAT, not address (Intel SDM table "PDE that Maps a 2-MByte
  // Page"). Firmware or a later ferrite may set it; translate must not add it to the address.
  const Page2MiB large = Page2MiB::containing(VirtAddr(0x4000'0000));
  ASSERT_TRUE(mapper.map(large, *Frame2MiB::starting_at(PhysAddr(0x60'0000)), kData, frames));
  PageTableEntry& entry = mutable_entry_at(large.start(), 2);
  entry.set(PhysAddr(0x60'1000), entry.flags());  // PAT bit set
  EXPECT_EQ(mapper.translate(large.start() + 0x10)->address, PhysAddr(0x60'0010));
  EXPECT_EQ(*mapper.unmap(large), *Frame2MiB::starting_at(PhysAddr(0x60'0000)));
}

TEST_F(MapperTest, Level4EntryWithTheReservedHugeBitTranslatesToNothing) {
  const Page4KiB page = Page4KiB::containing(VirtAddr(0x1000));
  ASSERT_TRUE(mapper.map(page, *Frame4KiB::starting_at(PhysAddr(0x1000)), kData, frames));
  PageTableEntry& entry = mutable_entry_at(page.start(), 4);
  entry.set_flags(entry.flags() | Flags::huge);
  EXPECT_FALSE(mapper.translate(page.start()).has_value());
}

TEST_F(MapperTest, WithoutAFlushHookNothingIsFlushed) {
  Mapper inactive(level4, memory.view(), nullptr);  // tables being built, not yet in CR3
  const Page4KiB page = Page4KiB::containing(VirtAddr(0x1000));
  ASSERT_TRUE(inactive.map(page, *Frame4KiB::starting_at(PhysAddr(0x1000)), kData, frames));
  ASSERT_TRUE(inactive.update_flags(page, Flags::present));
  ASSERT_TRUE(inactive.unmap(page).has_value());
  EXPECT_TRUE(flushed_pages.empty());
}

TEST(MapError, FormatsAsItsMessage) {
  EXPECT_EQ(formatted("map: {}", MapError::already_mapped), "map: the page is already mapped");
  EXPECT_EQ(formatted("{} page", PageSize::size_1gib), "1 GiB page");
}

TEST(MapError, EveryErrorHasItsOwnMessage) {
  std::set<std::string_view> messages;
  for (MapError error :
       {MapError::already_mapped, MapError::not_mapped, MapError::parent_is_huge_page,
        MapError::mapped_with_smaller_pages, MapError::frame_allocation_failed,
        MapError::level4_entries_fixed}) {
    EXPECT_FALSE(to_string(error).empty());
    messages.insert(to_string(error));
  }
  EXPECT_EQ(messages.size(), 6u);
}

// Random map / unmap / update / translate against a std::map model of what should be mapped.
TEST_F(MapperTest, RandomOperationsAgreeWithAModel) {
  std::mt19937_64 random(4);
  // Two 64 MiB windows (lower and higher half) so tables are shared but not all in one.
  const VirtAddr windows[] = {VirtAddr(0x0000'1234'0000'0000), VirtAddr(0xffff'9000'0000'0000)};
  std::map<VirtAddr, std::pair<PhysAddr, Flags>> model;
  const Flags flag_choices[] = {kData, Flags::present, Flags::present | Flags::user,
                                Flags::present | Flags::writable | Flags::global};
  for (int step = 0; step < 20000; ++step) {
    const VirtAddr window = windows[random() % 2];
    const Page4KiB page = Page4KiB::containing(window + (random() % (16 * 1024)) * 4096);
    const Frame4KiB frame = Frame4KiB::containing(PhysAddr(random() % (1ull << 40)));
    const Flags flags = flag_choices[random() % 4];
    const auto modelled = model.find(page.start());
    switch (random() % 5) {
      case 4: {
        // A range (of up to 40 pages, so it sometimes crosses a level-1 table): all or nothing.
        const std::uint64_t count = random() % 41;
        bool any_mapped = false;
        for (std::uint64_t i = 0; i < count; ++i) any_mapped |= model.contains((page + i).start());
        const auto result = mapper.map_range(page, frame, count, flags, frames);
        if (any_mapped) {
          ASSERT_EQ(error_of(result), MapError::already_mapped);
          // Rolled back at once: every page of the range is as the model has it.
          for (std::uint64_t i = 0; i < count; ++i) {
            const auto translation = mapper.translate((page + i).start());
            const auto expected = model.find((page + i).start());
            if (expected == model.end()) {
              ASSERT_FALSE(translation.has_value()) << "page " << i << " of a failed range mapped";
            } else {
              ASSERT_TRUE(translation.has_value()) << "page " << i;
              ASSERT_EQ(translation->address, expected->second.first) << "page " << i;
              ASSERT_EQ(translation->flags, expected->second.second) << "page " << i;
            }
          }
        } else {
          ASSERT_TRUE(result.has_value()) << to_string(result.error());
          for (std::uint64_t i = 0; i < count; ++i) {
            model[(page + i).start()] = {(frame + i).start(), flags | Flags::present};
          }
        }
        break;
      }
      case 0: {
        const auto result = mapper.map(page, frame, flags, frames);
        if (modelled != model.end()) {
          ASSERT_EQ(error_of(result), MapError::already_mapped);
        } else {
          ASSERT_TRUE(result.has_value()) << to_string(result.error());
          model[page.start()] = {frame.start(), flags | Flags::present};
        }
        break;
      }
      case 1: {
        const auto result = mapper.unmap(page);
        if (modelled == model.end()) {
          ASSERT_EQ(error_of(result), MapError::not_mapped);
        } else {
          ASSERT_EQ(result->start(), modelled->second.first);
          model.erase(modelled);
        }
        break;
      }
      case 2: {
        const auto result = mapper.update_flags(page, flags);
        if (modelled == model.end()) {
          ASSERT_EQ(error_of(result), MapError::not_mapped);
        } else {
          ASSERT_TRUE(result.has_value());
          modelled->second.second = flags | Flags::present;
        }
        break;
      }
      default: {
        const std::uint64_t offset = random() % 4096;
        const auto translation = mapper.translate(page.start() + offset);
        if (modelled == model.end()) {
          ASSERT_FALSE(translation.has_value());
        } else {
          ASSERT_TRUE(translation.has_value());
          ASSERT_EQ(translation->address, modelled->second.first + offset);
          ASSERT_EQ(translation->flags, modelled->second.second);
        }
      }
    }
  }
  EXPECT_GT(model.size(), 100u);  // the run really built up a populated address space
  for (const auto& [address, mapping] : model) {
    ASSERT_EQ(mapper.translate(address)->address, mapping.first);
  }
}

// --- map_range: consecutive pages to consecutive frames, one walk per table ---

// 8 pages from 3 pages below a 2 MiB boundary: the range crosses from one level-1 table into the
// next.
const Page4KiB kRangeFirst = Page4KiB::containing(VirtAddr(0xffff'c000'0020'0000 - 3 * 4096));
const Frame4KiB kRangeFrame = *Frame4KiB::starting_at(PhysAddr(0x1234'5000));

TEST_F(MapperTest, MapRangeMapsExactlyThePagesAskedAcrossALevel1TableBoundary) {
  ASSERT_TRUE(mapper.map_range(kRangeFirst, kRangeFrame, 8, kData, frames).has_value());
  for (std::uint64_t i = 0; i < 8; ++i) {
    const auto translation = mapper.translate((kRangeFirst + i).start() + 0x10);
    ASSERT_TRUE(translation.has_value()) << "page " << i;
    EXPECT_EQ(translation->address, kRangeFrame.start() + i * 4096 + 0x10) << "page " << i;
    EXPECT_EQ(translation->page_size, PageSize::size_4kib);
    EXPECT_EQ(translation->flags, kData);
  }
  EXPECT_FALSE(mapper.translate(kRangeFirst.start() - 4096).has_value());
  EXPECT_FALSE(mapper.translate((kRangeFirst + 8).start()).has_value());
  EXPECT_NE(entry_at(kRangeFirst.start(), 2).address(), entry_at((kRangeFirst + 3).start(), 2).address())
      << "two level-1 tables";
  EXPECT_EQ(frames.handed_out.size(), 4u);  // level-3, level-2 and two level-1 tables
  EXPECT_TRUE(flushed_pages.empty()) << "mapping not-present entries needs no TLB flush";
}

TEST_F(MapperTest, MapRangeOfHugePages) {
  const Page2MiB first = Page2MiB::containing(VirtAddr(0xffff'c000'3fc0'0000));  // 2 below 1 GiB
  const Frame2MiB frame = *Frame2MiB::starting_at(PhysAddr(0x1'0000'0000));
  ASSERT_TRUE(mapper.map_range(first, frame, 3, kData, frames).has_value());
  for (std::uint64_t i = 0; i < 3; ++i) {
    const auto translation = mapper.translate((first + i).start() + 0x12345);
    ASSERT_TRUE(translation.has_value()) << "page " << i;
    EXPECT_EQ(translation->address, frame.start() + i * 2 * MiB + 0x12345);
    EXPECT_EQ(translation->page_size, PageSize::size_2mib);
  }
  EXPECT_FALSE(mapper.translate((first + 3).start()).has_value());
  EXPECT_EQ(frames.handed_out.size(), 3u);  // a level-3 and two level-2 tables
}

TEST_F(MapperTest, MapRangeOfNoPagesMapsNothing) {
  EXPECT_TRUE(mapper.map_range(kRangeFirst, kRangeFrame, 0, kData, frames).has_value());
  EXPECT_TRUE(frames.handed_out.empty());
  EXPECT_FALSE(mapper.translate(kRangeFirst.start()).has_value());
}

// All or nothing: an error on the way unmaps what this call mapped, and flushes it (the CPU may
// have cached the short-lived entries); the page that was there stays; tables stay, as for map.
TEST_F(MapperTest, MapRangeOverAMappedPageIsAlreadyMappedAndRollsBack) {
  const Frame4KiB other = *Frame4KiB::starting_at(PhysAddr(0x9000));
  ASSERT_TRUE(mapper.map(kRangeFirst + 5, other, kData, frames).has_value());
  const std::size_t tables = frames.handed_out.size();

  EXPECT_EQ(error_of(mapper.map_range(kRangeFirst, kRangeFrame, 8, kData, frames)), MapError::already_mapped);
  for (std::uint64_t i = 0; i < 8; ++i) {
    if (i == 5) continue;
    EXPECT_FALSE(mapper.translate((kRangeFirst + i).start()).has_value()) << "page " << i << " left mapped";
  }
  EXPECT_EQ(mapper.translate((kRangeFirst + 5).start())->address, other.start());
  std::vector<VirtAddr> rolled_back;
  for (std::uint64_t i = 5; i-- > 0;) rolled_back.push_back((kRangeFirst + i).start());
  EXPECT_EQ(flushed_pages, rolled_back);
  EXPECT_EQ(frames.handed_out.size(), tables + 1);  // the first level-1 table, made on the way

  // The free part can be mapped afterwards, with the tables already there.
  EXPECT_TRUE(mapper.map_range(kRangeFirst, kRangeFrame, 5, kData, frames).has_value());
  EXPECT_EQ(frames.handed_out.size(), tables + 1);
}

TEST_F(MapperTest, MapRangeWithoutAFrameForTheNextTableRollsBack) {
  frames.budget = 3;  // level-3, level-2, the first level-1 table; not the second
  EXPECT_EQ(error_of(mapper.map_range(kRangeFirst, kRangeFrame, 8, kData, frames)),
            MapError::frame_allocation_failed);
  for (std::uint64_t i = 0; i < 8; ++i) {
    EXPECT_FALSE(mapper.translate((kRangeFirst + i).start()).has_value()) << "page " << i << " left mapped";
  }
  EXPECT_EQ(flushed_pages.size(), 3u);
}

// IfMapped::keep (map_mmio): pages mapped already, by an entry of their size or by a huge page
// above, stay as they are and the rest is mapped, in the same walk; repeating the call is a no-op.
TEST_F(MapperTest, MapRangeKeepingMappedPagesMapsOnlyTheOthers) {
  const Frame4KiB other = *Frame4KiB::starting_at(PhysAddr(0x9000));
  ASSERT_TRUE(mapper.map(kRangeFirst + 5, other, kData, frames).has_value());
  const Page2MiB huge = Page2MiB::containing(kRangeFirst.start() + 4 * MiB);  // past the range
  ASSERT_TRUE(
      mapper.map(huge, *Frame2MiB::starting_at(PhysAddr(0x4000'0000)), kData, frames).has_value());
  const Page4KiB under_huge = Page4KiB::containing(huge.start());

  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(mapper
                    .map_range(PageSize::size_4kib, kRangeFirst.start(), kRangeFrame.start(), 8,
                               kData, frames, IfMapped::keep)
                    .has_value());
    ASSERT_TRUE(mapper
                    .map_range(PageSize::size_4kib, under_huge.start(), PhysAddr(0x7000), 2, kData,
                               frames, IfMapped::keep)
                    .has_value());
    for (std::uint64_t i = 0; i < 8; ++i) {
      const PhysAddr expected = i == 5 ? other.start() : kRangeFrame.start() + i * 4096;
      EXPECT_EQ(mapper.translate((kRangeFirst + i).start())->address, expected) << "page " << i;
    }
    EXPECT_EQ(mapper.translate(under_huge.start() + 4096)->page_size, PageSize::size_2mib);
  }
  // A huge page over a table of smaller pages is still an error, not a page taken as mapped.
  EXPECT_EQ(error_of(mapper.map_range(PageSize::size_2mib,
                                      Page2MiB::containing(kRangeFirst.start()).start(),
                                      PhysAddr(0x4020'0000), 1, kData, frames, IfMapped::keep)),
            MapError::mapped_with_smaller_pages);
}

TEST_F(MapperTest, MapRangeOfHugePagesOverATableIsMappedWithSmallerPages) {
  const Page2MiB first = Page2MiB::containing(VirtAddr(0x4000'0000));
  ASSERT_TRUE(mapper.map(Page4KiB::containing(VirtAddr(0x4040'1000)), kRangeFrame, kData, frames));  // in page 2
  EXPECT_EQ(error_of(mapper.map_range(first, *Frame2MiB::starting_at(PhysAddr(0)), 3, kData, frames)),
            MapError::mapped_with_smaller_pages);
  EXPECT_FALSE(mapper.translate(first.start()).has_value());
  EXPECT_FALSE(mapper.translate((first + 1).start()).has_value());
  EXPECT_EQ(mapper.translate(VirtAddr(0x4040'1000))->page_size, PageSize::size_4kib);
  // Pages 0 and 1 were mapped before page 2's table was found, and are unmapped last first.
  EXPECT_EQ(flushed_pages, (std::vector<VirtAddr>{(first + 1).start(), first.start()}));
}

// Two 1 GiB pages on either side of a 512 GiB boundary: one in the last entry of a level-3 table,
// the next in the first entry of the next one.
TEST_F(MapperTest, MapRangeOf1GiBPagesAcrossALevel3TableBoundary) {
  const Page1GiB first = Page1GiB::containing(VirtAddr(0xffff'c000'0000'0000 + 511 * GiB));
  const Frame1GiB frame = *Frame1GiB::starting_at(PhysAddr(4 * GiB));
  ASSERT_TRUE(mapper.map_range(first, frame, 2, kData, frames).has_value());
  for (std::uint64_t i = 0; i < 2; ++i) {
    const auto translation = mapper.translate((first + i).start() + 0x1234'5678);
    ASSERT_TRUE(translation.has_value()) << "page " << i;
    EXPECT_EQ(translation->address, frame.start() + i * GiB + 0x1234'5678) << "page " << i;
    EXPECT_EQ(translation->page_size, PageSize::size_1gib);
    EXPECT_EQ(translation->flags, kData | Flags::huge);
  }
  EXPECT_FALSE(mapper.translate(first.start() - 1).has_value());
  EXPECT_FALSE(mapper.translate((first + 2).start()).has_value());
  EXPECT_EQ(frames.handed_out.size(), 2u);  // two level-3 tables, nothing below
  EXPECT_TRUE(flushed_pages.empty());
}

// A FrameSource that must never be asked: a mapper that walks (and so starts mapping) before it
// has checked the whole range dies with this message instead of the expected panic.
class NoWalkExpected final : public FrameSource {
 public:
  std::optional<Frame4KiB> allocate_frame() override {
    std::fputs("a table was allocated: the range was walked before it was checked\n", stderr);
    std::abort();
  }
};

using MapRangeDeathTest = MapperTest;

// A range that runs out of its half of the address space, or its frames past 2^52, panics
// before the first walk, so no prefix of it is ever mapped.
TEST_F(MapRangeDeathTest, ARangeLeavingItsHalfOrThe52BitFramesPanicsBeforeMappingAnything) {
  const Page4KiB top_of_lower_half = Page4KiB::containing(VirtAddr(0x0000'7fff'ffff'e000));
  const Page4KiB top_of_higher_half = Page4KiB::containing(VirtAddr(0xffff'ffff'ffff'e000));
  const Frame4KiB top_frames = *Frame4KiB::starting_at(PhysAddr(PhysAddr::kLimit - 2 * 4096));
  NoWalkExpected no_walk;
  EXPECT_DEATH((void)mapper.map_range(top_of_lower_half, kRangeFrame, 3, kData, no_walk),
               "assertion failed");
  EXPECT_DEATH((void)mapper.map_range(top_of_higher_half, kRangeFrame, 3, kData, no_walk),
               "assertion failed");
  EXPECT_DEATH((void)mapper.map_range(kRangeFirst, top_frames, 3, kData, no_walk),
               "assertion failed");
  // The largest ranges that still fit are mapped.
  EXPECT_TRUE(mapper.map_range(top_of_lower_half, kRangeFrame, 2, kData, frames).has_value());
  EXPECT_TRUE(mapper.map_range(top_of_higher_half, top_frames, 2, kData, frames).has_value());
}

// The mapper drawing its tables from the real frame allocator, as in the kernel.
TEST_F(MapperTest, TablesComeFromTheFrameAllocator) {
  const boot::MemoryRegion map[] = {
      {.base = kMemoryBase + 4096, .length = kMemorySize - 4096, .type = boot::MemoryType::usable}};
  FrameAllocator allocator(map, {}, memory.view());
  const std::uint64_t free_before = allocator.free_frames();
  const Page4KiB page = Page4KiB::containing(VirtAddr(0xffff'c000'0000'0000));
  ASSERT_TRUE(mapper.map(page, *Frame4KiB::starting_at(PhysAddr(0x1000)), kData, allocator));
  EXPECT_EQ(allocator.free_frames(), free_before - 3);
  EXPECT_EQ(mapper.translate(page.start())->address, PhysAddr(0x1000));
  // The level-1 table sits in a frame the allocator handed out.
  const PhysAddr level1 = entry_at(page.start(), 2).address();
  EXPECT_GE(level1.value(), kMemoryBase + 4096);
  EXPECT_LT(level1.value(), kMemoryBase + kMemorySize);
}

// ---------------------------------------------------------------------------------------------
// map_fresh_pages: all or nothing (issue 9, bug 4: a failed heap growth left its pages mapped,
// and every later growth failed on already_mapped)

// The real frame allocator, except that the `fail_at`-th allocation (1-based) finds no frame.
class FailingFrames final : public FrameSource {
 public:
  FailingFrames(FrameAllocator& real, std::uint64_t fail_at) : real_(real), fail_at_(fail_at) {}
  std::optional<Frame4KiB> allocate() {
    if (++allocations_ == fail_at_) return std::nullopt;
    return real_.allocate();
  }
  void free(Frame4KiB frame) { real_.free(frame); }
  std::optional<Frame4KiB> allocate_frame() override { return allocate(); }

 private:
  FrameAllocator& real_;
  std::uint64_t fail_at_;
  std::uint64_t allocations_ = 0;
};
static_assert(FrameOwner<FailingFrames> && FrameOwner<FrameAllocator>);

class FreshPagesTest : public MapperTest {
 protected:
  void SetUp() override {
    MapperTest::SetUp();
    // Garbage in every frame, so pages that are not zeroed show.
    std::memset(memory.view().pointer_to(PhysAddr(kMemoryBase + 4096)), 0x5a, kMemorySize - 4096);
  }
  const boot::MemoryRegion map_[1] = {
      {.base = kMemoryBase + 4096, .length = kMemorySize - 4096, .type = boot::MemoryType::usable}};
  FrameAllocator allocator{map_, {}, memory.view()};
  // 8 pages that straddle a level-1 table boundary: two level-1 tables (and one level-2 and one
  // level-3 table) are made on the way, so a failure can hit a data frame or a table frame.
  const Page4KiB first = Page4KiB::containing(VirtAddr(0xffff'c000'0020'0000 - 4 * 4096));
  static constexpr std::uint64_t kCount = 8;
};

TEST_F(FreshPagesTest, MapsZeroedPages) {
  ASSERT_TRUE(map_fresh_pages(mapper, memory.view(), first, kCount, kData, allocator));
  for (std::uint64_t i = 0; i < kCount; ++i) {
    const auto translation = mapper.translate((first + i).start());
    ASSERT_TRUE(translation);
    const auto* bytes = memory.view().pointer_to<std::uint8_t>(translation->address);
    EXPECT_EQ(std::count(bytes, bytes + 4096, 0), 4096) << "page " << i;
  }
  EXPECT_EQ(allocator.used_frames(), kCount + 4);  // 8 pages, 2 level-1, a level-2, a level-3
}

TEST_F(FreshPagesTest, AFailureAtAnyFrameUnmapsAndFreesAllAndTheRangeCanBeMappedLater) {
  for (std::uint64_t fail_at = 1; fail_at <= kCount + 4; ++fail_at) {
    SCOPED_TRACE("allocation " + std::to_string(fail_at) + " fails");
    SimulatedPhysicalMemory fresh_memory{kMemoryBase, kMemorySize};
    Mapper fresh_mapper{level4, fresh_memory.view(), record_flush};
    FrameAllocator real(map_, {}, fresh_memory.view());
    FailingFrames failing(real, fail_at);
    EXPECT_EQ(error_of(map_fresh_pages(fresh_mapper, fresh_memory.view(), first, kCount, kData, failing)),
              MapError::frame_allocation_failed);
    for (std::uint64_t i = 0; i < kCount; ++i) {
      EXPECT_FALSE(fresh_mapper.translate((first + i).start())) << "page " << i << " left mapped";
    }
    // Only the page tables made on the way stay (empty, as Mapper::map documents).
    EXPECT_LE(real.used_frames(), 4u);
    // The bug: the next growth failed with already_mapped.
    EXPECT_TRUE(map_fresh_pages(fresh_mapper, fresh_memory.view(), first, kCount, kData, real));
    EXPECT_EQ(real.used_frames(), kCount + 4);
  }
}

// ---------------------------------------------------------------------------------------------
// The physical map's page choice (issue 9, bug 8: huge pages spanned the MMIO hole)

struct PlannedPage {
  PageSize size;
  std::uint64_t physical;
  friend bool operator==(const PlannedPage&, const PlannedPage&) = default;
};

void PrintTo(const PlannedPage& page, std::ostream* out) {
  *out << to_string(page.size) << " at " << std::hex << page.physical;
}

struct PlannedRun {
  PageSize size;
  std::uint64_t physical;
  std::uint64_t count;
  friend bool operator==(const PlannedRun&, const PlannedRun&) = default;
};
void PrintTo(const PlannedRun& run, std::ostream* out) {
  *out << to_string(run.size) << " x " << run.count << " at " << std::hex << run.physical;
}

std::vector<PlannedRun> runs_for(std::uint64_t start, std::uint64_t end, bool use_1gib) {
  std::vector<PlannedRun> runs;
  for_each_page_run(start, end, use_1gib, [&](PageSize size, std::uint64_t physical, std::uint64_t count) {
    runs.push_back({size, physical, count});
  });
  return runs;
}

// The runs, page by page (for_each_page).
std::vector<PlannedPage> pages_for(std::uint64_t start, std::uint64_t end, bool use_1gib) {
  std::vector<PlannedPage> pages;
  for_each_page(start, end, use_1gib,
                [&](PageSize size, std::uint64_t physical) { pages.push_back({size, physical}); });
  return pages;
}

// The definition, one page at a time and written apart from largest_page_at (so a bug there
// shows): at each address the largest of 1 GiB (if allowed), 2 MiB and 4 KiB that is aligned
// there and ends at or before `end`.
std::vector<PlannedPage> pages_one_by_one(std::uint64_t start, std::uint64_t end, bool use_1gib) {
  struct Candidate {
    PageSize size;
    std::uint64_t bytes;
  };
  const Candidate largest_first[] = {
      {PageSize::size_1gib, GiB}, {PageSize::size_2mib, 2 * MiB}, {PageSize::size_4kib, 4 * KiB}};
  std::vector<PlannedPage> pages;
  for (std::uint64_t at = start; at < end;) {
    const auto fits = std::find_if(std::begin(largest_first), std::end(largest_first),
                                   [&](const Candidate& candidate) {
                                     return (candidate.size != PageSize::size_1gib || use_1gib) &&
                                            at % candidate.bytes == 0 && at + candidate.bytes <= end;
                                   });
    if (fits == std::end(largest_first)) {
      ADD_FAILURE() << "no page fits at " << std::hex << at << " (both ends must be 4 KiB-aligned)";
      break;
    }
    pages.push_back({fits->size, at});
    at += fits->bytes;
  }
  return pages;
}

TEST(PhysicalMap, LargestPagesWith4KiBEdges) {
  // 1 MiB + 8 KiB .. 4 MiB + 12 KiB: 4 KiB pages up to 2 MiB, one 2 MiB page, 4 KiB pages after.
  const auto pages = pages_for(MiB + 8 * KiB, 4 * MiB + 12 * KiB, true);
  ASSERT_EQ(pages.size(), 254u + 1 + 3);
  EXPECT_EQ(pages.front(), (PlannedPage{PageSize::size_4kib, MiB + 8 * KiB}));
  EXPECT_EQ(pages[253], (PlannedPage{PageSize::size_4kib, 2 * MiB - 4 * KiB}));
  EXPECT_EQ(pages[254], (PlannedPage{PageSize::size_2mib, 2 * MiB}));
  EXPECT_EQ(pages[255], (PlannedPage{PageSize::size_4kib, 4 * MiB}));
  EXPECT_EQ(pages.back(), (PlannedPage{PageSize::size_4kib, 4 * MiB + 8 * KiB}));
}

TEST(PhysicalMap, GiBPagesOnlyWhereAWholeAlignedGiBFitsAndTheyAreAllowed) {
  const auto with = pages_for(0, 3 * GiB + 2 * MiB, true);
  ASSERT_EQ(with.size(), 4u);
  EXPECT_EQ(with[2], (PlannedPage{PageSize::size_1gib, 2 * GiB}));
  EXPECT_EQ(with[3], (PlannedPage{PageSize::size_2mib, 3 * GiB}));
  EXPECT_EQ(pages_for(0, 2 * GiB, false).size(), 1024u);
  EXPECT_TRUE(pages_for(5 * MiB, 5 * MiB, true).empty());
}

// memory.cpp maps each run with one Mapper::map_range: runs are as long as they can be.
TEST(PhysicalMap, RunsHandOverConsecutivePagesOfOneSize) {
  EXPECT_EQ(runs_for(MiB + 8 * KiB, 4 * MiB + 12 * KiB, true),
            (std::vector<PlannedRun>{{PageSize::size_4kib, MiB + 8 * KiB, 254},
                                     {PageSize::size_2mib, 2 * MiB, 1},
                                     {PageSize::size_4kib, 4 * MiB, 3}}));
  // 128 MiB of QEMU RAM less the first MiB, ending 480 pages below 128 MiB (its ACPI tables):
  // the 4 KiB pages at the edges are two runs, the 2 MiB pages between them one.
  EXPECT_EQ(runs_for(MiB, 128 * MiB - 480 * 4 * KiB, true),
            (std::vector<PlannedRun>{{PageSize::size_4kib, MiB, 256},
                                     {PageSize::size_2mib, 2 * MiB, 62},
                                     {PageSize::size_4kib, 126 * MiB, 32}}));
  // 2 MiB pages stop where a 1 GiB page fits, and go on after it.
  EXPECT_EQ(runs_for(GiB - 4 * MiB, 2 * GiB + 6 * MiB, true),
            (std::vector<PlannedRun>{{PageSize::size_2mib, GiB - 4 * MiB, 2},
                                     {PageSize::size_1gib, GiB, 1},
                                     {PageSize::size_2mib, 2 * GiB, 3}}));
  EXPECT_EQ(runs_for(GiB - 4 * MiB, 2 * GiB + 6 * MiB, false),
            (std::vector<PlannedRun>{{PageSize::size_2mib, GiB - 4 * MiB, 517}}));
  // A range too small for a 2 MiB page, though one starts inside it: 4 KiB pages only.
  EXPECT_EQ(runs_for(2 * MiB - 8 * KiB, 4 * MiB - 4 * KiB, true),
            (std::vector<PlannedRun>{{PageSize::size_4kib, 2 * MiB - 8 * KiB, 513}}));
  EXPECT_TRUE(runs_for(5 * MiB, 5 * MiB, true).empty());
}

TEST(PhysicalMap, PagesCoverTheRangeExactly) {
  std::mt19937_64 random(8);
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t start = (random() % (1 << 20)) * 4096;
    const std::uint64_t end = start + (random() % (1 << 19)) * 4096;
    std::uint64_t next = start;
    for (const PlannedPage& page : pages_for(start, end, i % 2 == 0)) {
      ASSERT_EQ(page.physical, next);
      ASSERT_EQ(page.physical % bytes(page.size), 0u);
      next += bytes(page.size);
    }
    ASSERT_EQ(next, end);
    ASSERT_EQ(pages_for(start, end, i % 2 == 0), pages_one_by_one(start, end, i % 2 == 0));
    const auto runs = runs_for(start, end, i % 2 == 0);
    for (std::size_t r = 0; r < runs.size(); ++r) {
      ASSERT_GT(runs[r].count, 0u);
      if (r > 0) {
        ASSERT_NE(runs[r].size, runs[r - 1].size) << "run " << r << " could have been longer";
      }
    }
  }
}

TEST(PhysicalMap, OnlyTheFirstMiBRamAndAcpiRegionsAreMapped) {
  using boot::MemoryType;
  // QEMU/SeaBIOS-like, with an unaligned ACPI region and a reserved MMIO hole below 4 GiB.
  const boot::MemoryRegion map[] = {
      {.base = 0, .length = 0x9fc00, .type = MemoryType::usable},
      {.base = 0x9fc00, .length = 0x400, .type = MemoryType::reserved},
      {.base = 0xf0000, .length = 0x10000, .type = MemoryType::reserved},
      {.base = 0x100000, .length = 0x7ee0000, .type = MemoryType::usable},
      {.base = 0x7fe0000, .length = 0x1f800, .type = MemoryType::acpi_reclaimable},
      {.base = 0x7fff800, .length = 0x800, .type = MemoryType::acpi_nvs},
      {.base = 0xfeffc000, .length = 0x4000, .type = MemoryType::reserved},
      {.base = 0x100000000, .length = 0x40000123, .type = MemoryType::usable},
      {.base = 0xfd00000000, .length = 0x300000000, .type = MemoryType::reserved},
  };
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  const std::uint64_t end = for_each_physical_map_range(
      map, MiB, [&](std::uint64_t start, std::uint64_t end) { ranges.emplace_back(start, end); });
  EXPECT_EQ(ranges, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{
                        {0, 0x8000000}, {0x100000000, 0x140001000}}));
  EXPECT_EQ(end, 0x140001000u);
}

}  // namespace
}  // namespace ferrite::mm
