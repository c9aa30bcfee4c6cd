// Line editing for the shell: a UTF-8 buffer with a cursor counted in characters.
#include "shell/line_editor.h"

#include "lib/utf8.h"

namespace ferrite::shell {

namespace {

using drivers::keyboard::KeyCode;
using drivers::keyboard::KeyEvent;

using lib::is_utf8_continuation;


}  // namespace

LineEditor::Action LineEditor::feed(const KeyEvent& event) {
  if (!event.pressed) return Action::none;
  switch (event.key) {
    case KeyCode::Enter:
    case KeyCode::KeypadEnter: submit(); return Action::submit;
    case KeyCode::Backspace: erase_before_cursor(); return Action::redraw;
    case KeyCode::Delete: erase_at_cursor(); return Action::redraw;
    case KeyCode::ArrowLeft: move_left(); return Action::redraw;
    case KeyCode::ArrowRight: move_right(); return Action::redraw;
    case KeyCode::Home: cursor_chars_ = 0; return Action::redraw;
    case KeyCode::End: cursor_chars_ = char_count(); return Action::redraw;
    case KeyCode::ArrowUp: recall(+1); return Action::redraw;
    case KeyCode::ArrowDown: recall(-1); return Action::redraw;
    default: break;
  }
  const char32_t c = event.character;
  if (c == drivers::keyboard::kCtrlC) {
    set_line({});
    browsing_ = 0;
    return Action::cancel;
  }
  if (c == drivers::keyboard::control_character(U'l')) return Action::clear_screen;
  if (c < 0x20 || c == 0x7F) return Action::none;  // other control characters type nothing
  return insert(c) ? Action::redraw : Action::full;
}

std::size_t LineEditor::char_count() const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < length_; ++i) count += is_utf8_continuation(text_[i]) ? 0 : 1;
  return count;
}

std::size_t LineEditor::byte_offset_of_cursor() const {
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < length_ && chars < cursor_chars_) {
    ++i;
    while (i < length_ && is_utf8_continuation(text_[i])) ++i;
    ++chars;
  }
  return i;
}

bool LineEditor::insert(char32_t character) {
  if (char_count() >= kMaxLine) return false;
  char encoded[lib::kMaxUtf8Bytes];
  const std::size_t size = lib::encode_utf8(character, encoded);
  const std::size_t at = byte_offset_of_cursor();
  for (std::size_t i = length_; i > at; --i) text_[i - 1 + size] = text_[i - 1];
  for (std::size_t i = 0; i < size; ++i) text_[at + i] = encoded[i];
  length_ += size;
  ++cursor_chars_;
  return true;
}

void LineEditor::erase_before_cursor() {
  if (cursor_chars_ == 0) return;
  --cursor_chars_;
  erase_at_cursor();
}

void LineEditor::erase_at_cursor() {
  const std::size_t start = byte_offset_of_cursor();
  if (start >= length_) return;
  std::size_t end = start + 1;
  while (end < length_ && is_utf8_continuation(text_[end])) ++end;
  for (std::size_t i = end; i < length_; ++i) text_[i - (end - start)] = text_[i];
  length_ -= end - start;
}

void LineEditor::move_left() {
  if (cursor_chars_ > 0) --cursor_chars_;
}

void LineEditor::move_right() {
  if (cursor_chars_ < char_count()) ++cursor_chars_;
}

void LineEditor::set_line(std::string_view text) {
  length_ = text.size() < text_.size() ? text.size() : text_.size();
  for (std::size_t i = 0; i < length_; ++i) text_[i] = text[i];
  cursor_chars_ = char_count();
}

// direction +1 = older (Up), -1 = newer (Down). Below the newest entry is the line that was
// being typed when browsing began.
void LineEditor::recall(int direction) {
  if (direction > 0 && browsing_ < history_count_) {
    if (browsing_ == 0) {
      for (std::size_t i = 0; i < length_; ++i) draft_.bytes[i] = text_[i];
      draft_.length = length_;
    }
    ++browsing_;
  } else if (direction < 0 && browsing_ > 0) {
    --browsing_;
  } else {
    return;
  }
  if (browsing_ == 0) {
    set_line(draft_.text());
    return;
  }
  set_line(history_[(history_next_ + kHistoryLines - browsing_) % kHistoryLines].text());
}

void LineEditor::submit() {
  for (std::size_t i = 0; i < length_; ++i) submitted_[i] = text_[i];
  submitted_length_ = length_;
  // Keep non-empty lines that differ from the newest entry (like most shells).
  const Line& newest = history_[(history_next_ + kHistoryLines - 1) % kHistoryLines];
  const bool repeat = history_count_ > 0 && newest.text() == text();
  if (length_ > 0 && !repeat) {
    Line& line = history_[history_next_];
    for (std::size_t i = 0; i < length_; ++i) line.bytes[i] = text_[i];
    line.length = length_;
    history_next_ = (history_next_ + 1) % kHistoryLines;
    if (history_count_ < kHistoryLines) ++history_count_;
  }
  length_ = 0;
  cursor_chars_ = 0;
  browsing_ = 0;
}

}  // namespace ferrite::shell
