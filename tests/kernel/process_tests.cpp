// Chapter 14 in its own test image, booted with the initramfs (-initrd): checked user copies
// (bad pointers become EFAULT, demand pages are filled in mid-copy), programs run in ring 3 and
// end with the right wait status, faults end only the program, 100 runs give every frame and heap
// byte back, and two programs doing floating-point and SSE work under preemption both get exact
// results (each has its own x87/SSE state).
#include <array>
#include <cstdint>
#include <string_view>

#include "boot/command_line.h"
#include "boot/start.h"
#include "console/print.h"
#include "init.h"
#include "mm/address_space.h"
#include "mm/heap.h"
#include "mm/memory.h"
#include "mm/user_copy.h"
#include "proc/signal.h"
#include "proc/spawn.h"
#include "sched/scheduler.h"
#include "test/ktest.h"

void kernel_main(const ferrite::boot::BootInfo& boot_info) {
  ferrite::init(boot_info);
  const ferrite::boot::CommandLine command_line(boot_info.command_line());
  ferrite::ktest::run_all_and_exit(command_line.get("test").value_or(""));
}

namespace {

namespace mm = ferrite::mm;
namespace proc = ferrite::proc;
using ferrite::println;
using ferrite::abi::Errno;

constexpr std::uint64_t kData = 0x4000'0000;  // some user address

// Runs `path` with `argv` (argv[0] first) and waits; -1 if it could not start.
std::int32_t run(std::string_view path, std::span<const std::string_view> argv) {
  const auto process = proc::spawn(path, argv);
  if (!process) {
    println("  cannot start {}: {}", path, process.error().reason);
    return -1;
  }
  return proc::wait(**process);
}

std::int32_t run(std::string_view path, std::string_view argument = {}) {
  const std::array<std::string_view, 2> argv{path, argument};
  return run(path, std::span(argv.data(), argument.empty() ? 1 : 2));
}

// The `mem` command's figures.
struct MemoryFigures {
  std::uint64_t frames_used;
  std::uint64_t heap_bytes;
  std::uint64_t heap_allocations;
  std::uint64_t large_blocks;  // the heap's blocks with pages of their own (mm/heap.h)
  std::uint64_t large_bytes;
  bool operator==(const MemoryFigures&) const = default;
};
MemoryFigures memory_figures() {
  const mm::HeapStats heap = mm::heap_stats();
  return {mm::frame_allocator().used_frames(), heap.allocator.bytes_in_use,
          heap.allocator.allocation_count, heap.large_blocks, heap.large_bytes};
}

}  // namespace

// ---- User copies, without a program -------------------------------------------------------------

KTEST(user_copy_refuses_kernel_and_overflowing_ranges) {
  char buffer[16] = {};
  KEXPECT(mm::copy_from_user(buffer, 0xFFFF'FFFF'8000'0000, 16).error() == Errno::efault);
  KEXPECT(mm::copy_to_user(0xFFFF'8000'0000'0000, buffer, 1).error() == Errno::efault);
  KEXPECT(mm::copy_from_user(buffer, mm::kUserEnd - 8, 16).error() == Errno::efault);  // runs past
  KEXPECT(mm::copy_from_user(buffer, ~std::uint64_t{0} - 4, 16).error() == Errno::efault);  // wraps
  KEXPECT(mm::copy_string_from_user(buffer, 0xFFFF'FFFF'8000'0000, sizeof(buffer)).error() ==
          Errno::efault);
}

// No address space is active: address 0 page-faults inside the copy, the fix-up table turns it
// into EFAULT — the kernel must not stop.
KTEST(user_copy_of_an_unmapped_address_is_efault_not_a_kernel_fault) {
  char buffer[16] = {};
  KEXPECT(mm::copy_from_user(buffer, 0, sizeof(buffer)).error() == Errno::efault);
  KEXPECT(mm::copy_to_user(0x1000, buffer, sizeof(buffer)).error() == Errno::efault);
  KEXPECT(mm::copy_string_from_user(buffer, 0x2000, sizeof(buffer)).error() == Errno::efault);
}

// In an active address space: a demand-zero region is filled in page by page in the middle of a
// copy (the fault asks handle_fault, then rep movsb resumes); a read-only page refuses writes.
KTEST(user_copy_fills_demand_pages_and_respects_permissions) {
  mm::AddressSpace* space = mm::create_address_space();
  KASSERT(space != nullptr);
  KASSERT(
      space->map_anonymous(kData, 4 * mm::kPageBytes, mm::kProtRead | mm::kProtWrite).has_value());
  KASSERT(
      space->map_anonymous(kData + 8 * mm::kPageBytes, mm::kPageBytes, mm::kProtRead).has_value());
  mm::activate(space);
  static std::array<std::uint8_t, 2 * 4096 + 100> out, in;
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(i * 7);
  // Starts 50 bytes before a page boundary and touches three pages, none present yet.
  const std::uint64_t at = kData + mm::kPageBytes - 50;
  KEXPECT(mm::copy_to_user(at, out.data(), out.size()).has_value());
  KEXPECT(mm::copy_from_user(in.data(), at, in.size()).has_value());
  KEXPECT(in == out);
  const char text[] = "/bin/hello";
  KEXPECT(mm::copy_to_user(kData, text, sizeof(text)).has_value());
  char name[32] = {};
  KEXPECT_EQ(mm::copy_string_from_user(name, kData, sizeof(name)).value_or(0), sizeof(text) - 1);
  KEXPECT(std::string_view(name) == "/bin/hello");
  KEXPECT(mm::copy_string_from_user(name, kData, 4).error() == Errno::enametoolong);
  // Past the region's end, and into the read-only page.
  KEXPECT(mm::copy_to_user(kData + 4 * mm::kPageBytes - 4, out.data(), 8).error() == Errno::efault);
  KEXPECT(mm::copy_to_user(kData + 8 * mm::kPageBytes, out.data(), 8).error() == Errno::efault);
  KEXPECT(mm::copy_from_user(in.data(), kData + 8 * mm::kPageBytes, 8).has_value());
  mm::activate(nullptr);
  mm::destroy_address_space(space);
}

// ---- Programs -----------------------------------------------------------------------------------

KTEST(process_hello_exits_with_status_0) {
  KEXPECT_EQ(run("/bin/hello", "ktest"), 0);
  KEXPECT_EQ(run("/bin/auxv"), 0);  // argv, envp and auxv as the ABI says
  KEXPECT_EQ(proc::process_count(), 0u);
}

KTEST(process_faults_end_only_that_process_with_its_signal) {
  KEXPECT_EQ(run("/bin/fault", "null"), proc::kSigSegv);
  KEXPECT_EQ(run("/bin/fault", "stack"), proc::kSigSegv);  // NX stack
  KEXPECT_EQ(run("/bin/fault", "text"), proc::kSigSegv);   // read-only text
  KEXPECT_EQ(run("/bin/fault", "ud2"), proc::kSigIll);
  KEXPECT_EQ(run("/bin/fault", "divide"), proc::kSigFpe);
  KEXPECT_EQ(run("/bin/fault", "kernel"), proc::exit_wait_status(0));  // write() got EFAULT
  KEXPECT_EQ(proc::process_count(), 0u);
}

KTEST(process_hundred_runs_leave_memory_where_it_started) {
  KASSERT_EQ(run("/bin/hello", "warm-up"), 0);  // the heap's first growth, one-time tables
  const MemoryFigures before = memory_figures();
  int failures = 0;
  for (int i = 0; i < 100; ++i) failures += run("/bin/hello", "again") != 0;
  const MemoryFigures after = memory_figures();
  KEXPECT_EQ(failures, 0);
  println("  frames used {} -> {}, heap {} bytes in {} allocations -> {} bytes in {}",
          before.frames_used, after.frames_used, before.heap_bytes, before.heap_allocations,
          after.heap_bytes, after.heap_allocations);
  KEXPECT(before == after);
}

// A user program's memory comes back even when the kernel needed big blocks for it: busybox dd
// writes 16 MiB into a tmpfs file, whose bytes are a std::vector that doubles its way up (1, 2,
// 4, 8, 16 MiB), and rm frees it. Each of those blocks had pages of its own (mm/heap.h), given
// back on free: frames used come back to within a few dozen page tables (the large blocks'
// window keeps its tables, as all kernel tables stay). On a heap that only grows, 51 MiB stayed
// mapped: 12,790 frames.
KTEST(process_dd_16_mib_to_tmp_then_rm_gives_the_frames_back) {
  const std::array<std::string_view, 6> warm_up{"/bin/busybox", "dd",    "if=/dev/zero",
                                                "of=/tmp/big",  "bs=1M", "count=1"};
  const std::array<std::string_view, 3> remove{"/bin/busybox", "rm", "/tmp/big"};
  KASSERT_EQ(run("/bin/busybox", warm_up), 0);  // busybox's first run, /tmp's list of children
  KASSERT_EQ(run("/bin/busybox", remove), 0);
  const MemoryFigures before = memory_figures();
  const std::array<std::string_view, 6> dd{"/bin/busybox", "dd",    "if=/dev/zero",
                                           "of=/tmp/big",  "bs=1M", "count=16"};
  KEXPECT_EQ(run("/bin/busybox", dd), 0);
  const std::uint64_t used_with_file = mm::frame_allocator().used_frames();
  KEXPECT_EQ(run("/bin/busybox", remove), 0);
  const MemoryFigures after = memory_figures();
  println(
      "  frames used {} -> {} with the file -> {} after rm; heap {} KiB mapped, large blocks {}",
      before.frames_used, used_with_file, after.frames_used, mm::heap_stats().mapped_bytes / 1024,
      after.large_blocks);
  constexpr std::uint64_t kFileFrames = (16u << 20) / 4096;
  constexpr std::uint64_t kTablesBound = 64;  // 17 seen: the window's level 1 tables and a level 2
  KEXPECT(used_with_file >= before.frames_used + kFileFrames);
  KEXPECT(after.frames_used <= before.frames_used + kTablesBound);
  KEXPECT_EQ(after.large_blocks, before.large_blocks);
  KEXPECT_EQ(after.heap_bytes, before.heap_bytes);
  KEXPECT_EQ(after.heap_allocations, before.heap_allocations);
}

// 1,000 rounds of forktest's `mode` (fork or vfork, then _exit and waitpid) inside one
// program, after a warm-up of 2: every frame and heap byte comes back.
namespace {
void thousand_rounds_leave_memory_where_they_started(std::string_view mode) {
  const std::array<std::string_view, 3> warm_up{"/bin/forktest", mode, "2"};
  KASSERT_EQ(run("/bin/forktest", warm_up), 0);  // the frame-share table, first thread stacks
  const MemoryFigures before = memory_figures();
  const std::array<std::string_view, 3> argv{"/bin/forktest", mode, "1000"};
  KEXPECT_EQ(run("/bin/forktest", argv), 0);
  const MemoryFigures after = memory_figures();
  println("  frames used {} -> {}, heap {} bytes in {} allocations -> {} bytes in {}",
          before.frames_used, after.frames_used, before.heap_bytes, before.heap_allocations,
          after.heap_bytes, after.heap_allocations);
  KEXPECT(before == after);
  KEXPECT_EQ(proc::process_count(), 0u);
}
}  // namespace

// Chapter 15 (procs): fork + _exit + waitpid gives back copy-on-write shares, page tables,
// process slots and thread stacks.
KTEST(process_thousand_forks_leave_memory_where_it_started) {
  thousand_rounds_leave_memory_where_they_started("loop");
}

// The same with vfork: each child runs in its parent's address space (one more user of it) and
// _exits; the space must survive 1,000 such exits and everything must come back at the end.
KTEST(process_thousand_vforks_leave_memory_where_it_started) {
  thousand_rounds_leave_memory_where_they_started("vloop");
}

// Two programs whose x87/SSE registers must not leak into each other: both run at once, are
// preempted many times (the test checks that the CPU really switched between them), and both
// must find their registers and sums exact.
KTEST(process_two_fpu_programs_under_preemption_both_exact) {
  const std::array<std::string_view, 2> first{"/bin/fpu", "3"}, second{"/bin/fpu", "5"};
  const std::uint64_t switches_before = ferrite::sched::context_switches();
  const auto a = proc::spawn("/bin/fpu", first);
  const auto b = proc::spawn("/bin/fpu", second);
  KASSERT(a.has_value() && b.has_value());
  const std::int32_t status_a = proc::wait(**a);
  const std::int32_t status_b = proc::wait(**b);
  const std::uint64_t switches = ferrite::sched::context_switches() - switches_before;
  println("  {} context switches while both ran", switches);
  KEXPECT_EQ(status_a, 0);
  KEXPECT_EQ(status_b, 0);
  KEXPECT(switches >= 20);
}

// `kill ID` on a program's thread: it ends itself on its next way back to ring 3, with SIGKILL,
// and gives back everything like any other exit.
KTEST(process_kill_ends_a_running_program_and_frees_it) {
  KASSERT_EQ(run("/bin/hello", "warm-up"), 0);
  const MemoryFigures before = memory_figures();
  const std::array<std::string_view, 2> argv{"/bin/fpu", "7"};  // computes for a good while
  const auto process = proc::spawn("/bin/fpu", argv);
  KASSERT(process.has_value());
  ferrite::sched::sleep_for_ns(30'000'000);
  KEXPECT(ferrite::sched::kill((*process)->thread->id) == ferrite::sched::KillResult::pending);
  KEXPECT_EQ(proc::wait(**process), proc::kSigKill);
  KEXPECT(memory_figures() == before);
}
