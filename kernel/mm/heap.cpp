// The kernel heap: picks the allocator, maps its region, grows it on demand, gives large blocks
// pages of their own, and provides the global operator new/delete in all their standard forms.
#include "mm/heap.h"

#include <algorithm>
#include <cstdint>
#include <new>
#include <optional>

#include "arch/x86_64/cpu.h"
#include "boot/command_line.h"
#include "lib/log.h"
#include "lib/panic.h"
#include "mm/allocators/bump.h"
#include "mm/allocators/fixed_block.h"
#include "mm/allocators/linked_list.h"
#include "mm/allocators/tlsf.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "mm/region_map.h"
#include "sched/scheduler.h"
#include "sched/sync.h"
#include "sync/spinlock.h"

namespace ferrite::mm {

namespace {

// One of each design, constant-initialised (zero, but for their vtables): nothing is constructed
// at boot, init_heap only hands the region to the one the command line picks.
constinit BumpAllocator bump_allocator;
constinit LinkedListAllocator linked_list_allocator;
constinit FixedBlockAllocator fixed_block_allocator;
constinit TlsfAllocator tlsf_allocator;

template <class Design>
Allocator* start_allocator(Design& design, std::span<std::byte> region, DebugChecks debug) {
  design.init(region, debug);
  return &design;
}

struct Heap {
  Allocator* allocator = nullptr;
  std::size_t mapped_bytes = 0;
  std::size_t max_bytes = 0;
  std::size_t grow_count = 0;
  bool growing = false;  // a growth is mapping pages outside the lock (see heap_allocate)
  // Pages of large blocks, live or being mapped (allocate_large): mapped_bytes + large_bytes
  // stays within max_bytes, so heap_max bounds all the heap holds.
  std::size_t large_bytes = 0;
};
// Held only for allocator calls and bookkeeping, never while pages are mapped and zeroed: the
// guard keeps interrupts off, and the timer loses ticks when they are off for long (issue 9).
constinit sync::Spinlock heap_lock;
constinit Heap heap;
// Threads that may sleep grow the heap one at a time under this mutex, so a thread that needs a
// growth while another thread's is under way waits for it (and then finds room, or grows again)
// instead of being refused. Taken before heap_lock, and before the kernel-table and frame
// locks a growth takes (mm/memory.h), never while holding them.
constinit sched::Mutex growth_mutex{"heap growth"};

constexpr PageTableFlags kHeapFlags = PageTableFlags::present | PageTableFlags::writable |
                                      PageTableFlags::global;

std::byte* heap_start() { return reinterpret_cast<std::byte*>(kKernelHeapStart); }

// Heap pages are data: never executable (when the CPU can enforce it).
PageTableFlags heap_flags() { return kHeapFlags | no_execute_flag(); }

// How many bytes to map at the end of the heap so that `bytes` more fit: at least that (in whole
// pages), and the heap's current size if there is room (doubling: amortised O(1) growth, few
// mapping rounds); 0 if even `bytes` would pass max_bytes.
std::size_t growth_for_locked(std::size_t bytes) {
  const std::size_t room = heap.max_bytes - heap.mapped_bytes - heap.large_bytes;  // page multiples
  if (bytes > room) return 0;
  const std::size_t needed = align_up(bytes, kPageBytes);       // <= room: no overflow
  return std::max(needed, std::min(heap.mapped_bytes, room));
}

}  // namespace

HeapConfig heap_config_from(const boot::CommandLine& command_line) {
  char text[512];
  fmt::BufferSink messages(text);
  const HeapConfig config = heap_config_from(command_line, frame_allocator().free_frames() * kPageBytes, messages);
  if (!messages.view().empty()) log::warn("{}", messages.view());
  return config;
}

void init_heap(const HeapConfig& config) {
  const std::size_t initial = config.initial_bytes;  // checked by heap_config_from
  if (auto mapped = map_fresh_pages(VirtAddr(kKernelHeapStart), initial / kPageBytes, heap_flags()); !mapped) {
    panic("heap: cannot map {} KiB: {}", initial / 1024, to_string(mapped.error()));
  }
  const std::span<std::byte> region(heap_start(), initial);
  switch (config.kind) {
    case AllocatorKind::bump:
      heap.allocator = start_allocator(bump_allocator, region, config.debug);
      break;
    case AllocatorKind::linked_list:
      heap.allocator = start_allocator(linked_list_allocator, region, config.debug);
      break;
    case AllocatorKind::fixed_block:
      heap.allocator = start_allocator(fixed_block_allocator, region, config.debug);
      break;
    case AllocatorKind::tlsf:
      heap.allocator = start_allocator(tlsf_allocator, region, config.debug);
      break;
  }
  heap.mapped_bytes = initial;
  // The heap grows up towards the large blocks' window; heap_max never reaches it (it would take
  // a machine with 256 GiB of RAM).
  heap.max_bytes = std::min<std::size_t>(config.max_bytes, kLargeBlocksStart - kKernelHeapStart);
  log::info("heap: {} allocator, {} KiB at {:#x}, grows to {} KiB{}", heap.allocator->name(),
          initial / 1024, kKernelHeapStart, heap.max_bytes / 1024,
          config.debug == DebugChecks::on ? ", debug checks" : "");
}

namespace {

// The slow path of heap_allocate: allocate if another growth made room meanwhile, else grow.
void* grow_and_allocate(std::size_t size, std::size_t align) {
  std::byte* grow_at = nullptr;
  std::size_t grow_bytes = 0;
  {
    sync::SpinlockGuard guard(heap_lock);
    if (void* pointer = heap.allocator->allocate(size, align)) return pointer;
    // Impossible requests stay impossible however large the heap is.
    if (!allocator_detail::checked_request_size(size, align)) return nullptr;
    if (size > heap.max_bytes) return nullptr;
    // One growth at a time: the allocator takes regions in address order. Threads that may
    // sleep never get here during a growth (growth_mutex); a caller that cannot sleep
    // (interrupts off, or before the scheduler runs) and finds a growth under way is refused.
    if (heap.growing) return nullptr;
    // Room for the block, its alignment slack and the allocator's bookkeeping; and for TLSF's
    // good fit (fixed_block's fallback too), which serves a request from the next size class up:
    // up to 1/16 more. Without that, a large block never fitted a growth made for it.
    const std::size_t room = heap.max_bytes - heap.mapped_bytes - heap.large_bytes;
    const std::size_t least = size + align + 256;  // size <= max_bytes: no overflow
    if (least > room) return nullptr;
    grow_bytes = growth_for_locked(std::min(least + size / 16, room));
    if (grow_bytes == 0) return nullptr;
    grow_at = heap_start() + heap.mapped_bytes;
    heap.growing = true;
  }
  // Mapping and zeroing cost about a microsecond per page: done with interrupts as the caller
  // had them (on, in tasks), so a large growth does not stop the clock.
  const bool mapped = map_fresh_pages(VirtAddr::from_pointer(grow_at), grow_bytes / kPageBytes, heap_flags()).has_value();
  sync::SpinlockGuard guard(heap_lock);
  heap.growing = false;
  if (!mapped) return nullptr;  // all or nothing: the next growth may try the same range again
  heap.mapped_bytes += grow_bytes;
  ++heap.grow_count;
  if (!heap.allocator->grow({grow_at, grow_bytes})) return nullptr;
  return heap.allocator->allocate(size, align);
}

// ---- Large blocks: pages of their own, given back on free ------------------------------------
// What glibc's malloc does above M_MMAP_THRESHOLD and Linux's kmalloc above its largest slab: a
// request of kLargeBlockThreshold bytes or more (heap.h says why that much) gets whole fresh
// pages in the window at kLargeBlocksStart, with an unmapped guard page above it, so an overrun
// faults at once instead of writing over the next block. Its free unmaps the pages, which frees
// their frames; the heap proper never shrinks, so without this every big block's pages would
// stay with it for good.

// At most this many large blocks at once: each is one region in a fixed map (no allocation to
// keep track of allocations). A request beyond it is served by the heap, as if it were small.
constexpr std::size_t kLargeBlockSlots = 128;

struct LargeBlocks {
  // Each block with its guard page is one region. find_gap_top_down hands out the highest free
  // range, so a freed range is the next one reused. The region's `protection` holds the block's
  // page number (unique within the window's 2^26 pages): neighbours never merge, and removing a
  // block never splits a region, so removal cannot run out of room.
  RegionMap<kLargeBlockSlots> ranges;
  std::size_t blocks = 0;  // mapped and handed out (a range being mapped is in `ranges` only)
  std::size_t bytes = 0;   // what their callers asked for
  std::size_t pages = 0;
};
// Held for the map's bookkeeping only, never while pages are mapped, zeroed or unmapped, and
// never while taking another lock (mm/memory.h's list): like heap_lock, a leaf.
constinit sync::Spinlock large_lock;
constinit LargeBlocks large;

std::uint32_t region_tag(std::uint64_t start) {
  return static_cast<std::uint32_t>(start / kPageBytes);
}

bool is_large_block(const void* pointer) {
  const auto address = reinterpret_cast<std::uint64_t>(pointer);
  return address >= kLargeBlocksStart && address < kLargeBlocksEnd;
}

void give_back_heap_room(std::size_t bytes) {
  sync::SpinlockGuard guard(heap_lock);
  heap.large_bytes -= bytes;
}

// The block, or nullptr when heap_max, the window or the frames do not allow it (all or nothing:
// no range stays taken, no page stays mapped); nothing when every slot is in use and the heap
// should serve the request instead. Maps with interrupts as the caller had them (on: see
// heap_allocate), outside every lock.
std::optional<void*> allocate_large(std::size_t size) {
  if (size > kLargeBlocksEnd - kLargeBlocksStart) return nullptr;  // no overflow below
  const std::size_t bytes = align_up(size, kPageBytes);
  {
    sync::SpinlockGuard guard(heap_lock);
    if (heap.allocator == nullptr) return nullptr;
    if (bytes > heap.max_bytes - heap.mapped_bytes - heap.large_bytes) return nullptr;
    heap.large_bytes += bytes;  // reserved now, so a growth meanwhile cannot take the room
  }
  std::uint64_t start = 0;
  bool slots_full = false;
  {
    sync::SpinlockGuard guard(large_lock);
    const std::uint64_t span = bytes + kPageBytes;  // the guard page above the block
    slots_full = large.ranges.size() == large.ranges.kCapacity;
    const std::optional<std::uint64_t> gap =
        slots_full ? std::nullopt
                   : large.ranges.find_gap_top_down(span, kLargeBlocksStart, kLargeBlocksEnd);
    if (gap && large.ranges.insert(*gap, *gap + span, region_tag(*gap))) start = *gap;
  }
  if (start == 0) {
    give_back_heap_room(bytes);
    if (slots_full) return std::nullopt;
    return nullptr;
  }
  if (!map_fresh_pages(VirtAddr(start), bytes / kPageBytes, heap_flags())) {
    // map_fresh_pages gave back what it had mapped; the range and the room go back too.
    {
      sync::SpinlockGuard guard(large_lock);
      (void)large.ranges.remove(start, start + bytes + kPageBytes);  // a whole region: cannot fail
    }
    give_back_heap_room(bytes);
    return nullptr;
  }
  sync::SpinlockGuard guard(large_lock);
  ++large.blocks;
  large.bytes += size;
  large.pages += bytes / kPageBytes;
  return reinterpret_cast<void*>(start);
}

// `size` is what the caller asked for (deletes are sized); a pointer that is not a live block's
// start, or the wrong size, is a bug that would unmap someone else's pages: panic.
void deallocate_large(void* pointer, std::size_t size) {
  const auto start = reinterpret_cast<std::uint64_t>(pointer);
  std::uint64_t end = 0;
  {
    sync::SpinlockGuard guard(large_lock);
    const Region* region = large.ranges.find(start);
    if (region != nullptr && region->start == start) end = region->end;
  }
  if (end == 0) {
    panic("heap: free of {} in the large blocks' window, not a live block (double free?)", pointer);
  }
  const std::size_t bytes = end - start - kPageBytes;
  if (align_up(size, kPageBytes) != bytes) {
    panic("heap: large block {} of {} bytes freed with size {}", pointer, bytes, size);
  }
  // The range stays taken while its pages are unmapped, so no allocation can get it meanwhile.
  (void)unmap_pages(VirtAddr(start), bytes / kPageBytes);
  {
    sync::SpinlockGuard guard(large_lock);
    (void)large.ranges.remove(start, end);
    --large.blocks;
    large.bytes -= size;
    large.pages -= bytes / kPageBytes;
  }
  give_back_heap_room(bytes);
}

}  // namespace

void* heap_allocate(std::size_t size, std::size_t align) {
  // Large blocks map pages, which interrupt handlers must not do (mm/memory.h) and which should
  // not run with interrupts off for long (issue 9): only callers with interrupts on take that
  // path. Interrupt handlers (interrupt gates clear IF), holders of a spinlock and boot before
  // interrupts are on get the heap, as before there were large blocks.
  if (size >= kLargeBlockThreshold && align <= kPageBytes && arch::interrupts_enabled()) {
    if (const std::optional<void*> block = allocate_large(size)) return *block;
  }
  {
    sync::SpinlockGuard guard(heap_lock);
    if (heap.allocator == nullptr) return nullptr;
    if (void* pointer = heap.allocator->allocate(size, align)) return pointer;
  }
  // Sleeping is allowed in a thread with interrupts on (not holding a SpinlockGuard, not in an
  // interrupt handler): wait for any growth under way, then look again.
  if (sched::running() && arch::interrupts_enabled()) {
    sched::MutexGuard growth(growth_mutex);
    return grow_and_allocate(size, align);
  }
  return grow_and_allocate(size, align);
}

// Freeing a large block unmaps its pages: like mapping, not from an interrupt handler (no
// handler frees a block that big: they do not allocate one either, see heap_allocate).
void heap_deallocate(void* pointer, std::size_t size, std::size_t align) {
  if (pointer == nullptr) return;
  if (is_large_block(pointer)) return deallocate_large(pointer, size);
  sync::SpinlockGuard guard(heap_lock);
  heap.allocator->deallocate(pointer, size, align);
}

HeapStats heap_stats() {
  HeapStats stats;
  {
    sync::SpinlockGuard guard(heap_lock);
    if (heap.allocator == nullptr) return {};
    stats = {heap.allocator->stats(), heap.allocator->name(), heap.mapped_bytes, heap.max_bytes,
             heap.grow_count, heap.growing};
  }
  sync::SpinlockGuard guard(large_lock);
  stats.large_blocks = large.blocks;
  stats.large_bytes = large.bytes;
  stats.large_mapped_bytes = large.pages * kPageBytes;
  return stats;
}

}  // namespace ferrite::mm

// ---- The global allocation functions (C++ [new.delete]) ----------------------------------
// Throwing forms cannot throw (-fno-exceptions): failure is a panic naming size and alignment.
// nothrow forms return nullptr. Deletion must be sized (as in SerenityOS): every allocator
// here needs the size back, and GCC passes it for single objects and for arrays of types with
// destructors. An unsized delete is a bug and panics.

namespace {

constexpr std::size_t kDefaultAlign = __STDCPP_DEFAULT_NEW_ALIGNMENT__;

void* allocate_or_panic(std::size_t size, std::size_t align) {
  void* pointer = ferrite::mm::heap_allocate(size, align);
  if (pointer == nullptr) {
    ferrite::panic("out of memory: operator new({} bytes, align {}) failed", size, align);
  }
  return pointer;
}

}  // namespace

void* operator new(std::size_t size) { return allocate_or_panic(size, kDefaultAlign); }
void* operator new[](std::size_t size) { return allocate_or_panic(size, kDefaultAlign); }
void* operator new(std::size_t size, std::align_val_t align) {
  return allocate_or_panic(size, static_cast<std::size_t>(align));
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return allocate_or_panic(size, static_cast<std::size_t>(align));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return ferrite::mm::heap_allocate(size, kDefaultAlign);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return ferrite::mm::heap_allocate(size, kDefaultAlign);
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return ferrite::mm::heap_allocate(size, static_cast<std::size_t>(align));
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return ferrite::mm::heap_allocate(size, static_cast<std::size_t>(align));
}

void operator delete(void* pointer, std::size_t size) noexcept {
  ferrite::mm::heap_deallocate(pointer, size, kDefaultAlign);
}
void operator delete[](void* pointer, std::size_t size) noexcept {
  ferrite::mm::heap_deallocate(pointer, size, kDefaultAlign);
}
void operator delete(void* pointer, std::size_t size, std::align_val_t align) noexcept {
  ferrite::mm::heap_deallocate(pointer, size, static_cast<std::size_t>(align));
}
void operator delete[](void* pointer, std::size_t size, std::align_val_t align) noexcept {
  ferrite::mm::heap_deallocate(pointer, size, static_cast<std::size_t>(align));
}

// Unsized forms: reached by `delete[]` on arrays of trivially destructible types (no size
// cookie) and by code compiled without -fsized-deallocation. Use std::vector / std::array.
void operator delete(void* pointer) noexcept {
  if (pointer != nullptr) ferrite::panic("unsized operator delete({}): ferrite needs the size", pointer);
}
void operator delete[](void* pointer) noexcept {
  if (pointer != nullptr) ferrite::panic("unsized operator delete[]({}): use std::vector or std::array", pointer);
}
void operator delete(void* pointer, std::align_val_t) noexcept { operator delete(pointer); }
void operator delete[](void* pointer, std::align_val_t) noexcept { operator delete[](pointer); }
void operator delete(void* pointer, const std::nothrow_t&) noexcept { operator delete(pointer); }
void operator delete[](void* pointer, const std::nothrow_t&) noexcept { operator delete[](pointer); }
