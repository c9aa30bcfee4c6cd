// The physical frame allocator (chapter 9): hands out 4 KiB frames of usable RAM, taken from the
// boot memory map minus everything already in use (kernel image, modules, boot info, low memory).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "boot/boot_info.h"
#include "mm/address.h"
#include "mm/page.h"
#include "mm/physical_memory.h"

namespace ferrite::mm {

// Where the mapper gets frames for new page tables. An interface so the mapper does not care who
// owns physical memory (the FrameAllocator in the kernel, a scripted source in host tests).
class FrameSource {
 public:
  // A 4 KiB frame nobody else uses, or nothing when physical memory is exhausted.
  virtual std::optional<Frame4KiB> allocate_frame() = 0;

 protected:
  ~FrameSource() = default;  // never deleted through this interface: no deleting destructor
};

// How the FrameAllocator's lock holds interrupts off: `save_and_disable` clears the interrupt
// flag and returns whether it was set, `restore` puts it back. Both null where there are no
// interrupts (host tests).
struct FrameAllocatorInterruptHooks {
  bool (*save_and_disable)() = nullptr;
  void (*restore)(bool were_enabled) = nullptr;
};

// Allocation and free are O(1):
// - Frames never handed out yet are taken in address order from "runs" (usable ranges after the
//   reserved ones are cut out), each with a cursor to its first never-used frame. Setup is
//   proportional to the number of memory-map regions, not to the amount of memory, and
//   allocating this way touches no memory at all: it works before physical memory is mapped.
// - Freed frames go on a free list threaded through the frames themselves (the first bytes of a
//   free frame hold the address of the next), reached through the PhysicalMemoryView. Freed
//   frames are reused first.
// - Chapter 15: frames given back all zero (free_zeroed: page tables whose entries were cleared
//   one by one as their pages went) go on a second list, and allocate_zeroed takes them from
//   there without zeroing them again. A fork makes half a dozen page tables and an exit frees
//   as many: zeroing each 4 KiB table was a fifth of fork's cost under QEMU.
//
// Freeing a frame that is outside usable memory, was never handed out, or is already free
// panics: each is a bug that would otherwise hand one frame to two owners.
//
// Threads (chapter 14): allocate() and free() may be called by any number of threads at once,
// and from interrupt handlers. They take the allocator's own spinlock for their few
// instructions, with interrupts held off through the hooks the owner passed in (the kernel's
// save/restore of the interrupt flag; host tests pass none). Holding interrupts off makes the
// lock safe against an interrupt handler on the same CPU, which can then never find it held;
// a handler on another CPU just spins a moment. Nothing slow runs under it: frames are zeroed
// by the caller, after allocate() has returned. It is a leaf lock: nothing else is taken while
// it is held, so any lock may be held around a call (the kernel-table spinlock and the address
// spaces' mutexes are, mm/memory.h). NMI handlers and panic must not call in: they may have
// interrupted the holder on this CPU.
class FrameAllocator final : public FrameSource {
 public:
  using InterruptHooks = FrameAllocatorInterruptHooks;

  // Memory below 1 MiB is never handed out, whatever the memory map says: the real-mode
  // interrupt table, BIOS data area, EBDA, VGA memory and option ROMs live there, and firmware
  // maps often describe it loosely.
  static constexpr std::uint64_t kLowMemoryEnd = std::uint64_t{1} << 20;
  // Usable ranges are kept in a fixed array (no heap exists yet). A memory map so fragmented
  // that more ranges result loses some: a range that finds the array full, or (when it is
  // full) the smaller half of a range a reservation splits; ignored_frames() counts their frames.
  static constexpr std::size_t kMaxRuns = 128;

  // An allocator with no memory: lets the kernel keep one in a constinit global until boot.
  constexpr FrameAllocator() = default;

  // Usable = regions of type `usable` in `memory_map`, minus any region of another type that
  // overlaps them, minus `reserved`, minus the first MiB. Usable ranges shrink to whole frames;
  // reserved ranges grow to whole frames. `memory` must reach every usable frame by the time the
  // first frame is freed (allocation alone never touches frame contents).
  FrameAllocator(std::span<const boot::MemoryRegion> memory_map,
                 std::span<const boot::PhysicalRange> reserved, PhysicalMemoryView memory,
                 InterruptHooks interrupts = {});

  [[nodiscard]] std::optional<Frame4KiB> allocate();
  void free(Frame4KiB frame);
  // A frame whose 4 KiB are all zero: one from the zeroed list if there is one (nothing to
  // zero), else any free frame, zeroed here after the lock is dropped. Needs a PhysicalMemoryView
  // that reaches every usable frame.
  [[nodiscard]] std::optional<Frame4KiB> allocate_zeroed();
  // Gives back a frame the caller left all zero (a page table with every entry cleared): the
  // next allocate_zeroed hands it out without zeroing it. A frame with a byte set here would
  // come back with that byte set: the caller must be sure.
  void free_zeroed(Frame4KiB frame);

  std::optional<Frame4KiB> allocate_frame() override { return allocate(); }

  // Totals, in 4 KiB frames. total = used + free at all times. Read without the lock: each is
  // one aligned word, a snapshot that may be stale by the time the caller looks at it.
  std::uint64_t total_frames() const { return total_frames_; }
  std::uint64_t used_frames() const { return __atomic_load_n(&used_frames_, __ATOMIC_RELAXED); }
  std::uint64_t free_frames() const { return total_frames_ - used_frames(); }
  std::uint64_t ignored_frames() const { return ignored_frames_; }
  // Of the free frames, how many are on the zeroed list (a snapshot, as above).
  std::uint64_t zeroed_frames() const { return __atomic_load_n(&zeroed_count_, __ATOMIC_RELAXED); }

  // Checks the bookkeeping under the lock (tests, after stress): every free-list entry is a
  // handed-out frame of a run, carries the free marker and appears once, and the free list plus
  // the never-used frames of the runs add up to free_frames(); every frame on the zeroed list
  // is zero past its list header. Returns what is wrong, or
  // nothing. Walks the whole free list with interrupts off: for tests, not for hot paths.
  [[nodiscard]] std::optional<std::string_view> invariant_violation() const;

  // A contiguous range of usable frames, [start, end), with its allocation cursor.
  struct Run {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    std::uint64_t next_unused = 0;  // frames from here to `end` were never handed out

    constexpr std::uint64_t frame_count() const { return (end - start) / Frame4KiB::kBytes; }
  };
  // The usable ranges, sorted by address (for the boot log and for tests).
  std::span<const Run> runs() const { return {runs_.data(), run_count_}; }

 private:
  void add_usable(std::uint64_t base, std::uint64_t length);  // both cut at PhysAddr::kLimit
  void remove(std::uint64_t base, std::uint64_t length);
  bool insert_run(std::size_t index, Run run);
  void erase_run(std::size_t index);
  const Run* run_containing(std::uint64_t address) const;
  bool is_on_free_list(std::uint64_t frame_start) const;
  void push_locked(std::uint64_t& head, Frame4KiB frame);
  std::optional<Frame4KiB> take_locked(bool prefer_zeroed, bool& zeroed);
  std::optional<std::string_view> invariant_violation_locked() const;

  // The lock of allocate(), free() and invariant_violation(): a test-and-test-and-set spinlock
  // on a plain bool through GCC's __atomic builtins (copyable, so mm::init can assign a freshly
  // built allocator; std::atomic is not), interrupts held off through interrupts_.
  class Locker {
   public:
    explicit Locker(const FrameAllocator& allocator);
    ~Locker();
    Locker(const Locker&) = delete;
    Locker& operator=(const Locker&) = delete;

   private:
    const FrameAllocator& allocator_;
    bool were_enabled_ = false;
  };
  mutable bool locked_ = false;
  InterruptHooks interrupts_{};

  PhysicalMemoryView memory_{};
  std::array<Run, kMaxRuns> runs_{};
  std::size_t run_count_ = 0;
  std::size_t current_run_ = 0;       // runs before this one have no never-used frames left
  std::uint64_t free_list_head_ = 0;  // 0 = empty: frame 0 is in the first MiB, never usable
  std::uint64_t zeroed_list_head_ = 0;  // frames all zero but their 16-byte list header
  std::uint64_t zeroed_count_ = 0;
  std::uint64_t total_frames_ = 0;
  std::uint64_t used_frames_ = 0;
  std::uint64_t ignored_frames_ = 0;
};

}  // namespace ferrite::mm
