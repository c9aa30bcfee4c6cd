// The page-table mapper (chapter 9): walks the four levels of an address space to translate,
// map, unmap and re-flag pages of 4 KiB, 2 MiB and 1 GiB. Portable: it reaches the tables through
// a PhysicalMemoryView and flushes the TLB through a hook, so host tests run it over a buffer.
#pragma once

#include <concepts>
#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>

#include "lib/format.h"
#include "mm/address.h"
#include "mm/frame_allocator.h"
#include "mm/page.h"
#include "mm/page_table.h"
#include "mm/physical_memory.h"

namespace ferrite::mm {

// Misaligned or non-canonical addresses are no error case here: Page, Frame and VirtAddr cannot
// hold them, so such calls do not compile or panic where the bad value is made.
enum class MapError {
  already_mapped,             // map: the page is mapped already
  not_mapped,                 // unmap / update_flags: no mapping for the page
  parent_is_huge_page,        // a larger page already covers the address
  mapped_with_smaller_pages,  // a 2 MiB / 1 GiB request where a table of smaller pages sits
  frame_allocation_failed,    // no frame left for a new page table
  level4_entries_fixed,       // would need a new level-4 entry where they are fixed (see below)
};

constexpr std::string_view to_string(MapError error) {
  switch (error) {
    case MapError::already_mapped:
      return "the page is already mapped";
    case MapError::not_mapped:
      return "the page is not mapped";
    case MapError::parent_is_huge_page:
      return "the address is covered by a larger (huge) page";
    case MapError::mapped_with_smaller_pages:
      return "the address range is managed by a table of smaller pages, not by one huge page";
    case MapError::frame_allocation_failed:
      return "no physical frame left for a new page table";
    case MapError::level4_entries_fixed:
      return "the address lies outside the kernel regions whose level-4 entries were made at boot";
  }
  return "unknown mapping error";
}

// What map_range does with a page that is mapped already: fail (and undo the call's pages), or
// keep it as it is and go on with the next (map_mmio: windows may overlap what is mapped).
enum class IfMapped { fail, keep };

// Where an address leads: the physical address, the size of the page that maps it, and the
// flags of that page's entry.
struct Translation {
  PhysAddr address;
  PageSize page_size;
  PageTableFlags flags;
};

class Mapper {
 public:
  // Called with a page's address after its entry changed, so the CPU drops a stale cached
  // translation (the kernel's hook executes `invlpg`). nullptr when the tables are not the active
  // ones (not in CR3), so the TLB cannot hold their entries.
  using FlushTlbEntry = void (*)(VirtAddr);

  Mapper(Frame4KiB level4_table, PhysicalMemoryView memory, FlushTlbEntry flush_tlb_entry)
      : level4_table_(level4_table), memory_(memory), flush_tlb_entry_(flush_tlb_entry) {}

  // The physical address `address` maps to, or nothing if it is not mapped. Follows the tables
  // the way the CPU does, stopping early at huge pages.
  std::optional<Translation> translate(VirtAddr address) const;

  // Maps `page` to `frame`. The entry gets `flags` plus `present`; `huge` is the mapper's
  // business (set for 2 MiB and 1 GiB pages, cleared for 4 KiB pages, where bit 7 means PAT).
  // Missing intermediate tables come from `frames`, zeroed, as present + writable (+ user if
  // `flags` has it): ferrite keeps permissions in the entries that map pages, so entries above
  // are as permissive as the pages below need, and existing ones are widened to that.
  // The new entry needs no TLB flush: the CPU never caches a not-present entry (Intel SDM
  // Vol. 3A 4.10.4.3); widening an existing table entry does flush. On error nothing is mapped,
  // but tables created on the way stay (empty) for the next attempt.
  template <PageSize Size>
  [[nodiscard]] std::expected<void, MapError> map(Page<Size> page, Frame<Size> frame,
                                                  PageTableFlags flags, FrameSource& frames) {
    return map_range(Size, page.start(), frame.start(), 1, flags, frames);
  }

  // Maps `count` pages from `first` on to as many consecutive frames from `first_frame` on, all
  // with `flags`, as `count` calls of map would, but walking down to each table of entries only
  // once and filling its consecutive entries until the range or the table ends (Linux's
  // vmap_pte_range does the same): the kernel maps its image and the edges of RAM this way.
  // All or nothing, like map: on an error (a page already mapped, no frame for a table...) the
  // pages this call mapped are unmapped again, with a TLB flush each, as they may have been
  // cached meanwhile; tables created on the way stay (empty). count 0 maps nothing and succeeds.
  // A range that runs out of its half of the address space (or its frames past 2^52) panics, as
  // Page and Frame arithmetic does, before any page of it is mapped.
  template <PageSize Size>
  [[nodiscard]] std::expected<void, MapError> map_range(Page<Size> first, Frame<Size> first_frame,
                                                        std::uint64_t count, PageTableFlags flags,
                                                        FrameSource& frames) {
    return map_range(Size, first.start(), first_frame.start(), count, flags, frames);
  }

  // The same with the page size chosen at run time (the physical map takes the largest page that
  // fits at each point, mm/physical_map.h); `first` and `first_frame` are aligned to `size`.
  // With IfMapped::keep, a page that is mapped already (by an entry of its size or by a larger
  // page) stays as it is and the next one is mapped: the call is then not all or nothing but
  // can be repeated, and on an error the pages it mapped stay. A page of 2 MiB or 1 GiB whose
  // entry holds a table of smaller pages is still mapped_with_smaller_pages.
  [[nodiscard]] std::expected<void, MapError> map_range(PageSize size, VirtAddr first,
                                                        PhysAddr first_frame, std::uint64_t count,
                                                        PageTableFlags flags, FrameSource& frames,
                                                        IfMapped if_mapped = IfMapped::fail);

  // Removes the mapping of `page` and returns the frame it mapped to (which the caller may free).
  // Page tables that become empty are kept.
  template <PageSize Size>
  [[nodiscard]] std::expected<Frame<Size>, MapError> unmap(Page<Size> page) {
    const std::expected<PhysAddr, MapError> frame_start = unmap_entry(page.start(), Size);
    if (!frame_start) return std::unexpected(frame_start.error());
    return Frame<Size>::containing(*frame_start);
  }

  // From now on no level-4 entry at `first_index` or above is created: a map that would need
  // one fails with level4_entries_fixed instead. The kernel fixes its half (256..511) once user
  // address spaces may have copied it (mm/memory.cpp, mm::init): a new entry there would reach
  // the kernel's own table only.
  void fix_level4_entries_from(std::size_t first_index) { first_fixed_level4_ = first_index; }

  // Replaces the flags of a mapped page (same `present` / `huge` rule as map), keeping its frame.
  template <PageSize Size>
  [[nodiscard]] std::expected<void, MapError> update_flags(Page<Size> page, PageTableFlags flags) {
    return update_entry_flags(page.start(), Size, flags);
  }

 private:
  std::expected<PhysAddr, MapError> unmap_entry(VirtAddr page, PageSize size);
  std::expected<void, MapError> update_entry_flags(VirtAddr page, PageSize size,
                                                   PageTableFlags flags);

  // The entry for `page` in the table of the level that maps pages of `size`. A missing table on
  // the way is created from `frames` (linked with `table_flags`), or without `frames` means
  // not_mapped.
  std::expected<PageTableEntry*, MapError> walk_to_entry(VirtAddr page, PageSize size,
                                                         FrameSource* frames,
                                                         PageTableFlags table_flags);
  PageTable& table_at(PhysAddr table) const { return *memory_.pointer_to<PageTable>(table); }
  void flush(VirtAddr page) const;

  Frame4KiB level4_table_;
  PhysicalMemoryView memory_;
  FlushTlbEntry flush_tlb_entry_;
  std::size_t first_fixed_level4_ = PageTable::kEntryCount;  // none fixed
};

// A FrameSource that also takes frames back: what map_fresh_pages needs to undo its work. The
// kernel's FrameAllocator is one; host tests use one that fails on a chosen frame.
template <class Frames>
concept FrameOwner = std::derived_from<Frames, FrameSource> && requires(Frames& frames, Frame4KiB frame) {
  { frames.allocate() } -> std::same_as<std::optional<Frame4KiB>>;
  frames.free(frame);
};

// Maps `count` pages from `first` on to fresh frames from `frames`, each zeroed through
// `memory` before it becomes reachable (the heap grows this way).
// All or nothing: when a frame or a page table cannot be had, the pages mapped so far are
// unmapped and their frames freed, so the same range can be tried again later.
// `mapper` is a Mapper, or anything with its map and unmap of 4 KiB pages (the kernel passes
// one that takes the kernel-table lock around each call, mm/memory.cpp); frames are zeroed
// between those calls, outside any lock the mapper takes.
template <class PageMapper, FrameOwner Frames>
[[nodiscard]] std::expected<void, MapError> map_fresh_pages(PageMapper& mapper, PhysicalMemoryView memory,
                                                            Page4KiB first, std::uint64_t count,
                                                            PageTableFlags flags, Frames& frames) {
  std::expected<void, MapError> result;
  std::uint64_t mapped = 0;
  for (; mapped < count; ++mapped) {
    const std::optional<Frame4KiB> frame = frames.allocate();
    if (!frame) {
      result = std::unexpected(MapError::frame_allocation_failed);
      break;
    }
    __builtin_memset(memory.pointer_to(frame->start()), 0, Frame4KiB::kBytes);
    result = mapper.map(first + mapped, *frame, flags, frames);
    if (!result) {
      frames.free(*frame);
      break;
    }
  }
  if (!result) {
    while (mapped > 0) {
      --mapped;
      const std::expected<Frame4KiB, MapError> frame = mapper.unmap(first + mapped);
      FERRITE_ASSERT(frame.has_value());  // this function mapped it a moment ago
      frames.free(*frame);
    }
  }
  return result;
}

}  // namespace ferrite::mm

namespace ferrite::fmt {

template <>
struct Formatter<mm::MapError> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    return check_text_spec(spec, "s");
  }
  static void format(Sink& sink, const mm::MapError& error, const FormatSpec& spec) {
    write_padded(sink, to_string(error), spec);
  }
};

}  // namespace ferrite::fmt
