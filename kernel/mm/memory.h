// The kernel's own address space (chapters 8-9): after mm::init the kernel runs on page tables
// it built itself — RAM (not device memory) at kPhysicalMemoryOffset, the kernel image mapped W^X
// (text read+execute, rodata read-only, data/bss no-execute), unmapped guard pages below every
// kernel stack — and owns every physical frame through one FrameAllocator.
#pragma once

#include <cstdint>
#include <expected>

#include "boot/boot_info.h"
#include "mm/frame_allocator.h"
#include "mm/mapper.h"

namespace ferrite::mm {

void init(const boot::BootInfo& boot_info);

// Both are single-CPU kernel objects: call with interrupts disabled if an interrupt handler might
// use them too (none does today).
FrameAllocator& frame_allocator();
Mapper& kernel_mapper();

// The kernel's level-4 table (what CR3 holds when no user address space is active). Its
// kernel-half entries (256..511) all exist from mm::init on and never change, so user address
// spaces copy them once (mm/address_space.h).
Frame4KiB kernel_level4_table();

// The no-execute flag if mm::init enabled it (EFER.NXE), else no flag: without NXE, bit 63 of
// an entry is reserved and setting it would fault. Data mappings add this to their flags.
PageTableFlags no_execute_flag();

// Maps `count` fresh zeroed frames at `start` with `flags` (the heap uses this to grow); all or
// nothing (see the template in mapper.h). Zeroing takes a while (about 1 µs per page): callers
// should not hold interrupts off around it.
[[nodiscard]] std::expected<void, MapError> map_fresh_pages(VirtAddr start, std::uint64_t count,
                                                            PageTableFlags flags);

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
