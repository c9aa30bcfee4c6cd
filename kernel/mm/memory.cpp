// Building the kernel's page tables and switching to them (chapter 9, "Paging implementation").
#include "mm/memory.h"

#include <algorithm>
#include <array>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "console/print.h"
#include "lib/panic.h"
#include "mm/layout.h"

extern "C" const char __kernel_physical_start[], __kernel_physical_end[];
extern "C" const char __kernel_text_start[], __kernel_text_end[];
extern "C" const char __kernel_rodata_start[], __kernel_rodata_end[];
extern "C" const char __kernel_data_start[], __kernel_bss_end[];

namespace ferrite::mm {

namespace {

constexpr PhysicalMemoryView kPhysicalMemory{kPhysicalMemoryOffset};

constinit FrameAllocator frames;
// The Mapper has no default constructor; it is built in init() into this storage.
alignas(Mapper) constinit std::byte mapper_storage[sizeof(Mapper)];
constinit Mapper* mapper = nullptr;
constinit PageTableFlags no_execute{};  // set by init once it knows whether the CPU has NX

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

// All physical memory at the offset: up to the end of the highest RAM region (usable or ACPI),
// and at least 4 GiB so device memory below 4 GiB (framebuffer, APIC) is reachable too.
// Reserved ranges far above RAM (QEMU reserves one at 1012 GiB) are left out.
std::uint64_t map_physical_memory(const boot::BootInfo& boot_info) {
  std::uint64_t end = kEarlyPhysicalMapLimit;
  for (const boot::MemoryRegion& region : boot_info.memory_map()) {
    if (region.type == boot::MemoryType::reserved || region.type == boot::MemoryType::bad) continue;
    end = std::max(end, region.base + region.length);
  }
  const PageTableFlags flags = PageTableFlags::present | PageTableFlags::writable |
                               PageTableFlags::global | no_execute;
  const bool huge_1gib = cpu_has_1gib_pages();
  const std::uint64_t step = huge_1gib ? bytes(PageSize::size_1gib) : bytes(PageSize::size_2mib);
  end = align_up(end, step);
  for (std::uint64_t physical = 0; physical < end; physical += step) {
    const VirtAddr virt(kPhysicalMemoryOffset + physical);
    if (huge_1gib) {
      check(mapper->map(Page1GiB::containing(virt), Frame1GiB::containing(PhysAddr(physical)), flags, frames),
            "physical memory");
    } else {
      check(mapper->map(Page2MiB::containing(virt), Frame2MiB::containing(PhysAddr(physical)), flags, frames),
            "physical memory");
    }
  }
  return end;
}

bool is_guard_page(std::uint64_t virt) {
  for (std::uintptr_t guard : arch::stack_guard_pages()) {
    if (guard == virt) return true;
  }
  return false;
}

// Maps [start, end) of the kernel image with 4 KiB pages, skipping stack guard pages.
void map_kernel_range(std::uint64_t start, std::uint64_t end, PageTableFlags flags) {
  for (std::uint64_t virt = start; virt < end; virt += bytes(PageSize::size_4kib)) {
    if (is_guard_page(virt)) continue;
    check(mapper->map(Page4KiB::containing(VirtAddr(virt)),
                      Frame4KiB::containing(PhysAddr(virt - kKernelVirtualOffset)), flags, frames),
          "the kernel image");
  }
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
  frames = FrameAllocator(boot_info.memory_map(), std::span(reserved.data(), reserved_count), kPhysicalMemory);

  // A fresh, empty level-4 table. New tables are reached through the boot tables' physical map
  // (0..4 GiB), which is where the frame allocator hands out its first frames.
  const std::optional<Frame4KiB> level4 = frames.allocate();
  if (!level4) panic("mm: no memory for the kernel's page tables");
  kPhysicalMemory.pointer_to<PageTable>(level4->start())->clear();
  mapper = new (mapper_storage) Mapper(*level4, kPhysicalMemory, nullptr);

  const bool nx = cpu_has_no_execute();
  no_execute = nx ? PageTableFlags::no_execute : PageTableFlags{};
  const std::uint64_t mapped_end = map_physical_memory(boot_info);

  // W^X: code is never writable, data is never executable.
  const PageTableFlags kernel = PageTableFlags::present | PageTableFlags::global;
  map_kernel_range(address_of(__kernel_text_start), address_of(__kernel_text_end), kernel);
  map_kernel_range(address_of(__kernel_rodata_start), address_of(__kernel_rodata_end), kernel | no_execute);
  map_kernel_range(address_of(__kernel_data_start), address_of(__kernel_bss_end),
                   kernel | PageTableFlags::writable | no_execute);

  if (nx) arch::write_msr(kMsrEfer, arch::read_msr(kMsrEfer) | kEferNoExecuteEnable);
  arch::write_cr0(arch::read_cr0() | kCr0WriteProtect);  // read-only means read-only in ring 0 too
  arch::write_cr4(arch::read_cr4() | kCr4PageGlobalEnable);
  arch::write_cr3(level4->start().value());
  // From here on the tables are live: changes must flush the TLB.
  mapper = new (mapper_storage) Mapper(*level4, kPhysicalMemory, [](VirtAddr page) { arch::invlpg(page.value()); });

  println("mm: {} MiB in {} frames free, physical memory mapped to {} MiB, NX {}",
          frames.free_frames() * 4096 >> 20, frames.free_frames(), mapped_end >> 20, nx ? "on" : "off");
}

FrameAllocator& frame_allocator() { return frames; }
PageTableFlags no_execute_flag() { return no_execute; }
Mapper& kernel_mapper() {
  FERRITE_ASSERT(mapper != nullptr);
  return *mapper;
}

std::expected<void, MapError> map_fresh_pages(VirtAddr start, std::uint64_t count, PageTableFlags flags) {
  return mm::map_fresh_pages(kernel_mapper(), kPhysicalMemory, Page4KiB::containing(start), count, flags, frames);
}

KernelSections kernel_sections() {
  return {VirtAddr(address_of(__kernel_text_start)),   VirtAddr(address_of(__kernel_text_end)),
          VirtAddr(address_of(__kernel_rodata_start)), VirtAddr(address_of(__kernel_rodata_end)),
          VirtAddr(address_of(__kernel_data_start)),   VirtAddr(address_of(__kernel_bss_end))};
}

}  // namespace ferrite::mm
