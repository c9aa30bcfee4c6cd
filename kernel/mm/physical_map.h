// Which pages map the physical memory at kPhysicalMemoryOffset (chapter 9, "map the complete
// physical memory"), as portable logic: host tests check the page choice, memory.cpp maps them.
#pragma once

#include <cstdint>
#include <span>

#include "boot/boot_info.h"
#include "mm/address.h"
#include "mm/page.h"

namespace ferrite::mm {

// The largest page that is aligned at `start` and fits below `end` (1 GiB pages only if
// `use_1gib`).
constexpr PageSize largest_page_at(std::uint64_t start, std::uint64_t end, bool use_1gib) {
  const auto fits = [start, end](PageSize size) {
    return is_aligned(start, bytes(size)) && end - start >= bytes(size);
  };
  if (use_1gib && fits(PageSize::size_1gib)) return PageSize::size_1gib;
  if (fits(PageSize::size_2mib)) return PageSize::size_2mib;
  return PageSize::size_4kib;
}

// Calls `map_run(PageSize, physical_start, count)` for runs of `count` consecutive pages of one
// size that cover [start, end) exactly (both 4 KiB-aligned): at each point the largest page that
// is aligned there and fits (largest_page_at). A range that is RAM only in part of a 2 MiB block
// thus gets 4 KiB pages at its edges, and no huge page reaches past RAM into device memory.
// Each run is as long as it can be (the next one has another size), so the caller maps it with
// one Mapper::map_range, and finding the runs costs a few steps, not one per page.
template <class MapRun>
void for_each_page_run(std::uint64_t start, std::uint64_t end, bool use_1gib, MapRun&& map_run) {
  FERRITE_ASSERT(is_aligned(start, kPageBytes) && is_aligned(end, kPageBytes) && start <= end);
  while (start < end) {
    const PageSize size = largest_page_at(start, end, use_1gib);
    // Pages of `size` follow each other until the rest is too small for one, or until the next
    // larger page is aligned and fits. That is at its first boundary after `start` or never: at
    // `start` it did not fit (or it would have been chosen), and later the rest only shrinks.
    // (Where a 1 GiB page fits, a 2 MiB page does, so a 4 KiB run need only look at 2 MiB.)
    std::uint64_t run_end = align_down(end, bytes(size));
    const bool has_larger =
        size == PageSize::size_4kib || (size == PageSize::size_2mib && use_1gib);
    if (has_larger) {
      const std::uint64_t larger =
          bytes(size == PageSize::size_4kib ? PageSize::size_2mib : PageSize::size_1gib);
      const std::uint64_t boundary = align_up(start, larger);
      if (boundary < end && end - boundary >= larger) run_end = boundary;
    }
    map_run(size, start, (run_end - start) / bytes(size));
    start = run_end;
  }
}

// Calls `map_page(PageSize, physical_start)` for each page of for_each_page_run's runs, in order:
// for callers that handle pages one at a time.
template <class MapPage>
void for_each_page(std::uint64_t start, std::uint64_t end, bool use_1gib, MapPage&& map_page) {
  for_each_page_run(start, end, use_1gib,
                    [&](PageSize size, std::uint64_t first, std::uint64_t count) {
                      for (std::uint64_t i = 0; i < count; ++i) {
                        map_page(size, first + i * bytes(size));
                      }
                    });
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
