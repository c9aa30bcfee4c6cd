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
constexpr std::uint64_t kIterations = 300;
constexpr std::uint64_t kPage = kPageBytes;
constexpr std::uint32_t kRW = kProtRead | kProtWrite;
constexpr std::uint64_t kData = 0x0000'0000'4000'0000;
// Kernel pages the workers map: a fresh 2 MiB stretch per iteration, so all four race to create
// its level-1 table. A level-2 table of its own (1 GiB above the slot address_space_tests uses),
// so the tables this test leaves behind are exactly: one level 2, one level 1 per iteration.
constexpr std::uint64_t kScratchKernel = 0xFFFF'F000'4000'0000;
constexpr std::uint64_t kStretch = 2ull << 20;
static_assert(kIterations * kStretch <= (1ull << 30));

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
  for (int round = 0; round < 16; ++round) {
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

// Two kernel pages in this iteration's stretch, beside the other workers' pages.
void kernel_pages_round(int worker, std::uint64_t iteration) {
  const VirtAddr start(kScratchKernel + iteration * kStretch + std::uint64_t(worker) * 2 * kPage);
  const PageTableFlags flags = PageTableFlags::present | PageTableFlags::writable | no_execute_flag();
  if (!map_fresh_pages(start, 2, flags)) return fail("map_fresh_pages failed", worker, iteration);
  for (std::uint64_t i = 0; i < 2; ++i) {
    if (!kernel_translate(start + i * kPage)) fail("a kernel page just mapped is gone", worker, iteration);
  }
  sched::yield();  // let the others map into the same table meanwhile
  if (unmap_pages(start, 2) != 2) fail("a kernel page just mapped was lost", worker, iteration);
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
// pages; the regions and the page tables above them are shared.
void shared_space_round(int worker, std::uint64_t iteration) {
  const auto at = shared_space->map_anywhere(2 * kPage, kRW);
  if (!at) return fail("map_anywhere in the shared space failed", worker, iteration);
  for (std::uint64_t i = 0; i < 2; ++i) {
    if (!shared_space->handle_fault(*at + i * kPage, FaultAccess::write)) {
      fail("handle_fault in the shared space failed", worker, iteration);
    }
  }
  if (!shared_space->translate(*at + kPage)) fail("a shared-space page just mapped is gone", worker, iteration);
  if (!shared_space->unmap(*at, 2 * kPage)) fail("unmap in the shared space failed", worker, iteration);
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

std::int64_t worker_main(void* argument) {
  const int worker = static_cast<int>(reinterpret_cast<std::uintptr_t>(argument));
  for (std::uint64_t iteration = 0; iteration < kIterations; ++iteration) {
    frames_round(worker, iteration);
    kernel_pages_round(worker, iteration);
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
  constexpr std::size_t kRoom = 2u << 20;
  if (void* block = ::operator new(kRoom, std::nothrow)) ::operator delete(block, kRoom);
}

}  // namespace

KTEST(mm_locks_hold_under_preempted_threads) {
  warm_up();
  sched::set_time_slice(1);  // every tick switches: as many interleavings as the tick allows
  const std::size_t heap_before = heap_stats().mapped_bytes;
  const std::uint64_t used_before = frame_allocator().used_frames();
  const std::uint64_t misuses_before = sched::mutex_misuse_count();
  const std::uint64_t switches_before = sched::context_switches();
  errors.store(0);
  heap_misses.store(0);
  shared_space = create_address_space();
  KASSERT(shared_space != nullptr);

  sched::Thread* workers[kWorkers] = {};
  for (int i = 0; i < kWorkers; ++i) {
    auto thread = sched::spawn("mm worker", worker_main, reinterpret_cast<void*>(std::uintptr_t(i)));
    KASSERT(thread.has_value());
    workers[i] = *thread;
  }
  for (sched::Thread* worker : workers) KEXPECT_EQ(sched::join(*worker), std::int64_t{0});
  sched::set_time_slice(sched::kDefaultTimeSliceNs);

  KEXPECT_EQ(shared_space->frames_in_use() >= 1, true);
  KEXPECT(shared_space->regions().empty());
  destroy_address_space(shared_space);
  shared_space = nullptr;
  println("  {} context switches, {} errors, {} heap misses", sched::context_switches() - switches_before,
          errors.load(), heap_misses.load());
  KEXPECT_EQ(errors.load(), std::uint64_t{0});
  KEXPECT_EQ(sched::mutex_misuse_count(), misuses_before);
  // What stays: the kernel page tables the workers made (one level 2, one level 1 per stretch).
  // Thread stacks and heap room were made by warm_up.
  const std::uint64_t used_after = frame_allocator().used_frames();
  println("  frames used: {} before, {} after ({} kernel page tables expected); heap {} -> {} KiB", used_before,
          used_after, kIterations + 1, heap_before / 1024, heap_stats().mapped_bytes / 1024);
  KEXPECT_EQ(heap_stats().mapped_bytes, heap_before);
  KEXPECT_EQ(used_after, used_before + kIterations + 1);
  const auto violation = frame_allocator().invariant_violation();
  if (violation) println("  frame allocator: {}", *violation);
  KEXPECT(!violation.has_value());
}
