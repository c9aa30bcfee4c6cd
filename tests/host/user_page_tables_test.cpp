// Host tests for walking a user address space's page tables (chapter 14, mm/user_page_tables.h):
// which entries a range visits (present and parked, across table boundaries), the entry lookup
// that creates nothing, copying ranges for fork, and freeing ranges back to a real FrameAllocator
// — which panics on a double free, so a walk that frees a frame twice fails here too.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "mm/frame_allocator.h"
#include "mm/mapper.h"
#include "mm/user_page_tables.h"

namespace ferrite::mm {
namespace {

constexpr std::uint64_t kMemoryBase = 0x4000'0000;  // not 0: buffer offset != physical address
constexpr std::uint64_t kMemorySize = 8 << 20;
constexpr std::uint64_t kPage = 4096;

class UserPageTablesTest : public ::testing::Test {
 protected:
  PhysicalMemoryView view() const {
    return PhysicalMemoryView{reinterpret_cast<std::uintptr_t>(frames_.data()) - kMemoryBase};
  }

  void SetUp() override {
    ASSERT_EQ(frames.allocate(), level4);  // the first frame, as the mapper was told
    view().pointer_to<PageTable>(level4.start())->clear();
  }

  // Maps `address` to a fresh frame (as handle_fault does), recording it in `mapped`.
  void map(std::uint64_t address) {
    const Page4KiB page = Page4KiB::containing(VirtAddr(address));
    const std::optional<Frame4KiB> frame = frames.allocate();
    ASSERT_TRUE(frame);
    ASSERT_TRUE(mapper.map(page, *frame, kUserData, frames));
    mapped.insert(page.start().value());
  }
  // Makes a mapped page not present but keeps its frame (a PROT_NONE page).
  void park(std::uint64_t address) {
    PageTableEntry* entry = user_page_entry(view(), level4, Page4KiB::containing(VirtAddr(address)));
    ASSERT_NE(entry, nullptr);
    entry->set_flags(PageTableFlags{});
  }
  std::vector<std::uint64_t> visited(std::uint64_t start, std::uint64_t end) {
    std::vector<std::uint64_t> pages;
    for_each_user_page(view(), level4, start, end, [&](Page4KiB page, PageTableEntry& entry) {
      EXPECT_FALSE(entry.is_unused());
      pages.push_back(page.start().value());
    });
    return pages;
  }
  std::vector<std::uint64_t> expected(std::uint64_t start, std::uint64_t end) const {
    std::vector<std::uint64_t> pages;
    for (std::uint64_t page : mapped) {
      if (page < end && page + kPage > start) pages.push_back(page);  // overlaps the range
    }
    return pages;
  }

  static constexpr PageTableFlags kUserData =
      PageTableFlags::present | PageTableFlags::writable | PageTableFlags::user | PageTableFlags::no_execute;

  std::vector<PageTable> frames_ = std::vector<PageTable>(kMemorySize / kPage);
  const boot::MemoryRegion map_[1] = {{.base = kMemoryBase, .length = kMemorySize, .type = boot::MemoryType::usable}};
  FrameAllocator frames{map_, {}, view()};
  Frame4KiB level4 = *Frame4KiB::starting_at(PhysAddr(kMemoryBase));
  Mapper mapper{level4, view(), nullptr};
  std::set<std::uint64_t> mapped;  // page addresses
};

// Pages at the edges of level-1, level-2, level-3 and level-4 tables, and the last user page.
constexpr std::uint64_t kEdgePages[] = {
    0x10000,          0x1F'F000,         0x20'0000,         0x3FFF'F000,     0x4000'0000,
    0x7F'FFFF'F000,   0x80'0000'0000,    0x80'0000'1000,    0x7FFF'FFFF'E000,
};

TEST_F(UserPageTablesTest, VisitsExactlyTheUsedEntriesOfARangeInAddressOrder) {
  for (std::uint64_t page : kEdgePages) map(page);
  park(0x20'0000);  // parked pages are visited too
  EXPECT_EQ(visited(0, kLowerHalfEnd), expected(0, kLowerHalfEnd));
  EXPECT_EQ(visited(0x1F'F000, 0x20'0000), (std::vector<std::uint64_t>{0x1F'F000}));
  EXPECT_EQ(visited(0x1F'F001, 0x20'0001), (std::vector<std::uint64_t>{0x1F'F000, 0x20'0000}));  // overlapping
  EXPECT_EQ(visited(0x20'1000, 0x3FFF'F000), std::vector<std::uint64_t>{});
  EXPECT_EQ(visited(0x4000'0000, 0x80'0000'1000), expected(0x4000'0000, 0x80'0000'1000));
  EXPECT_EQ(visited(0x7FFF'FFFF'E000, kLowerHalfEnd), (std::vector<std::uint64_t>{0x7FFF'FFFF'E000}));
}

TEST_F(UserPageTablesTest, RandomRangesMatchTheModel) {
  std::mt19937_64 random(47);
  // Pages clustered in a few 4 MiB windows, so ranges cross table edges often.
  const std::uint64_t windows[] = {0x1000'0000, 0x7F'FFE0'0000, 0x5555'5540'0000};
  for (int i = 0; i < 300; ++i) {
    const std::uint64_t page = windows[random() % 3] + (random() % 1024) * kPage;
    if (!mapped.contains(page)) map(page);
  }
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t base = windows[random() % 3];
    std::uint64_t start = base + random() % (5 << 20) - (512 << 10);
    std::uint64_t end = start + random() % (3 << 20);
    ASSERT_EQ(visited(start, end), expected(start, end)) << std::hex << start << ".." << end;
  }
}

TEST_F(UserPageTablesTest, EntryLookupCreatesNoTable) {
  const std::uint64_t used = frames.used_frames();
  EXPECT_EQ(user_page_entry(view(), level4, Page4KiB::containing(VirtAddr(0x1234'5000))), nullptr);
  EXPECT_EQ(frames.used_frames(), used);
  map(0x1234'5000);
  const PageTableEntry* entry = user_page_entry(view(), level4, Page4KiB::containing(VirtAddr(0x1234'5000)));
  ASSERT_NE(entry, nullptr);
  EXPECT_TRUE(entry->is_present());
  // The neighbour shares the level-1 table: an entry, but unused.
  const PageTableEntry* neighbour = user_page_entry(view(), level4, Page4KiB::containing(VirtAddr(0x1234'6000)));
  ASSERT_NE(neighbour, nullptr);
  EXPECT_TRUE(neighbour->is_unused());
}

// What free_user_ranges and copy_user_tables want of the frames: pages to free, zeroed tables
// to take and to give back (a space's SpaceFrames in the kernel).
struct TestFrames {
  FrameAllocator& allocator;
  std::uint64_t tables_taken = 0, tables_freed = 0;
  void free(Frame4KiB frame) { allocator.free(frame); }
  void free_table(Frame4KiB frame) {
    ++tables_freed;
    allocator.free_zeroed(frame);
  }
  std::optional<Frame4KiB> allocate_zeroed() {
    ++tables_taken;
    return allocator.allocate_zeroed();
  }
};

TEST_F(UserPageTablesTest, FreeingRangesReturnsEveryFrameTablesZeroedAndLeavesTheKernelHalf) {
  // A kernel-half mapping in the same tables (as the copied kernel entries would be): untouched.
  const std::optional<Frame4KiB> kernel_frame = frames.allocate();
  ASSERT_TRUE(kernel_frame);
  const Page4KiB kernel_page = Page4KiB::containing(VirtAddr(0xFFFF'C000'0000'0000));
  ASSERT_TRUE(mapper.map(kernel_page, *kernel_frame, PageTableFlags::writable, frames));
  const std::uint64_t used_by_kernel = frames.used_frames();  // level 4, kernel tables, its page

  // One range per page, merged where they touch: tables shared by several ranges (the level-1
  // table of 0x10000 and 0x1F'F000, the level-3 tables) must go once, after the last of them.
  RangeSet<16> ranges;
  for (std::uint64_t page : kEdgePages) {
    map(page);
    ranges.add(page, page + kPage);
  }
  park(0x10000);
  park(0x7FFF'FFFF'E000);
  EXPECT_GT(frames.used_frames(), used_by_kernel + 9 + 4);  // pages and tables
  TestFrames owner{frames};
  free_user_ranges(view(), level4, ranges.ranges(), owner);
  EXPECT_EQ(frames.used_frames(), used_by_kernel);
  EXPECT_EQ(frames.zeroed_frames(), owner.tables_freed);
  EXPECT_EQ(frames.invariant_violation(), std::nullopt);  // and every freed table is all zero
  const PageTable& table = *view().pointer_to<PageTable>(level4.start());
  for (std::size_t index = 0; index < kFirstKernelLevel4Entry; ++index) EXPECT_TRUE(table[index].is_unused());
  ASSERT_TRUE(mapper.translate(kernel_page.start()));
  EXPECT_EQ(mapper.translate(kernel_page.start())->address, kernel_frame->start());
  EXPECT_EQ(visited(0, kLowerHalfEnd), std::vector<std::uint64_t>{});
  free_user_ranges(view(), level4, ranges.ranges(), owner);  // nothing left: a no-op, not a double free
  EXPECT_EQ(frames.used_frames(), used_by_kernel);
}

TEST_F(UserPageTablesTest, CopyingRangesGivesTheChildTheSameEntriesAndNothingElse) {
  std::mt19937_64 random(15);
  const std::uint64_t windows[] = {0x40'0000, 0x7F'FFE0'0000, 0x7FFF'FFC0'0000};
  for (int i = 0; i < 200; ++i) {
    const std::uint64_t page = windows[random() % 3] + (random() % 1024) * kPage;
    if (!mapped.contains(page)) map(page);
  }
  park(*mapped.begin());
  const Frame4KiB child = *frames.allocate_zeroed();
  TestFrames owner{frames};
  // Two ranges that leave some mapped pages out: the child gets exactly the pages inside.
  const AddressRange copied[] = {{0x40'0000, 0x60'0000}, {0x7F'FFF0'0000, 0x7FFF'FFFF'F000}};
  std::uint64_t shared = 0;
  for (const AddressRange& range : copied) {
    ASSERT_TRUE(copy_user_tables(view(), level4, child, range.start, range.end, owner,
                                 [&](Page4KiB, PageTableEntry& parent, PageTableEntry& entry) {
                                   EXPECT_TRUE(entry.is_unused());
                                   entry = parent;
                                   ++shared;
                                   return true;
                                 }));
  }
  std::vector<std::uint64_t> in_child, expected_pages;
  for_each_user_page(view(), child, 0, kLowerHalfEnd, [&](Page4KiB page, PageTableEntry& entry) {
    in_child.push_back(page.start().value());
    EXPECT_EQ(entry.raw(), user_page_entry(view(), level4, page)->raw());
  });
  for (const AddressRange& range : copied) {
    for (std::uint64_t page : expected(range.start, range.end)) expected_pages.push_back(page);
  }
  EXPECT_EQ(in_child, expected_pages);
  EXPECT_EQ(shared, expected_pages.size());
  // The child's tables are its own: freeing them (not the pages, which the parent keeps)
  // gives back exactly the tables the copy took.
  struct TablesOnly {
    TestFrames& owner;
    void free(Frame4KiB) {}
    void free_table(Frame4KiB frame) { owner.free_table(frame); }
  } tables_only{owner};
  free_user_ranges(view(), child, copied, tables_only);
  EXPECT_EQ(owner.tables_freed, owner.tables_taken);
  EXPECT_GT(owner.tables_taken, 3u);
  EXPECT_EQ(frames.invariant_violation(), std::nullopt);
  // A refusal stops the copy and says so.
  EXPECT_FALSE(copy_user_tables(view(), level4, child, 0, kLowerHalfEnd, owner,
                                [](Page4KiB, PageTableEntry&, PageTableEntry&) { return false; }));
}

// mremap's move: every entry in use (present, parked, with the OS bits fork's copy-on-write
// uses) reaches the same offset in the new range unchanged, the old range is left empty, each
// moved page is reported once for its TLB flush, and no frame is taken or given back but the
// destination's tables. Source and destination cross level-1 and level-2 table edges.
TEST_F(UserPageTablesTest, MovingPagesCarriesEveryEntryAndLeavesTheOldRangeEmpty) {
  constexpr std::uint64_t kFrom = 0x1F'0000;             // 16 pages below a level-1 edge...
  constexpr std::uint64_t kEnd = kFrom + (600 * kPage);  // ...and past the next one
  constexpr std::uint64_t kTo = 0x7F'FFF0'0000;          // across a level-3 (512 GiB) edge
  std::mt19937_64 random(25);
  for (int i = 0; i < 300; ++i) {
    const std::uint64_t page = kFrom + (random() % 600) * kPage;
    if (!mapped.contains(page)) map(page);
  }
  map(0x1E'F000);  // neighbours outside the range stay where they are
  map(kEnd);
  park(kFrom + 16 * kPage);
  if (!mapped.contains(kFrom + 17 * kPage)) map(kFrom + 17 * kPage);
  PageTableEntry* marked =
      user_page_entry(view(), level4, Page4KiB::containing(VirtAddr(kFrom + 17 * kPage)));
  marked->set_flags(marked->flags().without(PageTableFlags::writable) |
                    PageTableFlags::from_bits(1ull << 10));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> before;  // page, raw entry
  for_each_user_page(view(), level4, kFrom, kEnd, [&](Page4KiB page, PageTableEntry& entry) {
    before.emplace_back(page.start().value(), entry.raw());
  });
  ASSERT_GT(before.size(), 200u);

  TestFrames owner{frames};
  ASSERT_TRUE(make_user_tables_for_move(view(), level4, kFrom, kEnd, kTo, owner));
  // Below the edge a level-2 and a level-1 table (the level-3 one is the source's), above it
  // a level-3, a level-2 and a level-1 table.
  EXPECT_EQ(owner.tables_taken, 2u + 3u);
  EXPECT_EQ(visited(kTo, kTo + (kEnd - kFrom)),
            std::vector<std::uint64_t>{});  // nothing mapped yet
  const std::uint64_t used = frames.used_frames();
  std::vector<std::uint64_t> flushed;
  move_user_pages(view(), level4, kFrom, kEnd, kTo,
                  [&](Page4KiB page) { flushed.push_back(page.start().value()); });
  EXPECT_EQ(frames.used_frames(), used);
  EXPECT_EQ(visited(kFrom, kEnd), std::vector<std::uint64_t>{});
  std::vector<std::pair<std::uint64_t, std::uint64_t>> after;
  for_each_user_page(view(), level4, kTo, kTo + (kEnd - kFrom),
                     [&](Page4KiB page, PageTableEntry& entry) {
                       after.emplace_back(page.start().value() - kTo + kFrom, entry.raw());
                     });
  EXPECT_EQ(after, before);
  ASSERT_EQ(flushed.size(), before.size());
  for (std::size_t i = 0; i < flushed.size(); ++i) EXPECT_EQ(flushed[i], before[i].first);
  EXPECT_EQ(visited(0x1E'F000, 0x1F'0000), std::vector<std::uint64_t>{0x1E'F000});
  EXPECT_EQ(visited(kEnd, kEnd + kPage), std::vector<std::uint64_t>{kEnd});
}

// Out of frames for the destination's tables: false, and not one entry has moved.
TEST_F(UserPageTablesTest, MovingPagesWithoutRoomForTablesMovesNothing) {
  for (std::uint64_t page = 0x40'0000; page < 0x40'0000 + 8 * kPage; page += kPage) map(page);
  map(0x80'0000);  // a second level-1 table at the destination side is needed for this one
  struct Refusing {
    TestFrames& owner;
    int left;
    std::optional<Frame4KiB> allocate_zeroed() {
      if (left-- <= 0) return std::nullopt;
      return owner.allocate_zeroed();
    }
  };
  TestFrames owner{frames};
  const std::vector<std::uint64_t> before = visited(0, kLowerHalfEnd);
  // Four tables are needed at 512 GiB: a level-3, a level-2 and two level-1 ones. Three, then
  // none more: both times false, and nothing has moved.
  Refusing three{owner, 3};
  EXPECT_FALSE(
      make_user_tables_for_move(view(), level4, 0x40'0000, 0x80'1000, 0x80'0000'0000, three));
  EXPECT_EQ(visited(0, kLowerHalfEnd), before);
  Refusing none{owner, 0};
  EXPECT_FALSE(
      make_user_tables_for_move(view(), level4, 0x40'0000, 0x80'1000, 0x80'0000'0000, none));
  EXPECT_EQ(visited(0, kLowerHalfEnd), before);
  Refusing enough{owner, 1};  // the three made before stay; only the last is missing
  EXPECT_TRUE(
      make_user_tables_for_move(view(), level4, 0x40'0000, 0x80'1000, 0x80'0000'0000, enough));
  EXPECT_EQ(owner.tables_taken, 4u);
}

}  // namespace
}  // namespace ferrite::mm
