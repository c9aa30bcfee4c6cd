// VGA text mode (chapter 3): an 80x25 grid of 16-bit cells at physical 0xB8000. Each cell is a
// code-page-437 character and an attribute byte: foreground colour in bits 0-3, background in
// bits 4-6, blink in bit 7 (OSDev wiki "Text UI"; IBM VGA technical reference, attribute byte).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferrite::console {

enum class Color : std::uint8_t {
  black = 0, blue = 1, green = 2, cyan = 3, red = 4, magenta = 5, brown = 6, light_gray = 7,
  dark_gray = 8, light_blue = 9, light_green = 10, light_cyan = 11, light_red = 12, pink = 13,
  yellow = 14, white = 15,
};

// The attribute byte. Only the first 8 colours can be backgrounds: bit 7 is blink.
class ColorCode {
 public:
  constexpr ColorCode(Color foreground, Color background, bool blink = false)
      : value_(static_cast<std::uint8_t>((blink ? 0x80 : 0) |
                                         ((static_cast<std::uint8_t>(background) & 0x7) << 4) |
                                         static_cast<std::uint8_t>(foreground))) {}
  constexpr static ColorCode from_byte(std::uint8_t byte) { return ColorCode(byte); }

  constexpr Color foreground() const { return static_cast<Color>(value_ & 0x0F); }
  constexpr Color background() const { return static_cast<Color>((value_ >> 4) & 0x07); }
  constexpr bool blink() const { return (value_ & 0x80) != 0; }
  constexpr std::uint8_t value() const { return value_; }
  constexpr bool operator==(const ColorCode&) const = default;

 private:
  constexpr explicit ColorCode(std::uint8_t value) : value_(value) {}
  std::uint8_t value_;
};

constexpr ColorCode kDefaultColor{Color::light_gray, Color::black};

struct ScreenChar {
  std::uint8_t character;
  std::uint8_t color;
  constexpr bool operator==(const ScreenChar&) const = default;
};
static_assert(sizeof(ScreenChar) == 2, "a VGA text cell is two bytes");

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
  // The blinking hardware cursor is not used; the writer's position is the cursor.
  void show_cursor(std::size_t, std::size_t) {}

 private:
  volatile std::uint16_t& cell(std::size_t row, std::size_t column) const {
    return reinterpret_cast<volatile std::uint16_t*>(cells_)[row * kColumns + column];
  }

  volatile ScreenChar* cells_ = nullptr;
  ScreenChar* shadow_ = nullptr;
};

}  // namespace ferrite::console
