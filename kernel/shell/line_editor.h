// The shell's line editor (beyond the seed): turns key events into a command line, with
// Backspace/Delete, Left/Right/Home/End, history on Up/Down (the line being typed comes back
// below the newest entry, as in readline), Ctrl+C to drop the line and Ctrl+L to clear the
// screen. Portable and host-tested; it knows nothing about screens — after each key the shell
// redraws `text()` with the cursor at `cursor()` (console/text_writer.h wraps long lines).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "drivers/keyboard/keyboard.h"

namespace ferrite::shell {

class LineEditor {
 public:
  static constexpr std::size_t kMaxLine = 255;  // characters; the screen wraps a long line
  static constexpr std::size_t kHistoryLines = 16;

  enum class Action : std::uint8_t {
    none,          // nothing visible changed (a release, a modifier, an unknown key)
    redraw,        // the line or the cursor changed
    submit,        // Enter: submitted() holds the line, the editor is empty again
    cancel,        // Ctrl+C: the line was dropped
    clear_screen,  // Ctrl+L
    full,          // a character did not fit (kMaxLine); nothing changed
  };

  Action feed(const drivers::keyboard::KeyEvent& event);

  // The line being edited, as UTF-8 (characters outside ASCII are kept, e.g. German letters).
  std::string_view text() const { return {text_.data(), length_}; }
  // Cursor position in characters (not bytes) from the start of the line.
  std::size_t cursor() const { return cursor_chars_; }
  // The line most recently submitted (valid until the next feed).
  std::string_view submitted() const { return {submitted_.data(), submitted_length_}; }
  std::size_t history_size() const { return history_count_; }

 private:
  struct Line {
    std::array<char, kMaxLine * 4> bytes{};  // UTF-8: up to 4 bytes a character
    std::size_t length = 0;
    std::string_view text() const { return {bytes.data(), length}; }
  };

  bool insert(char32_t character);
  void erase_before_cursor();
  void erase_at_cursor();
  void move_left();
  void move_right();
  void set_line(std::string_view text);
  void recall(int direction);
  void submit();
  std::size_t byte_offset_of_cursor() const;
  std::size_t char_count() const;

  std::array<char, kMaxLine * 4> text_{};
  std::size_t length_ = 0;        // bytes
  std::size_t cursor_chars_ = 0;  // characters
  std::array<char, kMaxLine * 4> submitted_{};
  std::size_t submitted_length_ = 0;
  std::array<Line, kHistoryLines> history_{};  // a ring: history_next_ is the slot to write
  std::size_t history_next_ = 0;
  std::size_t history_count_ = 0;
  std::size_t browsing_ = 0;  // 0 = editing a new line; k = showing the k-th most recent entry
  Line draft_{};              // the line being edited when Up started browsing
};

// Splits a command line at spaces: "alloc 100" -> {"alloc", "100"}. Returns the word count
// (words beyond the span's size are not counted).
constexpr std::size_t split_words(std::string_view line, std::span<std::string_view> words) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < line.size() && count < words.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) words[count++] = line.substr(start, i - start);
  }
  return count;
}

}  // namespace ferrite::shell
