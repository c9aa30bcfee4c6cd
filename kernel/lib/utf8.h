// UTF-8 encoding of one code point (RFC 3629): what a key event's character becomes in a line
// buffer — the kernel shell's line editor and the console terminal's line discipline both take
// keys this way — and the two facts both need to step over a character's bytes. Portable,
// header-only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferrite::lib {

inline constexpr std::size_t kMaxUtf8Bytes = 4;

// A byte that continues a character (10xxxxxx), never one that starts it.
constexpr bool is_utf8_continuation(char byte) {
  return (static_cast<std::uint8_t>(byte) & 0xC0) == 0x80;
}

// How many continuation bytes a lead byte announces (RFC 3629 section 3); 0 for any other byte.
constexpr std::size_t utf8_continuations(char byte) {
  const auto b = static_cast<std::uint8_t>(byte);
  if ((b & 0xE0) == 0xC0) return 1;
  if ((b & 0xF0) == 0xE0) return 2;
  if ((b & 0xF8) == 0xF0) return 3;
  return 0;
}

// Writes the UTF-8 bytes of `c` to `out` (room for kMaxUtf8Bytes) and returns how many (1-4).
inline std::size_t encode_utf8(char32_t c, char* out) {
  if (c < 0x80) {
    out[0] = static_cast<char>(c);
    return 1;
  }
  if (c < 0x800) {
    out[0] = static_cast<char>(0xC0 | (c >> 6));
    out[1] = static_cast<char>(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (c >> 12));
    out[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (c & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (c >> 18));
  out[1] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (c & 0x3F));
  return 4;
}

}  // namespace ferrite::lib
