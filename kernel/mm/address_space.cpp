// User address spaces (chapter 14): a level-4 table per space whose lower half is the program's
// own and whose upper half repeats the kernel's entries; regions (mm/region_map.h) say what may be
// mapped, and pages get frames on first touch. Every frame a space takes is counted, and
// destroy_address_space gives all of them back.
#include "mm/address_space.h"

#include <new>

#include "arch/x86_64/cpu.h"
#include "lib/panic.h"
#include "mm/frame_shares.h"
#include "mm/heap.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "mm/user_page_tables.h"
#include "sched/sync.h"
#include "sync/spinlock.h"

namespace ferrite::mm {

namespace {

constexpr PhysicalMemoryView kPhysicalMemory{kPhysicalMemoryOffset};
constexpr std::uint32_t kAllProtections = kProtRead | kProtWrite | kProtExec;

constinit AddressSpace* active = nullptr;

// A mark write_initial puts in the level-1 entries of pages it maps, until it has written them,
// so that a failure half-way can find and take back exactly those. Bit 9 is ignored by the CPU
// and free for the OS in every entry (Intel SDM Vol. 3A 4.5, table 4-20; page_table.h).
constexpr PageTableFlags kNewlyMapped = PageTableFlags::from_bits(std::uint64_t{1} << 9);
// Chapter 15: a page of a writable region that fork shares with another space. Its entry is
// read-only; the first write faults, and handle_fault copies the page (or, when no other space
// maps the frame any more, just makes it writable again). Bit 10, also free for the OS.
constexpr PageTableFlags kCopyOnWrite = PageTableFlags::from_bits(std::uint64_t{1} << 10);

// The owner counts of shared frames (mm/frame_shares.h), one per frame of usable memory: a fixed
// structure the size of the machine (2 bytes per 4 KiB frame, 1/2048 of RAM), made by the first
// fork and kept, as Linux keeps its page array. Not made at boot: a machine that never forks does
// not pay for it, and boot does not translate and run the heap's growth for it (issue 9's boot
// budget: ~340 instructions in ~58 blocks). `mem` shows it (frame_shares_bytes), so that what the
// first forking program leaves on the heap can be told from a leak.
constinit FrameShares frame_shares;
constinit bool frame_shares_ready = false;
constinit std::size_t frame_shares_size = 0;
// Forks racing to make the table (two threads of one CPU, preempted inside): one makes it.
constinit sync::Spinlock frame_shares_lock;

bool make_frame_shares() {
  if (__atomic_load_n(&frame_shares_ready, __ATOMIC_ACQUIRE)) return true;
  const auto runs = frame_allocator().runs();
  if (runs.empty()) return false;
  const std::uint64_t frames = runs.back().end / kPageBytes;
  const std::size_t bytes = frames * sizeof(FrameShares::Count);
  auto* counts = static_cast<FrameShares::Count*>(heap_allocate(bytes, alignof(FrameShares::Count)));
  if (counts == nullptr) return false;
  __builtin_memset(counts, 0, bytes);
  {
    sync::SpinlockGuard guard(frame_shares_lock);
    if (!frame_shares_ready) {
      frame_shares = FrameShares({counts, frames});
      frame_shares_size = bytes;
      __atomic_store_n(&frame_shares_ready, true, __ATOMIC_RELEASE);
      counts = nullptr;
    }
  }
  if (counts != nullptr) heap_deallocate(counts, bytes, alignof(FrameShares::Count));  // made meanwhile
  return true;
}

std::uint64_t frame_number(PhysAddr address) { return address.value() / kPageBytes; }

PageTable& table_at(PhysAddr address) { return *kPhysicalMemory.pointer_to<PageTable>(address); }

// Every change to a space's entries flushes the page on this CPU, whether the space is active or
// not. Deciding by `this == active` would race with preemption: a thread working on a space
// that is not active may be switched away and the space activated before the change lands; the
// invlpg after the change is right whichever space is in CR3 at that moment (one CPU; several
// CPUs would need a shootdown), and invlpg of a page not in the TLB costs little.
void flush_tlb_entry(VirtAddr page) { arch::invlpg(page.value()); }

// The entry flags of a page in a region with `protection` (Intel SDM Vol. 3A 4.6: user-mode
// access needs U/S = 1 at every level, a write needs R/W = 1, an instruction fetch needs XD = 0
// once EFER.NXE is on). x86 has no write-only or execute-only pages: every present user page is
// readable, as on Linux. A PROT_NONE page is "parked" (mm/user_page_tables.h): its entry keeps
// the frame, so the contents survive an mprotect(PROT_NONE) and back, but is not present, so
// every access faults — from ring 3 and from the kernel's copy helpers alike (Linux does the
// same with _PAGE_PROTNONE).
PageTableFlags page_flags(std::uint32_t protection) {
  if (protection == kProtNone) return PageTableFlags{};
  PageTableFlags flags = PageTableFlags::present | PageTableFlags::user;
  if ((protection & kProtWrite) != 0) flags |= PageTableFlags::writable;
  if ((protection & kProtExec) == 0) flags |= no_execute_flag();
  return flags;
}

// Whether a region with `protection` allows the access (the same rules as page_flags).
bool region_allows(std::uint32_t protection, FaultAccess access) {
  switch (access) {
    case FaultAccess::read:
      return protection != kProtNone;
    case FaultAccess::write:
      return (protection & kProtWrite) != 0;
    case FaultAccess::execute:
      return (protection & kProtExec) != 0;
  }
  return false;
}

// The end of [start, start + bytes) with `bytes` rounded up to whole pages (as mmap does), if
// start is page-aligned, bytes > 0 and the whole range is user memory.
std::optional<std::uint64_t> user_range_end(std::uint64_t start, std::uint64_t bytes) {
  if (!is_aligned(start, kPageBytes) || bytes == 0 || start < kUserBase || start >= kUserEnd) {
    return std::nullopt;
  }
  if (bytes > kUserEnd - start) return std::nullopt;  // kUserEnd is page-aligned: no overflow below
  return start + align_up(bytes, kPageBytes);
}

// True if `page` has a frame (mapped, or parked by PROT_NONE).
bool has_frame(Frame4KiB level4, Page4KiB page) {
  const PageTableEntry* entry = user_page_entry(kPhysicalMemory, level4, page);
  return entry != nullptr && !entry->is_unused();
}

}  // namespace

// The frame allocator as seen by one address space: every frame it hands out or takes back is
// counted in frames_in_use_, and none is handed out beyond frame_limit_. The mapper takes its new
// page tables from here too, so tables are counted like pages. Used with the space's lock held.
class SpaceFrames final : public FrameSource {
 public:
  explicit SpaceFrames(AddressSpace& space) : space_(space) {}

  std::optional<Frame4KiB> allocate() {
    if (space_.frames_in_use_ >= __atomic_load_n(&space_.frame_limit_, __ATOMIC_RELAXED)) return std::nullopt;
    const std::optional<Frame4KiB> frame = frame_allocator().allocate();
    if (frame) ++space_.frames_in_use_;
    return frame;
  }
  // This space lets go of `frame`: back to the allocator unless another space (fork) still
  // maps it. Either way the space holds one frame less.
  void free(Frame4KiB frame) {
    FERRITE_ASSERT(space_.frames_in_use_ > 0);
    if (frame_shares.release(frame_number(frame.start()))) frame_allocator().free(frame);
    --space_.frames_in_use_;
  }
  // A page table: all zero, and the space's alone (tables are never shared).
  std::optional<Frame4KiB> allocate_zeroed() {
    if (space_.frames_in_use_ >= __atomic_load_n(&space_.frame_limit_, __ATOMIC_RELAXED)) return std::nullopt;
    const std::optional<Frame4KiB> frame = frame_allocator().allocate_zeroed();
    if (frame) ++space_.frames_in_use_;
    return frame;
  }
  // A page table whose entries were all cleared: the allocator keeps it as a zeroed frame.
  void free_table(Frame4KiB frame) {
    FERRITE_ASSERT(space_.frames_in_use_ > 0);
    frame_allocator().free_zeroed(frame);
    --space_.frames_in_use_;
  }
  // A frame another space owns too: counted here as well (frames_in_use is what this space
  // maps, so a parent and a fresh child each count their shared pages).
  void count_shared() { ++space_.frames_in_use_; }
  std::optional<Frame4KiB> allocate_frame() override { return allocate(); }

 private:
  AddressSpace& space_;
};
static_assert(FrameOwner<SpaceFrames>);

AddressSpace* create_address_space() {
  // Nobody else knows the space yet: no lock. The frame allocator locks itself.
  auto* space_memory = static_cast<AddressSpace*>(::operator new(sizeof(AddressSpace), std::nothrow));
  if (space_memory == nullptr) return nullptr;
  // A zeroed frame (usually one an exit gave back): the lower half is empty already.
  const std::optional<Frame4KiB> level4 = frame_allocator().allocate_zeroed();
  if (!level4) {
    ::operator delete(space_memory, sizeof(AddressSpace));
    return nullptr;
  }
  PageTable& table = table_at(level4->start());
  const PageTable& kernel = table_at(kernel_level4_table().start());
  // The kernel half: the same level-3 tables as the kernel's own table. mm::init made those the
  // kernel maps into after boot and then fixed the 256 entries, so this copy stays right for the
  // life of the space.
  // One memcpy (GCC makes it one `rep movsq`; chapter 15's fork cost): cheaper than an
  // entry-by-entry loop.
  constexpr std::size_t kKernelHalfBytes =
      (PageTable::kEntryCount - kFirstKernelLevel4Entry) * sizeof(PageTableEntry);
  __builtin_memcpy(&table[kFirstKernelLevel4Entry], &kernel[kFirstKernelLevel4Entry],
                   kKernelHalfBytes);
  return new (space_memory) AddressSpace(*level4);
}

void destroy_address_space(AddressSpace* space) {
  if (space == nullptr) return;
  FERRITE_ASSERT(space != active);  // the CPU would go on walking freed tables
  {
    // The caller's is the last reference; the lock waits for a method still running (a thread
    // of the process being torn down) and must be free when the object goes.
    sched::MutexGuard guard(space->lock_);
    SpaceFrames frames(*space);
    // Only where the space ever mapped anything (extents_), not all 512 entries of each table.
    // Every page and table is given back and every entry on the way cleared: the count below
    // reaching 0 shows that nothing lay outside the extents, so each table went back all zero.
    free_user_ranges(kPhysicalMemory, space->level4_table_, space->extents_.ranges(), frames);
    // The kernel half belongs to the kernel: its entries are cleared, the tables stay.
    PageTable& level4 = table_at(space->level4_table_.start());
    __builtin_memset(static_cast<void*>(&level4[kFirstKernelLevel4Entry]), 0,
                     (PageTable::kEntryCount - kFirstKernelLevel4Entry) * sizeof(PageTableEntry));
    frames.free_table(space->level4_table_);
    FERRITE_ASSERT(space->frames_in_use_ == 0);
  }
  FERRITE_ASSERT(space->lock_.owner() == nullptr);
  delete space;
}

AddressSpace* share_address_space(AddressSpace& space) {
  __atomic_add_fetch(&space.users_, 1, __ATOMIC_RELAXED);
  return &space;
}

void release_address_space(AddressSpace* space) {
  if (space == nullptr) return;
  // acq_rel: everything the other users did to the space happens before the last one frees it.
  if (__atomic_sub_fetch(&space->users_, 1, __ATOMIC_ACQ_REL) == 0) destroy_address_space(space);
}

void activate(AddressSpace* space) {
  const std::uint64_t level4 =
      (space != nullptr ? space->level4_table_ : kernel_level4_table()).start().value();
  sync::InterruptGuard no_interrupts;
  active = space;
  // Writing CR3 drops every non-global TLB entry and all cached table entries (Intel SDM Vol. 3A
  // 4.10.4.1): user pages are never global, so the old space's pages are gone from the TLB,
  // while the kernel's global pages stay. Skipped when nothing changes: that flush is not free.
  if (arch::read_cr3() != level4) arch::write_cr3(level4);
}

AddressSpace* active_address_space() { return active; }

Mapper AddressSpace::page_mapper() const {
  return Mapper(level4_table_, kPhysicalMemory, flush_tlb_entry);
}

std::expected<void, abi::Errno> AddressSpace::map_anonymous(std::uint64_t start, std::uint64_t bytes,
                                                            std::uint32_t protection, bool replace) {
  sched::MutexGuard guard(lock_);
  return map_anonymous_locked(start, bytes, protection, replace);
}

std::expected<void, abi::Errno> AddressSpace::map_anonymous_locked(std::uint64_t start, std::uint64_t bytes,
                                                                   std::uint32_t protection, bool replace) {
  const std::optional<std::uint64_t> end = user_range_end(start, bytes);
  if (!end || (protection & ~kAllProtections) != 0) return std::unexpected(abi::Errno::einval);
  if (!regions_.overlaps(start, *end)) {
    if (!regions_.insert(start, *end, protection)) return std::unexpected(abi::Errno::enomem);
    extents_.add(start, *end);
    return {};
  }
  if (!replace) return std::unexpected(abi::Errno::eexist);
  // MAP_FIXED: the regions change in one step that either fits or changes nothing; only then
  // do the old pages go (the new mapping is demand-zero: none of their contents stay).
  if (!regions_.assign(start, *end, protection)) return std::unexpected(abi::Errno::enomem);
  extents_.add(start, *end);
  unmap_pages_locked(start, *end);
  return {};
}

std::expected<std::uint64_t, abi::Errno> AddressSpace::map_anywhere(std::uint64_t bytes,
                                                                    std::uint32_t protection) {
  if (bytes == 0 || (protection & ~kAllProtections) != 0) return std::unexpected(abi::Errno::einval);
  if (bytes > kMmapTop - kUserBase) return std::unexpected(abi::Errno::enomem);  // as Linux
  const std::uint64_t size = align_up(bytes, kPageBytes);
  sched::MutexGuard guard(lock_);
  const std::optional<std::uint64_t> start = regions_.find_gap_top_down(size, kUserBase, kMmapTop);
  if (!start) return std::unexpected(abi::Errno::enomem);
  if (!regions_.insert(*start, *start + size, protection)) return std::unexpected(abi::Errno::enomem);
  extents_.add(*start, *start + size);
  return *start;
}

std::expected<void, abi::Errno> AddressSpace::unmap(std::uint64_t start, std::uint64_t bytes) {
  sched::MutexGuard guard(lock_);
  return unmap_locked(start, bytes);
}

std::expected<void, abi::Errno> AddressSpace::unmap_locked(std::uint64_t start, std::uint64_t bytes) {
  const std::optional<std::uint64_t> end = user_range_end(start, bytes);
  if (!end) return std::unexpected(abi::Errno::einval);
  // Splitting a region needs one more slot (Linux too fails munmap with ENOMEM past
  // max_map_count); then nothing was changed.
  if (!regions_.remove(start, *end)) return std::unexpected(abi::Errno::enomem);
  unmap_pages_locked(start, *end);
  return {};
}

std::expected<void, abi::Errno> AddressSpace::protect(std::uint64_t start, std::uint64_t bytes,
                                                      std::uint32_t protection) {
  const std::optional<std::uint64_t> end = user_range_end(start, bytes);
  if (!end || (protection & ~kAllProtections) != 0) return std::unexpected(abi::Errno::einval);
  sched::MutexGuard guard(lock_);
  if (!regions_.covers(start, *end)) return std::unexpected(abi::Errno::enomem);  // as Linux
  if (!regions_.assign(start, *end, protection)) return std::unexpected(abi::Errno::enomem);
  set_page_protection_locked(start, *end, protection);
  return {};
}

// Linux's mremap (mm/mremap.c), checked in its order: the arguments, then the old range's
// mapping (EFAULT), then the new place.
std::expected<std::uint64_t, abi::Errno> AddressSpace::remap(std::uint64_t old_start,
                                                             std::uint64_t old_bytes,
                                                             std::uint64_t new_bytes,
                                                             RemapOptions options) {
  if ((options.fixed || options.keep_old) && !options.may_move)
    return std::unexpected(abi::Errno::einval);
  if (!is_aligned(old_start, kPageBytes) || new_bytes == 0)
    return std::unexpected(abi::Errno::einval);
  // Past the user range a size cannot be a mapping's (and rounding it up must not wrap): the
  // old range is then not all mapped, and the new one fits nowhere (at a fixed place: EINVAL).
  if (old_bytes > kUserEnd) return std::unexpected(abi::Errno::efault);
  if (new_bytes > kUserEnd)
    return std::unexpected(options.fixed ? abi::Errno::einval : abi::Errno::enomem);
  const std::uint64_t old_size = align_up(old_bytes, kPageBytes);
  const std::uint64_t new_size = align_up(new_bytes, kPageBytes);
  if (options.keep_old && old_size != new_size) return std::unexpected(abi::Errno::einval);
  sched::MutexGuard guard(lock_);
  const Region* region = regions_.find(old_start);
  if (region == nullptr) return std::unexpected(abi::Errno::efault);
  const std::uint32_t protection = region->protection;
  const std::uint64_t region_end = region->end;  // `region` dies with the next change to the map
  if (options.fixed) {
    const std::uint64_t to = options.new_start;
    if (!user_range_end(to, new_size)) return std::unexpected(abi::Errno::einval);
    // The two ranges may not overlap (Linux: EINVAL), however short the old one turns out.
    if (to < old_start + old_size && old_start < to + new_size)
      return std::unexpected(abi::Errno::einval);
  }
  // One mapping: a region ends where the protection changes or a hole begins, so a range that
  // runs past its region's end is not one mapping (Linux: EFAULT, "across vm area boundaries").
  if (old_size > region_end - old_start) return std::unexpected(abi::Errno::efault);
  if (old_size == 0) return std::unexpected(abi::Errno::einval);
  const std::uint64_t old_end = old_start + old_size;
  if (options.fixed) {
    return move_locked(old_start, old_end, options.new_start, new_size, protection, true,
                       options.keep_old);
  }
  if (options.keep_old) {  // DONTUNMAP alone is always a move, to wherever mmap would map
    const std::optional<std::uint64_t> to =
        regions_.find_gap_top_down(new_size, kUserBase, kMmapTop);
    if (!to) return std::unexpected(abi::Errno::enomem);
    return move_locked(old_start, old_end, *to, new_size, protection, false, true);
  }
  if (new_size <= old_size) {  // the tail goes, as with munmap; the address stays
    if (new_size < old_size) {
      if (auto unmapped = unmap_locked(old_start + new_size, old_size - new_size); !unmapped) {
        return std::unexpected(unmapped.error());
      }
    }
    return old_start;
  }
  // Growing in place: the old range must end where its region does (else the pages after are
  // the region's own), and what follows must be free user address space.
  const std::uint64_t grown = new_size - old_size;
  if (old_end == region_end && grown <= kUserEnd - old_end &&
      !regions_.overlaps(old_end, old_end + grown)) {
    if (!regions_.assign(old_start, old_end + grown, protection))
      return std::unexpected(abi::Errno::enomem);
    extents_.add(old_start, old_end + grown);
    return old_start;  // the new pages are demand-zero: nothing else to do
  }
  if (!options.may_move) return std::unexpected(abi::Errno::enomem);
  if (new_size > kMmapTop - kUserBase) return std::unexpected(abi::Errno::enomem);
  const std::optional<std::uint64_t> to = regions_.find_gap_top_down(new_size, kUserBase, kMmapTop);
  if (!to) return std::unexpected(abi::Errno::enomem);
  return move_locked(old_start, old_end, *to, new_size, protection, false, false);
}

std::expected<std::uint64_t, abi::Errno> AddressSpace::move_locked(
    std::uint64_t old_start, std::uint64_t old_end, std::uint64_t new_start, std::uint64_t new_size,
    std::uint32_t protection, bool replace, bool keep_old) {
  const std::uint64_t new_end = new_start + new_size;
  // The pages that move: the old range, or its first new_size bytes when it shrinks on the way
  // (the rest is unmapped, as Linux's mremap_to does first).
  const std::uint64_t moved_end = old_end - old_start > new_size ? old_start + new_size : old_end;
  // Room in the region map, checked once for the worst case, as Linux's move_vma wants three
  // VMAs to spare: taking the old range out of the middle of its region adds one, putting the
  // new one into the middle of another (MREMAP_FIXED) two. Then both changes below must fit.
  if (regions_.size() + 3 > kMaxRegions) return std::unexpected(abi::Errno::enomem);
  // The destination's page tables before anything changes: the only step that can run out of
  // frames. The range joins the extents first, so that exit finds (and frees) tables made here
  // even if the move is given up.
  extents_.add(new_start, new_end);
  SpaceFrames frames(*this);
  if (!make_user_tables_for_move(kPhysicalMemory, level4_table_, old_start, moved_end, new_start,
                                 frames)) {
    return std::unexpected(abi::Errno::enomem);
  }
  // From here on nothing can fail.
  const bool regions_changed = (keep_old || regions_.remove(old_start, old_end).has_value()) &&
                               regions_.assign(new_start, new_end, protection).has_value();
  FERRITE_ASSERT(regions_changed);                      // the room was checked above
  if (replace) unmap_pages_locked(new_start, new_end);  // MREMAP_FIXED: what was there goes
  // The entries move; each old page's translation is flushed, or the CPU could go on reaching
  // the frame through the old address (one CPU: invlpg; several would need a shootdown).
  move_user_pages(kPhysicalMemory, level4_table_, old_start, moved_end, new_start,
                  [](Page4KiB page) { flush_tlb_entry(page.start()); });
  unmap_pages_locked(moved_end, old_end);  // a tail cut off on the way (none: an empty range)
  return new_start;
}

void AddressSpace::unmap_pages_locked(std::uint64_t start, std::uint64_t end) {
  SpaceFrames frames(*this);
  auto unmap_page = [&](Page4KiB page, PageTableEntry& entry) {
    const Frame4KiB frame = Frame4KiB::containing(entry.address());
    entry.clear();
    // Flushed before the frame is freed: no stale translation may reach a frame in new hands.
    flush_tlb_entry(page.start());
    frames.free(frame);
  };
  for_each_user_page(kPhysicalMemory, level4_table_, start, end, unmap_page);
}

void AddressSpace::set_page_protection_locked(std::uint64_t start, std::uint64_t end,
                                              std::uint32_t protection) {
  const PageTableFlags flags = page_flags(protection);
  auto reflag_page = [&](Page4KiB page, PageTableEntry& entry) {
    // A copy-on-write page stays read-only (and marked) until a write fault copies it.
    if (entry.flags().contains(kCopyOnWrite)) {
      entry.set_flags(flags.without(PageTableFlags::writable) | kCopyOnWrite);
    } else {
      entry.set_flags(flags);  // parks the page for PROT_NONE, brings it back otherwise
    }
    // Narrowing a permission must flush, or the old one lives on in the TLB; widening need not
    // (a fault on the stale entry is retried by handle_fault), but one invlpg is cheap.
    flush_tlb_entry(page.start());
  };
  for_each_user_page(kPhysicalMemory, level4_table_, start, end, reflag_page);
}

std::expected<void, abi::Errno> AddressSpace::write_initial(std::uint64_t at,
                                                            std::span<const std::byte> data) {
  if (data.empty()) return {};
  if (at < kUserBase || at >= kUserEnd || data.size() > kUserEnd - at) {
    return std::unexpected(abi::Errno::efault);
  }
  const std::uint64_t end = at + data.size();
  const std::uint64_t first_page = align_down(at, kPageBytes);
  const std::uint64_t end_page = align_up(end, kPageBytes);
  sched::MutexGuard guard(lock_);
  if (!regions_.covers(first_page, end_page)) return std::unexpected(abi::Errno::efault);
  Mapper mapper = page_mapper();
  SpaceFrames frames(*this);
  // First every page gets its frame, marked kNewlyMapped; only when all have one is anything
  // written. On ENOMEM the marked pages go again and nothing has changed that a program could
  // see: pages that were there keep their bytes, no new page is left (the loader may retry or
  // give up; a segment sharing a page with one written before is not damaged).
  for (std::uint64_t address = first_page; address < end_page; address += kPageBytes) {
    const Page4KiB page = Page4KiB::containing(VirtAddr(address));
    if (has_frame(level4_table_, page)) continue;
    // (The mapper makes every page present: a PROT_NONE page is parked after the copy.) `user`
    // even then, so that the tables made on the way allow user access like every table of the
    // lower half: handle_fault may later put a page straight into one of their entries.
    const PageTableFlags flags =
        page_flags(regions_.find(address)->protection) | PageTableFlags::user | kNewlyMapped;
    if (!map_fresh_pages(mapper, kPhysicalMemory, page, 1, flags, frames)) {
      auto unmap_new_page = [&](Page4KiB mapped, PageTableEntry& entry) {
        if (!entry.flags().contains(kNewlyMapped)) return;
        const Frame4KiB frame = Frame4KiB::containing(entry.address());
        entry.clear();
        flush_tlb_entry(mapped.start());
        frames.free(frame);
      };
      for_each_user_page(kPhysicalMemory, level4_table_, first_page, address, unmap_new_page);
      return std::unexpected(abi::Errno::enomem);
    }
  }
  for (std::uint64_t address = at; address < end;) {
    const Page4KiB page = Page4KiB::containing(VirtAddr(address));
    const std::uint64_t room_in_page = kPageBytes - (address - page.start().value());
    const std::uint64_t chunk = end - address < room_in_page ? end - address : room_in_page;
    PageTableEntry& entry = *user_page_entry(kPhysicalMemory, level4_table_, page);
    // Through the physical map: the space need not be active, and read-only (or PROT_NONE)
    // pages are filled the same way (the CPU's permission checks never get a say).
    __builtin_memcpy(kPhysicalMemory.pointer_to(entry.address() + (address - page.start().value())),
                     data.data() + (address - at), chunk);
    if (entry.flags().contains(kNewlyMapped)) {
      entry.set_flags(page_flags(regions_.find(address)->protection));  // the region's own flags
      flush_tlb_entry(page.start());
    }
    address += chunk;
  }
  return {};
}

void AddressSpace::set_break_base(std::uint64_t base) {
  sched::MutexGuard guard(lock_);
  break_base_ = base;
  break_end_ = base;
}

// Linux's brk (mm/mmap.c): the break moves to `requested` if the pages that takes can be had;
// the new break is returned, or the old one on any failure (a region in the way, out of
// memory, below the base). Growing adds demand-zero read-write pages; shrinking frees them.
std::uint64_t AddressSpace::brk(std::uint64_t requested) {
  sched::MutexGuard guard(lock_);
  if (break_base_ == 0 || requested < break_base_ || requested > kUserEnd) return break_end_;
  const std::uint64_t old_top = align_up(break_end_, kPageBytes);
  const std::uint64_t new_top = align_up(requested, kPageBytes);
  if (new_top > old_top) {
    if (!map_anonymous_locked(old_top, new_top - old_top, kProtRead | kProtWrite, false)) return break_end_;
  } else if (new_top < old_top) {
    if (!unmap_locked(new_top, old_top - new_top)) return break_end_;
  }
  break_end_ = requested;
  return break_end_;
}

bool AddressSpace::handle_fault(std::uint64_t address, FaultAccess access) {
  if (address < kUserBase || address >= kUserEnd) return false;
  // Another thread of the process may be changing the space (or faulting on the same page):
  // wait for it; then the region and the entry are looked at in one piece.
  sched::MutexGuard guard(lock_);
  const Region* region = regions_.find(address);
  if (region == nullptr || !region_allows(region->protection, access)) return false;
  const Page4KiB page = Page4KiB::containing(VirtAddr(address));
  // The page's level-1 entry, if the tables on the way exist (usually: one covers 2 MiB).
  PageTableEntry* const entry = user_page_entry(kPhysicalMemory, level4_table_, page);
  // A page that is there already faulted on its permissions: a real fault. (It cannot be a
  // stale, narrower TLB entry: protect() flushes every page it changes in the active space, and
  // activate() flushes the rest. Retrying here could loop forever, e.g. on an SMAP violation.)
  if (entry != nullptr && !entry->is_unused()) {
    if (access != FaultAccess::write) return false;
    return copy_on_write_locked(page, *entry);
  }
  SpaceFrames frames(*this);
  if (entry != nullptr) {
    // Chapter 15: the tables are there, so the zeroed frame goes straight into the entry, with
    // no second walk from the top through the mapper (which would also widen the entries on the
    // way; every lower-half table allows user access and writes already, see write_initial).
    // No flush: the CPU never caches a not-present entry (Intel SDM Vol. 3A 4.10.4.3).
    const std::optional<Frame4KiB> frame = frames.allocate();
    if (!frame) return false;
    __builtin_memset(kPhysicalMemory.pointer_to(frame->start()), 0, kPageBytes);
    entry->set(frame->start(), page_flags(region->protection));
    return true;
  }
  Mapper mapper = page_mapper();
  return map_fresh_pages(mapper, kPhysicalMemory, page, 1, page_flags(region->protection), frames)
      .has_value();
}

// A write to a page fork shared: the region allows it (checked by the caller), the entry is
// read-only and marked. Sole owner: writable in place. Otherwise a fresh frame gets a copy, the
// entry moves to it, and this space's share of the old frame goes.
bool AddressSpace::copy_on_write_locked(Page4KiB page, PageTableEntry& entry) {
  const PageTableFlags flags = entry.flags();
  if (!flags.contains(kCopyOnWrite) || !flags.contains(PageTableFlags::present)) return false;
  const PageTableFlags writable_flags =
      flags.without(kCopyOnWrite) | PageTableFlags::writable;
  const Frame4KiB old_frame = Frame4KiB::containing(entry.address());
  if (!frame_shares.is_shared(frame_number(old_frame.start()))) {
    entry.set_flags(writable_flags);
    flush_tlb_entry(page.start());
    return true;
  }
  SpaceFrames frames(*this);
  const std::optional<Frame4KiB> copy = frames.allocate();
  if (!copy) return false;  // out of memory: the process gets SIGSEGV, as Linux's OOM would end it
  __builtin_memcpy(kPhysicalMemory.pointer_to(copy->start()),
                   kPhysicalMemory.pointer_to(old_frame.start()), kPageBytes);
  entry.set(copy->start(), writable_flags);
  flush_tlb_entry(page.start());
  frames.free(old_frame);  // drops this space's share; the other owners keep the frame
  return true;
}

std::size_t frame_shares_bytes() {
  return __atomic_load_n(&frame_shares_ready, __ATOMIC_ACQUIRE) ? frame_shares_size : 0;
}

AddressSpace* clone_address_space(AddressSpace& parent) {
  if (!make_frame_shares()) return nullptr;
  AddressSpace* child = create_address_space();
  if (child == nullptr) return nullptr;
  bool ok = true;
  {
    sched::MutexGuard guard(parent.lock_);
    // Nobody else knows the child yet: its lock is not needed; SpaceFrames counts in it.
    SpaceFrames child_frames(*child);
    child->regions_ = parent.regions_;
    // Region by region, so each page's region is known without a search; the child's tables
    // are made as the walk goes, straight from zeroed frames, with no walk from the top per page.
    for (const Region& region : parent.regions_.regions()) {
      child->extents_.add(region.start, region.end);  // the child maps nothing else (yet)
      const bool writable = (region.protection & kProtWrite) != 0;
      auto share_page = [&](Page4KiB page, PageTableEntry& entry, PageTableEntry& child_entry) {
        PageTableFlags flags = entry.flags();
        const Frame4KiB frame = Frame4KiB::containing(entry.address());
        if (!frame_shares.share(frame_number(frame.start()))) return false;
        if (writable) {
          flags = flags.without(PageTableFlags::writable) | kCopyOnWrite;
          entry.set_flags(flags);
          flush_tlb_entry(page.start());
        }
        child_entry.set(frame.start(), flags);  // the same flags (parked pages too)
        child_frames.count_shared();
        return true;
      };
      if (!copy_user_tables(kPhysicalMemory, parent.level4_table_, child->level4_table_,
                            region.start, region.end, child_frames, share_page)) {
        ok = false;
        break;
      }
    }
    child->break_base_ = parent.break_base_;
    child->break_end_ = parent.break_end_;
    child->frame_limit_ = parent.frame_limit_;
  }
  if (!ok) {
    // The pages shared so far stay copy-on-write in the parent (harmless: its next write takes
    // the page back in place once the child's share is gone); the child's shares go here.
    destroy_address_space(child);
    return nullptr;
  }
  return child;
}

std::uint64_t AddressSpace::frames_in_use() const { return __atomic_load_n(&frames_in_use_, __ATOMIC_RELAXED); }

std::optional<Translation> AddressSpace::translate(std::uint64_t address) const {
  const std::optional<VirtAddr> virt = VirtAddr::try_from(address);
  if (!virt) return std::nullopt;
  sched::MutexGuard guard(lock_);
  return page_mapper().translate(*virt);
}

}  // namespace ferrite::mm
