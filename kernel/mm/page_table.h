// The hardware's page-table format (chapters 8-9): entry flags as a typed set, one 64-bit entry,
// and a table of 512 entries. Everything here is a bit layout the CPU reads; nothing walks tables.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "lib/format.h"
#include "lib/panic.h"
#include "mm/address.h"

namespace ferrite::mm {

// The flag bits of a page-table entry, written down once. Same positions at every level
// (Intel SDM Vol. 3A 4.5, tables 4-15 to 4-20 in the editions that include 5-level paging:
// "Format of a PML4 Entry" ... "Format of a Page-Table Entry that Maps a 4-KByte Page"):
//
//   bit  flag           meaning
//    0   present        the entry is in use; when 0 the CPU ignores every other bit
//    1   writable       writes allowed (for the kernel too once CR0.WP = 1)
//    2   user           ring 3 may access
//    3   write_through  write-through caching (PWT)
//    4   cache_disable  no caching, for device memory (PCD)
//    5   accessed       set by the CPU when the entry is used for a translation
//    6   dirty          set by the CPU on a write (entries that map a page only)
//    7   huge           level 3 / level 2: the entry maps a 1 GiB / 2 MiB page instead of
//                       pointing to a table (PS). Reserved in level 4; in level 1 this bit
//                       means PAT instead, which ferrite leaves 0.
//    8   global         keep in the TLB across CR3 writes, if CR4.PGE = 1 (mapping entries only)
//   12..51              physical address of the next table or of the page (see kAddressMask)
//   63   no_execute     instruction fetches fault (XD); reserved unless IA32_EFER.NXE = 1
//
// Bits 9..11 and 52..58 are free for the OS (ferrite does not use them); 59..62 are protection
// keys when CR4.PKE = 1.
class PageTableFlags {
 public:
  static const PageTableFlags present;
  static const PageTableFlags writable;
  static const PageTableFlags user;
  static const PageTableFlags write_through;
  static const PageTableFlags cache_disable;
  static const PageTableFlags accessed;
  static const PageTableFlags dirty;
  static const PageTableFlags huge;
  static const PageTableFlags global;
  static const PageTableFlags no_execute;

  constexpr PageTableFlags() = default;  // no flags

  // The raw bits of an entry, without its address (see PageTableEntry::flags()).
  static constexpr PageTableFlags from_bits(std::uint64_t bits) { return PageTableFlags(bits); }
  constexpr std::uint64_t bits() const { return bits_; }

  constexpr bool empty() const { return bits_ == 0; }
  // True if every flag in `flags` is set here.
  constexpr bool contains(PageTableFlags flags) const {
    return (bits_ & flags.bits_) == flags.bits_;
  }
  constexpr PageTableFlags without(PageTableFlags flags) const {
    return PageTableFlags(bits_ & ~flags.bits_);
  }

  friend constexpr PageTableFlags operator|(PageTableFlags a, PageTableFlags b) {
    return PageTableFlags(a.bits_ | b.bits_);
  }
  friend constexpr PageTableFlags operator&(PageTableFlags a, PageTableFlags b) {
    return PageTableFlags(a.bits_ & b.bits_);
  }
  constexpr PageTableFlags& operator|=(PageTableFlags other) { return *this = *this | other; }
  friend constexpr bool operator==(PageTableFlags, PageTableFlags) = default;

 private:
  constexpr explicit PageTableFlags(std::uint64_t bits) : bits_(bits) {}
  std::uint64_t bits_ = 0;
};

inline constexpr PageTableFlags PageTableFlags::present{std::uint64_t{1} << 0};
inline constexpr PageTableFlags PageTableFlags::writable{std::uint64_t{1} << 1};
inline constexpr PageTableFlags PageTableFlags::user{std::uint64_t{1} << 2};
inline constexpr PageTableFlags PageTableFlags::write_through{std::uint64_t{1} << 3};
inline constexpr PageTableFlags PageTableFlags::cache_disable{std::uint64_t{1} << 4};
inline constexpr PageTableFlags PageTableFlags::accessed{std::uint64_t{1} << 5};
inline constexpr PageTableFlags PageTableFlags::dirty{std::uint64_t{1} << 6};
inline constexpr PageTableFlags PageTableFlags::huge{std::uint64_t{1} << 7};
inline constexpr PageTableFlags PageTableFlags::global{std::uint64_t{1} << 8};
inline constexpr PageTableFlags PageTableFlags::no_execute{std::uint64_t{1} << 63};

// One 64-bit entry: a physical address (of the next table or of the mapped page) plus flags.
class PageTableEntry {
 public:
  // Bits 12..51: the address field, 4 KiB aligned, up to the 52-bit MAXPHYADDR limit.
  // (For a huge page bit 12 is PAT and the address starts at bit 21 or 30; the mapper aligns.)
  static constexpr std::uint64_t kAddressMask = 0x000f'ffff'ffff'f000;

  constexpr PageTableEntry() = default;

  constexpr bool is_unused() const { return raw_ == 0; }
  constexpr bool is_present() const { return flags().contains(PageTableFlags::present); }

  constexpr PhysAddr address() const { return PhysAddr(raw_ & kAddressMask); }
  constexpr PageTableFlags flags() const { return PageTableFlags::from_bits(raw_ & ~kAddressMask); }

  constexpr void set(PhysAddr address, PageTableFlags flags) {
    FERRITE_ASSERT(address.is_aligned(4096));
    FERRITE_ASSERT((flags.bits() & kAddressMask) == 0);
    raw_ = address.value() | flags.bits();
  }
  constexpr void set_flags(PageTableFlags flags) { set(address(), flags); }
  constexpr void clear() { raw_ = 0; }

  constexpr std::uint64_t raw() const { return raw_; }

 private:
  std::uint64_t raw_ = 0;
};
static_assert(sizeof(PageTableEntry) == 8);

// A page table at any level: 512 entries filling one 4 KiB frame, which is why an index is 9 bits
// (Intel SDM Vol. 3A 4.5: each paging structure is 4096 bytes, 4 KiB aligned).
struct alignas(4096) PageTable {
  static constexpr std::size_t kEntryCount = 512;

  std::array<PageTableEntry, kEntryCount> entries;

  constexpr PageTableEntry& operator[](std::size_t index) {
    FERRITE_ASSERT(index < kEntryCount);
    return entries[index];
  }
  constexpr const PageTableEntry& operator[](std::size_t index) const {
    FERRITE_ASSERT(index < kEntryCount);
    return entries[index];
  }
  constexpr void clear() {
    for (PageTableEntry& entry : entries) entry.clear();
  }
};
static_assert(sizeof(PageTable) == 4096);

}  // namespace ferrite::mm

namespace ferrite::fmt {

// Prints the set flags by name, e.g. "present | writable | no_execute"; bits without a name
// (OS-available, protection key) follow as hex; an empty set prints "(none)".
template <>
struct Formatter<mm::PageTableFlags> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    return check_text_spec(spec, "s");
  }
  static void format(Sink& sink, const mm::PageTableFlags& flags, const FormatSpec& spec) {
    using mm::PageTableFlags;
    constexpr std::pair<PageTableFlags, std::string_view> kNames[] = {
        {PageTableFlags::present, "present"},
        {PageTableFlags::writable, "writable"},
        {PageTableFlags::user, "user"},
        {PageTableFlags::write_through, "write_through"},
        {PageTableFlags::cache_disable, "cache_disable"},
        {PageTableFlags::accessed, "accessed"},
        {PageTableFlags::dirty, "dirty"},
        {PageTableFlags::huge, "huge"},
        {PageTableFlags::global, "global"},
        {PageTableFlags::no_execute, "no_execute"},
    };
    char buffer[160];  // every name plus separators and one hex number fit
    BufferSink text(buffer);
    PageTableFlags unnamed = flags;
    for (const auto& [flag, name] : kNames) {
      if (!flags.contains(flag)) continue;
      if (!text.view().empty()) text.write(" | ");
      text.write(name);
      unnamed = unnamed.without(flag);
    }
    if (!unnamed.empty()) {
      if (!text.view().empty()) text.write(" | ");
      format_integer(text, unnamed.bits(), false, FormatSpec{.alternate = true, .type = 'x'});
    }
    write_padded(sink, flags.empty() ? "(none)" : text.view(), spec);
  }
};

}  // namespace ferrite::fmt
