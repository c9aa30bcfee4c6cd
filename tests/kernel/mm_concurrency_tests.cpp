// The memory manager's locks under preemption (chapter 14, mm/memory.h's lock list): four
// threads, switched every tick, take and give back frames, map and unmap kernel pages in page
// tables they create together, build, fault in, fill and destroy address spaces, work on one
// shared space at once (as chapter 15's threads of a process will), use the heap and start
// threads. At the end every frame is back and the frame allocator's bookkeeping is whole.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>

#include "console/print.h"
#include "mm/address_space.h"
#include "mm/heap.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "sched/scheduler.h"
#include "sched/sync.h"
#include "test/ktest.h"

namespace {

using namespace ferrite::mm;
namespace sched = ferrite::sched;
using ferrite::println;

constexpr int kWorkers = 4;
constexpr std::uint64_t kIterations = 1000;
// Every kernel page table the workers make stays (kernel tables are never freed): only the first
// iterations map kernel pages, to bound that to about 9 MiB.
constexpr std::uint64_t kKernelPageIterations = 300;
constexpr std::uint64_t kPage = kPageBytes;
constexpr std::uint32_t kRW = kProtRead | kProtWrite;
constexpr std::uint64_t kData = 0x0000'0000'4000'0000;
// Kernel pages the workers map, in 2 MiB stretches of fresh kernel address space: a shared
// counter hands out the pages of one stretch to kWorkers calls in turn, so the workers keep
// racing to create the same level-1 table. Its own 1 GiB in the thread stacks' level-4 slot
// (one of those mm::init prepares), above the stacks and above the GiB address_space_tests
// uses, so the tables this test leaves behind are exactly one level 1 per stretch and one
// level 2 per GiB.
constexpr std::uint64_t kScratchKernel = kThreadStacksStart + (std::uint64_t{257} << 30);
constexpr std::uint64_t kStretch = 2ull << 20;
constexpr std::uint64_t kKernelPagesPerRound = 8;
constexpr std::uint64_t kStretches = kKernelPageIterations * kKernelPagesPerRound;  // kWorkers pages each
constexpr std::uint64_t kKernelTables = kStretches + (kStretches * kStretch + (1ull << 30) - 1) / (1ull << 30);
std::atomic<std::uint64_t> next_kernel_page{0};

std::atomic<std::uint64_t> errors{0};
std::atomic<std::uint64_t> heap_misses{0};
AddressSpace* shared_space = nullptr;

void fail(const char* what, int worker, std::uint64_t iteration) {
  if (errors.fetch_add(1) < 8) println("  worker {} iteration {}: {}", worker, iteration, what);
}

std::uint64_t& first_word(Frame4KiB frame) { return *physical_to_virtual<std::uint64_t>(frame.start().value()); }

// Frames straight from the allocator, each tagged by its holder: a frame handed to two threads
// at once shows up as a tag the other one wrote.
void frames_round(int worker, std::uint64_t iteration) {
  constexpr int kHeld = 8;
  for (int round = 0; round < 64; ++round) {
    std::optional<Frame4KiB> held[kHeld] = {};
    int count = 0;
    for (; count < kHeld; ++count) {
      const auto frame = frame_allocator().allocate();
      if (!frame) break;
      held[count] = frame;
      first_word(*frame) = (std::uint64_t(worker) << 48) | (iteration << 16) | std::uint64_t(count);
    }
    for (int i = 0; i < count; ++i) {
      if (first_word(*held[i]) != ((std::uint64_t(worker) << 48) | (iteration << 16) | std::uint64_t(i))) {
        fail("a frame this thread holds was written by another (handed out twice)", worker, iteration);
      }
      frame_allocator().free(*held[i]);
    }
  }
}

// kKernelPagesPerRound kernel pages, each the next free one of the current stretch.
void kernel_pages_round(int worker, std::uint64_t iteration) {
  const PageTableFlags flags = PageTableFlags::present | PageTableFlags::writable | no_execute_flag();
  VirtAddr pages[kKernelPagesPerRound] = {};
  for (VirtAddr& page : pages) {
    const std::uint64_t index = next_kernel_page.fetch_add(1);
    page = VirtAddr(kScratchKernel + index / kWorkers * kStretch + index % kWorkers * kPage);
    if (!map_fresh_pages(page, 1, flags)) return fail("map_fresh_pages failed", worker, iteration);
  }
  sched::yield();  // let the others map into the same tables meanwhile
  for (VirtAddr page : pages) {
    if (!kernel_translate(page)) fail("a kernel page mapped a moment ago is gone", worker, iteration);
    if (unmap_pages(page, 1) != 1) fail("a kernel page mapped a moment ago could not be unmapped", worker, iteration);
  }
}

// A private space: regions, faults, write_initial, brk, then everything back.
void private_space_round(int worker, std::uint64_t iteration) {
  AddressSpace* space = create_address_space();
  if (space == nullptr) return fail("create_address_space failed", worker, iteration);
  if (!space->map_anonymous(kData, 16 * kPage, kRW)) fail("map_anonymous failed", worker, iteration);
  for (std::uint64_t i = 0; i < 16; i += 2) {
    if (!space->handle_fault(kData + i * kPage, FaultAccess::write)) fail("handle_fault failed", worker, iteration);
  }
  const std::byte bytes[] = {std::byte(worker), std::byte(iteration), std::byte{0x5A}};
  if (!space->write_initial(kData + 3 * kPage - 1, bytes)) fail("write_initial failed", worker, iteration);
  space->set_break_base(kData + 64 * kPage);
  space->brk(kData + 80 * kPage);
  if (!space->handle_fault(kData + 70 * kPage, FaultAccess::write)) fail("brk page fault failed", worker, iteration);
  space->brk(kData + 65 * kPage);
  if (!space->unmap(kData, 4 * kPage)) fail("unmap failed", worker, iteration);
  destroy_address_space(space);
}

// One space for all four (the threads of one process): each maps, faults in and unmaps its own
// one-page regions (alternately read-write and read-only, so neighbours never merge); the
// region table and the page tables above the pages are shared.
void shared_space_round(int worker, std::uint64_t iteration) {
  constexpr int kRegions = 16;
  std::uint64_t at[kRegions] = {};
  for (int i = 0; i < kRegions; ++i) {
    const auto mapped = shared_space->map_anywhere(kPage, i % 2 == 0 ? kRW : kProtRead);
    if (!mapped) return fail("map_anywhere in the shared space failed", worker, iteration);
    at[i] = *mapped;
    if (!shared_space->handle_fault(at[i], FaultAccess::read)) fail("handle_fault in the shared space failed", worker, iteration);
  }
  for (const std::uint64_t address : at) {
    if (!shared_space->translate(address)) fail("a shared-space page mapped a moment ago is gone", worker, iteration);
    if (!shared_space->unmap(address, kPage)) fail("unmap in the shared space failed", worker, iteration);
  }
}

// The heap, growing while the others use it. A nothrow miss is counted, not failed: a thread
// that finds another's growth in progress is refused (heap.cpp).
void heap_round(int worker, std::uint64_t iteration) {
  const std::size_t size = std::size_t{64} << (iteration % 11);  // 64 B .. 64 KiB
  auto* block = static_cast<std::uint8_t*>(::operator new(size, std::nothrow));
  if (block == nullptr) {
    heap_misses.fetch_add(1);
    return;
  }
  for (std::size_t i = 0; i < size; i += 512) block[i] = static_cast<std::uint8_t>(worker);
  sched::yield();
  for (std::size_t i = 0; i < size; i += 512) {
    if (block[i] != static_cast<std::uint8_t>(worker)) {
      fail("a heap block was written by another thread", worker, iteration);
      break;
    }
  }
  ::operator delete(block, size);
}

std::int64_t idle_thread_body(void*) { return 7; }

std::int64_t mixed_worker(void* argument) {
  const int worker = static_cast<int>(reinterpret_cast<std::uintptr_t>(argument));
  for (std::uint64_t iteration = 0; iteration < kIterations; ++iteration) {
    frames_round(worker, iteration);
    private_space_round(worker, iteration);
    shared_space_round(worker, iteration);
    heap_round(worker, iteration);
    if (iteration % 32 == 0) {  // thread creation (its stack slot may be mapped now)
      auto thread = sched::spawn("mm child", idle_thread_body, nullptr);
      if (!thread) {
        fail("spawn failed", worker, iteration);
      } else if (sched::join(**thread) != 7) {
        fail("a child thread's exit value is wrong", worker, iteration);
      }
    }
  }
  return 0;
}

// Kernel tables alone: with nothing else to do, the workers spend a good share of their time
// creating tables, so preemption lands there often.
std::int64_t kernel_tables_worker(void* argument) {
  const int worker = static_cast<int>(reinterpret_cast<std::uintptr_t>(argument));
  for (std::uint64_t iteration = 0; iteration < kKernelPageIterations; ++iteration) {
    kernel_pages_round(worker, iteration);
  }
  return 0;
}

// Makes what the run would otherwise leave behind exist beforehand, so that the frame count
// after it is exact: the stacks of the thread-table slots it will use (kept once mapped), and
// heap room for everything the workers hold at once (the heap never shrinks).
void warm_up() {
  sched::Thread* threads[2 * kWorkers] = {};
  for (auto& thread : threads) {
    auto spawned = sched::spawn("mm warm-up", idle_thread_body, nullptr);
    if (spawned) thread = *spawned;
  }
  for (sched::Thread* thread : threads) {
    if (thread != nullptr) (void)sched::join(*thread);
  }
  // Aligned above a page: a block this large would otherwise get pages of its own (mm/heap.h)
  // and leave the heap as small as it was.
  constexpr std::size_t kRoom = 2u << 20;
  constexpr std::align_val_t kOnTheHeap{2 * kPageBytes};
  if (void* block = ::operator new(kRoom, kOnTheHeap, std::nothrow)) ::operator delete(block, kRoom, kOnTheHeap);
}

}  // namespace

namespace {

// Runs `worker` on kWorkers threads switched every tick, and checks what every run must leave:
// no error seen by a worker, no mutex misuse, the heap no larger, and the frame allocator's
// bookkeeping whole. Returns how many more frames are in use than before (what the caller
// expects to stay), or ~0 when the workers could not start.
std::uint64_t run_workers(sched::ThreadEntry worker) {
  warm_up();
  sched::set_time_slice(1);  // every tick switches: as many interleavings as the tick allows
  const std::size_t heap_before = heap_stats().mapped_bytes;
  const std::uint64_t used_before = frame_allocator().used_frames();
  const std::uint64_t misuses_before = sched::mutex_misuse_count();
  const std::uint64_t switches_before = sched::context_switches();
  errors.store(0);
  heap_misses.store(0);

  sched::Thread* workers[kWorkers] = {};
  for (int i = 0; i < kWorkers; ++i) {
    auto thread = sched::spawn("mm worker", worker, reinterpret_cast<void*>(std::uintptr_t(i)));
    if (!thread) {
      KEXPECT(thread.has_value());
      return ~std::uint64_t{0};
    }
    workers[i] = *thread;
  }
  for (sched::Thread* thread : workers) KEXPECT_EQ(sched::join(*thread), std::int64_t{0});
  sched::set_time_slice(sched::kDefaultTimeSliceNs);

  println("  {} context switches, {} errors, {} heap misses", sched::context_switches() - switches_before,
          errors.load(), heap_misses.load());
  KEXPECT_EQ(errors.load(), std::uint64_t{0});
  KEXPECT_EQ(sched::mutex_misuse_count(), misuses_before);
  const std::uint64_t used_after = frame_allocator().used_frames();
  println("  frames used: {} before, {} after; heap {} -> {} KiB", used_before, used_after, heap_before / 1024,
          heap_stats().mapped_bytes / 1024);
  KEXPECT_EQ(heap_stats().mapped_bytes, heap_before);
  const auto violation = frame_allocator().invariant_violation();
  if (violation) println("  frame allocator: {}", *violation);
  KEXPECT(!violation.has_value());
  return used_after - used_before;
}

}  // namespace

// Frames, private and shared address spaces, the heap and thread creation, all at once. The
// shared space goes after the run, so every frame is back.
KTEST(mm_stress_frames_spaces_threads_and_heap) {
  warm_up();  // before the count below (run_workers warms up again: nothing left to do then)
  shared_space = create_address_space();
  KASSERT(shared_space != nullptr);
  const std::uint64_t used_with_space = frame_allocator().used_frames();
  const std::uint64_t kept = run_workers(mixed_worker);
  KEXPECT_EQ(kept, shared_space->frames_in_use() - 1);  // the tables the shared pages needed
  KEXPECT(shared_space->regions().empty());
  destroy_address_space(shared_space);
  shared_space = nullptr;
  KEXPECT_EQ(frame_allocator().used_frames(), used_with_space - 1);
}

// Kernel page tables made by four threads at once: every page mapped stays mapped until its
// owner unmaps it, and the tables left are exactly one per stretch (kernel tables are kept).
KTEST(mm_stress_kernel_tables) {
  next_kernel_page.store(0);
  KEXPECT_EQ(run_workers(kernel_tables_worker), kKernelTables);
}
