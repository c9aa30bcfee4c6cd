// Walking the lower half of an address space's page tables (chapter 14): visit the pages of a
// range, find one page's level-1 entry, free everything a user address space holds. Portable
// (the tables are reached through a PhysicalMemoryView), so host tests run it over simulated
// memory under ASan; mm/address_space.cpp uses it in the kernel. Mapping is mm::Mapper's job.
//
// User memory is mapped with 4 KiB pages only. A level-1 entry is either unused (zero), present,
// or "parked": not present but still holding its frame's address (a PROT_NONE page, see
// address_space.cpp). The CPU ignores every bit but P of a not-present entry (Intel SDM Vol. 3A
// 4.5, the "not present" rows of tables 4-15 to 4-20), so the address may stay there. Frame 0
// is never handed out (the first MiB is reserved), so a parked entry is never zero.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/panic.h"
#include "mm/address.h"
#include "mm/mapper.h"
#include "mm/page.h"
#include "mm/page_table.h"
#include "mm/physical_memory.h"

namespace ferrite::mm {

// The first level-4 entry of the kernel half (0xFFFF800000000000): entries below are the user's.
inline constexpr std::size_t kFirstKernelLevel4Entry = PageTable::kEntryCount / 2;
// One past the lower half: 256 level-4 entries of 512 GiB each.
inline constexpr std::uint64_t kLowerHalfEnd = std::uint64_t{1} << 47;

namespace user_page_tables_detail {

// The bytes one entry of a level-`level` table covers: 4 KiB at level 1 up to 512 GiB at level 4.
constexpr std::uint64_t entry_span(int level) { return std::uint64_t{1} << (12 + 9 * (level - 1)); }

template <class Visit>
void walk(PhysicalMemoryView memory, PhysAddr table_address, int level, std::uint64_t table_base,
          std::uint64_t start, std::uint64_t end, Visit& visit) {
  const std::uint64_t span = entry_span(level);
  PageTable& table = *memory.pointer_to<PageTable>(table_address);
  std::size_t index = start > table_base ? (start - table_base) / span : 0;
  for (; index < PageTable::kEntryCount; ++index) {
    const std::uint64_t entry_start = table_base + index * span;
    if (entry_start >= end) break;
    PageTableEntry& entry = table[index];
    if (level == 1) {
      if (!entry.is_unused()) visit(Page4KiB::containing(VirtAddr(entry_start)), entry);
    } else if (entry.is_present()) {
      FERRITE_ASSERT(!entry.flags().contains(PageTableFlags::huge));  // 4 KiB pages only
      walk(memory, entry.address(), level - 1, entry_start, start, end, visit);
    }
  }
}

template <class Frames>
void free_below(PhysicalMemoryView memory, PhysAddr table_address, int level, Frames& frames) {
  PageTable& table = *memory.pointer_to<PageTable>(table_address);
  for (PageTableEntry& entry : table.entries) {
    if (level == 1 ? entry.is_unused() : !entry.is_present()) continue;  // parked pages too
    if (level > 1) {
      FERRITE_ASSERT(!entry.flags().contains(PageTableFlags::huge));
      free_below(memory, entry.address(), level - 1, frames);
    }
    frames.free(Frame4KiB::containing(entry.address()));
    entry.clear();
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
  user_page_tables_detail::walk(memory, level4.start(), 4, 0, start, end, visit);
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

// Gives every frame of the lower half to `frames.free`: each page (present or parked) and each
// level-3, level-2 and level-1 table, leaving entries 0..255 of the level-4 table empty. The
// level-4 table itself, and the kernel half it points to, are not touched.
template <FrameOwner Frames>
void free_user_half(PhysicalMemoryView memory, Frame4KiB level4, Frames& frames) {
  PageTable& table = *memory.pointer_to<PageTable>(level4.start());
  for (std::size_t index = 0; index < kFirstKernelLevel4Entry; ++index) {
    PageTableEntry& entry = table[index];
    if (!entry.is_present()) continue;
    user_page_tables_detail::free_below(memory, entry.address(), 3, frames);
    frames.free(Frame4KiB::containing(entry.address()));
    entry.clear();
  }
}

}  // namespace ferrite::mm
