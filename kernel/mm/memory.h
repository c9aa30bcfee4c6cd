// The kernel's own address space (chapters 8-9): after mm::init the kernel runs on page tables
// it built itself — RAM (not device memory) at kPhysicalMemoryOffset, the kernel image mapped W^X
// (text read+execute, rodata read-only, data/bss no-execute), unmapped guard pages below every
// kernel stack — and owns every physical frame through one FrameAllocator.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>

#include "boot/boot_info.h"
#include "mm/frame_allocator.h"
#include "mm/mapper.h"

namespace ferrite::mm {

void init(const boot::BootInfo& boot_info);

// Locks of the memory manager (chapter 14: threads are preempted anywhere, and chapter 15 will
// run several threads of one process). From outermost to innermost — a lock is only ever taken
// while holding locks above it in this list, never the other way round:
//
//   1. an address space's mutex (mm/address_space.h): its regions, its lower-half page tables
//      and its frame count. A sched::Mutex: thread context only (it may sleep).
//   1b. the heap's growth mutex (mm/heap.cpp): one heap growth at a time among threads that
//      may sleep; taken only by heap_allocate's slow path, in a thread with interrupts on.
//   2. the kernel-table spinlock (in memory.cpp): the kernel half of the page tables, i.e. every
//      change the kernel mapper makes (heap growth, map_mmio, thread stacks, unmap_pages). Held
//      with interrupts off for one mapping call at a time (a page, or one run of map_mmio's
//      window: a walk per table), never across zeroing a page;
//      some callers cannot sleep (the heap grows inside whatever context called operator new,
//      mm::init runs before there are threads), which is why it is a spinlock.
//   3. the frame allocator's spinlock (mm/frame_allocator.h): allocate and free only.
//
// The heap's own spinlock and its large blocks' spinlock (both in mm/heap.cpp) are leaves: never
// held while any of these or each other is taken. A growth maps its pages after dropping the
// heap's; a large block is mapped (or unmapped) after dropping both, its range and its share
// of heap_max taken (or given back) under each in turn. (No address-space method allocates from the heap with the
// space's mutex held today; 1 before 1b is the order should one need to.) Interrupt handlers may
// allocate and free frames (the holder of 3 keeps interrupts off, so a handler never finds it held
// on its own CPU) but must not map kernel pages or touch an address space; NMI handlers and panic
// take none of these locks.

// The kernel's frame allocator. Safe to call from any thread and from interrupt handlers (it
// locks itself); see the lock list above.
FrameAllocator& frame_allocator();
// The kernel's page tables, unlocked: for mm::init (one thread) and for tests that change
// kernel mappings nobody else touches. Everything else maps kernel memory through
// map_fresh_pages, unmap_pages and map_mmio, and asks kernel_translate, which take the
// kernel-table lock.
Mapper& kernel_mapper();
// Where `address` leads in the kernel's tables (the kernel half is the same in every space).
[[nodiscard]] std::optional<Translation> kernel_translate(VirtAddr address);

// The kernel's level-4 table (what CR3 holds when no user address space is active). Its
// kernel-half entries (256..511) all exist from mm::init on and never change, so user address
// spaces copy them once (mm/address_space.h).
Frame4KiB kernel_level4_table();

// The no-execute flag if mm::init enabled it (EFER.NXE), else no flag: without NXE, bit 63 of
// an entry is reserved and setting it would fault. Data mappings add this to their flags.
PageTableFlags no_execute_flag();

// Maps `count` fresh zeroed frames at `start` with `flags` (the heap uses this to grow and for
// its large blocks, sched for thread stacks); all or nothing (see the template in mapper.h). Any
// thread, any interrupt state, but not an interrupt handler. Zeroing takes a while (about 1 µs per page) and runs
// outside every lock: callers should not hold interrupts off around it.
[[nodiscard]] std::expected<void, MapError> map_fresh_pages(VirtAddr start, std::uint64_t count,
                                                            PageTableFlags flags);
// Chapter 15: zeroes the pages of [start, start + count pages) (kernel pages that
// map_fresh_pages made) that were written since they were mapped or last passed here, and
// leaves the others, which are still all zero. The CPU says which: it sets an entry's dirty bit
// on the first write through it (Intel SDM Vol. 3A 4.8); this clears the bit again. For a
// thread stack being reused (sched): usually only its top page was touched. Returns how many
// pages were zeroed. Any thread; nothing else may use the pages meanwhile.
std::uint64_t zero_written_pages(VirtAddr start, std::uint64_t count);
// Unmaps the 4 KiB pages of [start, start + count pages) that are mapped and frees their frames
// (the reverse of map_fresh_pages); returns how many there were. Page tables stay.
std::uint64_t unmap_pages(VirtAddr start, std::uint64_t count);

// Makes `size` bytes of device memory at physical address `physical` (a framebuffer, later the
// local APIC and IOAPIC) reachable at kPhysicalMemoryOffset + physical: uncached, no-execute.
// The physical map holds only RAM, ACPI regions and the first MiB; everything else needs this.
[[nodiscard]] std::expected<VirtAddr, MapError> map_mmio(std::uint64_t physical, std::uint64_t size);

// The kernel image's sections, for tests and the `mem` command.
struct KernelSections {
  VirtAddr text_start, text_end, rodata_start, rodata_end, data_start, data_end;
};
KernelSections kernel_sections();

}  // namespace ferrite::mm
