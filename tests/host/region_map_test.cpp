// Host tests for the regions of a user address space (chapter 14, mm/region_map.h): insert, find,
// split on partial unmap and protect, merging, capacity, the top-down gap search, and a random
// sequence of operations checked page by page against a simple model.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "mm/region_map.h"

namespace ferrite::mm {

void PrintTo(const Region& region, std::ostream* out) {
  *out << std::hex << "[" << region.start << ", " << region.end << ") prot " << region.protection;
}

namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint32_t kR = 1, kRW = 3, kRX = 5;

template <std::size_t N>
std::vector<Region> all(const RegionMap<N>& map) {
  return {map.regions().begin(), map.regions().end()};
}

TEST(RegionMap, InsertKeepsRegionsSortedAndFindsThem) {
  RegionMap<8> map;
  ASSERT_TRUE(map.insert(0x5000, 0x7000, kRW));
  ASSERT_TRUE(map.insert(0x1000, 0x2000, kR));
  ASSERT_TRUE(map.insert(0x9000, 0xA000, kRX));
  EXPECT_EQ(all(map), (std::vector<Region>{{0x1000, 0x2000, kR}, {0x5000, 0x7000, kRW}, {0x9000, 0xA000, kRX}}));
  ASSERT_NE(map.find(0x5000), nullptr);
  EXPECT_EQ(*map.find(0x6FFF), (Region{0x5000, 0x7000, kRW}));
  EXPECT_EQ(map.find(0x7000), nullptr);  // end is exclusive
  EXPECT_EQ(map.find(0x0FFF), nullptr);
  EXPECT_EQ(map.find(0x3000), nullptr);
  EXPECT_EQ(map.find(0xA000), nullptr);
}

TEST(RegionMap, InsertRefusesOverlapsAndLeavesTheMapAlone) {
  RegionMap<8> map;
  ASSERT_TRUE(map.insert(0x4000, 0x8000, kRW));
  const auto before = all(map);
  for (auto [start, end] : {std::pair{0x3000u, 0x5000u}, {0x7000u, 0x9000u}, {0x5000u, 0x6000u}, {0x1000u, 0x9000u}}) {
    const auto result = map.insert(start, end, kRW);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), RegionError::overlaps);
  }
  EXPECT_EQ(all(map), before);
  EXPECT_TRUE(map.insert(0x8000, 0x9000, kR));  // touching is not overlapping
  EXPECT_TRUE(map.insert(0x3000, 0x4000, kR));
}

TEST(RegionMap, TouchingRegionsWithTheSamePermissionsMerge) {
  RegionMap<8> map;
  ASSERT_TRUE(map.insert(0x1000, 0x2000, kRW));
  ASSERT_TRUE(map.insert(0x3000, 0x4000, kRW));
  ASSERT_TRUE(map.insert(0x2000, 0x3000, kRW));  // fills the hole: all three become one
  EXPECT_EQ(all(map), (std::vector<Region>{{0x1000, 0x4000, kRW}}));
  ASSERT_TRUE(map.insert(0x4000, 0x5000, kR));  // other permissions: stays separate
  EXPECT_EQ(map.size(), 2u);
}

TEST(RegionMap, RemovingTheMiddleSplitsARegionInTwo) {
  RegionMap<8> map;
  ASSERT_TRUE(map.insert(0x1000, 0x9000, kRW));
  ASSERT_TRUE(map.remove(0x3000, 0x5000));
  EXPECT_EQ(all(map), (std::vector<Region>{{0x1000, 0x3000, kRW}, {0x5000, 0x9000, kRW}}));
  EXPECT_EQ(map.find(0x3000), nullptr);
  EXPECT_EQ(map.find(0x4FFF), nullptr);
}

TEST(RegionMap, RemovingAcrossSeveralRegionsCutsTheEdgesAndDropsTheInside) {
  RegionMap<8> map;
  ASSERT_TRUE(map.insert(0x1000, 0x3000, kR));
  ASSERT_TRUE(map.insert(0x4000, 0x5000, kRW));
  ASSERT_TRUE(map.insert(0x6000, 0x9000, kRX));
  ASSERT_TRUE(map.remove(0x2000, 0x7000));  // holes inside the range are fine
  EXPECT_EQ(all(map), (std::vector<Region>{{0x1000, 0x2000, kR}, {0x7000, 0x9000, kRX}}));
  ASSERT_TRUE(map.remove(0x0, 0x10000));
  EXPECT_TRUE(map.empty());
  EXPECT_TRUE(map.remove(0x1000, 0x2000));  // nothing there: fine
}

TEST(RegionMap, AssignInTheMiddleMakesThreeRegionsAndAssigningBackMergesThem) {
  RegionMap<8> map;
  ASSERT_TRUE(map.insert(0x1000, 0x9000, kRW));
  ASSERT_TRUE(map.assign(0x3000, 0x4000, kR));  // mprotect of one page in the middle
  EXPECT_EQ(all(map), (std::vector<Region>{{0x1000, 0x3000, kRW}, {0x3000, 0x4000, kR}, {0x4000, 0x9000, kRW}}));
  ASSERT_TRUE(map.assign(0x3000, 0x4000, kRW));
  EXPECT_EQ(all(map), (std::vector<Region>{{0x1000, 0x9000, kRW}}));
}

TEST(RegionMap, CoversOnlyWithoutHoles) {
  RegionMap<8> map;
  ASSERT_TRUE(map.insert(0x1000, 0x3000, kR));
  ASSERT_TRUE(map.insert(0x3000, 0x5000, kRW));  // touching, different permissions
  ASSERT_TRUE(map.insert(0x6000, 0x7000, kRW));
  EXPECT_TRUE(map.covers(0x1000, 0x5000));
  EXPECT_TRUE(map.covers(0x2000, 0x4000));
  EXPECT_FALSE(map.covers(0x1000, 0x6000));  // 0x5000..0x6000 is a hole
  EXPECT_FALSE(map.covers(0x0, 0x2000));
  EXPECT_FALSE(map.covers(0x6000, 0x8000));
  EXPECT_TRUE(map.covers(0x6000, 0x7000));
}

TEST(RegionMap, AFullMapRefusesWhatNeedsAnotherRegionAndStaysAsItWas) {
  RegionMap<3> map;
  ASSERT_TRUE(map.insert(0x1000, 0x9000, kRW));
  ASSERT_TRUE(map.insert(0xA000, 0xB000, kR));
  ASSERT_TRUE(map.insert(0xC000, 0xD000, kRX));
  const auto before = all(map);
  const auto insert = map.insert(0xE000, 0xF000, kR);
  ASSERT_FALSE(insert);
  EXPECT_EQ(insert.error(), RegionError::full);
  const auto split = map.remove(0x2000, 0x3000);  // would make four regions
  ASSERT_FALSE(split);
  EXPECT_EQ(split.error(), RegionError::full);
  EXPECT_EQ(all(map), before);
  EXPECT_TRUE(map.remove(0x1000, 0x3000));  // cutting an edge needs no new region
  EXPECT_TRUE(map.remove(0xA000, 0xB000));
  EXPECT_TRUE(map.insert(0xE000, 0xF000, kR));
}

TEST(RegionMap, GapSearchTakesTheHighestFittingGap) {
  RegionMap<8> map;
  const std::uint64_t low = 0x10000, high = 0x100000;
  EXPECT_EQ(map.find_gap_top_down(0x3000, low, high), high - 0x3000);  // empty: right below the top
  ASSERT_TRUE(map.insert(high - 0x2000, high, kRW));        // the top 2 pages taken
  ASSERT_TRUE(map.insert(high - 0x6000, high - 0x3000, kR)); // a 1-page gap below them
  EXPECT_EQ(map.find_gap_top_down(0x1000, low, high), high - 0x3000);  // fits the 1-page gap
  EXPECT_EQ(map.find_gap_top_down(0x2000, low, high), high - 0x8000);  // must go below
  ASSERT_TRUE(map.insert(high + 0x1000, high + 0x5000, kR));  // above the window: ignored
  EXPECT_EQ(map.find_gap_top_down(0x1000, low, high), high - 0x3000);
}

TEST(RegionMap, GapSearchRespectsTheBottomAndRegionsAcrossTheTop) {
  RegionMap<8> map;
  ASSERT_TRUE(map.insert(0x18000, 0x30000, kRW));  // reaches across the top of the window
  EXPECT_EQ(map.find_gap_top_down(0x8000, 0x10000, 0x20000), 0x10000u);  // exactly [low, 0x18000)
  EXPECT_EQ(map.find_gap_top_down(0x9000, 0x10000, 0x20000), std::nullopt);
  ASSERT_TRUE(map.insert(0x1000, 0x12000, kR));  // reaches across the bottom
  EXPECT_EQ(map.find_gap_top_down(0x6000, 0x10000, 0x20000), 0x12000u);
  EXPECT_EQ(map.find_gap_top_down(0x7000, 0x10000, 0x20000), std::nullopt);
  EXPECT_EQ(map.find_gap_top_down(0, 0x10000, 0x20000), std::nullopt);
  EXPECT_EQ(map.find_gap_top_down(0x1000, 0x20000, 0x10000), std::nullopt);
}

// The map against a page-by-page model: after every operation the same pages are in regions,
// with the same permissions; regions stay sorted, disjoint, non-empty and merged.
TEST(RegionMap, RandomOperationsMatchAPageModel) {
  constexpr std::uint64_t kPages = 96;
  std::mt19937_64 random(14);
  RegionMap<24> map;  // small enough to be full now and then
  std::map<std::uint64_t, std::uint32_t> model;  // page -> protection
  int refused_full = 0;
  for (int step = 0; step < 20000; ++step) {
    const std::uint64_t first = random() % kPages;
    const std::uint64_t count = 1 + random() % 12;
    const std::uint64_t start = first * kPage, end = (first + count) * kPage;
    const std::uint32_t protection = static_cast<std::uint32_t>(random() % 8);
    const auto before = all(map);
    bool model_overlaps = false;
    for (std::uint64_t p = first; p < first + count; ++p) model_overlaps |= model.contains(p);
    std::expected<void, RegionError> result;
    switch (random() % 3) {
      case 0:
        result = map.insert(start, end, protection);
        ASSERT_EQ(!result && result.error() == RegionError::overlaps, model_overlaps);
        if (result) for (std::uint64_t p = first; p < first + count; ++p) model[p] = protection;
        break;
      case 1:
        result = map.assign(start, end, protection);
        if (result) for (std::uint64_t p = first; p < first + count; ++p) model[p] = protection;
        break;
      case 2:
        result = map.remove(start, end);
        if (result) for (std::uint64_t p = first; p < first + count; ++p) model.erase(p);
        break;
    }
    if (!result) {
      ASSERT_EQ(all(map), before) << "a failed operation changed the map";
      refused_full += result.error() == RegionError::full;
    }
    const auto regions = all(map);
    for (std::size_t i = 0; i < regions.size(); ++i) {
      ASSERT_LT(regions[i].start, regions[i].end);
      if (i > 0) {
        ASSERT_LE(regions[i - 1].end, regions[i].start);
        ASSERT_FALSE(regions[i - 1].end == regions[i].start && regions[i - 1].protection == regions[i].protection)
            << "unmerged neighbours at step " << step;
      }
    }
    for (std::uint64_t p = 0; p < kPages + 12; ++p) {
      const Region* region = map.find(p * kPage + 123);
      const auto it = model.find(p);
      ASSERT_EQ(region != nullptr, it != model.end()) << "page " << p << " step " << step;
      if (region != nullptr) {
        ASSERT_EQ(region->protection, it->second);
      }
    }
    ASSERT_EQ(map.covers(start, end), [&] {
      for (std::uint64_t p = first; p < first + count; ++p) if (!model.contains(p)) return false;
      return true;
    }());
    // The highest free run of `count` pages in [1, kPages), found page by page.
    std::optional<std::uint64_t> expected_gap;
    for (std::uint64_t top = kPages; top >= 1 + count && !expected_gap; --top) {
      bool free = true;
      for (std::uint64_t p = top - count; p < top; ++p) free &= !model.contains(p);
      if (free) expected_gap = (top - count) * kPage;
    }
    ASSERT_EQ(map.find_gap_top_down(count * kPage, kPage, kPages * kPage), expected_gap) << "step " << step;
  }
  EXPECT_GT(refused_full, 0);
}

}  // namespace
}  // namespace ferrite::mm
