// The console writer of chapter 3, for any grid of character cells: VGA text mode, or the
// framebuffer console under UEFI. It works like a real terminal (Linux's console, xterm): after
// clear() the cursor is at the top-left, text goes on the cursor's row, a newline (or a full
// row) moves the cursor down one row, and the screen scrolls up by one only for a newline on the
// last row (or for the shell's input line growing past it). blog_os writes every line on the
// bottom row and scrolls at each newline instead, but a scroll rewrites every row of text: the
// 15 lines of a boot on a cleared screen cost 25,810 byte writes to VGA memory that way, beyond
// an empty kernel's boot (each one a device access QEMU emulates; ~100k instructions of
// scrolling), and 1,450 written top-down (QEMU's -trace 'memory_region_ops_*'); under UEFI the
// framebuffer redraws the pixels of each cell a scroll changes. Bytes outside printable ASCII are
// shown as a block (0xFE), except a few UTF-8 letters that code page 437 has (so a German layout's
// umlauts are visible). The shell's input line is drawn from the row its prompt was written on,
// downwards, wrapped over as many rows as it needs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
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

// Turns UTF-8 bytes into code page 437 glyphs one byte at a time: a sequence may be split
// between two writes. A sequence cut short shows as a block, and the byte that cut it still counts.
class Utf8ToGlyphs {
 public:
  // Calls emit(glyph) for each glyph `byte` completes: none (inside a sequence), one, or two.
  template <class Emit>
  void feed(std::uint8_t byte, Emit&& emit) {
    if (pending_ > 0) {
      if ((byte & 0xC0) == 0x80) {
        code_point_ = (code_point_ << 6) | (byte & 0x3F);
        if (--pending_ == 0) emit(cp437_from_unicode(code_point_));
        return;
      }
      pending_ = 0;
      emit(std::uint8_t{0xFE});  // truncated sequence
    }
    if (byte >= 0x20 && byte <= 0x7E) {
      emit(byte);
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
      emit(std::uint8_t{0xFE});
    }
  }

  // Ends a sequence in progress (a newline came): it shows as a block.
  template <class Emit>
  void finish(Emit&& emit) {
    if (pending_ > 0) emit(std::uint8_t{0xFE});
    pending_ = 0;
  }

 private:
  char32_t code_point_ = 0;
  int pending_ = 0;
};

template <class Screen>
class TextWriter {
 public:
  constexpr explicit TextWriter(Screen screen = Screen{}) : screen_(screen) {}

  Screen& screen() { return screen_; }
  void set_color(ColorCode color) { color_ = color; }
  ColorCode color() const { return color_; }
  std::size_t row() const { return row_; }
  std::size_t column() const { return column_; }

  // Output after an input line starts below it: the next input line is drawn afresh.
  void write(std::string_view text) {
    input_rows_ = 0;
    for (char c : text) write_byte(static_cast<std::uint8_t>(c));
  }

  // Draws the shell's input line (prompt included) from the start of the row the prompt was
  // written on (the writer's row), downwards, wrapped over as many rows as it needs, with the
  // character at index `cursor` (the cell after the text if the cursor is at the end) in
  // inverted colours; std::nullopt draws no cursor. Each call replaces what the previous one
  // drew, so no part of the line is ever shown twice. A line that grows past the bottom scrolls
  // the screen up (the output above it, and the line's first row, move up); a line that shrinks
  // blanks the rows it no longer uses, and nothing moves back down (readline on a Linux console
  // does the same). A line taller than the screen shows the rows around the cursor. The
  // writer's row and column end after the text.
  void show_input_line(std::string_view text, std::optional<std::size_t> cursor) {
    const std::size_t rows = screen_.rows(), columns = screen_.columns();
    std::size_t glyphs = 0;
    for_each_glyph(text, [&](std::uint8_t) { ++glyphs; });
    const std::size_t cells = std::max(glyphs, cursor ? *cursor + 1 : std::size_t{1});
    const std::size_t needed = (cells + columns - 1) / columns;
    const std::size_t shown = std::min(needed, rows);
    const std::size_t cursor_row = (cursor ? *cursor : glyphs) / columns;
    const std::size_t skipped =
        std::min(needed - shown, cursor_row >= shown ? cursor_row - shown + 1 : 0);

    if (input_rows_ == 0) input_top_ = row_;  // drawn afresh: from the prompt's row
    const std::size_t before = std::max<std::size_t>(input_rows_, 1);
    for (; input_top_ + shown > rows; --input_top_) screen_.scroll_up(blank());
    for (std::size_t row = input_top_ + shown; row < input_top_ + before && row < rows; ++row) {
      clear_row(row);  // shrunk: the rows it left
    }
    // Each cell of the shown rows is stored once, in order: a glyph of the line, or a blank
    // after its end (a framebuffer draws every cell that changes, so no clearing first).
    const std::size_t top = input_top_, first = skipped * columns,
                      end = (skipped + shown) * columns;
    const ColorCode inverted(color_.background(), color_.foreground());
    const auto put = [&](std::size_t index, std::uint8_t glyph) {
      const ColorCode color = cursor && *cursor == index ? inverted : color_;
      screen_.put(top + index / columns - skipped, index % columns,
                  ScreenChar{glyph, color.value()});
    };
    std::size_t index = 0;
    for_each_glyph(text, [&](std::uint8_t glyph) {
      if (index >= first && index < end) put(index, glyph);
      ++index;
    });
    for (index = std::max(index, first); index < end; ++index) put(index, ' ');
    input_rows_ = shown;
    row_ = top + shown - 1;
    const std::size_t last_row_start = (skipped + shown - 1) * columns;
    column_ = glyphs > last_row_start ? std::min(glyphs - last_row_start, columns) : 0;
    decoder_ = Utf8ToGlyphs{};
  }

  // Someone else (the VT100 terminal that shows programs' output) drew on the screen and left
  // its cursor at (row, column): continue from there. A column past the end makes the next
  // character start a new line.
  void continue_at(std::size_t row, std::size_t column) {
    row_ = std::min(row, screen_.rows() - 1);
    column_ = std::min(column, screen_.columns());
    input_rows_ = 0;
    decoder_ = Utf8ToGlyphs{};
  }

  void clear() {
    for (std::size_t row = 0; row < screen_.rows(); ++row) clear_row(row);
    row_ = 0;
    column_ = 0;
    input_rows_ = 0;
    decoder_ = Utf8ToGlyphs{};
  }

 private:
  void write_byte(std::uint8_t byte) {
    const auto put = [this](std::uint8_t glyph) { put_glyph(glyph); };
    if (byte == '\n') {
      decoder_.finish(put);
      new_line();
    } else {
      decoder_.feed(byte, put);
    }
  }

  template <class F>
  static void for_each_glyph(std::string_view text, F&& f) {
    Utf8ToGlyphs decoder;
    for (char c : text) decoder.feed(static_cast<std::uint8_t>(c), f);
  }

  void put_glyph(std::uint8_t glyph) {
    if (column_ >= screen_.columns()) new_line();
    screen_.put(row_, column_, ScreenChar{glyph, color_.value()});
    ++column_;
  }

  // Down one row; only on the last row does the screen scroll (every row of text is rewritten).
  void new_line() {
    if (row_ + 1 < screen_.rows()) {
      ++row_;
    } else {
      screen_.scroll_up(blank());
    }
    column_ = 0;
  }

  void clear_row(std::size_t row) {
    for (std::size_t column = 0; column < screen_.columns(); ++column) screen_.put(row, column, blank());
  }

  ScreenChar blank() const { return ScreenChar{' ', color_.value()}; }

  Screen screen_;
  ColorCode color_ = kDefaultColor;
  std::size_t row_ = 0;  // the cursor: where the next character goes (a terminal's, top-down)
  std::size_t column_ = 0;
  std::size_t input_rows_ = 0;  // rows the input line takes; 0 after other output
  std::size_t input_top_ = 0;   // the input line's first row (while input_rows_ > 0)
  Utf8ToGlyphs decoder_;
};

}  // namespace ferrite::console
