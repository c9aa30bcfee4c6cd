// VGA text mode (chapter 3): an 80x25 grid of 16-bit cells at physical 0xB8000, each one
// console::ScreenChar (console/cell.h has the cell and attribute format).
#pragma once

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

  void scroll_up(ScreenChar blank) {
    for (std::size_t row = 1; row < kRows; ++row) {
      for (std::size_t column = 0; column < kColumns; ++column) {
        put(row - 1, column, get(row, column));
      }
    }
    for (std::size_t column = 0; column < kColumns; ++column) put(kRows - 1, column, blank);
  }

 private:
  volatile std::uint16_t& cell(std::size_t row, std::size_t column) const {
    return reinterpret_cast<volatile std::uint16_t*>(cells_)[row * kColumns + column];
  }

  volatile ScreenChar* cells_ = nullptr;
  ScreenChar* shadow_ = nullptr;
};

}  // namespace ferrite::pc
