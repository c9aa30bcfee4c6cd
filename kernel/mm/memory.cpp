// Building the kernel's page tables and switching to them (chapter 9, "Paging implementation").
#include "mm/memory.h"

#include <algorithm>
#include <array>
#include <span>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "lib/log.h"
#include "lib/panic.h"
#include "mm/layout.h"
#include "mm/physical_map.h"
#include "mm/user_page_tables.h"
#include "sync/spinlock.h"

extern "C" const char __kernel_physical_start[], __kernel_physical_end[];
extern "C" const char __kernel_text_start[], __kernel_text_end[];
extern "C" const char __kernel_rodata_start[], __kernel_rodata_end[];
extern "C" const char __kernel_data_start[], __kernel_bss_end[];

namespace ferrite::mm {

namespace {

constexpr PhysicalMemoryView kPhysicalMemory{kPhysicalMemoryOffset};

constinit FrameAllocator frames;
// The kernel-table lock (memory.h: lock 2 of 3). Taken for one mapping call at a time.
constinit sync::Spinlock kernel_tables_lock;
// The Mapper has no default constructor; it is built in init() into this storage.
alignas(Mapper) constinit std::byte mapper_storage[sizeof(Mapper)];
constinit Mapper* mapper = nullptr;
constinit PageTableFlags no_execute{};  // set by init once it knows whether the CPU has NX
constinit std::optional<Frame4KiB> kernel_level4;  // the table init builds, for address spaces

// Model-specific register and control-register bits (Intel SDM Vol. 3A 2.2.1 IA32_EFER, 2.5).
constexpr std::uint32_t kMsrEfer = 0xC000'0080;
constexpr std::uint64_t kEferNoExecuteEnable = 1u << 11;
constexpr std::uint64_t kCr0WriteProtect = 1u << 16;
constexpr std::uint64_t kCr4PageGlobalEnable = 1u << 7;

bool cpu_has_no_execute() { return (arch::cpuid(0x8000'0001).edx & (1u << 20)) != 0; }
bool cpu_has_1gib_pages() { return (arch::cpuid(0x8000'0001).edx & (1u << 26)) != 0; }

std::uint64_t address_of(const char* symbol) { return reinterpret_cast<std::uint64_t>(symbol); }

void check(std::expected<void, MapError> result, const char* what) {
  if (!result) panic("mm: cannot map {}: {}", what, to_string(result.error()));
}

// One Mapper::map_range on the kernel tables under the kernel-table lock: the path every mapping
// after the kernel image takes (physical map, MMIO windows, heap pages). Out of line: one copy
// of the lock for all of them.
[[gnu::noinline]] std::expected<void, MapError> map_range_locked(
    PageSize size, VirtAddr first, PhysAddr first_frame, std::uint64_t count, PageTableFlags flags,
    FrameSource& source, IfMapped if_mapped) {
  sync::SpinlockGuard guard(kernel_tables_lock);
  return kernel_mapper().map_range(size, first, first_frame, count, flags, source, if_mapped);
}

// Maps physical [start, end) (4 KiB-aligned) at kPhysicalMemoryOffset + start, for the physical
// map and for MMIO windows: the largest pages that fit (for_each_page_run), one locked map_range
// per run. Stops at the first error. Out of line: several callers, none of them hot.
[[gnu::noinline]] std::expected<void, MapError> map_at_offset(std::uint64_t start,
                                                              std::uint64_t end, bool use_1gib,
                                                              PageTableFlags flags,
                                                              IfMapped if_mapped) {
  std::expected<void, MapError> result;
  for_each_page_run(
      start, end, use_1gib, [&](PageSize size, std::uint64_t physical, std::uint64_t count) {
        if (!result) return;
        result = map_range_locked(size, VirtAddr(kPhysicalMemoryOffset + physical),
                                  PhysAddr(physical), count, flags, frames, if_mapped);
      });
  return result;
}

// The physical map (physical_map.h): the legacy first MiB, then RAM and ACPI regions from the
// memory map with 4 KiB pages at their edges, so that no huge page spans device memory as
// write-back. The kernel image's alias is read-only and no-execute: W^X holds for every view of
// the image, not just the higher-half one. Returns the end of the highest mapped range.
std::uint64_t map_physical_memory(const boot::BootInfo& boot_info) {
  const PageTableFlags data = PageTableFlags::present | PageTableFlags::writable |
                              PageTableFlags::global | no_execute;
  const PageTableFlags read_only = PageTableFlags::present | PageTableFlags::global | no_execute;
  const std::uint64_t image_start = align_down(address_of(__kernel_physical_start), kPageBytes);
  const std::uint64_t image_end = align_up(address_of(__kernel_physical_end), kPageBytes);
  const bool huge_1gib = cpu_has_1gib_pages();
  return for_each_physical_map_range(
      boot_info.memory_map(), FrameAllocator::kLowMemoryEnd, [&](std::uint64_t start, std::uint64_t end) {
        const std::uint64_t cut_start = std::clamp(image_start, start, end);
        const std::uint64_t cut_end = std::clamp(image_end, cut_start, end);
        const struct {
          std::uint64_t start, end;
          PageTableFlags flags;
        } pieces[] = {
            {start, cut_start, data}, {cut_start, cut_end, read_only}, {cut_end, end, data}};
        for (const auto& piece : pieces) {
          check(map_at_offset(piece.start, piece.end, huge_1gib, piece.flags, IfMapped::fail),
                "physical memory");
        }
      });
}

// The framebuffer is device memory outside RAM: the console draws into it through the physical
// map, so it needs its own window there.
void map_framebuffer(const boot::BootInfo& boot_info) {
  const auto& framebuffer = boot_info.framebuffer();
  if (!framebuffer) return;
  const std::uint64_t bytes = std::uint64_t{framebuffer->pitch} * framebuffer->height;
  if (auto mapped = map_mmio(framebuffer->phys_addr, bytes); !mapped) {
    panic("mm: cannot map the framebuffer at {:#x}: {}", framebuffer->phys_addr, to_string(mapped.error()));
  }
}

// Maps [start, end) of the kernel image with 4 KiB pages, skipping stack guard pages: the pages
// between two guard pages go to the mapper as one range. Both ends are page-aligned (linker.ld
// aligns each section's end to 4 KiB): a range counted in whole pages would drop a partial one.
void map_kernel_range(std::uint64_t start, std::uint64_t end, PageTableFlags flags) {
  FERRITE_ASSERT(is_aligned(start, kPageBytes) && is_aligned(end, kPageBytes) && start <= end);
  const std::span<const std::uintptr_t> guards = arch::stack_guard_pages();  // a few, unsorted
  while (start < end) {
    std::uint64_t run_end = end;  // the first guard page at or after `start`, or the end
    for (const std::uintptr_t guard : guards) {
      if (guard >= start && guard < run_end) {
        FERRITE_ASSERT(is_aligned(guard, kPageBytes));
        run_end = guard;
      }
    }
    if (run_end > start) {
      check(mapper->map_range(Page4KiB::containing(VirtAddr(start)),
                              Frame4KiB::containing(PhysAddr(start - kKernelVirtualOffset)),
                              (run_end - start) / kPageBytes, flags, frames),
            "the kernel image");
    }
    if (run_end == end) break;
    start = run_end + kPageBytes;  // past the guard page
  }
}

// The kernel regions that get mappings after boot: map_mmio's windows at the physical offset
// (device registers below 4 GiB, in the first 512 GiB with RAM), the heap as it grows, thread
// stacks. Each lies within one level-4 entry (512 GiB; the heap never grows past the machine's
// RAM, heap_config.cpp).
constexpr std::array kLateKernelRegions{kPhysicalMemoryOffset, kKernelHeapStart, kThreadStacksStart};

// Gives each late region's level-4 entry its level-3 table now, before any user address space
// exists, and then fixes the kernel half: no level-4 entry is made there again. Each user space
// copies the 256 kernel entries when it is made (mm/address_space.cpp); a kernel mapping added
// later (heap growth, map_mmio, a thread stack) then lands in a level-3 table every space
// already points to. Were a level-4 entry made after a space copied the half, that space would
// never see the mapping; with the half fixed, such a map fails (MapError::level4_entries_fixed)
// instead of going wrong later. Linux x86_64 does the same for its vmalloc area
// (preallocate_vmalloc_pages, since 5.10). Filling all 256 entries instead would cost 1 MiB of
// zeroed tables on every boot. Returns how many tables it made.
std::size_t prepare_kernel_half(Frame4KiB level4) {
  PageTable& table = *kPhysicalMemory.pointer_to<PageTable>(level4.start());
  std::size_t made = 0;
  for (const std::uint64_t region : kLateKernelRegions) {
    PageTableEntry& entry = table[VirtAddr(region).table_index(4)];
    if (entry.is_present()) continue;
    ++made;
    const std::optional<Frame4KiB> level3 = frames.allocate();
    if (!level3) panic("mm: no memory for the kernel half's level-3 tables");
    kPhysicalMemory.pointer_to<PageTable>(level3->start())->clear();
    entry.set(level3->start(), PageTableFlags::present | PageTableFlags::writable);
  }
  return made;
}

}  // namespace

void init(const boot::BootInfo& boot_info) {
  // Physical memory that is in use already and must never be handed out.
  std::array<boot::PhysicalRange, 2 + boot::BootInfo::max_modules> reserved{};
  std::size_t reserved_count = 0;
  reserved[reserved_count++] = {address_of(__kernel_physical_start),
                                address_of(__kernel_physical_end) - address_of(__kernel_physical_start)};
  reserved[reserved_count++] = boot_info.info_block();
  for (const boot::Module& module : boot_info.modules()) {
    reserved[reserved_count++] = {module.start, module.end - module.start};
  }
  // Built in place: an assignment would copy the allocator's run table member by member.
  new (&frames) FrameAllocator(boot_info.memory_map(), std::span(reserved.data(), reserved_count),
                               kPhysicalMemory,
                               {arch::save_and_disable_interrupts, arch::restore_interrupts});

  // A fresh, empty level-4 table. New tables are reached through the boot tables' physical map
  // (0..4 GiB), which is where the frame allocator hands out its first frames.
  const std::optional<Frame4KiB> level4 = frames.allocate();
  if (!level4) panic("mm: no memory for the kernel's page tables");
  kPhysicalMemory.pointer_to<PageTable>(level4->start())->clear();
  mapper = new (mapper_storage) Mapper(*level4, kPhysicalMemory, nullptr);

  const bool nx = cpu_has_no_execute();
  no_execute = nx ? PageTableFlags::no_execute : PageTableFlags{};
  const std::uint64_t mapped_end = map_physical_memory(boot_info);
  map_framebuffer(boot_info);

  // W^X: code is never writable, data is never executable.
  const PageTableFlags kernel = PageTableFlags::present | PageTableFlags::global;
  map_kernel_range(address_of(__kernel_text_start), address_of(__kernel_text_end), kernel);
  map_kernel_range(address_of(__kernel_rodata_start), address_of(__kernel_rodata_end), kernel | no_execute);
  map_kernel_range(address_of(__kernel_data_start), address_of(__kernel_bss_end),
                   kernel | PageTableFlags::writable | no_execute);

  const std::size_t kernel_half_tables = prepare_kernel_half(*level4);
  kernel_level4 = *level4;

  if (nx) arch::write_msr(kMsrEfer, arch::read_msr(kMsrEfer) | kEferNoExecuteEnable);
  arch::write_cr0(arch::read_cr0() | kCr0WriteProtect);  // read-only means read-only in ring 0 too
  arch::write_cr4(arch::read_cr4() | kCr4PageGlobalEnable);
  arch::write_cr3(level4->start().value());
  // From here on the tables are live: changes must flush the TLB.
  mapper = new (mapper_storage) Mapper(*level4, kPhysicalMemory, [](VirtAddr page) { arch::invlpg(page.value()); });
  mapper->fix_level4_entries_from(kFirstKernelLevel4Entry);  // what create_address_space copies

  log::info("mm: {} MiB in {} frames free, RAM mapped at the physical offset up to {} MiB, NX {}",
          frames.free_frames() * kPageBytes >> 20, frames.free_frames(), mapped_end >> 20, nx ? "on" : "off");
  log::debug("mm: {} empty level-3 tables for the kernel regions mapped after boot", kernel_half_tables);
}

FrameAllocator& frame_allocator() { return frames; }
Frame4KiB kernel_level4_table() {
  FERRITE_ASSERT(kernel_level4.has_value());
  return *kernel_level4;
}
PageTableFlags no_execute_flag() { return no_execute; }
Mapper& kernel_mapper() {
  FERRITE_ASSERT(mapper != nullptr);
  return *mapper;
}

std::optional<Translation> kernel_translate(VirtAddr address) {
  sync::SpinlockGuard guard(kernel_tables_lock);
  return kernel_mapper().translate(address);
}

namespace {

// The kernel mapper as map_fresh_pages sees it: each map and unmap under the kernel-table lock,
// so the zeroing between them runs with no lock and interrupts as the caller had them.
class LockedKernelTables {
 public:
  std::expected<void, MapError> map(Page4KiB page, Frame4KiB frame, PageTableFlags flags, FrameSource& source) {
    return map_range_locked(PageSize::size_4kib, page.start(), frame.start(), 1, flags, source,
                            IfMapped::fail);
  }
  std::expected<Frame4KiB, MapError> unmap(Page4KiB page) {
    sync::SpinlockGuard guard(kernel_tables_lock);
    return kernel_mapper().unmap(page);
  }
};

}  // namespace

std::expected<void, MapError> map_fresh_pages(VirtAddr start, std::uint64_t count, PageTableFlags flags) {
  LockedKernelTables tables;
  return mm::map_fresh_pages(tables, kPhysicalMemory, Page4KiB::containing(start), count, flags, frames);
}

std::uint64_t zero_written_pages(VirtAddr start, std::uint64_t count) {
  const Page4KiB first = Page4KiB::containing(start);
  std::uint64_t zeroed = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const Page4KiB page = first + i;
    std::optional<Translation> translation;
    {
      sync::SpinlockGuard guard(kernel_tables_lock);
      translation = kernel_mapper().translate(page.start());
      if (!translation || !translation->flags.contains(PageTableFlags::dirty)) continue;
      // Clean first (update_flags flushes the TLB entry, which holds the dirty state too), then
      // zeroed through the physical map, so the zeroing itself does not mark the page again.
      const auto cleaned =
          kernel_mapper().update_flags(page, translation->flags.without(PageTableFlags::dirty));
      FERRITE_ASSERT(cleaned.has_value());
    }
    __builtin_memset(kPhysicalMemory.pointer_to(translation->address), 0, kPageBytes);
    ++zeroed;
  }
  return zeroed;
}

std::uint64_t unmap_pages(VirtAddr start, std::uint64_t count) {
  LockedKernelTables tables;
  std::uint64_t unmapped = 0;
  const Page4KiB first = Page4KiB::containing(start);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::expected<Frame4KiB, MapError> frame = tables.unmap(first + i);
    if (!frame) continue;
    frames.free(*frame);  // after the unmap's invlpg: no stale translation reaches it
    ++unmapped;
  }
  return unmapped;
}

std::expected<VirtAddr, MapError> map_mmio(std::uint64_t physical, std::uint64_t size) {
  const std::uint64_t start = align_down(physical, kPageBytes);
  if (size == 0 || physical >= (std::uint64_t{1} << PhysAddr::kMaxBits) ||
      size > (std::uint64_t{1} << PhysAddr::kMaxBits) - physical) {
    return std::unexpected(MapError::not_mapped);
  }
  const std::uint64_t end = align_up(physical + size, kPageBytes);
  // UC- (PCD without PWT, PAT entry 2 after reset): uncached, except that MTRRs marking a
  // framebuffer write-combining still apply (Intel SDM Vol. 3A 13.5.2.2, table 13-7).
  const PageTableFlags flags = PageTableFlags::present | PageTableFlags::writable |
                               PageTableFlags::cache_disable | PageTableFlags::global | no_execute;
  // Pages the physical map already has (RAM, the first MiB, an earlier window) stay as they
  // are, found in the same walk that maps the others, under one hold of the lock per run: two
  // threads mapping the same window (drivers, ACPI tables) both succeed, once.
  if (auto mapped = map_at_offset(start, end, false, flags, IfMapped::keep); !mapped) {
    return std::unexpected(mapped.error());
  }
  return VirtAddr(kPhysicalMemoryOffset + physical);
}

KernelSections kernel_sections() {
  return {VirtAddr(address_of(__kernel_text_start)),   VirtAddr(address_of(__kernel_text_end)),
          VirtAddr(address_of(__kernel_rodata_start)), VirtAddr(address_of(__kernel_rodata_end)),
          VirtAddr(address_of(__kernel_data_start)),   VirtAddr(address_of(__kernel_bss_end))};
}

}  // namespace ferrite::mm
