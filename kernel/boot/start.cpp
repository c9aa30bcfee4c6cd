// The first C++ that runs (chapter 2): boot/entry.S calls kernel_entry() in long mode, in the
// higher half, on the boot stack. Here the runtime is completed (global constructors), the
// console comes up, and the bootloader's information becomes one BootInfo for kernel_main().
#include <cstdint>

#include "arch/x86_64/fpu.h"
#include "boot/boot_info.h"
#include "boot/start.h"
#include "console/console.h"
#include "lib/log.h"
#include "lib/panic.h"
#include "mm/layout.h"

namespace ferrite::lib {
void run_global_constructors();
}

namespace ferrite::boot {

namespace {

constexpr std::uint32_t kMultiboot2BootloaderMagic = 0x36D76289;  // Multiboot2 spec 3.3
constexpr std::uint32_t kPvhMarker = 0x1;                          // set by entry.S's pvh_entry

constinit BootInfo boot_info;

// Physical memory as the early page tables show it: 0..4 GiB at the physical-memory offset.
class EarlyPhysicalReader final : public PhysicalReader {
 public:
  std::span<const std::byte> read(std::uint64_t phys, std::size_t length) const override {
    if (phys >= mm::kEarlyPhysicalMapLimit || length > mm::kEarlyPhysicalMapLimit - phys) return {};
    return {mm::physical_to_virtual<const std::byte>(phys), length};
  }
};

// Says on serial which screen the console uses: under UEFI, text that went to the VGA text
// buffer instead would be invisible, and serial is then the only place to learn why.
void use_framebuffer_console(const Framebuffer& framebuffer) {
  if (framebuffer.kind != Framebuffer::Kind::rgb) return;  // EGA text: VGA text mode stays
  const std::uint64_t bytes = std::uint64_t{framebuffer.pitch} * framebuffer.height;
  if (framebuffer.phys_addr >= mm::kEarlyPhysicalMapLimit ||
      bytes > mm::kEarlyPhysicalMapLimit - framebuffer.phys_addr) {
    log::warn("console: framebuffer at {:#x} lies beyond the early physical map; keeping VGA text",
            framebuffer.phys_addr);
    return;
  }
  const console::PixelFormat format{static_cast<std::uint8_t>(framebuffer.bpp / 8),
                                    framebuffer.red.position, framebuffer.green.position,
                                    framebuffer.blue.position};
  if (console::use_framebuffer(mm::physical_to_virtual<std::uint8_t>(framebuffer.phys_addr),
                               framebuffer.width, framebuffer.height, framebuffer.pitch, format)) {
    log::info("console: framebuffer {}x{}, {} bits per pixel, at {:#x}", framebuffer.width,
            framebuffer.height, framebuffer.bpp, framebuffer.phys_addr);
  } else {
    log::warn("console: cannot draw on a {}x{} framebuffer with {} bits per pixel; keeping VGA text",
            framebuffer.width, framebuffer.height, framebuffer.bpp);
  }
}

void report_diagnostics(const BootDiagnostics& d) {
  if (!d.any()) return;
  log::warn("boot: warning: the boot information needed fixing:");
  if (d.overlapping_regions) log::warn("  overlapping memory regions (kept the stricter type): {}", d.overlapping_regions);
  if (d.empty_regions) log::warn("  empty memory regions ignored: {}", d.empty_regions);
  if (d.unknown_region_types) log::warn("  memory regions of unknown type, treated as reserved: {} (type {})", d.unknown_region_types, d.last_unknown_region_type);
  if (d.clamped_regions) log::warn("  memory regions cut at the top of the address space: {}", d.clamped_regions);
  if (d.dropped_modules) log::warn("  boot modules dropped (more than BootInfo holds): {}", d.dropped_modules);
  if (d.command_line_truncated) log::warn("  command line truncated");
  if (d.bootloader_name_truncated) log::warn("  bootloader name truncated");
  if (d.memory_map_from_basic_meminfo) log::warn("  no memory map: used basic lower/upper memory");
}

}  // namespace

const BootInfo& info() { return boot_info; }

}  // namespace ferrite::boot

extern "C" [[noreturn]] void kernel_entry(std::uint32_t magic, std::uint32_t info_physical) {
  using namespace ferrite;
  lib::run_global_constructors();
  console::init_early(mm::physical_to_virtual<volatile console::ScreenChar>(0xB8000));
  // The FPU/SSE control bits (CR0, CR4, XCR0) in their final state before most of the kernel's
  // code first runs. Programs need them (chapter 14); here, because QEMU's TCG translates guest
  // code for the control-register state it runs under: set later (as init_user_mode() did),
  // they made it translate everything that ran afterwards a second time, a ninth of ferrite's
  // boot time to `ferrite: ready`.
  arch::init_fpu();

  const boot::EarlyPhysicalReader memory;
  std::expected<boot::BootInfo, boot::ParseError> parsed;
  if (magic == boot::kMultiboot2BootloaderMagic) {
    parsed = boot::parse_multiboot2(memory, info_physical);
  } else if (magic == boot::kPvhMarker) {
    parsed = boot::parse_pvh(memory, info_physical);
  } else {
    panic("unknown boot protocol (neither Multiboot2 nor PVH): magic {:#x}", magic);
  }
  if (!parsed) panic("cannot parse the boot information: {}", boot::to_string(parsed.error()));
  boot::boot_info = *parsed;

  if (const auto& framebuffer = boot::boot_info.framebuffer()) boot::use_framebuffer_console(*framebuffer);
  boot::report_diagnostics(boot::boot_info.diagnostics());

  kernel_main(boot::boot_info);
  panic("kernel_main returned");
}
