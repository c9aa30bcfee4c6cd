// Expected-fault scenarios of chapters 8-10, one per boot, chosen on the command line
// (`fault=<scenario>`). Each passes only if the page fault arrives with the right CR2 and
// error-code bits; the fault hook then exits QEMU with success.
#include <cstdint>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/exceptions.h"
#include "platform/pc/qemu_exit.h"
#include "boot/command_line.h"
#include "boot/start.h"
#include "console/print.h"
#include "init.h"
#include "mm/heap.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "lib/panic_hook.h"
#include "test/ktest.h"

namespace {

using namespace ferrite;

struct Expected {
  std::uint64_t address = 0;
  bool write = false;
  bool instruction_fetch = false;
  bool protection_violation = false;
};
constinit Expected expected;

void check_page_fault(const arch::InterruptFrame& frame) {
  const arch::PageFaultError error(frame.error_code);
  const std::uint64_t cr2 = arch::read_cr2();
  const bool ok = frame.vector == arch::kPageFaultVector && cr2 == expected.address &&
                  error.write() == expected.write &&
                  error.instruction_fetch() == expected.instruction_fetch &&
                  error.protection_violation() == expected.protection_violation;
  println("expected page fault at {:#x} (write {}, fetch {}, protection {}): {}", expected.address,
          expected.write, expected.instruction_fetch, expected.protection_violation, ok ? "[ok]" : "[failed]");
  if (ok) {
    println("1 passed, 0 failed");
    pc::exit_qemu(pc::QemuExitCode::success);
  }
  println("0 passed, 1 failed");
  pc::exit_qemu(pc::QemuExitCode::failure);
}

constexpr std::uint64_t kScratch = 0x0000'1000'0000'0000;

// Writing to kernel text must fault: text is mapped read+execute only (W^X, CR0.WP).
void write_kernel_text() {
  auto* text = reinterpret_cast<volatile std::uint8_t*>(&write_kernel_text);
  expected = {reinterpret_cast<std::uint64_t>(text), true, false, true};
  *text = 0xC3;
}

// Writing to kernel text through the physical map must fault too: that view of the image is
// read-only (issue 9, bug 8: it was writable, so W^X held only for the higher-half view).
void write_kernel_text_alias() {
  const auto text = reinterpret_cast<std::uint64_t>(&write_kernel_text_alias);
  auto* alias = mm::physical_to_virtual<volatile std::uint8_t>(text - mm::kKernelVirtualOffset);
  expected = {reinterpret_cast<std::uint64_t>(alias), true, false, true};
  *alias = 0xC3;
}

// Executing from the heap must fault: heap pages are no-execute.
void execute_heap() {
  auto* code = static_cast<std::uint8_t*>(mm::heap_allocate(64, 64));
  code[0] = 0xC3;  // ret
  expected = {reinterpret_cast<std::uint64_t>(code), false, true, true};
  reinterpret_cast<void (*)()>(code)();
}

// After unmap (and its TLB flush) the page must be gone, even though it was just used.
void read_after_unmap() {
  using namespace mm;
  const Page4KiB page = Page4KiB::containing(VirtAddr(kScratch));
  auto frame = frame_allocator().allocate();
  if (!frame || !kernel_mapper().map(page, *frame, PageTableFlags::present | PageTableFlags::writable,
                                     frame_allocator())) {
    panic("cannot map the scratch page");
  }
  auto* value = reinterpret_cast<volatile std::uint64_t*>(kScratch);
  *value = 1;  // now cached in the TLB
  if (!kernel_mapper().unmap(page)) panic("cannot unmap the scratch page");
  expected = {kScratch, false, false, false};
  (void)*value;
}

// Throwing operator new cannot throw here: running out of memory is a panic that names the
// request. (Not a page fault, but the same kind of "this must stop the kernel" scenario.)
void new_out_of_memory() {
  set_panic_hook([](std::source_location, std::string_view message) {
    constexpr std::string_view expected = "out of memory: operator new(1099511627776 bytes, align 16) failed";
    const bool ok = message == expected;
    println("panic message \"{}\": {}", message, ok ? "[ok]" : "[failed]");
    println("{} passed, {} failed", ok ? 1 : 0, ok ? 0 : 1);
    pc::exit_qemu(ok ? pc::QemuExitCode::success : pc::QemuExitCode::failure);
  });
  volatile std::size_t one_tebibyte = std::size_t{1} << 40;
  void* pointer = ::operator new(one_tebibyte);
  println("operator new returned {} instead of panicking", pointer);
}

// A large heap block (mm/heap.h: 128 KiB and more) has an unmapped guard page right after its
// last page: writing one byte past a 1 MiB block faults there instead of reaching the next block.
void overrun_large_block() {
  constexpr std::size_t kBytes = std::size_t{1} << 20;
  const auto start = reinterpret_cast<std::uint64_t>(::operator new(kBytes));
  *reinterpret_cast<volatile std::uint8_t*>(start + kBytes - 1) = 1;  // the block's last byte
  expected = {start + kBytes, true, false, false};
  *reinterpret_cast<volatile std::uint8_t*>(start + kBytes) = 1;  // as an address: GCC knows the
                                                                  // block's size
}

// A freed large block's pages are unmapped at once: reading it afterwards faults (a heap block's
// bytes would still be there, or poisoned with heap_debug).
void read_freed_large_block() {
  constexpr std::size_t kBytes = std::size_t{1} << 20;
  void* block = ::operator new(kBytes);
  const auto address = reinterpret_cast<std::uint64_t>(block) + kBytes / 2;
  *reinterpret_cast<volatile std::uint8_t*>(address) = 1;
  ::operator delete(block, kBytes);
  expected = {address, false, false, false};
  (void)*reinterpret_cast<volatile std::uint8_t*>(address);
}

// Reading an address nothing maps.
void read_unmapped() {
  expected = {0x0000'4000'0000'0000, false, false, false};
  (void)*reinterpret_cast<volatile std::uint64_t*>(expected.address);
}

}  // namespace

void kernel_main(const boot::BootInfo& boot_info) {
  ktest::exit_qemu_on_panic();
  init(boot_info);
  arch::set_fault_hook(check_page_fault);
  const boot::CommandLine command_line(boot_info.command_line());
  const std::string_view scenario = command_line.get("fault").value_or("");
  println("memory fault scenario: {}", scenario);
  if (scenario == "write_kernel_text") write_kernel_text();
  else if (scenario == "write_kernel_text_alias") write_kernel_text_alias();
  else if (scenario == "execute_heap") execute_heap();
  else if (scenario == "read_after_unmap") read_after_unmap();
  else if (scenario == "read_unmapped") read_unmapped();
  else if (scenario == "new_out_of_memory") new_out_of_memory();
  else if (scenario == "overrun_large_block") overrun_large_block();
  else if (scenario == "read_freed_large_block") read_freed_large_block();
  println("no page fault happened (scenario \"{}\")", scenario);
  println("0 passed, 1 failed");
  pc::exit_qemu(pc::QemuExitCode::failure);
}
