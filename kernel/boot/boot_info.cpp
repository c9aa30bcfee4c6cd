// BootInfo's own logic, shared by both protocols: normalising the firmware's memory map and
// keeping bounded copies of the boot strings.
#include "boot/boot_info.h"

#include <algorithm>
#include <limits>

namespace ferrite::boot {
namespace {

template <typename Counter>
void count(Counter& counter) {
  if (counter != std::numeric_limits<Counter>::max()) ++counter;
}

// Copies `text` into `buffer`; if it does not fit, cuts at the last space that fits so that a
// command line never ends in half an option ("heap=25" from "heap=256K").
template <std::size_t capacity>
std::size_t copy_bounded(std::string_view text, std::array<char, capacity>& buffer,
                         bool& truncated) {
  std::size_t length = text.size();
  truncated = length > capacity;
  if (truncated) {
    length = capacity;
    for (std::size_t cut = capacity; cut > 0; --cut) {
      if (text[cut] == ' ') {
        length = cut;
        break;
      }
    }
    while (length > 0 && text[length - 1] == ' ') --length;
  }
  std::copy_n(text.data(), length, buffer.data());
  return length;
}

}  // namespace

std::uint64_t BootInfo::usable_bytes() const {
  std::uint64_t total = 0;
  for (const MemoryRegion& region : memory_map()) {
    if (region.type == MemoryType::usable) total += region.length;
  }
  return total;
}

// Paints `region` over the sorted, disjoint map from left to right. `cursor` is the first
// address of `region` not handled yet; `index` the first map entry that ends after it.
std::expected<void, ParseError> BootInfo::add_memory_region(MemoryRegion region) {
  if (region.length == 0) {
    count(diagnostics_.empty_regions);
    return {};
  }
  constexpr std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
  if (region.length > top - region.base) {
    region.length = top - region.base;  // the last byte of the address space is lost: harmless
    count(diagnostics_.clamped_regions);
    if (region.length == 0) return {};
  }
  const std::uint64_t end = region.end();

  std::size_t index = 0;
  while (index < region_count_ && regions_[index].end() <= region.base) ++index;
  if (index < region_count_ && regions_[index].base < end) count(diagnostics_.overlapping_regions);

  std::uint64_t cursor = region.base;
  while (cursor < end) {
    const bool at_gap = index == region_count_ || regions_[index].base > cursor;
    if (at_gap) {
      // Nobody claims [cursor, gap_end) yet: it becomes the new region's type.
      const std::uint64_t gap_end =
          index == region_count_ ? end : std::min(regions_[index].base, end);
      // Growing a touching neighbour of the same type instead of inserting keeps the map from
      // overflowing in the middle of an add whose result would fit.
      MemoryRegion* previous = index > 0 ? &regions_[index - 1] : nullptr;
      MemoryRegion* next = index < region_count_ ? &regions_[index] : nullptr;
      if (previous != nullptr && previous->end() == cursor && previous->type == region.type) {
        previous->length += gap_end - cursor;
      } else if (next != nullptr && next->base == gap_end && next->type == region.type) {
        next->length += gap_end - cursor;
        next->base = cursor;
      } else {
        if (!insert_region_at(index, {cursor, gap_end - cursor, region.type})) {
          return std::unexpected(ParseError::too_many_memory_regions);
        }
        ++index;
      }
      cursor = gap_end;
      continue;
    }
    // regions_[index] covers cursor: the overlap keeps the more restrictive of the two types.
    const std::uint64_t piece_end = std::min(regions_[index].end(), end);
    if (restrictiveness(region.type) > restrictiveness(regions_[index].type)) {
      if (regions_[index].base < cursor) {
        if (!split_region_at(index, cursor)) {
          return std::unexpected(ParseError::too_many_memory_regions);
        }
        ++index;
      }
      if (regions_[index].end() > piece_end && !split_region_at(index, piece_end)) {
        return std::unexpected(ParseError::too_many_memory_regions);
      }
      regions_[index].type = region.type;
    }
    cursor = piece_end;
    ++index;
  }
  merge_adjacent_regions();
  if (region_count_ > max_memory_regions) {
    return std::unexpected(ParseError::too_many_memory_regions);
  }
  return {};
}

std::expected<void, ParseError> BootInfo::add_e820_region(std::uint64_t base, std::uint64_t length,
                                                          std::uint32_t e820_type) {
  const std::optional<MemoryType> type = memory_type_from_e820(e820_type);
  if (!type) {
    count(diagnostics_.unknown_region_types);
    diagnostics_.last_unknown_region_type = e820_type;
  }
  return add_memory_region({base, length, type.value_or(MemoryType::reserved)});
}

bool BootInfo::insert_region_at(std::size_t index, MemoryRegion region) {
  if (region_count_ == regions_.size()) return false;
  std::copy_backward(regions_.begin() + index, regions_.begin() + region_count_,
                     regions_.begin() + region_count_ + 1);
  regions_[index] = region;
  ++region_count_;
  return true;
}

bool BootInfo::split_region_at(std::size_t index, std::uint64_t address) {
  const MemoryRegion whole = regions_[index];
  MemoryRegion upper{address, whole.end() - address, whole.type};
  if (!insert_region_at(index + 1, upper)) return false;
  regions_[index].length = address - whole.base;
  return true;
}

void BootInfo::merge_adjacent_regions() {
  std::size_t kept = 0;
  for (std::size_t next = 0; next < region_count_; ++next) {
    MemoryRegion& last = regions_[kept == 0 ? 0 : kept - 1];
    if (kept > 0 && last.end() == regions_[next].base && last.type == regions_[next].type) {
      last.length += regions_[next].length;
    } else {
      regions_[kept++] = regions_[next];
    }
  }
  region_count_ = kept;
}

void BootInfo::set_command_line(std::string_view text) {
  command_line_length_ = copy_bounded(text, command_line_, diagnostics_.command_line_truncated);
}

void BootInfo::set_bootloader_name(std::string_view text) {
  bootloader_name_length_ =
      copy_bounded(text, bootloader_name_, diagnostics_.bootloader_name_truncated);
}

void BootInfo::add_module(Module module) {
  if (module_count_ == modules_.size()) {
    count(diagnostics_.dropped_modules);
    return;
  }
  modules_[module_count_++] = module;
}

}  // namespace ferrite::boot
