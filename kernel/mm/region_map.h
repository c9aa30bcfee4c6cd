// The regions of a user address space (chapter 14): which ranges of the lower half may hold
// memory, and with which permissions — what Linux calls the VMAs of an mm. Portable and
// freestanding (a fixed array, no heap), so host tests run it under ASan/UBSan; the page tables
// themselves are mm/address_space.cpp's business.
//
// A region is [start, end) with the PROT_* bits of mmap. Regions never overlap and are kept
// sorted by address; neighbours that touch and have the same permissions are merged (as Linux
// merges VMAs), so a program that maps, protects and unmaps piece by piece does not fill the map
// with fragments. Unmapping or re-protecting the middle of a region splits it in three.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string_view>

namespace ferrite::mm {

struct Region {
  std::uint64_t start = 0;
  std::uint64_t end = 0;  // one past the last byte
  std::uint32_t protection = 0;

  constexpr bool contains(std::uint64_t address) const { return address >= start && address < end; }
  friend constexpr bool operator==(const Region&, const Region&) = default;
};

enum class RegionError {
  overlaps,  // insert: part of the range is a region already
  full,      // the operation needs more regions than the map holds
};

constexpr std::string_view to_string(RegionError error) {
  switch (error) {
    case RegionError::overlaps:
      return "the range overlaps an existing region";
    case RegionError::full:
      return "no room for another region";
  }
  return "unknown region error";
}

// Every operation checks that the result fits before changing anything: on an error the map is
// as it was. Ranges are [start, end) with start < end; the caller checks alignment and the user
// range (the map works for any numbers).
template <std::size_t Capacity>
class RegionMap {
 public:
  static constexpr std::size_t kCapacity = Capacity;

  RegionMap() = default;
  // Copies only the regions in use: fork copies a process's map, a few of Capacity slots.
  RegionMap(const RegionMap& other) { *this = other; }
  RegionMap& operator=(const RegionMap& other) {
    for (std::size_t i = 0; i < other.count_; ++i) regions_[i] = other.regions_[i];
    count_ = other.count_;
    return *this;
  }

  std::span<const Region> regions() const { return {regions_.data(), count_}; }
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  // The region holding `address`, or nullptr.
  const Region* find(std::uint64_t address) const {
    const std::size_t index = first_ending_after(address);
    if (index < count_ && regions_[index].contains(address)) return &regions_[index];
    return nullptr;
  }

  // True if some address in [start, end) lies in a region.
  bool overlaps(std::uint64_t start, std::uint64_t end) const {
    const std::size_t index = first_ending_after(start);
    return index < count_ && regions_[index].start < end;
  }

  // True if every address in [start, end) lies in some region (regions may change in between).
  bool covers(std::uint64_t start, std::uint64_t end) const {
    for (std::size_t index = first_ending_after(start); index < count_ && start < end; ++index) {
      if (regions_[index].start > start) return false;  // a hole before this region
      start = regions_[index].end;
    }
    return start >= end;
  }

  // Adds a region where there is none yet.
  [[nodiscard]] std::expected<void, RegionError> insert(std::uint64_t start, std::uint64_t end,
                                                        std::uint32_t protection) {
    if (overlaps(start, end)) return std::unexpected(RegionError::overlaps);
    return assign(start, end, protection);
  }

  // Makes [start, end) one region with `protection`, whatever was there: parts of regions
  // outside the range stay as they were (mmap with MAP_FIXED, and mprotect, do this).
  [[nodiscard]] std::expected<void, RegionError> assign(std::uint64_t start, std::uint64_t end,
                                                        std::uint32_t protection) {
    const Region middle{start, end, protection};
    return replace_range(start, end, &middle);
  }

  // Removes [start, end) from every region (munmap): regions inside go, regions across an edge
  // are cut, a region around the whole range is split in two. Addresses in no region are fine.
  [[nodiscard]] std::expected<void, RegionError> remove(std::uint64_t start, std::uint64_t end) {
    return replace_range(start, end, nullptr);
  }

  // The highest `bytes`-long free range inside [lowest, highest), returned as its start, or
  // nothing: how mmap without an address finds room top-down (Linux's
  // unmapped_area_topdown, mm/mmap.c). `bytes` > 0; the caller keeps everything page-aligned.
  std::optional<std::uint64_t> find_gap_top_down(std::uint64_t bytes, std::uint64_t lowest,
                                                 std::uint64_t highest) const {
    if (bytes == 0 || highest <= lowest || highest - lowest < bytes) return std::nullopt;
    std::uint64_t top = highest;  // the free range being looked at ends here
    for (std::size_t index = count_; index-- > 0;) {
      const Region& region = regions_[index];
      if (region.start >= top) continue;  // entirely above what is left of the window
      if (region.end < top) {
        const std::uint64_t bottom = region.end > lowest ? region.end : lowest;
        if (top - bottom >= bytes) return top - bytes;
      }
      top = region.start;
      if (top <= lowest || top - lowest < bytes) return std::nullopt;
    }
    return top - bytes;  // [lowest, top) below the lowest region is big enough (checked above)
  }

 private:
  // The index of the first region that ends after `address` (count_ if none): the only region
  // that can hold `address`, and where a walk over [address, ...) starts.
  std::size_t first_ending_after(std::uint64_t address) const {
    std::size_t low = 0;
    std::size_t high = count_;
    while (low < high) {
      const std::size_t mid = low + (high - low) / 2;
      if (regions_[mid].end <= address) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return low;
  }

  // Replaces everything in [start, end) by `middle` (or by nothing), keeping the parts of the
  // regions at either edge that stick out, then merges `middle` with equal neighbours.
  std::expected<void, RegionError> replace_range(std::uint64_t start, std::uint64_t end,
                                                 const Region* middle) {
    const std::size_t first = first_ending_after(start);  // regions [first, last) overlap
    std::size_t last = first;
    while (last < count_ && regions_[last].start < end) ++last;

    Region pieces[3];
    std::size_t piece_count = 0;
    if (first < last && regions_[first].start < start) {
      pieces[piece_count++] = {regions_[first].start, start, regions_[first].protection};
    }
    const std::size_t middle_index = first + piece_count;
    if (middle != nullptr) pieces[piece_count++] = *middle;
    if (first < last && regions_[last - 1].end > end) {
      pieces[piece_count++] = {end, regions_[last - 1].end, regions_[last - 1].protection};
    }
    // Checked before merging, so an operation may be refused one or two regions early.
    if (count_ - (last - first) + piece_count > Capacity) return std::unexpected(RegionError::full);

    splice(first, last, pieces, piece_count);
    if (middle != nullptr) merge_with_neighbours(middle_index);
    return {};
  }

  // Replaces regions [first, last) by `pieces`, shifting the ones after.
  void splice(std::size_t first, std::size_t last, const Region* pieces, std::size_t piece_count) {
    const std::size_t removed = last - first;
    const std::size_t new_count = count_ - removed + piece_count;
    if (piece_count > removed) {
      for (std::size_t i = count_; i-- > last;) regions_[i + piece_count - removed] = regions_[i];
    } else if (piece_count < removed) {
      for (std::size_t i = last; i < count_; ++i) regions_[i - removed + piece_count] = regions_[i];
    }
    for (std::size_t i = 0; i < piece_count; ++i) regions_[first + i] = pieces[i];
    count_ = new_count;
  }

  void merge_with_neighbours(std::size_t index) {
    if (index + 1 < count_ && mergeable(regions_[index], regions_[index + 1])) {
      regions_[index].end = regions_[index + 1].end;
      splice(index + 1, index + 2, nullptr, 0);
    }
    if (index > 0 && mergeable(regions_[index - 1], regions_[index])) {
      regions_[index - 1].end = regions_[index].end;
      splice(index, index + 1, nullptr, 0);
    }
  }

  static bool mergeable(const Region& lower, const Region& upper) {
    return lower.end == upper.start && lower.protection == upper.protection;
  }

  std::array<Region, Capacity> regions_{};
  std::size_t count_ = 0;
};

}  // namespace ferrite::mm
