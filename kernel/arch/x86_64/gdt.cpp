// The GDT, the TSS and the IST stacks (chapter 6 "Double Faults").
#include "arch/x86_64/gdt.h"

#include <array>
#include <cstddef>

#include "mm/page.h"

namespace ferrite::arch {

namespace {

// ---- Segment descriptor bits ------------------------------------------------------------------
// One 8-byte descriptor (Intel SDM Vol. 3A 3.4.5 "Segment Descriptors", figure 3-8):
//
//   bits  0..15  limit 15:0            bits 48..51  limit 19:16
//   bits 16..39  base 23:0             bit  52      AVL (free for software)
//   bits 40..43  type                  bit  53      L: 64-bit code segment
//   bit  44      S: 1 = code/data      bit  54      D/B: default operand size (must be 0 if L=1)
//   bits 45..46  DPL                   bit  55      G: limit counts 4 KiB units
//   bit  47      P: present            bits 56..63  base 31:24
//
// Type bits for code/data (3.4.5.1 "Code- and Data-Segment Descriptor Types"): bit 40 accessed,
// 41 readable (code) / writable (data), 43 executable. In 64-bit mode base and limit are ignored
// for CS, DS, ES and SS (3.2.4 "Segmentation in IA-32e Mode"), but we fill in the flat 4 GiB
// values every other tool prints, so the numbers can be compared with boot/entry.S.
constexpr std::uint64_t kReadableOrWritable = 1ull << 41;
constexpr std::uint64_t kExecutable = 1ull << 43;
constexpr std::uint64_t kCodeOrDataSegment = 1ull << 44;
constexpr unsigned kPrivilegeShift = 45;
constexpr std::uint64_t kPresent = 1ull << 47;
constexpr std::uint64_t kLongMode = 1ull << 53;
constexpr std::uint64_t kDefaultSize32 = 1ull << 54;
constexpr std::uint64_t kGranularity4K = 1ull << 55;
constexpr std::uint64_t kFlatLimit = 0xFFFFull | (0xFull << 48);

enum class Segment { code, data };

constexpr std::uint64_t segment_descriptor(Segment kind, unsigned privilege) {
  std::uint64_t bits = kPresent | kCodeOrDataSegment | kReadableOrWritable | kGranularity4K |
                       kFlatLimit | (std::uint64_t{privilege} << kPrivilegeShift);
  // Code: executable, L=1 (SDM Vol. 3A 6.2.1 "Code-Segment Descriptor in 64-bit Mode").
  // Data: D/B=1 (a 32-bit "big" segment; ignored in 64-bit mode, set by convention).
  bits |= kind == Segment::code ? (kExecutable | kLongMode) : kDefaultSize32;
  return bits;
}

static_assert(segment_descriptor(Segment::code, 0) == 0x00AF'9A00'0000'FFFF);  // as in entry.S
static_assert(segment_descriptor(Segment::data, 0) == 0x00CF'9200'0000'FFFF);
static_assert(segment_descriptor(Segment::code, 3) == 0x00AF'FA00'0000'FFFF);
static_assert(segment_descriptor(Segment::data, 3) == 0x00CF'F200'0000'FFFF);

// ---- TSS descriptor ---------------------------------------------------------------------------
// A system descriptor, widened to 16 bytes in long mode to hold a 64-bit base (SDM Vol. 3A 8.2.3
// "TSS Descriptor in 64-bit mode", figure 8-4): the low 8 bytes as above with S=0 and type 0b1001
// ("64-bit TSS, available"; table 3-2 "System-Segment and Gate-Descriptor Types"), the next 4
// bytes base 63:32, the last 4 reserved (zero). ltr sets the type's busy bit (0b1011).
constexpr std::uint64_t kTypeAvailableTss64 = 0x9ull << 40;

constexpr std::array<std::uint64_t, 2> tss_descriptor(std::uint64_t base, std::uint32_t limit) {
  const std::uint64_t low = (limit & 0xFFFFull) | ((base & 0xFF'FFFFull) << 16) |
                            kTypeAvailableTss64 | kPresent | ((std::uint64_t{limit} >> 16) << 48) |
                            ((base >> 24 & 0xFF) << 56);
  return {low, base >> 32};
}
static_assert(tss_descriptor(0xFFFF'FFFF'8012'3456, 103)[0] == 0x8000'8912'3456'0067);
static_assert(tss_descriptor(0xFFFF'FFFF'8012'3456, 103)[1] == 0xFFFF'FFFF);

// ---- The tables -------------------------------------------------------------------------------
constexpr std::size_t kGdtEntries = 7;  // null, kernel code/data, user data/code, TSS (2 slots)
static_assert(kTssSelector / 8 + 2 == kGdtEntries);

// Not const: the CPU writes the TSS descriptor's busy bit on ltr (and accessed bits on loads).
alignas(16) constinit std::array<std::uint64_t, kGdtEntries> gdt = {
    0,
    segment_descriptor(Segment::code, 0),
    segment_descriptor(Segment::data, 0),
    segment_descriptor(Segment::data, 3),
    segment_descriptor(Segment::code, 3),
    0,  // TSS, filled in by init_gdt(): its address is not a constant expression
    0,
};

constinit TaskStateSegment tss;

// ---- IST stacks -------------------------------------------------------------------------------
using mm::kPageBytes;
constexpr std::size_t kInterruptStackSize = 16 * 1024;

// A stack with its guard page directly below it, both page-aligned so the guard can be unmapped
// on its own. In .bss: the boot page tables map it like the rest of the kernel image.
struct alignas(kPageBytes) GuardedStack {
  std::byte guard[kPageBytes];
  std::byte stack[kInterruptStackSize];
};
static_assert(sizeof(GuardedStack) % kPageBytes == 0);

constinit std::array<GuardedStack, kInterruptStackCount> interrupt_stacks;

}  // namespace

}  // namespace ferrite::arch

// boot/entry.S: the guard page below the boot stack.
extern "C" std::byte boot_stack_guard[];

namespace ferrite::arch {

StackRange interrupt_stack(InterruptStack which) {
  const std::size_t index = static_cast<std::size_t>(which) - 1;
  if (which == InterruptStack::none || index >= interrupt_stacks.size()) return {0, 0};
  const GuardedStack& s = interrupt_stacks[index];
  const auto bottom = reinterpret_cast<std::uintptr_t>(s.stack);
  return {bottom, bottom + sizeof(s.stack)};
}

std::span<const std::uintptr_t> stack_guard_pages() {
  static constinit std::array<std::uintptr_t, 1 + kInterruptStackCount> pages{};
  pages[0] = reinterpret_cast<std::uintptr_t>(boot_stack_guard);
  for (std::size_t i = 0; i < kInterruptStackCount; ++i) {
    pages[1 + i] = reinterpret_cast<std::uintptr_t>(interrupt_stacks[i].guard);
  }
  return pages;
}

void set_privilege_stack(std::uint64_t top) { tss.privilege_stack[0] = top; }

void init_gdt() {
  for (std::size_t index = 0; index < kInterruptStackCount; ++index) {
    // The CPU aligns the new RSP down to 16 bytes anyway (SDM Vol. 3A 7.14.5); the top is aligned.
    tss.interrupt_stack[index] = interrupt_stack(static_cast<InterruptStack>(index + 1)).top;
  }
  const auto [tss_low, tss_high] =
      tss_descriptor(reinterpret_cast<std::uint64_t>(&tss), sizeof(TaskStateSegment) - 1);
  gdt[kTssSelector / 8] = tss_low;
  gdt[kTssSelector / 8 + 1] = tss_high;

  const DescriptorTablePointer pointer{sizeof(gdt) - 1,
                                       reinterpret_cast<std::uint64_t>(gdt.data())};
  asm volatile("lgdt %0" : : "m"(pointer) : "memory");

  // CS cannot be the target of a mov: reload it with a far return to the next instruction, which
  // pops RIP and then CS (SDM Vol. 2A RET, "far return").
  asm volatile(
      "pushq %[code]\n\t"
      "leaq 1f(%%rip), %%rax\n\t"
      "pushq %%rax\n\t"
      "lretq\n"
      "1:"
      :
      : [code] "i"(kKernelCodeSelector)
      : "rax", "memory");
  // DS, ES and SS get the kernel data segment; FS and GS the null selector (their bases will be
  // set through MSRs when we need them; SDM Vol. 3A 3.4.4 "Segment Loading Instructions in
  // IA-32e Mode").
  asm volatile(
      "movw %w[data], %%ds\n\t"
      "movw %w[data], %%es\n\t"
      "movw %w[data], %%ss\n\t"
      "movw %w[null], %%fs\n\t"
      "movw %w[null], %%gs"
      :
      : [data] "r"(kKernelDataSelector), [null] "r"(0)
      : "memory");
  asm volatile("ltr %w0" : : "r"(kTssSelector) : "memory");
}

}  // namespace ferrite::arch
