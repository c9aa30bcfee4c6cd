// A small set of address ranges that only grows (chapter 15, fork's cost): sorted, disjoint,
// with touching or overlapping ranges merged, and never more than Capacity of them — when one
// more would not fit, the two closest neighbours become one range covering the gap too. So the
// set always covers at least everything ever added, perhaps more. An address space keeps one
// as the "extents" of everything it ever mapped (mm/address_space.h): its page tables can only
// be there, so fork and exit walk those ranges instead of every entry of every table.
// Portable and freestanding (a fixed array), host-tested under ASan/UBSan.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ferrite::mm {

struct AddressRange {
  std::uint64_t start = 0;
  std::uint64_t end = 0;  // one past the last byte
  friend constexpr bool operator==(const AddressRange&, const AddressRange&) = default;
};

template <std::size_t Capacity>
class RangeSet {
  static_assert(Capacity >= 1);

 public:
  [[nodiscard]] std::span<const AddressRange> ranges() const { return {ranges_.data(), count_}; }
  void clear() { count_ = 0; }


  // Adds [start, end) (start < end; an empty range adds nothing).
  void add(std::uint64_t start, std::uint64_t end) {
    // The usual case first: inside the range the last call found or made (a program that maps
    // and unmaps in a loop gets the same address back every time).
    if (last_ < count_ && ranges_[last_].start <= start && end <= ranges_[last_].end) return;
    add_slow(start, end);
  }

 private:
  void add_slow(std::uint64_t start, std::uint64_t end) {
    if (start >= end) return;
    // The first range that ends at or after `start` (touching counts: it merges).
    std::size_t first = 0;
    while (first < count_ && ranges_[first].end < start) ++first;
    last_ = first;  // where [start, end) is, or will be, unless merging the closest moves it
    if (first < count_ && ranges_[first].start <= start && end <= ranges_[first].end) return;
    // One past the last range that starts at or before `end`.
    std::size_t last = first;
    while (last < count_ && ranges_[last].start <= end) ++last;
    if (first < last) {  // merges ranges [first, last) into one
      const AddressRange merged{ranges_[first].start < start ? ranges_[first].start : start,
                                ranges_[last - 1].end > end ? ranges_[last - 1].end : end};
      ranges_[first] = merged;
      erase(first + 1, last);
      return;
    }
    if (count_ == Capacity) {
      // Full: insert anyway into a list one longer, then close the smallest gap.
      insert_and_merge_closest(first, AddressRange{start, end});
      return;
    }
    for (std::size_t i = count_; i > first; --i) ranges_[i] = ranges_[i - 1];
    ranges_[first] = AddressRange{start, end};
    ++count_;
  }

  void erase(std::size_t from, std::size_t to) {
    if (from >= to) return;
    const std::size_t removed = to - from;
    for (std::size_t i = to; i < count_; ++i) ranges_[i - removed] = ranges_[i];
    count_ -= removed;
  }

  void insert_and_merge_closest(std::size_t at, AddressRange range) {
    std::array<AddressRange, Capacity + 1> all{};
    for (std::size_t i = 0, j = 0; i <= Capacity; ++i) all[i] = i == at ? range : ranges_[j++];
    std::size_t best = 0;
    for (std::size_t i = 1; i < Capacity; ++i) {
      if (all[i + 1].start - all[i].end < all[best + 1].start - all[best].end) best = i;
    }
    for (std::size_t i = 0, j = 0; i <= Capacity; ++i) {
      if (i == best + 1) {
        ranges_[j - 1].end = all[i].end;
        continue;
      }
      ranges_[j++] = all[i];
    }
  }

  std::array<AddressRange, Capacity> ranges_{};
  std::size_t count_ = 0;
  std::size_t last_ = 0;  // a hint only: any index is right, a wrong one just costs a search
};

}  // namespace ferrite::mm
