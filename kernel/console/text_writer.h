// The console writer of chapter 3, for any grid of character cells: VGA text mode, or the
// framebuffer console under UEFI. Text is written on the bottom row; a newline (or a full row)
// scrolls everything up by one. Bytes outside printable ASCII are shown as a block (0xFE),
// except a few UTF-8 letters that code page 437 has (so a German layout's umlauts are visible).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "console/cell.h"

namespace ferrite::console {

// Code page 437 glyph for a Unicode code point, or 0xFE (a small block) if it has none.
constexpr std::uint8_t cp437_from_unicode(char32_t c) {
  if (c >= 0x20 && c <= 0x7E) return static_cast<std::uint8_t>(c);
  switch (c) {
    case U'ä': return 0x84;
    case U'ö': return 0x94;
    case U'ü': return 0x81;
    case U'Ä': return 0x8E;
    case U'Ö': return 0x99;
    case U'Ü': return 0x9A;
    case U'ß': return 0xE1;
    case U'§': return 0x15;
    case U'°': return 0xF8;
    case U'£': return 0x9C;
    case U'µ': return 0xE6;
    case U'²': return 0xFD;
    case U'¬': return 0xAA;
    case U'¦': return 0x7C;
    case U'░': return 0xB0;
    case U'▒': return 0xB1;
    case U'▓': return 0xB2;
    case U'█': return 0xDB;
    default: return 0xFE;
  }
}

template <class Screen>
class TextWriter {
 public:
  constexpr explicit TextWriter(Screen screen = Screen{}) : screen_(screen) {}

  Screen& screen() { return screen_; }
  void set_color(ColorCode color) { color_ = color; }
  ColorCode color() const { return color_; }
  std::size_t column() const { return column_; }

  void write(std::string_view text) {
    for (char c : text) write_byte(static_cast<std::uint8_t>(c));
  }

  // Redraws the bottom row as `text` with the cell at `cursor` (a column) shown in inverted
  // colours: the shell's line editor. The writer's column ends after the text.
  void replace_bottom_row(std::string_view text, std::size_t cursor) {
    clear_row(screen_.rows() - 1);
    column_ = 0;
    pending_ = 0;
    for (char c : text) write_byte(static_cast<std::uint8_t>(c));
    if (cursor < screen_.columns()) {
      const std::size_t row = screen_.rows() - 1;
      const ScreenChar cell = screen_.get(row, cursor);
      const ColorCode normal = ColorCode::from_byte(cell.color);
      const ColorCode inverted(normal.background(), normal.foreground());
      screen_.put(row, cursor, ScreenChar{cell.character, inverted.value()});
    }
  }

  void clear() {
    for (std::size_t row = 0; row < screen_.rows(); ++row) clear_row(row);
    column_ = 0;
    pending_ = 0;
  }

 private:
  void write_byte(std::uint8_t byte) {
    if (pending_ > 0) {  // inside a UTF-8 sequence
      if ((byte & 0xC0) == 0x80) {
        code_point_ = (code_point_ << 6) | (byte & 0x3F);
        if (--pending_ == 0) put_glyph(cp437_from_unicode(code_point_));
        return;
      }
      pending_ = 0;
      put_glyph(0xFE);  // truncated sequence
    }
    if (byte == '\n') {
      new_line();
    } else if (byte >= 0x20 && byte <= 0x7E) {
      put_glyph(byte);
    } else if ((byte & 0xE0) == 0xC0) {
      code_point_ = byte & 0x1F;
      pending_ = 1;
    } else if ((byte & 0xF0) == 0xE0) {
      code_point_ = byte & 0x0F;
      pending_ = 2;
    } else if ((byte & 0xF8) == 0xF0) {
      code_point_ = byte & 0x07;
      pending_ = 3;
    } else {
      put_glyph(0xFE);
    }
  }

  void put_glyph(std::uint8_t glyph) {
    if (column_ >= screen_.columns()) new_line();
    screen_.put(screen_.rows() - 1, column_, ScreenChar{glyph, color_.value()});
    ++column_;
  }

  void new_line() {
    screen_.scroll_up(blank());
    column_ = 0;
  }

  void clear_row(std::size_t row) {
    for (std::size_t column = 0; column < screen_.columns(); ++column) screen_.put(row, column, blank());
  }

  ScreenChar blank() const { return ScreenChar{' ', color_.value()}; }

  Screen screen_;
  ColorCode color_ = kDefaultColor;
  std::size_t column_ = 0;
  char32_t code_point_ = 0;
  int pending_ = 0;
};

}  // namespace ferrite::console
