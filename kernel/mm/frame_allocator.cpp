// The physical frame allocator: building the usable runs from the memory map, then O(1)
// allocate/free. See frame_allocator.h for the design.
#include "mm/frame_allocator.h"

#include <algorithm>

#include "lib/panic.h"

namespace ferrite::mm {

namespace {


// What a free frame holds in its first bytes. The marker makes double frees cheap to catch: a
// frame being freed that already carries it is probably on the list, and only then is the list
// searched to be sure (a used frame may contain the same bytes by chance).
struct FreeFrameHeader {
  std::uint64_t next;  // physical address of the next free frame, 0 at the end of the list
  std::uint64_t marker;
};
constexpr std::uint64_t kFreeFrameMarker = 0x6672'6565'6672'616d;  // "freefram" in ASCII

// base + length, cut at the end of the physical address space (a broken map may wrap past 2^64).
constexpr std::uint64_t clamped_end(std::uint64_t base, std::uint64_t length) {
  if (base >= PhysAddr::kLimit) return PhysAddr::kLimit;
  return length > PhysAddr::kLimit - base ? PhysAddr::kLimit : base + length;
}

}  // namespace

FrameAllocator::FrameAllocator(std::span<const boot::MemoryRegion> memory_map,
                               std::span<const boot::PhysicalRange> reserved,
                               PhysicalMemoryView memory, InterruptHooks interrupts)
    : interrupts_(interrupts), memory_(memory) {
  for (const boot::MemoryRegion& region : memory_map) {
    if (region.type == boot::MemoryType::usable) {
      add_usable(region.base, region.length);
    }
  }
  // A region the firmware marks otherwise wins over an overlapping usable one: handing out
  // memory that is in use corrupts it silently, losing a few frames costs nothing.
  for (const boot::MemoryRegion& region : memory_map) {
    if (region.type != boot::MemoryType::usable) {
      remove(region.base, region.length);
    }
  }
  remove(0, kLowMemoryEnd);
  for (const boot::PhysicalRange& range : reserved) {
    remove(range.base, range.length);
  }
  for (const Run& run : runs()) total_frames_ += run.frame_count();
}

FrameAllocator::Locker::Locker(const FrameAllocator& allocator) : allocator_(allocator) {
  if (allocator_.interrupts_.save_and_disable != nullptr) {
    were_enabled_ = allocator_.interrupts_.save_and_disable();
  }
  while (__atomic_exchange_n(&allocator_.locked_, true, __ATOMIC_ACQUIRE)) {
    while (__atomic_load_n(&allocator_.locked_, __ATOMIC_RELAXED)) {
    }
  }
}

FrameAllocator::Locker::~Locker() {
  __atomic_store_n(&allocator_.locked_, false, __ATOMIC_RELEASE);
  if (allocator_.interrupts_.restore != nullptr) allocator_.interrupts_.restore(were_enabled_);
}

// A free frame, with the lock held: from one of the two lists (the zeroed one first if
// `prefer_zeroed`), else a never-used frame of the runs. `zeroed` says whether it is all zero.
std::optional<Frame4KiB> FrameAllocator::take_locked(bool prefer_zeroed, bool& zeroed) {
  zeroed = zeroed_list_head_ != 0 && (prefer_zeroed || free_list_head_ == 0);
  std::uint64_t& head = zeroed ? zeroed_list_head_ : free_list_head_;
  if (head != 0) {
    const PhysAddr frame(head);
    auto* header = memory_.pointer_to<FreeFrameHeader>(frame);
    head = header->next;
    // In use again: its later free() needs no search of the lists. A zeroed frame's header
    // is the only part of it that is not zero.
    if (zeroed) {
      header->next = 0;
      __atomic_store_n(&zeroed_count_, zeroed_count_ - 1, __ATOMIC_RELAXED);
    }
    header->marker = 0;
    __atomic_store_n(&used_frames_, used_frames_ + 1, __ATOMIC_RELAXED);
    return Frame4KiB::containing(frame);
  }
  // Whatever the firmware or the boot loader left there.
  for (; current_run_ < run_count_; ++current_run_) {
    Run& run = runs_[current_run_];
    if (run.next_unused < run.end) {
      const PhysAddr frame(run.next_unused);
      run.next_unused += kPageBytes;
      __atomic_store_n(&used_frames_, used_frames_ + 1, __ATOMIC_RELAXED);
      return Frame4KiB::containing(frame);
    }
  }
  return std::nullopt;
}

std::optional<Frame4KiB> FrameAllocator::allocate() {
  const Locker locker(*this);
  if (free_list_head_ != 0) {  // the usual case, spelled out: a page fault's frame
    const PhysAddr frame(free_list_head_);
    auto* header = memory_.pointer_to<FreeFrameHeader>(frame);
    free_list_head_ = header->next;
    header->marker = 0;  // in use again: its later free() needs no search of the lists
    __atomic_store_n(&used_frames_, used_frames_ + 1, __ATOMIC_RELAXED);
    return Frame4KiB::containing(frame);
  }
  bool zeroed = false;
  return take_locked(false, zeroed);
}

std::optional<Frame4KiB> FrameAllocator::allocate_zeroed() {
  bool zeroed = false;
  std::optional<Frame4KiB> frame;
  {
    const Locker locker(*this);
    frame = take_locked(true, zeroed);
  }
  if (frame && !zeroed) __builtin_memset(memory_.pointer_to(frame->start()), 0, Frame4KiB::kBytes);
  return frame;
}

// Checks a frame being freed and puts it at the front of the list at `head`. Lock held.
inline void FrameAllocator::push_locked(std::uint64_t& head, Frame4KiB frame) {
  // Panics below run with the lock held: panic never allocates frames.
  const std::uint64_t address = frame.start().value();
  const Run* run = run_containing(address);
  if (run == nullptr) panic("FrameAllocator::free: the frame is not in usable memory");
  if (address >= run->next_unused) panic("FrameAllocator::free: the frame was never allocated");

  auto* header = memory_.pointer_to<FreeFrameHeader>(frame.start());
  if (header->marker == kFreeFrameMarker && is_on_free_list(address)) {
    panic("FrameAllocator::free: double free of a frame");
  }
  header->next = head;
  header->marker = kFreeFrameMarker;
  head = address;
  __atomic_store_n(&used_frames_, used_frames_ - 1, __ATOMIC_RELAXED);
}

void FrameAllocator::free(Frame4KiB frame) {
  const Locker locker(*this);
  push_locked(free_list_head_, frame);
}

void FrameAllocator::free_zeroed(Frame4KiB frame) {
  const Locker locker(*this);
  push_locked(zeroed_list_head_, frame);
  __atomic_store_n(&zeroed_count_, zeroed_count_ + 1, __ATOMIC_RELAXED);
}

std::optional<std::string_view> FrameAllocator::invariant_violation() const {
  const Locker locker(*this);
  return invariant_violation_locked();
}

std::optional<std::string_view> FrameAllocator::invariant_violation_locked() const {
  std::uint64_t never_used = 0;
  for (std::size_t index = 0; index < run_count_; ++index) {
    const Run& run = runs_[index];
    if (run.next_unused < run.start || run.next_unused > run.end) return "a run's cursor is outside the run";
    if (index < current_run_ && run.next_unused != run.end) return "a run before the current one has unused frames";
    never_used += (run.end - run.next_unused) / kPageBytes;
  }
  // Every entry must be a distinct handed-out frame; more entries than frames means a cycle.
  const std::uint64_t handed_out = total_frames_ - never_used;
  std::uint64_t listed = 0, zeroed_listed = 0;
  for (const std::uint64_t head : {free_list_head_, zeroed_list_head_}) {
    for (std::uint64_t node = head; node != 0;
         node = memory_.pointer_to<FreeFrameHeader>(PhysAddr(node))->next) {
      if (++listed > handed_out) return "the free lists are longer than the frames ever handed out (a cycle)";
      const Run* run = run_containing(node);
      if (run == nullptr || node % kPageBytes != 0) return "a free-list entry is not a usable frame";
      if (node >= run->next_unused) return "a free-list entry was never handed out";
      if (memory_.pointer_to<FreeFrameHeader>(PhysAddr(node))->marker != kFreeFrameMarker) {
        return "a free-list entry lost its free marker (written while free, or handed out twice)";
      }
      if (head != zeroed_list_head_) continue;
      ++zeroed_listed;
      const auto* words = memory_.pointer_to<std::uint64_t>(PhysAddr(node));
      for (std::size_t i = sizeof(FreeFrameHeader) / 8; i < kPageBytes / 8; ++i) {
        if (words[i] != 0) return "a frame on the zeroed list is not zero";
      }
    }
  }
  if (zeroed_listed != zeroed_count_) return "the zeroed list's length != zeroed_frames()";
  if (listed + never_used != total_frames_ - used_frames_) {
    return "free lists + never-used frames != free_frames()";
  }
  return std::nullopt;
}

// Adds [base, base + length) shrunk to whole frames, merging it with runs it overlaps or
// touches, so that runs stay sorted and disjoint even if the memory map lists the same memory
// twice.
void FrameAllocator::add_usable(std::uint64_t base, std::uint64_t length) {
  std::uint64_t start = base;
  std::uint64_t end = clamped_end(base, length);
  if (start >= end) return;  // checked first: aligning up a start near 2^64 would wrap
  start = align_up(start, kPageBytes);
  end = align_down(end, kPageBytes);
  if (start >= end) return;

  std::size_t first = 0;  // the first run that ends at or after `start`
  while (first < run_count_ && runs_[first].end < start) ++first;
  std::size_t last = first;  // one past the last run that begins at or before `end`
  while (last < run_count_ && runs_[last].start <= end) {
    start = std::min(start, runs_[last].start);
    end = std::max(end, runs_[last].end);
    ++last;
  }
  if (first == last) {
    if (!insert_run(first, Run{start, end, start})) ignored_frames_ += (end - start) / kPageBytes;
    return;
  }
  runs_[first] = Run{start, end, start};
  while (last > first + 1) erase_run(--last);
}

// Cuts [base, base + length), grown to whole frames, out of the runs. Only used while building
// the runs, before any frame is handed out.
void FrameAllocator::remove(std::uint64_t base, std::uint64_t length) {
  std::uint64_t start = base;
  std::uint64_t end = clamped_end(base, length);
  if (start >= end) return;  // an empty range reserves nothing, not the frame it points into
  start = align_down(start, kPageBytes);
  end = std::min(align_up(end, kPageBytes), PhysAddr::kLimit);
  std::size_t index = 0;
  while (index < run_count_) {
    Run& run = runs_[index];
    if (run.end <= start || end <= run.start) {
      ++index;
      continue;
    }
    const bool keeps_below = run.start < start;
    const bool keeps_above = end < run.end;
    if (keeps_below && keeps_above) {
      const Run above{end, run.end, end};
      run.end = start;
      if (insert_run(index + 1, above)) {
        index += 2;
      } else {
        // No room for a second run: keep the larger piece, count the other as lost.
        const Run below = run;
        ignored_frames_ += std::min(below.frame_count(), above.frame_count());
        if (above.frame_count() > below.frame_count()) runs_[index] = above;
        ++index;
      }
    } else if (keeps_below) {
      run.end = start;
      ++index;
    } else if (keeps_above) {
      run.start = end;
      run.next_unused = end;
      ++index;
    } else {
      erase_run(index);
    }
  }
}

bool FrameAllocator::insert_run(std::size_t index, Run run) {
  if (run_count_ == kMaxRuns) return false;
  std::copy_backward(runs_.begin() + index, runs_.begin() + run_count_,
                     runs_.begin() + run_count_ + 1);
  runs_[index] = run;
  ++run_count_;
  return true;
}

void FrameAllocator::erase_run(std::size_t index) {
  std::copy(runs_.begin() + index + 1, runs_.begin() + run_count_, runs_.begin() + index);
  --run_count_;
}

// Linear: there are only as many runs as memory-map regions, a handful on real machines.
const FrameAllocator::Run* FrameAllocator::run_containing(std::uint64_t address) const {
  for (const Run& run : runs()) {
    if (run.start <= address && address < run.end) return &run;
  }
  return nullptr;
}

bool FrameAllocator::is_on_free_list(std::uint64_t frame_start) const {
  for (const std::uint64_t head : {free_list_head_, zeroed_list_head_}) {
    for (std::uint64_t node = head; node != 0;
         node = memory_.pointer_to<FreeFrameHeader>(PhysAddr(node))->next) {
      if (node == frame_start) return true;
    }
  }
  return false;
}

}  // namespace ferrite::mm
