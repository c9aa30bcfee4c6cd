// Host tests of mm/frame_shares.h: the per-frame owner counts copy-on-write fork relies on.
#include "mm/frame_shares.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

namespace ferrite::mm {
namespace {

TEST(FrameShares, AFrameNeverSharedHasOneOwnerWhoFreesIt) {
  std::array<FrameShares::Count, 8> counts{};
  FrameShares shares(counts);
  EXPECT_FALSE(shares.is_shared(3));
  EXPECT_TRUE(shares.release(3));  // the only owner frees it
}

TEST(FrameShares, ForkSharesAndTheLastOwnerFrees) {
  std::array<FrameShares::Count, 8> counts{};
  FrameShares shares(counts);
  ASSERT_TRUE(shares.share(5));  // parent + child
  ASSERT_TRUE(shares.share(5));  // + grandchild
  EXPECT_TRUE(shares.is_shared(5));
  EXPECT_EQ(shares.extra_owners(5), 2);
  EXPECT_FALSE(shares.release(5));  // the child copied the page on a write
  EXPECT_FALSE(shares.release(5));
  EXPECT_FALSE(shares.is_shared(5));  // the last owner may now write in place
  EXPECT_TRUE(shares.release(5));
  EXPECT_EQ(counts[5], 0);
  EXPECT_EQ(counts[4], 0);
}

TEST(FrameShares, OutsideTheTableNothingIsSharedAndRefusalIsHonest) {
  std::array<FrameShares::Count, 2> counts{};
  FrameShares shares(counts);
  EXPECT_FALSE(shares.share(2));
  EXPECT_FALSE(shares.is_shared(2));
  EXPECT_TRUE(shares.release(2));
  counts[1] = FrameShares::kMaxExtraOwners;
  EXPECT_FALSE(shares.share(1));  // saturated: the caller copies instead
  EXPECT_EQ(counts[1], FrameShares::kMaxExtraOwners);
}

TEST(FrameShares, ConcurrentReleasesFreeExactlyOnce) {
  for (int round = 0; round < 200; ++round) {
    std::array<FrameShares::Count, 1> counts{};
    FrameShares shares(counts);
    constexpr int kOwners = 8;
    for (int i = 1; i < kOwners; ++i) ASSERT_TRUE(shares.share(0));
    std::atomic<int> frees{0};
    std::vector<std::thread> owners;
    for (int i = 0; i < kOwners; ++i)
      owners.emplace_back([&] { frees += shares.release(0) ? 1 : 0; });
    for (auto& owner : owners) owner.join();
    ASSERT_EQ(frees.load(), 1);
  }
}

}  // namespace
}  // namespace ferrite::mm
