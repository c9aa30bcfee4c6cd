// Canonical-mode line editing (see line_discipline.h for the rules and where they come from).
#include "tty/line_discipline.h"

#include <algorithm>
#include <string_view>

namespace ferrite::tty {

namespace {

constexpr char kCtrlD = 0x04, kCtrlU = 0x15, kBackspace = '\b', kDelete = 0x7F;

bool is_utf8_continuation(char byte) {
  return (static_cast<std::uint8_t>(byte) & 0xC0) == 0x80;
}

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

bool LineDiscipline::erase_last_character(fmt::Sink& echo) {
  if (size_ == committed_) return false;  // completed lines belong to the reader now
  // A UTF-8 character is one screen column but several bytes: remove them all.
  while (size_ > committed_ + 1 && is_utf8_continuation(bytes_[size_ - 1])) --size_;
  const bool control = static_cast<std::uint8_t>(bytes_[size_ - 1]) < 0x20;
  --size_;
  if (!echo_) return true;
  echo.write("\b \b");
  if (control) echo.write("\b \b");  // it was echoed as two columns, ^X
  return true;
}

void LineDiscipline::signal_key(char byte, fmt::Sink& echo) {
  // n_tty's isig(): the input queue is flushed (NOFLSH keeps it), and the character is echoed
  // as ECHOCTL shows control characters, ^C — no newline: the shell writes its own.
  if (!noflsh_) flush_input();
  if (echo_) {
    const char shown[2] = {'^', static_cast<char>(static_cast<std::uint8_t>(byte) ^ 0x40)};
    echo.write({shown, 2});
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
    if (echo_) echo.write({&byte, 1});
    return 0;
  }
  switch (byte) {
    case '\n':
      if (append('\n', kLineEnd)) {
        commit();
        if (echo_) echo.write("\n");
      }
      return 0;
    case kCtrlD:  // VEOF: the line so far goes to the reader as it is; alone, it reads as EOF
      if (append('\0', kEofMark)) commit();
      return 0;
    case kBackspace:
    case kDelete:  // VERASE is DEL on Linux; the PC keyboard's Backspace key types \b here
      (void)erase_last_character(echo);
      return 0;
    case kCtrlU:  // VKILL
      while (erase_last_character(echo)) {
      }
      return 0;
    default:
      break;
  }
  if (!append(byte, kNone) || !echo_) return 0;
  const auto value = static_cast<std::uint8_t>(byte);
  if (value < 0x20 && byte != '\t') {  // ECHOCTL: Ctrl+A shows as ^A
    const char shown[2] = {'^', static_cast<char>(value + '@')};
    echo.write({shown, 2});
  } else {
    echo.write({&byte, 1});
  }
  return 0;
}

std::size_t LineDiscipline::read(std::span<char> out) {
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
