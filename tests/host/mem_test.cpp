// Host tests of lib/mem: the kernel's memcpy/memmove/memset/memcmp must behave exactly like
// libc's on every size class (word paths, `rep movsb` paths), alignment and overlap.
#include "lib/mem.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace {

using ferrite::lib::compare_memory;
using ferrite::lib::copy_memory;
using ferrite::lib::move_memory;
using ferrite::lib::set_memory;

constexpr std::size_t kMaxSize = 5000;
constexpr std::size_t kMaxAlignment = 64;
// Bytes checked on each side of the destination: a write past either end shows up here.
constexpr std::size_t kGuard = 64;

std::vector<unsigned char> random_bytes(std::mt19937_64& random, std::size_t size) {
  std::vector<unsigned char> bytes(size);
  for (auto& byte : bytes) byte = static_cast<unsigned char>(random());
  return bytes;
}

// Checks the destination window [offset - kGuard, offset + n + kGuard) against libc's result,
// which covers both the copied bytes and the untouched guard bytes around them.
void expect_same_window(const std::vector<unsigned char>& actual,
                        const std::vector<unsigned char>& expected, std::size_t offset,
                        std::size_t n, const char* what) {
  for (std::size_t i = offset - kGuard; i < offset + n + kGuard; ++i) {
    if (actual[i] != expected[i]) {
      ADD_FAILURE() << what << ": n=" << n << " differs at byte " << static_cast<long>(i - offset)
                    << " relative to the destination";
      return;
    }
  }
}

int sign(int value) {
  return (value > 0) - (value < 0);
}

class MemTest : public ::testing::Test {
 protected:
  std::mt19937_64 random{0x5eed'f0e5};  // fixed: a failure reproduces
  std::size_t random_below(std::size_t bound) { return random() % bound; }

  void check_copy(std::size_t n, std::size_t src_alignment, std::size_t dst_alignment) {
    const std::size_t size = kGuard + kMaxAlignment + n + kGuard;
    const auto source = random_bytes(random, size);
    auto destination = random_bytes(random, size);
    auto expected = destination;
    const std::size_t dst_offset = kGuard + dst_alignment;
    const unsigned char* src = source.data() + kGuard + src_alignment;

    std::memcpy(expected.data() + dst_offset, src, n);
    void* result = copy_memory(destination.data() + dst_offset, src, n);

    EXPECT_EQ(result, destination.data() + dst_offset);
    expect_same_window(destination, expected, dst_offset, n, "copy_memory");
  }

  // Source and destination live in one buffer, so any pair of offsets may overlap.
  void check_move(std::size_t n, std::size_t src_offset, std::size_t dst_offset) {
    const std::size_t size = kGuard + std::max(src_offset, dst_offset) + n + kGuard;
    auto buffer = random_bytes(random, size);
    auto expected = buffer;

    std::memmove(expected.data() + kGuard + dst_offset, expected.data() + kGuard + src_offset, n);
    void* result =
        move_memory(buffer.data() + kGuard + dst_offset, buffer.data() + kGuard + src_offset, n);

    EXPECT_EQ(result, buffer.data() + kGuard + dst_offset);
    // The whole buffer, not only the window: the source side must change exactly like libc's.
    if (buffer != expected) {
      ADD_FAILURE() << "move_memory: n=" << n << " src_offset=" << src_offset
                    << " dst_offset=" << dst_offset;
    }
  }

  void check_set(std::size_t n, std::size_t dst_alignment, int value) {
    const std::size_t size = kGuard + kMaxAlignment + n + kGuard;
    auto destination = random_bytes(random, size);
    auto expected = destination;
    const std::size_t dst_offset = kGuard + dst_alignment;

    std::memset(expected.data() + dst_offset, value, n);
    void* result = set_memory(destination.data() + dst_offset, value, n);

    EXPECT_EQ(result, destination.data() + dst_offset);
    expect_same_window(destination, expected, dst_offset, n, "set_memory");
  }
};

// Every size up to past the `rep` threshold hits each branch (1..3, 4..7, 8..16, 17..32, word
// loop, string instruction) and its boundaries; alignments cycle through all 64 offsets.
TEST_F(MemTest, CopyEverySmallSizeAndAlignment) {
  for (std::size_t n = 0; n <= 300; ++n) {
    for (std::size_t dst_alignment = 0; dst_alignment < kMaxAlignment; ++dst_alignment) {
      check_copy(n, (dst_alignment * 7 + n) % kMaxAlignment, dst_alignment);
    }
  }
}

TEST_F(MemTest, CopyRandomSizesAndAlignments) {
  for (int round = 0; round < 2000; ++round) {
    check_copy(random_below(kMaxSize + 1), random_below(kMaxAlignment),
               random_below(kMaxAlignment));
  }
}

TEST_F(MemTest, MoveOverlappingInBothDirections) {
  for (std::size_t n = 0; n <= 300; ++n) {
    // Distances 0..n+1 cover full overlap, every partial overlap and the adjacent case.
    for (std::size_t distance = 0; distance <= n + 1; distance += 1 + n / 40) {
      const std::size_t low = random_below(kMaxAlignment);
      check_move(n, low, low + distance);  // dst above src: must copy backwards
      check_move(n, low + distance, low);  // dst below src: must copy forwards
    }
  }
}

TEST_F(MemTest, MoveRandomSizesAndOffsets) {
  for (int round = 0; round < 2000; ++round) {
    const std::size_t n = random_below(kMaxSize + 1);
    // Offsets within 2n of each other overlap about half the time.
    const std::size_t spread = 2 * n + kMaxAlignment;
    check_move(n, random_below(spread), random_below(spread));
  }
}

// Buffers on an 8-byte boundary whose size is a multiple of 8 (a page, above all) take the 8-byte
// string instructions (`rep movsq`/`rep stosq`); one end off the boundary, the byte forms.
TEST_F(MemTest, WholeWordBuffersCopyMoveAndSetLikeLibc) {
  for (std::size_t n : {256u, 264u, 4096u, 4100u, 4104u, 8192u}) {
    for (std::size_t alignment : {0u, 8u, 56u, 4u}) {
      check_copy(n, alignment, alignment);
      check_copy(n, (alignment + 8) % kMaxAlignment, alignment);
      check_copy(n, alignment + 1, alignment);  // source off the boundary: bytes
      for (int value : {0, 0xA5}) check_set(n, alignment, value);
      check_move(n, alignment + 8, alignment);      // overlapping, destination below: forwards
      check_move(n, alignment + n + 8, alignment);  // apart
    }
  }
}

TEST_F(MemTest, MoveOntoItselfChangesNothing) {
  for (std::size_t n : {0u, 1u, 31u, 32u, 33u, 255u, 256u, 4096u}) check_move(n, 5, 5);
}

TEST_F(MemTest, SetEverySmallSizeAndAlignment) {
  for (std::size_t n = 0; n <= 300; ++n) {
    for (std::size_t dst_alignment = 0; dst_alignment < kMaxAlignment; ++dst_alignment) {
      check_set(n, dst_alignment, static_cast<int>(random_below(256)));
    }
  }
}

TEST_F(MemTest, SetRandomSizesAndAlignments) {
  for (int round = 0; round < 2000; ++round) {
    check_set(random_below(kMaxSize + 1), random_below(kMaxAlignment),
              static_cast<int>(random_below(256)));
  }
}

// memset converts its int to unsigned char: only the low byte counts.
TEST_F(MemTest, SetUsesOnlyTheLowByteOfValue) {
  for (int value : {0, 0xFF, 0x80, -1, -128, 0x1234, 0x7FFFFFFF}) {
    for (std::size_t n : {1u, 7u, 8u, 33u, 300u, 1000u}) check_set(n, 3, value);
  }
}

TEST_F(MemTest, CompareEqualRangesIsZero) {
  for (std::size_t n = 0; n <= 300; ++n) {
    const auto bytes = random_bytes(random, n + kMaxAlignment);
    auto copy = bytes;
    const std::size_t a = random_below(kMaxAlignment);
    EXPECT_EQ(compare_memory(bytes.data() + a, copy.data() + a, n), 0) << "n=" << n;
  }
  // Zero bytes compare equal whatever the pointers point at.
  const unsigned char x = 1, y = 2;
  EXPECT_EQ(compare_memory(&x, &y, 0), 0);
}

// One or more differing bytes at random places: the sign must match libc's, which is decided by
// the first differing byte taken as unsigned.
TEST_F(MemTest, CompareSignMatchesLibc) {
  for (int round = 0; round < 20000; ++round) {
    const std::size_t n = 1 + random_below(round % 10 == 0 ? kMaxSize : 64);
    const std::size_t a_alignment = random_below(kMaxAlignment);
    const std::size_t b_alignment = random_below(kMaxAlignment);
    auto a = random_bytes(random, n + kMaxAlignment);
    std::vector<unsigned char> b(n + kMaxAlignment);
    std::memcpy(b.data() + b_alignment, a.data() + a_alignment, n);
    const std::size_t differences = 1 + random_below(3);
    for (std::size_t d = 0; d < differences; ++d) {
      b[b_alignment + random_below(n)] = static_cast<unsigned char>(random());
    }
    const unsigned char* left = a.data() + a_alignment;
    const unsigned char* right = b.data() + b_alignment;
    ASSERT_EQ(sign(compare_memory(left, right, n)), sign(std::memcmp(left, right, n)))
        << "n=" << n << " round=" << round;
    ASSERT_EQ(sign(compare_memory(right, left, n)), sign(std::memcmp(right, left, n)));
  }
}

TEST_F(MemTest, CompareTreatsBytesAsUnsigned) {
  const unsigned char high[] = {1, 2, 3, 4, 5, 6, 7, 8, 0x80};
  const unsigned char low[] = {1, 2, 3, 4, 5, 6, 7, 8, 0x7F};
  EXPECT_GT(compare_memory(high, low, sizeof high), 0);
  EXPECT_LT(compare_memory(low, high, sizeof high), 0);
  EXPECT_GT(compare_memory(high + 8, low + 8, 1), 0);  // the byte path, below one word
}

// Within one word, the lowest address decides even when a later byte differs the other way.
TEST_F(MemTest, CompareFirstDifferenceDecides) {
  const unsigned char a[16] = {0, 0, 1, 0, 0, 0, 0, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0};
  const unsigned char b[16] = {0, 0, 2, 0, 0, 0, 0, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_LT(compare_memory(a, b, 16), 0);
  EXPECT_GT(compare_memory(b, a, 16), 0);
  EXPECT_LT(compare_memory(a, b, 3), 0);
  EXPECT_EQ(compare_memory(a, b, 2), 0);
}

}  // namespace
