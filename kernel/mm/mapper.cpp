// The page-table mapper: the table walk, written once, and map (of one page or a range) / unmap /
// update_flags on top.
#include "mm/mapper.h"

#include <algorithm>

namespace ferrite::mm {

namespace {

// The level whose entries map pages of `size` (4 KiB: the level-1 table, 2 MiB: level 2 with the
// huge bit, 1 GiB: level 3 with the huge bit; Intel SDM Vol. 3A 4.5).
constexpr int level_of(PageSize size) {
  switch (size) {
    case PageSize::size_4kib:
      return 1;
    case PageSize::size_2mib:
      return 2;
    case PageSize::size_1gib:
      return 3;
  }
  panic("invalid PageSize");
}

constexpr PageSize size_at_level(int level) {
  switch (level) {
    case 1:
      return PageSize::size_4kib;
    case 2:
      return PageSize::size_2mib;
    case 3:
      return PageSize::size_1gib;
    default:
      panic("level-4 entries never map a page");
  }
}

// The flags of an entry that maps a page of `size` (see Mapper::map).
constexpr PageTableFlags page_entry_flags(PageTableFlags flags, PageSize size) {
  flags = flags.without(PageTableFlags::huge) | PageTableFlags::present;
  return size == PageSize::size_4kib ? flags : flags | PageTableFlags::huge;
}

// The flags of an entry that points to a table, for tables leading to a page with `page_flags`.
constexpr PageTableFlags table_entry_flags(PageTableFlags page_flags) {
  return PageTableFlags::present | PageTableFlags::writable | (page_flags & PageTableFlags::user);
}

// True if `entry`, at the level of `size`, points to a table of smaller pages instead of mapping
// one page of `size`.
constexpr bool holds_smaller_pages(const PageTableEntry& entry, PageSize size) {
  return size != PageSize::size_4kib && !entry.flags().contains(PageTableFlags::huge);
}

}  // namespace

std::optional<Translation> Mapper::translate(VirtAddr address) const {
  const PageTable* table = &table_at(level4_table_.start());
  for (int level = 4; level >= 1; --level) {
    const PageTableEntry& entry = (*table)[address.table_index(level)];
    if (!entry.is_present()) return std::nullopt;
    const bool is_huge = entry.flags().contains(PageTableFlags::huge);
    if (level == 4 && is_huge) return std::nullopt;  // reserved bit: the CPU would fault
    if (level == 1 || is_huge) {
      const PageSize size = size_at_level(level);
      // For a huge page the address field's low bits hold PAT, not address: align them away.
      const PhysAddr frame_start = entry.address().align_down(bytes(size));
      return Translation{frame_start + (address.value() & (bytes(size) - 1)), size, entry.flags()};
    }
    table = &table_at(entry.address());
  }
  return std::nullopt;  // not reached: a present level-1 entry always maps a page
}

std::expected<void, MapError> Mapper::map_range(PageSize size, VirtAddr first, PhysAddr first_frame,
                                                std::uint64_t count, PageTableFlags flags,
                                                FrameSource& frames, IfMapped if_mapped) {
  FERRITE_ASSERT(first.is_aligned(bytes(size)) && first_frame.is_aligned(bytes(size)));
  // The whole range must lie in one half of the address space, and its frames below 2^52, before
  // the first entry is written: the address arithmetic below panics otherwise, and it should do
  // so here, not after a prefix of the range is mapped. (The multiplication must not wrap.)
  if (count > 0) {
    FERRITE_ASSERT(count - 1 <= UINT64_MAX / bytes(size));
    static_cast<void>(first + (count - 1) * bytes(size));
    static_cast<void>(first_frame + (count - 1) * bytes(size));
  }
  const bool keep = if_mapped == IfMapped::keep;
  const PageTableFlags entry_flags = page_entry_flags(flags, size);
  const PageTableFlags table_flags = table_entry_flags(flags);
  const int level = level_of(size);
  std::expected<void, MapError> result;
  std::uint64_t done = 0;  // pages mapped by this call (or, with keep, found mapped)
  while (done < count && result) {
    const VirtAddr page = first + done * bytes(size);
    const auto entry = walk_to_entry(page, size, &frames, table_flags);
    if (!entry) {
      if (keep && entry.error() == MapError::parent_is_huge_page) {
        ++done;  // a larger page maps it already
        continue;
      }
      result = std::unexpected(entry.error());
      break;
    }
    // The pages up to the end of this table have their entries side by side from `entry` on.
    const std::uint64_t in_table =
        std::min<std::uint64_t>(count - done, PageTable::kEntryCount - page.table_index(level));
    for (PageTableEntry* next = *entry; next != *entry + in_table; ++next, ++done) {
      if (next->is_present()) {
        if (holds_smaller_pages(*next, size)) {
          result = std::unexpected(MapError::mapped_with_smaller_pages);
          break;
        }
        if (keep) continue;
        result = std::unexpected(MapError::already_mapped);
        break;
      }
      // No TLB flush: the entry was not present, and the CPU never caches a not-present entry.
      next->set(first_frame + done * bytes(size), entry_flags);
    }
  }
  if (!result && !keep) {
    // Undone page by page: the error path walks again rather than having a second walk.
    while (done > 0) {
      --done;
      const auto undone = unmap_entry(first + done * bytes(size), size);
      FERRITE_ASSERT(undone.has_value());  // this call mapped it a moment ago
    }
  }
  return result;
}

std::expected<PhysAddr, MapError> Mapper::unmap_entry(VirtAddr page, PageSize size) {
  const auto entry = walk_to_entry(page, size, nullptr, {});
  if (!entry) return std::unexpected(entry.error());
  if (!(*entry)->is_present()) return std::unexpected(MapError::not_mapped);
  if (holds_smaller_pages(**entry, size))
    return std::unexpected(MapError::mapped_with_smaller_pages);
  const PhysAddr frame = (*entry)->address().align_down(bytes(size));
  (*entry)->clear();
  flush(page);
  return frame;
}

std::expected<void, MapError> Mapper::update_entry_flags(VirtAddr page, PageSize size,
                                                         PageTableFlags flags) {
  const auto entry = walk_to_entry(page, size, nullptr, {});
  if (!entry) return std::unexpected(entry.error());
  if (!(*entry)->is_present()) return std::unexpected(MapError::not_mapped);
  if (holds_smaller_pages(**entry, size))
    return std::unexpected(MapError::mapped_with_smaller_pages);
  (*entry)->set_flags(page_entry_flags(flags, size));
  flush(page);
  return {};
}

std::expected<PageTableEntry*, MapError> Mapper::walk_to_entry(VirtAddr page, PageSize size,
                                                               FrameSource* frames,
                                                               PageTableFlags table_flags) {
  PageTable* table = &table_at(level4_table_.start());
  for (int level = 4; level > level_of(size); --level) {
    PageTableEntry& entry = (*table)[page.table_index(level)];
    if (!entry.is_present()) {
      if (frames == nullptr) return std::unexpected(MapError::not_mapped);
      if (level == 4 && page.table_index(4) >= first_fixed_level4_) {
        return std::unexpected(MapError::level4_entries_fixed);
      }
      const std::optional<Frame4KiB> new_table = frames->allocate_frame();
      if (!new_table) return std::unexpected(MapError::frame_allocation_failed);
      table_at(new_table->start()).clear();
      entry.set(new_table->start(), table_flags);
    } else if (entry.flags().contains(PageTableFlags::huge)) {
      return std::unexpected(MapError::parent_is_huge_page);
    } else if (frames != nullptr && !entry.flags().contains(table_flags)) {
      // Widening an entry the CPU may have cached: without a flush, the first access through it
      // may fault spuriously (Intel SDM Vol. 3A 4.10.4.3); invlpg drops all cached table entries,
      // not only those for this address (4.10.4.1).
      entry.set_flags(entry.flags() | table_flags);
      flush(page);
    }
    table = &table_at(entry.address());
  }
  return &(*table)[page.table_index(level_of(size))];
}

void Mapper::flush(VirtAddr page) const {
  if (flush_tlb_entry_ != nullptr) flush_tlb_entry_(page);
}

}  // namespace ferrite::mm
