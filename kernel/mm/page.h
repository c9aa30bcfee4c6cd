// Pages and frames (chapter 9): a Page is an aligned block of virtual memory, a Frame the aligned
// block of physical memory of the same size that a page table maps it to.
//
// The size is part of the type (Page<PageSize::size_2mib>, or the alias Page2MiB), so a 4 KiB page
// cannot be mapped onto a 2 MiB frame by mistake: such code does not compile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "lib/format.h"
#include "mm/address.h"

namespace ferrite::mm {

// The three page sizes of x86_64 4-level paging: a level-1 entry maps 4 KiB, a level-2 entry with
// the huge bit 2 MiB, a level-3 entry with the huge bit 1 GiB (Intel SDM Vol. 3A 4.5).
enum class PageSize : std::uint64_t {
  size_4kib = std::uint64_t{4} << 10,
  size_2mib = std::uint64_t{2} << 20,
  size_1gib = std::uint64_t{1} << 30,
};

constexpr std::uint64_t bytes(PageSize size) {
  return static_cast<std::uint64_t>(size);
}

// The page size everything that is not about huge pages means: heap growth, frames, stacks.
inline constexpr std::uint64_t kPageBytes = bytes(PageSize::size_4kib);

constexpr std::string_view to_string(PageSize size) {
  switch (size) {
    case PageSize::size_4kib:
      return "4 KiB";
    case PageSize::size_2mib:
      return "2 MiB";
    case PageSize::size_1gib:
      return "1 GiB";
  }
  return "invalid page size";
}

// `count` consecutive pages or frames starting at `first`, usable in a range-for loop.
// Stored as first + count (not first + end) so that a range may end at the top of memory.
template <class PageOrFrame>
class ContiguousRange {
 public:
  constexpr ContiguousRange(PageOrFrame first, std::uint64_t count)
      : first_(first), count_(count) {}

  constexpr PageOrFrame first() const { return first_; }
  constexpr std::uint64_t size() const { return count_; }
  constexpr bool empty() const { return count_ == 0; }
  constexpr bool contains(PageOrFrame unit) const {
    return unit >= first_ && (unit.start() - first_.start()) / PageOrFrame::kBytes < count_;
  }

  class Iterator {
   public:
    constexpr PageOrFrame operator*() const { return first_ + index_; }
    constexpr Iterator& operator++() {
      ++index_;
      return *this;
    }
    friend constexpr bool operator==(const Iterator&, const Iterator&) = default;

   private:
    friend class ContiguousRange;
    constexpr Iterator(PageOrFrame first, std::uint64_t index) : first_(first), index_(index) {}
    PageOrFrame first_;
    std::uint64_t index_;
  };
  constexpr Iterator begin() const { return Iterator(first_, 0); }
  constexpr Iterator end() const { return Iterator(first_, count_); }

 private:
  PageOrFrame first_;
  std::uint64_t count_;
};

template <PageSize Size>
class Page {
 public:
  static constexpr PageSize kSize = Size;
  static constexpr std::uint64_t kBytes = bytes(Size);

  // The page that holds `address`.
  static constexpr Page containing(VirtAddr address) { return Page(address.align_down(kBytes)); }

  // The page that starts exactly at `start`; nothing if `start` is not aligned to the page size.
  static constexpr std::optional<Page> starting_at(VirtAddr start) {
    if (!start.is_aligned(kBytes)) return std::nullopt;
    return Page(start);
  }

  // The pages from `first` up to, not including, `end`.
  static constexpr ContiguousRange<Page> range(Page first, Page end) {
    FERRITE_ASSERT(first <= end);
    return ContiguousRange<Page>(first, (end.start() - first.start()) / kBytes);
  }

  constexpr VirtAddr start() const { return start_; }

  // The page `count` pages further up; panics if that leaves the canonical address range.
  constexpr Page operator+(std::uint64_t count) const {
    FERRITE_ASSERT(count <= UINT64_MAX / kBytes);
    return Page(start_ + count * kBytes);
  }

  friend constexpr auto operator<=>(const Page&, const Page&) = default;

 private:
  constexpr explicit Page(VirtAddr start) : start_(start) {}
  VirtAddr start_;
};

template <PageSize Size>
class Frame {
 public:
  static constexpr PageSize kSize = Size;
  static constexpr std::uint64_t kBytes = bytes(Size);

  // The frame that holds `address`.
  static constexpr Frame containing(PhysAddr address) { return Frame(address.align_down(kBytes)); }

  // The frame that starts exactly at `start`; nothing if `start` is not aligned to the frame size.
  static constexpr std::optional<Frame> starting_at(PhysAddr start) {
    if (!start.is_aligned(kBytes)) return std::nullopt;
    return Frame(start);
  }

  // The frames from `first` up to, not including, `end`.
  static constexpr ContiguousRange<Frame> range(Frame first, Frame end) {
    FERRITE_ASSERT(first <= end);
    return ContiguousRange<Frame>(first, (end.start() - first.start()) / kBytes);
  }

  constexpr PhysAddr start() const { return start_; }

  // The frame `count` frames further up; panics if that leaves the 52-bit physical range.
  constexpr Frame operator+(std::uint64_t count) const {
    FERRITE_ASSERT(count <= UINT64_MAX / kBytes);
    return Frame(start_ + count * kBytes);
  }

  friend constexpr auto operator<=>(const Frame&, const Frame&) = default;

 private:
  constexpr explicit Frame(PhysAddr start) : start_(start) {}
  PhysAddr start_;
};

using Page4KiB = Page<PageSize::size_4kib>;
using Page2MiB = Page<PageSize::size_2mib>;
using Page1GiB = Page<PageSize::size_1gib>;
using Frame4KiB = Frame<PageSize::size_4kib>;
using Frame2MiB = Frame<PageSize::size_2mib>;
using Frame1GiB = Frame<PageSize::size_1gib>;

}  // namespace ferrite::mm

namespace ferrite::fmt {

template <>
struct Formatter<mm::PageSize> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    return check_text_spec(spec, "s");
  }
  static void format(Sink& sink, const mm::PageSize& size, const FormatSpec& spec) {
    write_padded(sink, to_string(size), spec);
  }
};

}  // namespace ferrite::fmt
