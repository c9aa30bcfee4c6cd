// Canonical-mode line editing (see line_discipline.h for the rules and where they come from).
#include "tty/line_discipline.h"

#include <algorithm>
#include <string_view>

#include "lib/panic.h"
#include "lib/utf8.h"

namespace ferrite::tty {

namespace {

constexpr char kCtrlD = 0x04, kCtrlU = 0x15, kCtrlW = 0x17, kBackspace = '\b', kDelete = 0x7F;
constexpr std::size_t kTabStop = 8;  // the console's (and a VT100's) tab stops

using lib::is_utf8_continuation;
using lib::utf8_continuations;

// Echoed as ^X (ECHOCTL): two columns. Tab and newline are echoed as themselves.
bool is_shown_as_caret(std::uint8_t byte) { return byte < 0x20 && byte != '\t' && byte != '\n'; }

// VWERASE's words: letters, digits and _, as Linux's n_tty (its ALTWERASE rule); a character
// beyond ASCII counts as a letter (Linux's Latin-1 ctype says so of every UTF-8 lead byte).
bool is_word_character(std::uint8_t byte) {
  return (byte >= '0' && byte <= '9') || (byte >= 'A' && byte <= 'Z') ||
         (byte >= 'a' && byte <= 'z') || byte == '_' || byte >= 0xC0;
}

std::uint8_t u8(char byte) { return static_cast<std::uint8_t>(byte); }

}  // namespace

bool LineDiscipline::append(char byte, std::uint8_t mark) {
  // The last free byte is kept for the newline or EOF that ends the line (n_tty does the same),
  // so a full buffer can always still be completed and read.
  const std::size_t limit = mark == kNone ? kCapacity - 1 : kCapacity;
  if (size_ >= limit) return false;
  bytes_[size_] = byte;
  marks_[size_] = mark;
  ++size_;
  return true;
}

std::size_t LineDiscipline::character_start(std::size_t end) const {
  const std::size_t last = end - 1;
  for (std::size_t at = last, following = 0; following <= 3; --at, ++following) {
    if (!is_utf8_continuation(bytes_[at])) {
      return following > 0 && following <= utf8_continuations(bytes_[at]) ? at : last;
    }
    if (at == committed_) break;
  }
  return last;
}

std::size_t LineDiscipline::tab_width(std::size_t at) const {
  // The Tab started where the characters before it ended. Walk back to an earlier Tab (which
  // ended on a tab stop, so only the columns since count) or to the start of the line (which
  // began at line_column_).
  std::size_t columns = 0, end = at;
  bool after_tab = false;
  while (end > committed_) {
    const std::size_t start = character_start(end);
    const std::uint8_t byte = u8(bytes_[start]);
    if (byte == '\t') {
      after_tab = true;
      break;
    }
    columns += is_shown_as_caret(byte) ? 2 : 1;
    end = start;
  }
  const std::size_t started_at = (after_tab ? 0 : line_column_) + columns;
  return kTabStop - started_at % kTabStop;
}

bool LineDiscipline::erase_last_character(fmt::Sink& echo) {
  if (size_ == committed_) return false;  // completed lines belong to the reader now
  const std::size_t start = character_start(size_);
  const std::uint8_t byte = u8(bytes_[start]);
  // Before the bytes go: a Tab's width depends on what precedes it.
  const std::size_t columns = byte == '\t' ? tab_width(start) : is_shown_as_caret(byte) ? 2 : 1;
  size_ = start;
  if (!echo_) return true;
  for (std::size_t i = 0; i < columns; ++i) {
    // A Tab drew nothing over the cells it passed: moving back is enough.
    show(echo, byte == '\t' ? "\b" : "\b \b");
  }
  return true;
}

void LineDiscipline::erase_word(fmt::Sink& echo) {
  // What is not part of a word goes first, then the word before it.
  bool in_word = false;
  while (size_ > committed_) {
    const bool word = is_word_character(u8(bytes_[character_start(size_)]));
    if (in_word && !word) return;
    in_word = in_word || word;
    (void)erase_last_character(echo);
  }
}

void LineDiscipline::follow(std::string_view text) {
  for (const char c : text) {
    const std::uint8_t byte = u8(c);
    if (escape_ != Escape::none) {
      // ESC x, or ESC [ parameters final byte (ECMA-48 5.4: a final byte is 0x40-0x7E).
      if (escape_ == Escape::escape && byte == '[') {
        escape_ = Escape::csi;
      } else if (escape_ == Escape::escape || (byte >= 0x40 && byte <= 0x7E)) {
        escape_ = Escape::none;
      }
      continue;
    }
    if (utf8_pending_ > 0 && is_utf8_continuation(c)) {
      --utf8_pending_;  // part of a character already counted
      continue;
    }
    utf8_pending_ = 0;
    switch (byte) {
      case '\n':  // ONLCR: CR LF
      case '\r':
        column_ = 0;
        break;
      case '\b':
        if (column_ > 0) --column_;
        break;
      case '\t':
        column_ = (column_ / kTabStop + 1) * kTabStop;
        break;
      case 0x1B:
        escape_ = Escape::escape;
        break;
      default:
        // Other control characters move nothing; every other character takes a column (a
        // continuation byte no lead byte announced shows as a block of its own on the console).
        if (byte >= 0x20 && byte != 0x7F) ++column_;
        utf8_pending_ = static_cast<std::uint8_t>(utf8_continuations(c));
        break;
    }
  }
}

void LineDiscipline::signal_key(char byte, fmt::Sink& echo) {
  // n_tty's isig(): the input queue is flushed (NOFLSH keeps it), and the character is echoed
  // as ECHOCTL shows control characters, ^C — no newline: the shell writes its own.
  if (!noflsh_) flush_input();
  if (echo_) {
    const char shown[2] = {'^', static_cast<char>(static_cast<std::uint8_t>(byte) ^ 0x40)};
    show(echo, {shown, 2});
  }
}

int LineDiscipline::receive(char byte, fmt::Sink& echo) {
  if (const int signal = signal_for(byte); signal != 0) {
    signal_key(byte, echo);
    return signal;
  }
  if (byte == '\r') byte = '\n';  // ICRNL
  if (!canonical_) {
    if (!append(byte, kNone)) return 0;
    commit();
    if (echo_) show(echo, {&byte, 1});
    return 0;
  }
  switch (byte) {
    case '\n':
      if (append('\n', kLineEnd)) {
        commit();
        if (echo_) show(echo, "\n");
      }
      return 0;
    case kCtrlD:  // VEOF: the line so far goes to the reader as it is; alone, it reads as EOF
      if (append('\0', kEofMark)) commit();
      return 0;
    case kBackspace:
    case kDelete:  // VERASE is DEL on Linux; the PC keyboard's Backspace key types \b here
      (void)erase_last_character(echo);
      return 0;
    case kCtrlW:  // VWERASE
      erase_word(echo);
      return 0;
    case kCtrlU:  // VKILL, echoed as ECHOKE does: each character erased
      while (erase_last_character(echo)) {
      }
      return 0;
    default:
      break;
  }
  const bool line_begins = size_ == committed_;
  if (!append(byte, kNone)) return 0;
  if (line_begins) line_column_ = column_;  // n_tty's canon_column
  if (!echo_) return 0;
  const auto value = static_cast<std::uint8_t>(byte);
  if (is_shown_as_caret(value)) {  // ECHOCTL: Ctrl+A shows as ^A
    const char shown[2] = {'^', static_cast<char>(value + '@')};
    show(echo, {shown, 2});
  } else {
    show(echo, {&byte, 1});
  }
  return 0;
}

std::size_t LineDiscipline::read(std::span<char> out) {
  // The buffer's invariant. Broken (a terminal that let two threads change the discipline at
  // once did), the shift below would copy from past the end, a near-2^64-byte memmove.
  FERRITE_ASSERT(committed_ <= size_ && size_ <= kCapacity);
  std::size_t copied = 0, taken = 0;
  while (taken < committed_) {
    const std::uint8_t mark = marks_[taken];
    if (mark == kEofMark) {
      // The EOF mark ends this read. It is consumed with the text before it, or alone (0 bytes).
      ++taken;
      break;
    }
    if (copied == out.size()) break;
    out[copied++] = bytes_[taken++];
    if (mark == kLineEnd && canonical_) break;
  }
  // Shift what is left to the front (at most 4 KiB, only on reads: simpler than a ring).
  std::copy(bytes_.begin() + static_cast<std::ptrdiff_t>(taken),
            bytes_.begin() + static_cast<std::ptrdiff_t>(size_), bytes_.begin());
  std::copy(marks_.begin() + static_cast<std::ptrdiff_t>(taken),
            marks_.begin() + static_cast<std::ptrdiff_t>(size_), marks_.begin());
  size_ -= taken;
  committed_ -= taken;
  return copied;
}

std::size_t LineDiscipline::readable_bytes() const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < committed_; ++i) count += marks_[i] == kEofMark ? 0 : 1;
  return count;
}

void LineDiscipline::flush_input() {
  size_ = committed_ = 0;
}

}  // namespace ferrite::tty
