// Scancode set 1 tables and the decoding state machine (see scancode_set1.h for the protocol).
#include "drivers/keyboard/scancode_set1.h"

#include <array>
#include <span>

namespace ferrite::drivers::keyboard {
namespace {

struct MakeCode {
  std::uint8_t code;  // 0x01..0x7F; the release code is code | 0x80
  KeyCode key;
};

// Single-byte make codes. Source: Microsoft "Keyboard Scan Code Specification" rev 1.3a,
// appendix A "Scan Code Tables" (Set 1 column); cross-checked with the OSDev wiki
// "PS/2 Keyboard", "Scan Code Set 1" table.
constexpr MakeCode kSingleByteCodes[] = {
    {0x01, KeyCode::Escape},
    {0x02, KeyCode::Digit1},
    {0x03, KeyCode::Digit2},
    {0x04, KeyCode::Digit3},
    {0x05, KeyCode::Digit4},
    {0x06, KeyCode::Digit5},
    {0x07, KeyCode::Digit6},
    {0x08, KeyCode::Digit7},
    {0x09, KeyCode::Digit8},
    {0x0A, KeyCode::Digit9},
    {0x0B, KeyCode::Digit0},
    {0x0C, KeyCode::Minus},
    {0x0D, KeyCode::Equals},
    {0x0E, KeyCode::Backspace},
    {0x0F, KeyCode::Tab},
    {0x10, KeyCode::Q},
    {0x11, KeyCode::W},
    {0x12, KeyCode::E},
    {0x13, KeyCode::R},
    {0x14, KeyCode::T},
    {0x15, KeyCode::Y},
    {0x16, KeyCode::U},
    {0x17, KeyCode::I},
    {0x18, KeyCode::O},
    {0x19, KeyCode::P},
    {0x1A, KeyCode::LeftBracket},
    {0x1B, KeyCode::RightBracket},
    {0x1C, KeyCode::Enter},
    {0x1D, KeyCode::LCtrl},
    {0x1E, KeyCode::A},
    {0x1F, KeyCode::S},
    {0x20, KeyCode::D},
    {0x21, KeyCode::F},
    {0x22, KeyCode::G},
    {0x23, KeyCode::H},
    {0x24, KeyCode::J},
    {0x25, KeyCode::K},
    {0x26, KeyCode::L},
    {0x27, KeyCode::Semicolon},
    {0x28, KeyCode::Apostrophe},
    {0x29, KeyCode::Backtick},
    {0x2A, KeyCode::LShift},
    {0x2B, KeyCode::Backslash},  // also the ISO "# ~" key: same position in the matrix
    {0x2C, KeyCode::Z},
    {0x2D, KeyCode::X},
    {0x2E, KeyCode::C},
    {0x2F, KeyCode::V},
    {0x30, KeyCode::B},
    {0x31, KeyCode::N},
    {0x32, KeyCode::M},
    {0x33, KeyCode::Comma},
    {0x34, KeyCode::Period},
    {0x35, KeyCode::Slash},
    {0x36, KeyCode::RShift},
    {0x37, KeyCode::KeypadMultiply},
    {0x38, KeyCode::LAlt},
    {0x39, KeyCode::Space},
    {0x3A, KeyCode::CapsLock},
    {0x3B, KeyCode::F1},
    {0x3C, KeyCode::F2},
    {0x3D, KeyCode::F3},
    {0x3E, KeyCode::F4},
    {0x3F, KeyCode::F5},
    {0x40, KeyCode::F6},
    {0x41, KeyCode::F7},
    {0x42, KeyCode::F8},
    {0x43, KeyCode::F9},
    {0x44, KeyCode::F10},
    {0x45, KeyCode::NumLock},
    {0x46, KeyCode::ScrollLock},
    {0x47, KeyCode::Keypad7},
    {0x48, KeyCode::Keypad8},
    {0x49, KeyCode::Keypad9},
    {0x4A, KeyCode::KeypadMinus},
    {0x4B, KeyCode::Keypad4},
    {0x4C, KeyCode::Keypad5},
    {0x4D, KeyCode::Keypad6},
    {0x4E, KeyCode::KeypadPlus},
    {0x4F, KeyCode::Keypad1},
    {0x50, KeyCode::Keypad2},
    {0x51, KeyCode::Keypad3},
    {0x52, KeyCode::Keypad0},
    {0x53, KeyCode::KeypadPeriod},
    {0x54, KeyCode::PrintScreen},  // "SysRq": what Print Screen sends while Alt is held
    {0x56, KeyCode::NonUsBackslash},
    {0x57, KeyCode::F11},
    {0x58, KeyCode::F12},
};

// Second byte after the E0 prefix. Same sources as above.
constexpr MakeCode kExtendedCodes[] = {
    {0x1C, KeyCode::KeypadEnter},
    {0x1D, KeyCode::RCtrl},
    {0x35, KeyCode::KeypadDivide},
    {0x37, KeyCode::PrintScreen},
    {0x38, KeyCode::RAlt},
    {0x46, KeyCode::Pause},  // "Break": what Pause sends while Ctrl is held
    {0x47, KeyCode::Home},
    {0x48, KeyCode::ArrowUp},
    {0x49, KeyCode::PageUp},
    {0x4B, KeyCode::ArrowLeft},
    {0x4D, KeyCode::ArrowRight},
    {0x4F, KeyCode::End},
    {0x50, KeyCode::ArrowDown},
    {0x51, KeyCode::PageDown},
    {0x52, KeyCode::Insert},
    {0x53, KeyCode::Delete},
    {0x5B, KeyCode::LGui},
    {0x5C, KeyCode::RGui},
    {0x5D, KeyCode::Menu},
};

constexpr std::uint8_t kBreakBit = 0x80;
constexpr std::uint8_t kExtendedPrefix = 0xE0;
constexpr std::uint8_t kPausePrefix = 0xE1;
// E1 1D 45 / E1 9D C5 (Microsoft spec, "Pause" row; OSDev "Scan Code Set 1").
constexpr std::uint8_t kPauseSecondByte = 0x1D;
constexpr std::uint8_t kPauseThirdByte = 0x45;

using MakeCodeTable = std::array<std::optional<KeyCode>, 0x80>;

constexpr bool codes_are_unique(std::span<const MakeCode> codes) {
  std::array<bool, 0x80> used{};
  for (const MakeCode& entry : codes) {
    if (entry.code >= 0x80 || used[entry.code]) return false;
    used[entry.code] = true;
  }
  return true;
}
static_assert(codes_are_unique(kSingleByteCodes), "a make code listed twice, or above 0x7F");
static_assert(codes_are_unique(kExtendedCodes), "an E0 make code listed twice, or above 0x7F");

constexpr MakeCodeTable index_by_code(std::span<const MakeCode> codes) {
  MakeCodeTable table{};
  for (const MakeCode& entry : codes) table[entry.code] = entry.key;
  return table;
}

constexpr MakeCodeTable kSingleByteTable = index_by_code(kSingleByteCodes);
constexpr MakeCodeTable kExtendedTable = index_by_code(kExtendedCodes);

constexpr bool every_key_has_a_code() {
  std::array<bool, kKeyCodeCount> reachable{};
  for (const MakeCode& entry : kSingleByteCodes) reachable[index_of(entry.key)] = true;
  for (const MakeCode& entry : kExtendedCodes) reachable[index_of(entry.key)] = true;
  for (bool key_reachable : reachable) {
    if (!key_reachable) return false;
  }
  return true;
}
static_assert(every_key_has_a_code(), "a KeyCode that no scancode produces");

// The 101-key keyboard's compatibility shifts: E0 + make/break of a Shift key (Microsoft spec,
// notes on "Scan Code Set 1" for the navigation keys and Print Screen).
constexpr bool is_fake_shift(std::uint8_t byte_after_e0) {
  const auto code = static_cast<std::uint8_t>(byte_after_e0 & ~kBreakBit);
  return code == 0x2A || code == 0x36;
}

// Bytes the keyboard sends as command replies or error reports, not keys (OSDev wiki
// "PS/2 Keyboard", "Special Bytes"). 0xAA (self-test passed) is left out on purpose: in set 1
// it is also the release of left Shift, and treating it as that is harmless.
constexpr bool is_keyboard_error(std::uint8_t byte) {
  return byte == 0x00 || byte == 0xFF;
}
constexpr bool is_protocol_reply(std::uint8_t byte) {
  switch (byte) {
    case 0xEE:  // Echo
    case 0xFA:  // ACK
    case 0xFC:  // self-test failed
    case 0xFD:  // self-test failed
    case 0xFE:  // Resend
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<ScancodeEvent> ScancodeSet1Decoder::feed(std::uint8_t byte) {
  ++stats_.bytes;
  if (is_keyboard_error(byte)) {
    // Bytes were lost: whatever sequence was in flight cannot be completed.
    ++stats_.keyboard_errors;
    state_ = State::Ready;
    return std::nullopt;
  }
  if (is_protocol_reply(byte)) {
    // Answers to commands travel out of band of key codes: keep the sequence state.
    ++stats_.protocol_bytes;
    return std::nullopt;
  }
  switch (state_) {
    case State::Ready:
      return feed_ready(byte);
    case State::AfterE0:
      return feed_after_e0(byte);
    case State::AfterE1:
      return feed_after_e1(byte);
    case State::AfterE1SecondByte:
      return feed_after_e1_second_byte(byte);
    default:
      // Unreachable for a valid State; recover instead of trusting a corrupted value.
      state_ = State::Ready;
      return feed_ready(byte);
  }
}

std::optional<ScancodeEvent> ScancodeSet1Decoder::feed_ready(std::uint8_t byte) {
  if (byte == kExtendedPrefix) {
    state_ = State::AfterE0;
    return std::nullopt;
  }
  if (byte == kPausePrefix) {
    state_ = State::AfterE1;
    return std::nullopt;
  }
  const std::optional<KeyCode> key = kSingleByteTable[byte & ~kBreakBit];
  if (!key) {
    ++stats_.unknown_scancodes;
    return std::nullopt;
  }
  return emit(*key, (byte & kBreakBit) == 0);
}

std::optional<ScancodeEvent> ScancodeSet1Decoder::feed_after_e0(std::uint8_t byte) {
  if (byte == kExtendedPrefix || byte == kPausePrefix) {
    // A prefix cannot follow E0; the earlier E0 lost its partner. Start over with this one.
    return abandon_sequence_and_retry(byte);
  }
  state_ = State::Ready;
  if (is_fake_shift(byte)) {
    ++stats_.fake_shifts;
    return std::nullopt;
  }
  const std::optional<KeyCode> key = kExtendedTable[byte & ~kBreakBit];
  if (!key) {
    // Multimedia and ACPI keys (E0 20 "Mute", E0 5E "Power", ...) land here.
    ++stats_.unknown_scancodes;
    return std::nullopt;
  }
  return emit(*key, (byte & kBreakBit) == 0);
}

std::optional<ScancodeEvent> ScancodeSet1Decoder::feed_after_e1(std::uint8_t byte) {
  if ((byte & ~kBreakBit) != kPauseSecondByte) return abandon_sequence_and_retry(byte);
  pause_release_ = (byte & kBreakBit) != 0;
  state_ = State::AfterE1SecondByte;
  return std::nullopt;
}

std::optional<ScancodeEvent> ScancodeSet1Decoder::feed_after_e1_second_byte(std::uint8_t byte) {
  const std::uint8_t expected = pause_release_ ? (kPauseThirdByte | kBreakBit) : kPauseThirdByte;
  if (byte != expected) return abandon_sequence_and_retry(byte);
  state_ = State::Ready;
  return emit(KeyCode::Pause, !pause_release_);
}

std::optional<ScancodeEvent> ScancodeSet1Decoder::emit(KeyCode key, bool pressed) {
  ++stats_.events;
  return ScancodeEvent{key, pressed};
}

// The bytes seen so far were not a valid sequence. Decode `byte` afresh so that one lost byte
// costs at most the interrupted key, not the next one as well.
std::optional<ScancodeEvent> ScancodeSet1Decoder::abandon_sequence_and_retry(std::uint8_t byte) {
  ++stats_.broken_sequences;
  state_ = State::Ready;
  return feed_ready(byte);
}

}  // namespace ferrite::drivers::keyboard
