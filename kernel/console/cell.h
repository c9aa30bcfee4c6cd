// One character cell of a text console: a code-page-437 character and an attribute byte
// (foreground colour in bits 0-3, background in bits 4-6, blink in bit 7). This is VGA text
// mode's cell format (OSDev wiki "Text UI"; IBM VGA technical reference, attribute byte), and
// every screen of the console — VGA text or the framebuffer — stores its cells this way.
#pragma once

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

}  // namespace ferrite::console
