// A terminal that understands the escape sequences programs print (chapter 14): the cursor
// moves anywhere on the screen, lines and the screen are erased, colours are set. The subset
// is what busybox, musl's programs and ncurses-free shells use of the VT100/ECMA-48 set:
//
//   CSI n A/B/C/D   cursor up/down/forward/back      CSI r;c H, CSI r;c f   cursor position
//   CSI n G         cursor to column n               CSI n d                cursor to row n
//   CSI n J         erase in display (0 below, 1 above, 2 all)
//   CSI n K         erase in line (0 right, 1 left, 2 all)
//   CSI ... m       SGR: 0 reset, 1 bold (bright), 7 reverse, 22/27 off, 30-37/90-97 foreground,
//                   39 default, 40-47/100-107 background, 49 default
//   CSI 6 n         cursor position report: the terminal answers CSI row;column R (1-based)
//   CSI 5 n         status report: the terminal answers CSI 0 n ("OK")
//   ESC 7, ESC 8    save / restore the cursor        ESC c   reset
//   BS, HT, LF, CR  as on a teletype; LF on the last row scrolls
//
// (ECMA-48 5th edition 8.3; the DEC VT100 User Guide, chapter 3.) Anything else is parsed to its
// end and ignored, so an unknown sequence never shows up as garbage. Parsing is split from the
// screen: Vt100Parser turns bytes into actions, Terminal applies them to any cell grid with
// put/get/scroll_up (VGA text, the framebuffer, or a plain array in the host tests). A report's
// answer is input for the program, not output: Terminal keeps it (pending_reply) for whoever
// owns the terminal's input to queue there — the console layer never calls up into the tty.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "console/cell.h"

namespace ferrite::console {

// The parser's output: one of these per complete action.
struct Vt100Action {
  enum class Kind : std::uint8_t { print, control, csi, escape } kind = Kind::print;
  std::uint8_t byte = 0;  // the printable byte, the control byte, or the final byte
  bool private_marker = false;  // CSI ? ... (DEC private modes): ignored by Terminal
  std::uint8_t parameter_count = 0;
  std::array<std::uint16_t, 8> parameters{};  // missing or empty parameters are 0

  // The n-th parameter, with `fallback` when it is missing or 0 (the VT100 convention).
  std::uint16_t parameter(std::size_t n, std::uint16_t fallback) const {
    return n < parameter_count && parameters[n] != 0 ? parameters[n] : fallback;
  }
};

class Vt100Parser {
 public:
  // Calls emit(const Vt100Action&) for the action `byte` completes, if any.
  template <class Emit>
  void feed(std::uint8_t byte, Emit&& emit) {
    if (byte == 0x18 || byte == 0x1A) {  // CAN, SUB: abandon a sequence
      state_ = State::ground;
      return;
    }
    if (byte == 0x1B) {
      begin(State::escape);
      return;
    }
    switch (state_) {
      case State::ground:
        if (byte < 0x20 || byte == 0x7F) {
          emit(make(Vt100Action::Kind::control, byte));
        } else {
          emit(make(Vt100Action::Kind::print, byte));
        }
        return;
      case State::escape:
        if (byte == '[') {
          begin(State::csi);
        } else if (byte >= 0x20 && byte <= 0x2F) {
          state_ = State::escape_intermediate;
        } else {
          state_ = State::ground;
          if (byte >= 0x30 && byte <= 0x7E) emit(make(Vt100Action::Kind::escape, byte));
        }
        return;
      case State::escape_intermediate:  // e.g. ESC ( B (character set): parsed, ignored
        if (byte >= 0x30 && byte <= 0x7E) state_ = State::ground;
        return;
      case State::csi:
        if (byte >= '0' && byte <= '9') {
          if (action_.parameter_count == 0) action_.parameter_count = 1;
          std::uint16_t& p = action_.parameters[action_.parameter_count - 1];
          p = static_cast<std::uint16_t>(std::min<std::uint32_t>(p * 10u + (byte - '0'), 9999));
        } else if (byte == ';') {
          if (action_.parameter_count == 0) action_.parameter_count = 1;
          if (action_.parameter_count < action_.parameters.size()) ++action_.parameter_count;
        } else if (byte == '?' || byte == '>' || byte == '<' || byte == '=') {
          action_.private_marker = true;
        } else if (byte >= 0x40 && byte <= 0x7E) {
          state_ = State::ground;
          action_.kind = Vt100Action::Kind::csi;
          action_.byte = byte;
          emit(action_);
        } else if (byte < 0x20) {
          emit(make(Vt100Action::Kind::control, byte));  // controls act even inside a sequence
        }
        // intermediates (0x20-0x2F) and anything else: part of the sequence, ignored
        return;
    }
  }

 private:
  enum class State : std::uint8_t { ground, escape, escape_intermediate, csi };

  void begin(State state) {
    state_ = state;
    action_ = {};
  }
  static Vt100Action make(Vt100Action::Kind kind, std::uint8_t byte) {
    Vt100Action a;
    a.kind = kind;
    a.byte = byte;
    return a;
  }

  State state_ = State::ground;
  Vt100Action action_{};
};

// A cursor-addressed terminal over a Screen (rows(), columns(), put, get, scroll_up).
template <class Screen>
class Terminal {
 public:
  explicit Terminal(Screen& screen) : screen_(screen) {}

  void write(std::uint8_t byte) {
    parser_.feed(byte, [this](const Vt100Action& a) { apply(a); });
  }
  template <class Bytes>
  void write_all(const Bytes& bytes) {
    for (auto b : bytes) write(static_cast<std::uint8_t>(b));
  }

  // Puts the cursor at (row, column), clamped to the screen; column may be columns() (the row
  // is full: the next character wraps). The console does this when a program's output continues
  // where the kernel's own writer left off.
  void move_to(std::size_t row, std::size_t column) {
    row_ = std::min(row, screen_.rows() - 1);
    column_ = std::min(column, screen_.columns());
  }

  std::size_t row() const { return row_; }
  std::size_t column() const { return column_; }

  // What the terminal answered to reports since the last clear_reply(), in order. A full buffer
  // drops later answers (a program asks once and waits).
  std::string_view pending_reply() const { return {reply_.data(), reply_size_}; }
  void clear_reply() { reply_size_ = 0; }
  ColorCode color() const { return current_color(); }

 private:
  void apply(const Vt100Action& a) {
    switch (a.kind) {
      case Vt100Action::Kind::print:
        print(a.byte);
        return;
      case Vt100Action::Kind::control:
        control(a.byte);
        return;
      case Vt100Action::Kind::escape:
        escape(a.byte);
        return;
      case Vt100Action::Kind::csi:
        if (!a.private_marker) csi(a);
        return;
    }
  }

  void print(std::uint8_t glyph) {
    if (column_ >= screen_.columns()) {  // the previous character filled the row: wrap now
      column_ = 0;
      line_feed();
    }
    screen_.put(row_, column_, ScreenChar{glyph, current_color().value()});
    ++column_;
  }

  void control(std::uint8_t byte) {
    switch (byte) {
      case '\n':
        line_feed();
        column_ = 0;  // as a Linux tty with ONLCR delivers it: CR LF
        return;
      case '\r':
        column_ = 0;
        return;
      case '\b':
        if (column_ > 0) --column_;
        return;
      case '\t':
        column_ = std::min<std::size_t>((column_ / 8 + 1) * 8, screen_.columns() - 1);
        return;
      default:
        return;  // BEL and the rest: nothing to show
    }
  }

  void escape(std::uint8_t final_byte) {
    switch (final_byte) {
      case '7':
        saved_row_ = row_, saved_column_ = column_;
        return;
      case '8':
        row_ = saved_row_, column_ = saved_column_;
        return;
      case 'c':
        reset();
        return;
      default:
        return;
    }
  }

  void csi(const Vt100Action& a) {
    const std::size_t rows = screen_.rows(), columns = screen_.columns();
    const auto clamp_row = [rows](std::size_t r) { return std::min(r, rows - 1); };
    const auto clamp_column = [columns](std::size_t c) { return std::min(c, columns - 1); };
    switch (a.byte) {
      case 'A':
        row_ -= std::min<std::size_t>(a.parameter(0, 1), row_);
        break;
      case 'B':
        row_ = clamp_row(row_ + a.parameter(0, 1));
        break;
      case 'C':
        column_ = clamp_column(column_ + a.parameter(0, 1));
        break;
      case 'D':
        column_ = std::min(column_, columns - 1);  // leaves a pending wrap first
        column_ -= std::min<std::size_t>(a.parameter(0, 1), column_);
        break;
      case 'H':
      case 'f':
        row_ = clamp_row(a.parameter(0, 1) - 1u);
        column_ = clamp_column(a.parameter(1, 1) - 1u);
        break;
      case 'G':
        column_ = clamp_column(a.parameter(0, 1) - 1u);
        break;
      case 'd':
        row_ = clamp_row(a.parameter(0, 1) - 1u);
        break;
      case 'J':
        erase_display(a.parameter_count == 0 ? 0 : a.parameters[0]);
        break;
      case 'K':
        erase_line(a.parameter_count == 0 ? 0 : a.parameters[0]);
        break;
      case 'm':
        select_graphic_rendition(a);
        break;
      case 'n':
        device_status_report(a.parameter_count == 0 ? 0 : a.parameters[0]);
        break;
      default:
        break;  // not ours: ignored whole
    }
  }

  // DSR (ECMA-48 8.3.35; VT100 User Guide 3.3.6 "Cursor Position Report"): 5 asks for the
  // status, 6 for the cursor. The column is the cell the cursor is on — after a full row, the
  // last one (Linux's console reports it the same way: its cursor never leaves the row).
  void device_status_report(std::uint16_t which) {
    if (which == 5) {
      add_reply("\x1b[0n");
    } else if (which == 6) {
      char text[24] = "\x1b[";
      std::size_t n = 2;
      n = append_number(text, n, row_ + 1);
      text[n++] = ';';
      n = append_number(text, n, std::min(column_, screen_.columns() - 1) + 1);
      text[n++] = 'R';
      add_reply({text, n});
    }
  }
  static std::size_t append_number(char* text, std::size_t at, std::size_t value) {
    char digits[20];
    std::size_t count = 0;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count > 0) text[at++] = digits[--count];
    return at;
  }
  void add_reply(std::string_view text) {
    if (reply_size_ + text.size() > reply_.size()) return;
    std::copy(text.begin(), text.end(), reply_.begin() + static_cast<std::ptrdiff_t>(reply_size_));
    reply_size_ += text.size();
  }

  void erase_line(std::uint16_t mode) {
    const std::size_t columns = screen_.columns();
    const std::size_t cursor = std::min(column_, columns - 1);
    const std::size_t from = mode == 0 ? cursor : 0;
    const std::size_t to = mode == 1 ? cursor + 1 : columns;
    for (std::size_t c = from; c < to; ++c) screen_.put(row_, c, blank());
  }

  void erase_display(std::uint16_t mode) {
    const std::size_t rows = screen_.rows(), columns = screen_.columns();
    if (mode == 2 || mode == 3) {
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < columns; ++c) screen_.put(r, c, blank());
      }
      return;
    }
    erase_line(mode == 0 ? 0 : 1);
    const std::size_t from = mode == 0 ? row_ + 1 : 0;
    const std::size_t to = mode == 0 ? rows : row_;
    for (std::size_t r = from; r < to; ++r) {
      for (std::size_t c = 0; c < columns; ++c) screen_.put(r, c, blank());
    }
  }

  void select_graphic_rendition(const Vt100Action& a) {
    if (a.parameter_count == 0) {
      reset_attributes();
      return;
    }
    for (std::size_t i = 0; i < a.parameter_count; ++i) {
      const std::uint16_t p = a.parameters[i];
      if (p == 0) {
        reset_attributes();
      } else if (p == 1) {
        bold_ = true;
      } else if (p == 22) {
        bold_ = false;
      } else if (p == 7) {
        reverse_ = true;
      } else if (p == 27) {
        reverse_ = false;
      } else if (p >= 30 && p <= 37) {
        foreground_ = kAnsiToVga[p - 30];
      } else if (p >= 90 && p <= 97) {
        foreground_ = static_cast<std::uint8_t>(kAnsiToVga[p - 90] | 8);
      } else if (p == 39) {
        foreground_ = kDefaultForeground;
      } else if (p >= 40 && p <= 47) {
        background_ = kAnsiToVga[p - 40];
      } else if (p >= 100 && p <= 107) {
        background_ = kAnsiToVga[p - 100];  // bright backgrounds: VGA has 8 (bit 7 is blink)
      } else if (p == 49) {
        background_ = kDefaultBackground;
      }
      // 38/48 (256 colours, true colour) and the rest: ignored
    }
  }

  void line_feed() {
    if (row_ + 1 < screen_.rows()) {
      ++row_;
    } else {
      screen_.scroll_up(blank());
    }
  }

  void reset_attributes() {
    foreground_ = kDefaultForeground;
    background_ = kDefaultBackground;
    bold_ = reverse_ = false;
  }

  void reset() {
    reset_attributes();
    erase_display(2);
    row_ = column_ = saved_row_ = saved_column_ = 0;
  }

  ColorCode current_color() const {
    std::uint8_t fg = static_cast<std::uint8_t>(foreground_ | (bold_ ? 8 : 0));
    std::uint8_t bg = background_;
    if (reverse_) std::swap(fg, bg);
    return ColorCode(static_cast<Color>(fg), static_cast<Color>(bg & 7));
  }
  ScreenChar blank() const {
    return ScreenChar{' ', ColorCode(static_cast<Color>(foreground_), static_cast<Color>(background_ & 7)).value()};
  }

  // ANSI colour order (black red green yellow blue magenta cyan white) to VGA's (BGR bits).
  static constexpr std::array<std::uint8_t, 8> kAnsiToVga = {0, 4, 2, 6, 1, 5, 3, 7};
  static constexpr std::uint8_t kDefaultForeground = 7;  // light grey
  static constexpr std::uint8_t kDefaultBackground = 0;

  Screen& screen_;
  Vt100Parser parser_;
  std::size_t row_ = 0, column_ = 0;
  std::size_t saved_row_ = 0, saved_column_ = 0;
  std::uint8_t foreground_ = kDefaultForeground;
  std::uint8_t background_ = kDefaultBackground;
  bool bold_ = false, reverse_ = false;
  std::array<char, 64> reply_{};
  std::size_t reply_size_ = 0;
};

}  // namespace ferrite::console
