// VGA text mode (chapter 3): an 80x25 grid of 16-bit cells at physical 0xB8000, each one
// console::ScreenChar (console/cell.h has the cell and attribute format).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "console/cell.h"

namespace ferrite::pc {

using console::ScreenChar;

// The hardware buffer. Every store is volatile: the compiler must not drop or merge stores it
// cannot see being read (the VGA card reads them), which is the seed's `Volatile` wrapper.
//
// A copy of the cells in ordinary RAM (the shadow) answers get(), and put() stores to the card
// only when a cell really changes. Reads from video memory are slow (on real hardware it is
// uncached; under QEMU every access is an emulated device access), and a scroll on a mostly empty
// screen changes few cells: without the shadow each newline would read 1920 cells back from the
// card and rewrite all 2000. The shadow must start zeroed: NUL characters, which the writer never
// produces, so the first write to every cell (the boot-time clear) reaches the card.
class VgaTextScreen {
 public:
  static constexpr std::size_t kRows = 25;
  static constexpr std::size_t kColumns = 80;
  static constexpr std::size_t kCells = kRows * kColumns;

  constexpr VgaTextScreen() = default;
  // `shadow` holds kCells zeroed cells and belongs to this screen from now on.
  constexpr VgaTextScreen(volatile ScreenChar* cells, ScreenChar* shadow)
      : cells_(cells), shadow_(shadow) {}

  std::size_t rows() const { return kRows; }
  std::size_t columns() const { return kColumns; }

  // One 16-bit store per changed cell (character in the low byte, attribute in the high byte).
  void put(std::size_t row, std::size_t column, ScreenChar c) {
    ScreenChar& known = shadow_[row * kColumns + column];
    if (known == c) return;
    known = c;
    cell(row, column) = static_cast<std::uint16_t>(c.character | (c.color << 8));
  }
  ScreenChar get(std::size_t row, std::size_t column) const {
    return shadow_[row * kColumns + column];
  }

  // Every row moves up one, and the bottom row is blanked. Rows are compared and stored four
  // cells (8 bytes) at a time: a group that stays the same costs one comparison, and a group that
  // changes reaches the card in one 64-bit store. Each newline at the bottom of a screen of text
  // changes most of it, and under QEMU every store to video memory is an exit to the device model:
  // a quarter of the exits, and a fifth of the instructions of the cell-by-cell loop (a boot log
  // line cost ~30,000 guest instructions, most of them here).
  void scroll_up(ScreenChar blank) {
    for (std::size_t row = 1; row < kRows; ++row) store_row(row - 1, shadow_ + row * kColumns);
    ScreenChar blanks[kColumns];
    for (ScreenChar& cell : blanks) cell = blank;
    store_row(kRows - 1, blanks);
  }

 private:
  static constexpr std::size_t kGroupCells = 4;  // one 64-bit word of cells
  static_assert(kColumns % kGroupCells == 0);
  // A group's 8 bytes are its cells in order, each character then attribute: the card's layout
  // (put() builds the same 16-bit value) on a little-endian CPU.
  static_assert(std::endian::native == std::endian::little);

  volatile std::uint16_t& cell(std::size_t row, std::size_t column) const {
    return reinterpret_cast<volatile std::uint16_t*>(cells_)[row * kColumns + column];
  }

  // Makes `row` show the kColumns cells at `cells` (which may be another row of the shadow).
  void store_row(std::size_t row, const ScreenChar* cells) {
    ScreenChar* known = shadow_ + row * kColumns;
    volatile std::uint64_t* card = reinterpret_cast<volatile std::uint64_t*>(cells_ + row * kColumns);
    for (std::size_t group = 0; group < kColumns / kGroupCells; ++group) {
      std::uint64_t wanted, shown;
      __builtin_memcpy(&wanted, cells + group * kGroupCells, sizeof(wanted));
      __builtin_memcpy(&shown, known + group * kGroupCells, sizeof(shown));
      if (wanted == shown) continue;
      __builtin_memcpy(known + group * kGroupCells, &wanted, sizeof(wanted));
      card[group] = wanted;
    }
  }

  volatile ScreenChar* cells_ = nullptr;
  ScreenChar* shadow_ = nullptr;
};

}  // namespace ferrite::pc
