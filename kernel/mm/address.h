// Strong address types (chapter 9): a PhysAddr and a VirtAddr are both 64-bit numbers, but mixing
// them up is the classic paging bug, so they are distinct types that cannot be swapped silently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>  // also brings <compare>, for the defaulted operator<=>

#include "lib/format.h"
#include "lib/panic.h"

namespace ferrite::mm {

// Not std::has_single_bit: without -mpopcnt that becomes a call into libgcc, which the kernel
// does not link.
constexpr bool is_power_of_two(std::uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

// Rounds `value` down/up to a multiple of `alignment`, which must be a power of two.
constexpr std::uint64_t align_down(std::uint64_t value, std::uint64_t alignment) {
  FERRITE_ASSERT(is_power_of_two(alignment));
  return value & ~(alignment - 1);
}

constexpr std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  FERRITE_ASSERT(is_power_of_two(alignment));
  FERRITE_ASSERT(value <= UINT64_MAX - (alignment - 1));  // rounding up must not wrap to 0
  return align_down(value + (alignment - 1), alignment);
}

constexpr bool is_aligned(std::uint64_t value, std::uint64_t alignment) {
  return align_down(value, alignment) == value;
}

// A physical address: where a byte sits in RAM (or device memory), as seen by the memory bus.
// x86_64 physical addresses have at most 52 bits (MAXPHYADDR <= 52, Intel SDM Vol. 3A 4.1.4);
// page-table entries have no room for more, so anything above is a bug.
class PhysAddr {
 public:
  static constexpr std::uint64_t kMaxBits = 52;
  static constexpr std::uint64_t kLimit = std::uint64_t{1} << kMaxBits;  // first invalid address

  constexpr PhysAddr() = default;

  // Unchecked for the caller, checked here: panics if `value` has more than 52 bits.
  constexpr explicit PhysAddr(std::uint64_t value) : value_(value) {
    FERRITE_ASSERT(value < kLimit);
  }

  // Checked: nothing if `value` is not a valid physical address.
  static constexpr std::optional<PhysAddr> try_from(std::uint64_t value) {
    if (value >= kLimit) return std::nullopt;
    return PhysAddr(value);
  }

  constexpr std::uint64_t value() const { return value_; }

  constexpr PhysAddr align_down(std::uint64_t alignment) const {
    return PhysAddr(mm::align_down(value_, alignment));
  }
  constexpr PhysAddr align_up(std::uint64_t alignment) const {
    return PhysAddr(mm::align_up(value_, alignment));
  }
  constexpr bool is_aligned(std::uint64_t alignment) const {
    return mm::is_aligned(value_, alignment);
  }

  // Moving by a byte count keeps the type; the distance between two addresses is a byte count.
  constexpr PhysAddr operator+(std::uint64_t bytes) const {
    FERRITE_ASSERT(bytes < kLimit - value_);
    return PhysAddr(value_ + bytes);
  }
  constexpr PhysAddr operator-(std::uint64_t bytes) const {
    FERRITE_ASSERT(bytes <= value_);
    return PhysAddr(value_ - bytes);
  }
  constexpr std::uint64_t operator-(PhysAddr lower) const {
    FERRITE_ASSERT(lower.value_ <= value_);
    return value_ - lower.value_;
  }
  constexpr PhysAddr& operator+=(std::uint64_t bytes) { return *this = *this + bytes; }

  friend constexpr auto operator<=>(PhysAddr, PhysAddr) = default;

 private:
  std::uint64_t value_ = 0;
};

// A virtual (linear) address: what code uses, translated to a PhysAddr by the page tables.
//
// With 4-level paging only 48 bits are translated, and the CPU requires bits 63..48 to be copies
// of bit 47 ("canonical form", Intel SDM Vol. 1 3.3.7.1); any other value faults on use. So the
// address space is two halves, 0..0x0000'7fff'ffff'ffff and 0xffff'8000'0000'0000..max, with a
// hole between. A VirtAddr always holds a canonical value: the mapper never has to check.
//
// The 48 translated bits split into four 9-bit table indices and a 12-bit page offset
// (Intel SDM Vol. 3A 4.5, figure "Linear-Address Translation to a 4-KByte Page"):
//   47..39 level-4 index (PML4)  38..30 level-3 (PDPT)  29..21 level-2 (PD)  20..12 level-1 (PT)
class VirtAddr {
 public:
  static constexpr std::uint64_t kTranslatedBits = 48;

  constexpr VirtAddr() = default;

  // For addresses the caller knows to be canonical: panics if `value` is not.
  constexpr explicit VirtAddr(std::uint64_t value) : value_(value) {
    FERRITE_ASSERT(is_canonical(value));
  }

  // Checked: nothing if `value` lies in the non-canonical hole.
  static constexpr std::optional<VirtAddr> try_from(std::uint64_t value) {
    if (!is_canonical(value)) return std::nullopt;
    return VirtAddr(value);
  }

  // Makes any value canonical by copying bit 47 upwards: how an address built from table
  // indices (e.g. level-4 index 256 and up, the higher half) gets its top bits.
  static constexpr VirtAddr sign_extended(std::uint64_t value) {
    constexpr unsigned kUnusedBits = 64 - kTranslatedBits;
    return VirtAddr(
        static_cast<std::uint64_t>(static_cast<std::int64_t>(value << kUnusedBits) >> kUnusedBits));
  }

  static constexpr bool is_canonical(std::uint64_t value) {
    const std::uint64_t top_bits = value >> (kTranslatedBits - 1);  // bits 63..47
    return top_bits == 0 || top_bits == (UINT64_MAX >> (kTranslatedBits - 1));
  }

  // Every pointer the CPU accepted is canonical, so this cannot fail.
  static VirtAddr from_pointer(const void* pointer) {
    return VirtAddr(reinterpret_cast<std::uintptr_t>(pointer));
  }
  template <class T>
  T* as_pointer() const {
    return reinterpret_cast<T*>(value_);
  }

  constexpr std::uint64_t value() const { return value_; }

  // The low 12 bits: where in its 4 KiB page the address points.
  constexpr std::uint64_t page_offset() const { return value_ & 0xfff; }

  // The 9-bit index into the table of `level` (4 = the top table that CR3 points to, 1 = the
  // table of 4 KiB pages). The named versions follow blog_os: p4 = PML4 ... p1 = page table.
  constexpr std::size_t table_index(int level) const {
    FERRITE_ASSERT(level >= 1 && level <= 4);
    return (value_ >> (12 + 9 * (level - 1))) & 0x1ff;
  }
  constexpr std::size_t p4_index() const { return table_index(4); }
  constexpr std::size_t p3_index() const { return table_index(3); }
  constexpr std::size_t p2_index() const { return table_index(2); }
  constexpr std::size_t p1_index() const { return table_index(1); }

  constexpr VirtAddr align_down(std::uint64_t alignment) const {
    return VirtAddr(mm::align_down(value_, alignment));
  }
  constexpr VirtAddr align_up(std::uint64_t alignment) const {
    return VirtAddr(mm::align_up(value_, alignment));
  }
  constexpr bool is_aligned(std::uint64_t alignment) const {
    return mm::is_aligned(value_, alignment);
  }

  // Arithmetic that leaves the canonical range (or wraps) is a bug and panics.
  constexpr VirtAddr operator+(std::uint64_t bytes) const {
    FERRITE_ASSERT(bytes <= UINT64_MAX - value_);
    return VirtAddr(value_ + bytes);
  }
  constexpr VirtAddr operator-(std::uint64_t bytes) const {
    FERRITE_ASSERT(bytes <= value_);
    return VirtAddr(value_ - bytes);
  }
  constexpr std::uint64_t operator-(VirtAddr lower) const {
    FERRITE_ASSERT(lower.value_ <= value_);
    return value_ - lower.value_;
  }
  constexpr VirtAddr& operator+=(std::uint64_t bytes) { return *this = *this + bytes; }

  friend constexpr auto operator<=>(VirtAddr, VirtAddr) = default;

 private:
  std::uint64_t value_ = 0;
};

}  // namespace ferrite::mm

namespace ferrite::fmt {

// `{}` prints an address as 0x-prefixed hex; any integer spec works as for a u64, e.g.
// `{:#018x}` for a fixed width or `{:d}` for decimal.
constexpr FormatSpec address_spec(FormatSpec spec) {
  if (spec.type == '\0') {
    spec.type = 'x';
    spec.alternate = true;
  }
  return spec;
}

template <>
struct Formatter<mm::PhysAddr> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    return check_integer_spec(spec);
  }
  static void format(Sink& sink, const mm::PhysAddr& address, const FormatSpec& spec) {
    format_integer(sink, address.value(), false, address_spec(spec));
  }
};

template <>
struct Formatter<mm::VirtAddr> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    return check_integer_spec(spec);
  }
  static void format(Sink& sink, const mm::VirtAddr& address, const FormatSpec& spec) {
    format_integer(sink, address.value(), false, address_spec(spec));
  }
};

}  // namespace ferrite::fmt
