// Walking the lower half of an address space's page tables (chapter 14): visit the pages of a
// range, find one page's level-1 entry, move a range's entries elsewhere (mremap), copy a
// range's tables for fork, free everything a user address space holds in some ranges. Portable (the
// tables are reached through a PhysicalMemoryView), so host tests run it over simulated memory
// under ASan; mm/address_space.cpp uses it in the kernel. Mapping one page is mm::Mapper's job.
//
// Chapter 15: fork and exit walk only the ranges the process has mapped (its regions, its
// extents), never every entry of every table — a level-1 table has 512 entries, and reading
// them all for a table with three pages in it was most of what fork and exit cost.
//
// User memory is mapped with 4 KiB pages only. A level-1 entry is either unused (zero), present,
// or "parked": not present but still holding its frame's address (a PROT_NONE page, see
// address_space.cpp). The CPU ignores every bit but P of a not-present entry (Intel SDM Vol. 3A
// 4.5, the "not present" rows of tables 4-15 to 4-20), so the address may stay there. Frame 0
// is never handed out (the first MiB is reserved), so a parked entry is never zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/panic.h"
#include "mm/address.h"
#include "mm/mapper.h"
#include "mm/page.h"
#include "mm/page_table.h"
#include "mm/physical_memory.h"
#include "mm/range_set.h"

namespace ferrite::mm {

// The first level-4 entry of the kernel half (0xFFFF800000000000): entries below are the user's.
inline constexpr std::size_t kFirstKernelLevel4Entry = PageTable::kEntryCount / 2;
// One past the lower half: 256 level-4 entries of 512 GiB each.
inline constexpr std::uint64_t kLowerHalfEnd = std::uint64_t{1} << 47;

namespace user_page_tables_detail {

// The bytes one entry of a level-`level` table covers: 4 KiB at level 1 up to 512 GiB at level 4.
constexpr std::uint64_t entry_span(int level) { return std::uint64_t{1} << (12 + 9 * (level - 1)); }

// The entries [first, last) of a level-`Level` table that starts at `table_base` and overlaps
// [start, end). Computed once, so the loops below only step through entries: a level-1 table of
// a stack region is scanned whole, and under QEMU each instruction per entry costs 512.
struct IndexRange {
  std::size_t first, last;
};
template <int Level>
constexpr IndexRange index_range(std::uint64_t table_base, std::uint64_t start, std::uint64_t end) {
  constexpr std::uint64_t span = entry_span(Level);
  const std::size_t first = start > table_base ? (start - table_base) / span : 0;
  const std::uint64_t to_end = end - table_base;  // end > table_base: the caller's entry overlaps
  const std::size_t last = to_end >= PageTable::kEntryCount * span
                               ? PageTable::kEntryCount
                               : static_cast<std::size_t>((to_end + span - 1) / span);
  return {first, last};
}

// The first entry in use (not zero) from `index` on, before `last`, or `last`: the tight loop a
// level-1 table's scan spends its time in, three instructions an entry.
inline std::size_t next_used(const PageTable& table, std::size_t index, std::size_t last) {
  while (index < last && table[index].is_unused()) ++index;
  return index;
}

template <int Level, class Visit>
void walk(PhysicalMemoryView memory, PhysAddr table_address, std::uint64_t table_base,
          std::uint64_t start, std::uint64_t end, Visit& visit) {
  constexpr std::uint64_t span = entry_span(Level);
  PageTable& table = *memory.pointer_to<PageTable>(table_address);
  const auto [first, last] = index_range<Level>(table_base, start, end);
  if constexpr (Level == 1) {
    for (std::size_t index = next_used(table, first, last); index < last;
         index = next_used(table, index + 1, last)) {
      visit(Page4KiB::containing(VirtAddr(table_base + index * span)), table[index]);
    }
  } else {
    for (std::size_t index = first; index < last; ++index) {
      const PageTableEntry& entry = table[index];
      if (!entry.is_present()) continue;
      FERRITE_ASSERT(!entry.flags().contains(PageTableFlags::huge));  // 4 KiB pages only
      walk<Level - 1>(memory, entry.address(), table_base + index * span, start, end, visit);
    }
  }
}

// copy_user_tables below, one table: `from` is the parent's, `to` the child's.
template <int Level, class Frames, class Share>
bool copy_range(PhysicalMemoryView memory, PhysAddr from_address, PhysAddr to_address,
                std::uint64_t table_base, std::uint64_t start, std::uint64_t end, Frames& frames,
                Share& share) {
  constexpr std::uint64_t span = entry_span(Level);
  PageTable& from = *memory.pointer_to<PageTable>(from_address);
  PageTable& to = *memory.pointer_to<PageTable>(to_address);
  const auto [first, last] = index_range<Level>(table_base, start, end);
  if constexpr (Level == 1) {
    for (std::size_t index = next_used(from, first, last); index < last;
         index = next_used(from, index + 1, last)) {
      if (!share(Page4KiB::containing(VirtAddr(table_base + index * span)), from[index], to[index]))
        return false;
    }
  } else {
    for (std::size_t index = first; index < last; ++index) {
      const PageTableEntry& parent = from[index];
      if (!parent.is_present()) continue;
      FERRITE_ASSERT(!parent.flags().contains(PageTableFlags::huge));  // 4 KiB pages only
      PageTableEntry& child = to[index];
      if (child.is_unused()) {
        const std::optional<Frame4KiB> table = frames.allocate_zeroed();
        if (!table) return false;
        child.set(table->start(), parent.flags());  // as permissive as the parent's (see Mapper)
      }
      if (!copy_range<Level - 1>(memory, parent.address(), child.address(),
                                 table_base + index * span, start, end, frames, share))
        return false;
    }
  }
  return true;
}

// free_user_ranges below, one table and one range; tables that end at or below `keep_from`
// (where the next range starts) are freed, the others wait for that range.
template <int Level, class Frames>
void free_range(PhysicalMemoryView memory, PhysAddr table_address, std::uint64_t table_base,
                std::uint64_t start, std::uint64_t end, std::uint64_t keep_from, Frames& frames) {
  constexpr std::uint64_t span = entry_span(Level);
  PageTable& table = *memory.pointer_to<PageTable>(table_address);
  const auto [first, last] = index_range<Level>(table_base, start, end);
  if constexpr (Level == 1) {
    for (std::size_t index = next_used(table, first, last); index < last;  // parked pages too
         index = next_used(table, index + 1, last)) {
      frames.free(Frame4KiB::containing(table[index].address()));
      table[index].clear();
    }
  } else {
    for (std::size_t index = first; index < last; ++index) {
      PageTableEntry& entry = table[index];
      if (!entry.is_present()) continue;
      FERRITE_ASSERT(!entry.flags().contains(PageTableFlags::huge));
      const std::uint64_t entry_start = table_base + index * span;
      free_range<Level - 1>(memory, entry.address(), entry_start, start, end, keep_from, frames);
      if (entry_start + span <= keep_from) {
        frames.free_table(Frame4KiB::containing(entry.address()));
        entry.clear();
      }
    }
  }
}

}  // namespace user_page_tables_detail

// Calls `visit(Page4KiB page, PageTableEntry& entry)` for every level-1 entry in use (present or
// parked) whose page overlaps [start, end), a range of the lower half, in address order. Only
// tables that exist are read: a 1 TiB region touched in two places costs a few dozen entry
// reads, not 2^28 translations.
template <class Visit>
void for_each_user_page(PhysicalMemoryView memory, Frame4KiB level4, std::uint64_t start,
                        std::uint64_t end, Visit&& visit) {
  FERRITE_ASSERT(end <= kLowerHalfEnd);
  if (start >= end) return;
  user_page_tables_detail::walk<4>(memory, level4.start(), 0, start, end, visit);
}

// The level-1 entry for `page` (a lower-half page), or nullptr when a table on the way does not
// exist. Creates nothing.
inline PageTableEntry* user_page_entry(PhysicalMemoryView memory, Frame4KiB level4, Page4KiB page) {
  PageTable* table = memory.pointer_to<PageTable>(level4.start());
  for (int level = 4; level > 1; --level) {
    const PageTableEntry& entry = (*table)[page.start().table_index(level)];
    if (!entry.is_present()) return nullptr;
    FERRITE_ASSERT(!entry.flags().contains(PageTableFlags::huge));
    table = memory.pointer_to<PageTable>(entry.address());
  }
  return &(*table)[page.start().table_index(1)];
}

// Chapter 15, fork: makes the child's tables (level4_to, whose lower half has nothing in
// [start, end) yet) mirror the parent's over [start, end). Missing child tables come from
// `frames.allocate_zeroed()`; for every level-1 entry in use (present or parked),
// `share(Page4KiB page, PageTableEntry& parent, PageTableEntry& child)` fills the child's entry
// (and may change the parent's) and returns false to stop. False when a table could not be had
// or share refused: what was copied so far stays, for the caller to free.
template <class Frames, class Share>
[[nodiscard]] bool copy_user_tables(PhysicalMemoryView memory, Frame4KiB level4_from,
                                    Frame4KiB level4_to, std::uint64_t start, std::uint64_t end,
                                    Frames& frames, Share&& share) {
  FERRITE_ASSERT(end <= kLowerHalfEnd);
  if (start >= end) return true;
  return user_page_tables_detail::copy_range<4>(memory, level4_from.start(), level4_to.start(), 0,
                                                start, end, frames, share);
}

// The level-1 entry for `page` (a lower-half page), making the tables on the way that do not
// exist yet from `frames.allocate_zeroed()` — present, writable and user, as every table of the
// lower half (the page's own entry decides what user mode may do). nullptr when a table could
// not be had; the tables made before stay (empty, like the ones munmap leaves).
template <class Frames>
[[nodiscard]] PageTableEntry* make_user_page_entry(PhysicalMemoryView memory, Frame4KiB level4,
                                                   Page4KiB page, Frames& frames) {
  PageTable* table = memory.pointer_to<PageTable>(level4.start());
  for (int level = 4; level > 1; --level) {
    PageTableEntry& entry = (*table)[page.start().table_index(level)];
    if (!entry.is_present()) {
      FERRITE_ASSERT(entry.is_unused());  // only level-1 entries are ever parked
      const std::optional<Frame4KiB> made = frames.allocate_zeroed();
      if (!made) return nullptr;
      entry.set(made->start(),
                PageTableFlags::present | PageTableFlags::writable | PageTableFlags::user);
    }
    FERRITE_ASSERT(!entry.flags().contains(PageTableFlags::huge));
    table = memory.pointer_to<PageTable>(entry.address());
  }
  return &(*table)[page.start().table_index(1)];
}

// Chapter 14, mremap, in two steps so that it is all or nothing. First: every page in use in
// [start, end) gets a level-1 entry at the same distance from `to` (the tables on the way are
// made; nothing is mapped). False when a table could not be had: then nothing has moved and the
// caller may give up with every mapping as it was.
template <class Frames>
[[nodiscard]] bool make_user_tables_for_move(PhysicalMemoryView memory, Frame4KiB level4,
                                             std::uint64_t start, std::uint64_t end,
                                             std::uint64_t to, Frames& frames) {
  FERRITE_ASSERT(end <= kLowerHalfEnd && to + (end - start) <= kLowerHalfEnd);
  bool made = true;
  // A destination level-1 table serves 512 pages (2 MiB): only the first page in use of each
  // walks (and perhaps allocates) from the top.
  std::uint64_t covered = ~std::uint64_t{0};  // the 2 MiB whose level-1 table is there
  for_each_user_page(memory, level4, start, end, [&](Page4KiB page, PageTableEntry&) {
    const std::uint64_t target = to + (page.start().value() - start);
    if (!made || target / user_page_tables_detail::entry_span(2) == covered) return;
    made = make_user_page_entry(memory, level4, Page4KiB::containing(VirtAddr(target)), frames) != nullptr;
    covered = target / user_page_tables_detail::entry_span(2);
  });
  return made;
}

// Second (cannot fail): every level-1 entry in use in [start, end) — present, parked or
// copy-on-write, flags and all — moves to the page at the same distance from `to`, whose entry
// must be unused and whose tables make_user_tables_for_move made; the old entry is cleared and
// `moved(Page4KiB old_page)` follows, for the caller to flush that page's TLB entry. The frames
// go with their entries: no byte is copied, no frame taken or given back, and a frame fork
// shares keeps its owner count (the same spaces map it, one of them elsewhere). Pages never
// touched have no entry and stay demand-zero at the new place. The ranges must not overlap.
template <class Moved>
void move_user_pages(PhysicalMemoryView memory, Frame4KiB level4, std::uint64_t start,
                     std::uint64_t end, std::uint64_t to, Moved&& moved) {
  FERRITE_ASSERT(to >= end || to + (end - start) <= start);
  // The destination's level-1 table is looked up once per 2 MiB, not once per page.
  std::uint64_t covered = ~std::uint64_t{0};
  PageTableEntry* table = nullptr;  // entry 0 of the level-1 table for `covered`
  for_each_user_page(memory, level4, start, end, [&](Page4KiB page, PageTableEntry& entry) {
    const Page4KiB target = Page4KiB::containing(VirtAddr(to + (page.start().value() - start)));
    const std::size_t index = target.start().table_index(1);
    if (target.start().value() / user_page_tables_detail::entry_span(2) != covered) {
      PageTableEntry* const first = user_page_entry(memory, level4, target);
      FERRITE_ASSERT(first != nullptr);  // made by make_user_tables_for_move
      table = first - index;
      covered = target.start().value() / user_page_tables_detail::entry_span(2);
    }
    PageTableEntry* const destination = table + index;
    FERRITE_ASSERT(destination->is_unused());
    *destination = entry;
    entry.clear();
    moved(page);
  });
}

// Gives back everything the lower half holds in `ranges` (sorted, disjoint, in the lower half),
// which must cover every page and every table of it: each page (present or parked) to
// `frames.free`, each level-3, level-2 and level-1 table to `frames.free_table`, every entry on
// the way cleared. So each table goes back all zero, and the level-4 table's lower half is left
// empty; the level-4 table itself, and the kernel half it points to, are not touched.
template <class Frames>
void free_user_ranges(PhysicalMemoryView memory, Frame4KiB level4,
                      std::span<const AddressRange> ranges, Frames& frames) {
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    FERRITE_ASSERT(ranges[i].end <= kLowerHalfEnd);
    const std::uint64_t keep_from = i + 1 < ranges.size() ? ranges[i + 1].start : kLowerHalfEnd;
    if (ranges[i].start >= ranges[i].end) continue;
    user_page_tables_detail::free_range<4>(memory, level4.start(), 0, ranges[i].start,
                                           ranges[i].end, keep_from, frames);
  }
}

}  // namespace ferrite::mm
