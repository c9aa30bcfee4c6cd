// Which pages map the physical memory at kPhysicalMemoryOffset (chapter 9, "map the complete
// physical memory"), as portable logic: host tests check the page choice, memory.cpp maps them.
#pragma once

#include <cstdint>
#include <span>

#include "boot/boot_info.h"
#include "mm/address.h"
#include "mm/page.h"

namespace ferrite::mm {

// Calls `map_page(PageSize, physical_start)` for pages that cover [start, end) exactly (both
// 4 KiB-aligned): at each point the largest page that is aligned there and fits (1 GiB pages
// only if `use_1gib`). A range that is RAM only in part of a 2 MiB block thus gets 4 KiB pages
// at its edges, and no huge page reaches past RAM into device memory.
template <class MapPage>
void for_each_largest_page(std::uint64_t start, std::uint64_t end, bool use_1gib, MapPage&& map_page) {
  FERRITE_ASSERT(is_aligned(start, kPageBytes) && is_aligned(end, kPageBytes) && start <= end);
  while (start < end) {
    PageSize size = PageSize::size_4kib;
    for (const PageSize larger : {PageSize::size_1gib, PageSize::size_2mib}) {
      if (larger == PageSize::size_1gib && !use_1gib) continue;
      if (is_aligned(start, bytes(larger)) && end - start >= bytes(larger)) {
        size = larger;
        break;
      }
    }
    map_page(size, start);
    start += bytes(size);
  }
}

// Whether the physical map holds a region of this type: RAM the kernel may use, and the ACPI
// tables and NVS (later chapters read the tables). Reserved ranges are often device memory
// (the hole below 4 GiB); those are mapped one by one, uncached, by map_mmio.
constexpr bool is_mapped_at_offset(boot::MemoryType type) {
  switch (type) {
    case boot::MemoryType::usable:
    case boot::MemoryType::acpi_reclaimable:
    case boot::MemoryType::acpi_nvs:
      return true;
    case boot::MemoryType::reserved:
    case boot::MemoryType::bad:
      return false;
  }
  return false;
}

// Calls `map_range(start, end)` for the page-aligned ranges the physical map covers: the first
// `always_mapped` bytes (the legacy area below 1 MiB: BIOS data, VGA memory, ROMs), then every
// region of a mapped type, widened to whole pages and merged where they touch or overlap. Ranges
// come in increasing order and never overlap. Returns the end of the last one.
template <class MapRange>
std::uint64_t for_each_physical_map_range(std::span<const boot::MemoryRegion> memory_map,
                                          std::uint64_t always_mapped, MapRange&& map_range) {
  std::uint64_t pending_start = 0;
  std::uint64_t pending_end = align_up(always_mapped, kPageBytes);
  for (const boot::MemoryRegion& region : memory_map) {  // sorted, non-overlapping (BootInfo)
    if (!is_mapped_at_offset(region.type) || region.length == 0) continue;
    const std::uint64_t start = align_down(region.base, kPageBytes);
    // The top page of the address space cannot be widened to a page end; BootInfo clamps regions
    // to 2^64 - 1 and the physical map ends far below that anyway.
    const std::uint64_t last = region.base + (region.length - 1);
    if (last >= align_down(~std::uint64_t{0}, kPageBytes)) continue;
    const std::uint64_t end = align_up(last + 1, kPageBytes);
    if (start <= pending_end) {
      pending_end = end > pending_end ? end : pending_end;
      continue;
    }
    if (pending_end > pending_start) map_range(pending_start, pending_end);
    pending_start = start;
    pending_end = end;
  }
  if (pending_end > pending_start) map_range(pending_start, pending_end);
  return pending_end;
}

}  // namespace ferrite::mm
