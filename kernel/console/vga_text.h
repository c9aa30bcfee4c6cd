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

// The hardware buffer. Every access is volatile: the compiler must not drop or merge stores it
// cannot see being read (the VGA card reads them), which is the seed's `Volatile` wrapper.
class VgaTextScreen {
 public:
  static constexpr std::size_t kRows = 25;
  static constexpr std::size_t kColumns = 80;

  constexpr explicit VgaTextScreen(volatile ScreenChar* cells = nullptr) : cells_(cells) {}

  std::size_t rows() const { return kRows; }
  std::size_t columns() const { return kColumns; }
  // One 16-bit store per cell (character in the low byte, attribute in the high byte).
  void put(std::size_t row, std::size_t column, ScreenChar c) {
    cell(row, column) = static_cast<std::uint16_t>(c.character | (c.color << 8));
  }
  ScreenChar get(std::size_t row, std::size_t column) const {
    const std::uint16_t value = cell(row, column);
    return ScreenChar{static_cast<std::uint8_t>(value & 0xFF), static_cast<std::uint8_t>(value >> 8)};
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

  volatile ScreenChar* cells_;
};

}  // namespace ferrite::console
