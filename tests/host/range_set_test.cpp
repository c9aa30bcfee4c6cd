// Host tests for the ranges an address space ever mapped (chapter 15, mm/range_set.h): sorted,
// disjoint, merged where they touch, and when full the closest neighbours merge — so the set
// always covers everything added, and stays within its capacity.
#include "mm/range_set.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

namespace ferrite::mm {
namespace {

template <std::size_t N>
std::vector<AddressRange> all(const RangeSet<N>& set) {
  return {set.ranges().begin(), set.ranges().end()};
}

TEST(RangeSet, KeepsRangesSortedAndMergesThoseThatTouchOrOverlap) {
  RangeSet<8> set;
  set.add(0x5000, 0x6000);
  set.add(0x1000, 0x2000);
  set.add(0x9000, 0xA000);
  EXPECT_EQ(all(set), (std::vector<AddressRange>{{0x1000, 0x2000}, {0x5000, 0x6000}, {0x9000, 0xA000}}));
  set.add(0x2000, 0x3000);  // touches the first
  set.add(0x5800, 0x5900);  // inside the second: nothing changes
  set.add(0x4000, 0x9800);  // swallows the second, overlaps the third
  EXPECT_EQ(all(set), (std::vector<AddressRange>{{0x1000, 0x3000}, {0x4000, 0xA000}}));
  set.add(0x3000, 0x4000);  // fills the gap: one range
  EXPECT_EQ(all(set), (std::vector<AddressRange>{{0x1000, 0xA000}}));
  set.add(0x7000, 0x7000);  // empty: nothing
  EXPECT_EQ(all(set), (std::vector<AddressRange>{{0x1000, 0xA000}}));
}

TEST(RangeSet, WhenFullTheClosestNeighboursMerge) {
  RangeSet<3> set;
  set.add(0x10000, 0x11000);
  set.add(0x20000, 0x21000);
  set.add(0x80000, 0x81000);
  set.add(0x23000, 0x24000);  // 0x2000 from the second range: the smallest gap closes
  EXPECT_EQ(all(set), (std::vector<AddressRange>{{0x10000, 0x11000}, {0x20000, 0x24000}, {0x80000, 0x81000}}));
  set.add(0x90000, 0x91000);  // the smallest gap is now 0xF000 (0x11000..0x20000)
  EXPECT_EQ(all(set), (std::vector<AddressRange>{{0x10000, 0x24000}, {0x80000, 0x81000}, {0x90000, 0x91000}}));
}

TEST(RangeSet, RandomAddsAlwaysCoverEverythingAddedWithinCapacity) {
  std::mt19937_64 random(1501);
  for (int round = 0; round < 200; ++round) {
    RangeSet<4> set;
    std::set<std::uint64_t> pages;  // every page ever added
    for (int i = 0; i < 30; ++i) {
      const std::uint64_t start = (random() % 256) * 0x1000;
      const std::uint64_t end = start + (1 + random() % 8) * 0x1000;
      set.add(start, end);
      for (std::uint64_t page = start; page < end; page += 0x1000) pages.insert(page);
      const auto ranges = set.ranges();
      ASSERT_LE(ranges.size(), 4u);
      for (std::size_t r = 0; r < ranges.size(); ++r) {
        ASSERT_LT(ranges[r].start, ranges[r].end);
        if (r > 0) {
          ASSERT_LT(ranges[r - 1].end, ranges[r].start);  // disjoint, not touching
        }
      }
      for (const std::uint64_t page : pages) {
        bool covered = false;
        for (const AddressRange& range : ranges) covered |= range.start <= page && page + 0x1000 <= range.end;
        ASSERT_TRUE(covered) << "round " << round << " page " << std::hex << page;
      }
    }
  }
}

}  // namespace
}  // namespace ferrite::mm
