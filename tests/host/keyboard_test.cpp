// Host tests of the PS/2 keyboard decoder (scancode set 1), the modifier state and the layouts.
// The scancode and character tables below are written out independently of the kernel's tables
// (from the Microsoft "Keyboard Scan Code Specification" rev 1.3a appendix A and the key caps
// of the US, UK and German keyboards), so a wrong entry on either side makes a test fail.
#include "drivers/keyboard/keyboard.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferrite::drivers::keyboard {
namespace {

using Bytes = std::vector<std::uint8_t>;

// ---------------------------------------------------------------------------------------------
// Independent scancode table: every key of a 105-key keyboard with its make and break bytes.

struct PhysicalKey {
  KeyCode key;
  Bytes make;
  Bytes release;
};

PhysicalKey plain_key(KeyCode key, std::uint8_t code) {
  return {key, {code}, {static_cast<std::uint8_t>(code | 0x80)}};
}
PhysicalKey e0_key(KeyCode key, std::uint8_t code) {
  return {key, {0xE0, code}, {0xE0, static_cast<std::uint8_t>(code | 0x80)}};
}

const std::vector<PhysicalKey>& all_physical_keys() {
  using K = KeyCode;
  static const std::vector<PhysicalKey> keys = {
      plain_key(K::Escape, 0x01),
      plain_key(K::F1, 0x3B),
      plain_key(K::F2, 0x3C),
      plain_key(K::F3, 0x3D),
      plain_key(K::F4, 0x3E),
      plain_key(K::F5, 0x3F),
      plain_key(K::F6, 0x40),
      plain_key(K::F7, 0x41),
      plain_key(K::F8, 0x42),
      plain_key(K::F9, 0x43),
      plain_key(K::F10, 0x44),
      plain_key(K::F11, 0x57),
      plain_key(K::F12, 0x58),
      {K::PrintScreen, {0xE0, 0x2A, 0xE0, 0x37}, {0xE0, 0xB7, 0xE0, 0xAA}},
      plain_key(K::ScrollLock, 0x46),
      {K::Pause, {0xE1, 0x1D, 0x45}, {0xE1, 0x9D, 0xC5}},
      plain_key(K::Backtick, 0x29),
      plain_key(K::Digit1, 0x02),
      plain_key(K::Digit2, 0x03),
      plain_key(K::Digit3, 0x04),
      plain_key(K::Digit4, 0x05),
      plain_key(K::Digit5, 0x06),
      plain_key(K::Digit6, 0x07),
      plain_key(K::Digit7, 0x08),
      plain_key(K::Digit8, 0x09),
      plain_key(K::Digit9, 0x0A),
      plain_key(K::Digit0, 0x0B),
      plain_key(K::Minus, 0x0C),
      plain_key(K::Equals, 0x0D),
      plain_key(K::Backspace, 0x0E),
      plain_key(K::Tab, 0x0F),
      plain_key(K::Q, 0x10),
      plain_key(K::W, 0x11),
      plain_key(K::E, 0x12),
      plain_key(K::R, 0x13),
      plain_key(K::T, 0x14),
      plain_key(K::Y, 0x15),
      plain_key(K::U, 0x16),
      plain_key(K::I, 0x17),
      plain_key(K::O, 0x18),
      plain_key(K::P, 0x19),
      plain_key(K::LeftBracket, 0x1A),
      plain_key(K::RightBracket, 0x1B),
      plain_key(K::Backslash, 0x2B),
      plain_key(K::CapsLock, 0x3A),
      plain_key(K::A, 0x1E),
      plain_key(K::S, 0x1F),
      plain_key(K::D, 0x20),
      plain_key(K::F, 0x21),
      plain_key(K::G, 0x22),
      plain_key(K::H, 0x23),
      plain_key(K::J, 0x24),
      plain_key(K::K, 0x25),
      plain_key(K::L, 0x26),
      plain_key(K::Semicolon, 0x27),
      plain_key(K::Apostrophe, 0x28),
      plain_key(K::Enter, 0x1C),
      plain_key(K::LShift, 0x2A),
      plain_key(K::NonUsBackslash, 0x56),
      plain_key(K::Z, 0x2C),
      plain_key(K::X, 0x2D),
      plain_key(K::C, 0x2E),
      plain_key(K::V, 0x2F),
      plain_key(K::B, 0x30),
      plain_key(K::N, 0x31),
      plain_key(K::M, 0x32),
      plain_key(K::Comma, 0x33),
      plain_key(K::Period, 0x34),
      plain_key(K::Slash, 0x35),
      plain_key(K::RShift, 0x36),
      plain_key(K::LCtrl, 0x1D),
      e0_key(K::LGui, 0x5B),
      plain_key(K::LAlt, 0x38),
      plain_key(K::Space, 0x39),
      e0_key(K::RAlt, 0x38),
      e0_key(K::RGui, 0x5C),
      e0_key(K::Menu, 0x5D),
      e0_key(K::RCtrl, 0x1D),
      e0_key(K::Insert, 0x52),
      e0_key(K::Home, 0x47),
      e0_key(K::PageUp, 0x49),
      e0_key(K::Delete, 0x53),
      e0_key(K::End, 0x4F),
      e0_key(K::PageDown, 0x51),
      e0_key(K::ArrowUp, 0x48),
      e0_key(K::ArrowLeft, 0x4B),
      e0_key(K::ArrowDown, 0x50),
      e0_key(K::ArrowRight, 0x4D),
      plain_key(K::NumLock, 0x45),
      e0_key(K::KeypadDivide, 0x35),
      plain_key(K::KeypadMultiply, 0x37),
      plain_key(K::KeypadMinus, 0x4A),
      plain_key(K::Keypad7, 0x47),
      plain_key(K::Keypad8, 0x48),
      plain_key(K::Keypad9, 0x49),
      plain_key(K::KeypadPlus, 0x4E),
      plain_key(K::Keypad4, 0x4B),
      plain_key(K::Keypad5, 0x4C),
      plain_key(K::Keypad6, 0x4D),
      plain_key(K::Keypad1, 0x4F),
      plain_key(K::Keypad2, 0x50),
      plain_key(K::Keypad3, 0x51),
      e0_key(K::KeypadEnter, 0x1C),
      plain_key(K::Keypad0, 0x52),
      plain_key(K::KeypadPeriod, 0x53),
  };
  return keys;
}

// Other codes that also name a key: the keyboard sends them only while a modifier is held.
constexpr std::uint8_t kSysRqCode = 0x54;        // Alt + Print Screen
constexpr std::uint8_t kCtrlBreakE0Code = 0x46;  // Ctrl + Pause, after E0
constexpr std::uint8_t kPrintScreenE0Code = 0x37;

// ---------------------------------------------------------------------------------------------
// Helpers

std::vector<KeyEvent> feed_all(Keyboard& keyboard, const Bytes& bytes) {
  std::vector<KeyEvent> events;
  for (std::uint8_t byte : bytes) {
    if (auto event = keyboard.feed(byte)) events.push_back(*event);
  }
  return events;
}

// Feeds `bytes`, which must produce exactly one event, and returns it.
KeyEvent feed_one(Keyboard& keyboard, const Bytes& bytes) {
  std::vector<KeyEvent> events = feed_all(keyboard, bytes);
  EXPECT_EQ(events.size(), 1u);
  if (events.empty()) return KeyEvent{KeyCode::Escape, false, {}, 0xFFFF};
  return events.front();
}

std::string hex(char32_t c) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "U+%04X", static_cast<unsigned>(c));
  return buffer;
}

// ---------------------------------------------------------------------------------------------
// Independent character tables, row by row as printed on the keys.

constexpr KeyCode kNumberRow[] = {
    KeyCode::Backtick, KeyCode::Digit1, KeyCode::Digit2, KeyCode::Digit3, KeyCode::Digit4,
    KeyCode::Digit5,   KeyCode::Digit6, KeyCode::Digit7, KeyCode::Digit8, KeyCode::Digit9,
    KeyCode::Digit0,   KeyCode::Minus,  KeyCode::Equals};
constexpr KeyCode kTopRow[] = {KeyCode::Q,        KeyCode::W,           KeyCode::E,
                               KeyCode::R,        KeyCode::T,           KeyCode::Y,
                               KeyCode::U,        KeyCode::I,           KeyCode::O,
                               KeyCode::P,        KeyCode::LeftBracket, KeyCode::RightBracket,
                               KeyCode::Backslash};
constexpr KeyCode kHomeRow[] = {KeyCode::A, KeyCode::S,         KeyCode::D,         KeyCode::F,
                                KeyCode::G, KeyCode::H,         KeyCode::J,         KeyCode::K,
                                KeyCode::L, KeyCode::Semicolon, KeyCode::Apostrophe};
constexpr KeyCode kBottomRow[] = {KeyCode::NonUsBackslash,
                                  KeyCode::Z,
                                  KeyCode::X,
                                  KeyCode::C,
                                  KeyCode::V,
                                  KeyCode::B,
                                  KeyCode::N,
                                  KeyCode::M,
                                  KeyCode::Comma,
                                  KeyCode::Period,
                                  KeyCode::Slash};

struct Row {
  std::span<const KeyCode> keys;
  std::u32string_view plain;
  std::u32string_view shifted;
};

struct AltGrCharacter {
  KeyCode key;
  char32_t altgr;
  char32_t shifted_altgr;
};

struct LayoutExpectation {
  std::string_view name;
  bool right_alt_is_altgr;
  std::vector<Row> rows;
  std::vector<AltGrCharacter> altgr;  // every key not listed types nothing under AltGr
  char32_t keypad_decimal;
};

const std::vector<LayoutExpectation>& layout_expectations() {
  static const std::vector<LayoutExpectation> expectations = {
      {"us",
       false,
       {
           {kNumberRow, U"`1234567890-=", U"~!@#$%^&*()_+"},
           {kTopRow, U"qwertyuiop[]\\", U"QWERTYUIOP{}|"},
           {kHomeRow, U"asdfghjkl;'", U"ASDFGHJKL:\""},
           {kBottomRow, U"\\zxcvbnm,./", U"|ZXCVBNM<>?"},
       },
       {},
       U'.'},
      {"uk",
       true,
       {
           {kNumberRow, U"`1234567890-=", U"¬!\"£$%^&*()_+"},
           {kTopRow, U"qwertyuiop[]#", U"QWERTYUIOP{}~"},
           {kHomeRow, U"asdfghjkl;'", U"ASDFGHJKL:@"},
           {kBottomRow, U"\\zxcvbnm,./", U"|ZXCVBNM<>?"},
       },
       {
           {KeyCode::Backtick, U'¦', 0},
           {KeyCode::Digit4, U'€', 0},
           {KeyCode::E, U'é', U'É'},
           {KeyCode::U, U'ú', U'Ú'},
           {KeyCode::I, U'í', U'Í'},
           {KeyCode::O, U'ó', U'Ó'},
           {KeyCode::A, U'á', U'Á'},
       },
       U'.'},
      {"de",
       true,
       {
           {kNumberRow, U"^1234567890ß´", U"°!\"§$%&/()=?`"},
           {kTopRow, U"qwertzuiopü+#", U"QWERTZUIOPÜ*'"},
           {kHomeRow, U"asdfghjklöä", U"ASDFGHJKLÖÄ"},
           {kBottomRow, U"<yxcvbnm,.-", U">YXCVBNM;:_"},
       },
       {
           {KeyCode::Digit2, U'²', 0},
           {KeyCode::Digit3, U'³', 0},
           {KeyCode::Digit7, U'{', 0},
           {KeyCode::Digit8, U'[', 0},
           {KeyCode::Digit9, U']', 0},
           {KeyCode::Digit0, U'}', 0},
           {KeyCode::Minus, U'\\', 0},
           {KeyCode::Q, U'@', 0},
           {KeyCode::E, U'€', 0},
           {KeyCode::RightBracket, U'~', 0},
           {KeyCode::NonUsBackslash, U'|', 0},
           {KeyCode::M, U'µ', 0},
       },
       U','},
  };
  return expectations;
}

// What a key should type, per the tables above.
struct ExpectedKey {
  enum class Kind { Nothing, Fixed, Typing, Keypad } kind = Kind::Nothing;
  char32_t plain = 0;
  char32_t shifted = 0;
  char32_t altgr = 0;
  char32_t shifted_altgr = 0;
};

ExpectedKey expected_key(const LayoutExpectation& layout, KeyCode key) {
  using Kind = ExpectedKey::Kind;
  for (const Row& row : layout.rows) {
    EXPECT_EQ(row.keys.size(), row.plain.size());
    EXPECT_EQ(row.keys.size(), row.shifted.size());
    for (std::size_t i = 0; i < row.keys.size(); ++i) {
      if (row.keys[i] != key) continue;
      ExpectedKey expected{Kind::Typing, row.plain[i], row.shifted[i], 0, 0};
      for (const AltGrCharacter& extra : layout.altgr) {
        if (extra.key == key) {
          expected.altgr = extra.altgr;
          expected.shifted_altgr = extra.shifted_altgr;
        }
      }
      return expected;
    }
  }
  switch (key) {
    case KeyCode::Escape:
      return {Kind::Fixed, 0x1B};
    case KeyCode::Backspace:
      return {Kind::Fixed, 0x08};
    case KeyCode::Tab:
      return {Kind::Fixed, 0x09};
    case KeyCode::Enter:
      return {Kind::Fixed, 0x0A};
    case KeyCode::KeypadEnter:
      return {Kind::Fixed, 0x0A};
    case KeyCode::Space:
      return {Kind::Fixed, U' '};
    case KeyCode::KeypadDivide:
      return {Kind::Fixed, U'/'};
    case KeyCode::KeypadMultiply:
      return {Kind::Fixed, U'*'};
    case KeyCode::KeypadMinus:
      return {Kind::Fixed, U'-'};
    case KeyCode::KeypadPlus:
      return {Kind::Fixed, U'+'};
    case KeyCode::Keypad0:
      return {Kind::Keypad, U'0'};
    case KeyCode::Keypad1:
      return {Kind::Keypad, U'1'};
    case KeyCode::Keypad2:
      return {Kind::Keypad, U'2'};
    case KeyCode::Keypad3:
      return {Kind::Keypad, U'3'};
    case KeyCode::Keypad4:
      return {Kind::Keypad, U'4'};
    case KeyCode::Keypad5:
      return {Kind::Keypad, U'5'};
    case KeyCode::Keypad6:
      return {Kind::Keypad, U'6'};
    case KeyCode::Keypad7:
      return {Kind::Keypad, U'7'};
    case KeyCode::Keypad8:
      return {Kind::Keypad, U'8'};
    case KeyCode::Keypad9:
      return {Kind::Keypad, U'9'};
    case KeyCode::KeypadPeriod:
      return {Kind::Keypad, layout.keypad_decimal};
    default:
      return {};
  }
}

bool is_letter(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') ||
         std::u32string_view(U"äöüÄÖÜ").find(c) != std::u32string_view::npos;
}

// The control code a shell expects for Ctrl+<character>; 0 when there is none.
char32_t expected_with_ctrl(char32_t c) {
  if (c >= U'a' && c <= U'z') return c - U'a' + 1;  // Ctrl+c = 0x03
  if (c >= U'A' && c <= U'Z') return c - U'A' + 1;  // Ctrl+Shift+C too
  if (std::u32string_view(U"[\\]^_").find(c) != std::u32string_view::npos) return c - 0x40;
  if (c == 0x08 || c == 0x09 || c == 0x0A || c == 0x1B) return c;  // keys that are controls
  return 0;                                                        // incl. Ctrl+@ (NUL)
}

struct Combination {
  bool shift;
  bool caps_lock;
  bool ctrl;
  bool altgr;  // right Alt
  bool num_lock;
  bool alt;  // left Alt
};

std::string describe(const Combination& combination) {
  std::string text;
  if (combination.shift) text += "Shift+";
  if (combination.caps_lock) text += "CapsLock+";
  if (combination.ctrl) text += "Ctrl+";
  if (combination.altgr) text += "RightAlt+";
  if (combination.num_lock) text += "NumLock+";
  if (combination.alt) text += "LeftAlt+";
  return text.empty() ? "(no modifiers)" : text;
}

char32_t expected_character(const LayoutExpectation& layout, KeyCode key,
                            const Combination& combination) {
  using Kind = ExpectedKey::Kind;
  const ExpectedKey expected = expected_key(layout, key);
  const bool altgr = combination.altgr && layout.right_alt_is_altgr;
  // Alt+key is a shortcut, not text: left Alt, and right Alt where it is not AltGr (US).
  if (combination.alt || (combination.altgr && !altgr)) return 0;
  char32_t c = 0;
  switch (expected.kind) {
    case Kind::Nothing:
      return 0;
    case Kind::Fixed:
      c = expected.plain;
      break;
    case Kind::Keypad:
      c = (combination.num_lock != combination.shift) ? expected.plain : 0;
      break;
    case Kind::Typing:
      if (altgr) {
        c = combination.shift ? expected.shifted_altgr : expected.altgr;
      } else {
        const bool caps = combination.caps_lock && is_letter(expected.plain);
        c = (combination.shift != caps) ? expected.shifted : expected.plain;
      }
      break;
  }
  if (combination.ctrl && !altgr) c = expected_with_ctrl(c);
  return c;
}

// Presses the modifiers of `combination`, then `key`, then releases everything. Returns the
// key's press event after checking that the key produced exactly one press and one release.
KeyEvent type_key(Keyboard& keyboard, const PhysicalKey& key, const Combination& combination) {
  if (combination.caps_lock) feed_all(keyboard, {0x3A, 0xBA});
  if (combination.num_lock) feed_all(keyboard, {0x45, 0xC5});
  if (combination.shift) feed_all(keyboard, {0x2A});
  if (combination.ctrl) feed_all(keyboard, {0x1D});
  if (combination.altgr) feed_all(keyboard, {0xE0, 0x38});
  if (combination.alt) feed_all(keyboard, {0x38});

  const KeyEvent press = feed_one(keyboard, key.make);
  EXPECT_EQ(press.key, key.key);
  EXPECT_TRUE(press.pressed);
  const KeyEvent release = feed_one(keyboard, key.release);
  EXPECT_EQ(release.key, key.key);
  EXPECT_FALSE(release.pressed);
  EXPECT_EQ(release.character, 0u);

  if (combination.alt) feed_all(keyboard, {0xB8});
  if (combination.altgr) feed_all(keyboard, {0xE0, 0xB8});
  if (combination.ctrl) feed_all(keyboard, {0x9D});
  if (combination.shift) feed_all(keyboard, {0xAA});
  return press;
}

// ---------------------------------------------------------------------------------------------
// KeyCode

TEST(KeyCode, NamesAreUniqueAndEveryKeyIsDefined) {
  std::vector<std::string_view> names;
  for (KeyCode key : kAllKeyCodes) {
    EXPECT_TRUE(is_defined(key));
    EXPECT_NE(to_string(key), "?");
    for (std::string_view seen : names) EXPECT_NE(seen, to_string(key));
    names.push_back(to_string(key));
  }
  EXPECT_EQ(names.size(), 105u);
  EXPECT_EQ(to_string(KeyCode::NonUsBackslash), "NonUsBackslash");
  EXPECT_FALSE(is_defined(static_cast<KeyCode>(kKeyCodeCount)));
  EXPECT_EQ(to_string(static_cast<KeyCode>(200)), "?");
}

TEST(KeyCode, TheTestTableCoversEveryKeyOnce) {
  std::vector<int> seen(kKeyCodeCount, 0);
  for (const PhysicalKey& key : all_physical_keys()) ++seen[index_of(key.key)];
  for (KeyCode key : kAllKeyCodes) EXPECT_EQ(seen[index_of(key)], 1) << to_string(key);
}

// ---------------------------------------------------------------------------------------------
// Scancode decoder

TEST(ScancodeSet1, EveryKeyMakeAndBreak) {
  for (const PhysicalKey& key : all_physical_keys()) {
    SCOPED_TRACE(std::string(to_string(key.key)));
    ScancodeSet1Decoder decoder;
    std::vector<ScancodeEvent> events;
    for (std::uint8_t byte : key.make) {
      if (auto event = decoder.feed(byte)) events.push_back(*event);
    }
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].key, key.key);
    EXPECT_TRUE(events[0].pressed);
    events.clear();
    for (std::uint8_t byte : key.release) {
      if (auto event = decoder.feed(byte)) events.push_back(*event);
    }
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].key, key.key);
    EXPECT_FALSE(events[0].pressed);
    EXPECT_EQ(decoder.stats().events, 2u);
    EXPECT_EQ(decoder.stats().unknown_scancodes, 0u);
    EXPECT_EQ(decoder.stats().broken_sequences, 0u);
  }
}

// Exhaustive: every single byte and every E0-prefixed byte, against the test's table. Catches
// codes the decoder knows but should not, as well as the reverse.
TEST(ScancodeSet1, EverySingleByteCodeMatchesTheTable) {
  for (int byte = 0; byte < 256; ++byte) {
    if (byte == 0xE0 || byte == 0xE1) continue;
    const auto code = static_cast<std::uint8_t>(byte & 0x7F);
    std::optional<KeyCode> expected;
    for (const PhysicalKey& key : all_physical_keys()) {
      if (key.make.size() == 1 && key.make[0] == code) expected = key.key;
    }
    if (code == kSysRqCode) expected = KeyCode::PrintScreen;
    // 0x00/0xFF are error reports and EE/FA/FC/FD/FE command replies, never keys.
    if (byte == 0x00 || byte == 0xFF || byte == 0xEE || byte == 0xFA || byte == 0xFC ||
        byte == 0xFD || byte == 0xFE) {
      expected.reset();
    }
    ScancodeSet1Decoder decoder;
    const std::optional<ScancodeEvent> event = decoder.feed(static_cast<std::uint8_t>(byte));
    SCOPED_TRACE(testing::Message() << "byte 0x" << std::hex << byte);
    ASSERT_EQ(event.has_value(), expected.has_value());
    if (event) {
      EXPECT_EQ(event->key, *expected);
      EXPECT_EQ(event->pressed, (byte & 0x80) == 0);
    } else {
      const DecoderStats& stats = decoder.stats();  // every dropped byte is counted somewhere
      EXPECT_EQ(stats.unknown_scancodes + stats.protocol_bytes + stats.keyboard_errors, 1u);
    }
  }
}

TEST(ScancodeSet1, EveryExtendedCodeMatchesTheTable) {
  for (int byte = 0; byte < 256; ++byte) {
    if (byte == 0xE0 || byte == 0xE1) continue;
    const auto code = static_cast<std::uint8_t>(byte & 0x7F);
    std::optional<KeyCode> expected;
    for (const PhysicalKey& key : all_physical_keys()) {
      if (key.make.size() == 2 && key.make[0] == 0xE0 && key.make[1] == code) expected = key.key;
    }
    if (code == kPrintScreenE0Code) expected = KeyCode::PrintScreen;
    if (code == kCtrlBreakE0Code) expected = KeyCode::Pause;
    if (byte == 0x00 || byte == 0xFF || byte == 0xEE || byte == 0xFA || byte == 0xFC ||
        byte == 0xFD || byte == 0xFE) {
      expected.reset();
    }
    ScancodeSet1Decoder decoder;
    EXPECT_FALSE(decoder.feed(0xE0).has_value());
    const std::optional<ScancodeEvent> event = decoder.feed(static_cast<std::uint8_t>(byte));
    SCOPED_TRACE(testing::Message() << "E0 0x" << std::hex << byte);
    ASSERT_EQ(event.has_value(), expected.has_value());
    if (event) {
      EXPECT_EQ(event->key, *expected);
      EXPECT_EQ(event->pressed, (byte & 0x80) == 0);
    }
    const bool fake_shift = code == 0x2A || code == 0x36;
    const DecoderStats& stats = decoder.stats();
    EXPECT_EQ(stats.fake_shifts, fake_shift ? 1u : 0u);
    if (!event) {
      EXPECT_EQ(stats.unknown_scancodes + stats.protocol_bytes + stats.keyboard_errors +
                    stats.fake_shifts,
                1u);
    }
  }
}

TEST(ScancodeSet1, UnknownCodesAreCountedAndProduceNothing) {
  ScancodeSet1Decoder decoder;
  // 0x55 and 0x59..0x7F are unused in set 1 on a 105-key keyboard; E0 20 is "Mute".
  for (std::uint8_t byte : {0x55, 0x59, 0x7F, 0xD5, 0xFB}) EXPECT_FALSE(decoder.feed(byte));
  EXPECT_FALSE(decoder.feed(0xE0));
  EXPECT_FALSE(decoder.feed(0x20));
  EXPECT_FALSE(decoder.feed(0xE0));
  EXPECT_FALSE(decoder.feed(0xA0));
  EXPECT_EQ(decoder.stats().unknown_scancodes, 7u);
  EXPECT_EQ(decoder.stats().events, 0u);
  EXPECT_EQ(decoder.stats().bytes, 9u);
  // Decoding goes on normally afterwards.
  const auto event = decoder.feed(0x1E);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->key, KeyCode::A);
}

TEST(ScancodeSet1, PauseSendsPressAndReleaseAndNeverCtrlOrNumLock) {
  Keyboard keyboard(kUsLayout);
  const std::vector<KeyEvent> events = feed_all(keyboard, {0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].key, KeyCode::Pause);
  EXPECT_TRUE(events[0].pressed);
  EXPECT_EQ(events[1].key, KeyCode::Pause);
  EXPECT_FALSE(events[1].pressed);
  EXPECT_EQ(events[0].character, 0u);
  EXPECT_EQ(keyboard.modifiers(), Modifiers{});  // no Ctrl held, Num Lock untouched
  EXPECT_EQ(keyboard.stats().unknown_scancodes, 0u);
}

TEST(ScancodeSet1, CtrlPauseIsBreakAndKeepsCtrlHeld) {
  Keyboard keyboard(kUsLayout);
  feed_all(keyboard, {0x1D});
  const std::vector<KeyEvent> events = feed_all(keyboard, {0xE0, 0x46, 0xE0, 0xC6});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].key, KeyCode::Pause);
  EXPECT_TRUE(events[0].pressed);
  EXPECT_TRUE(events[0].modifiers.ctrl());
  EXPECT_FALSE(events[1].pressed);
  EXPECT_FALSE(feed_one(keyboard, {0x9D}).modifiers.ctrl());
}

TEST(ScancodeSet1, PrintScreenFakeShiftsChangeNothing) {
  Keyboard keyboard(kUsLayout);
  const std::vector<KeyEvent> down = feed_all(keyboard, {0xE0, 0x2A, 0xE0, 0x37});
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].key, KeyCode::PrintScreen);
  EXPECT_TRUE(down[0].pressed);
  EXPECT_FALSE(down[0].modifiers.shift());
  const std::vector<KeyEvent> up = feed_all(keyboard, {0xE0, 0xB7, 0xE0, 0xAA});
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].key, KeyCode::PrintScreen);
  EXPECT_FALSE(up[0].pressed);
  EXPECT_EQ(keyboard.stats().fake_shifts, 2u);
  EXPECT_EQ(keyboard.modifiers(), Modifiers{});
}

TEST(ScancodeSet1, AltPrintScreenIsSysRq) {
  Keyboard keyboard(kUsLayout);
  feed_all(keyboard, {0x38});
  const KeyEvent press = feed_one(keyboard, {0x54});
  EXPECT_EQ(press.key, KeyCode::PrintScreen);
  EXPECT_TRUE(press.modifiers.alt());
  EXPECT_FALSE(feed_one(keyboard, {0xD4}).pressed);
}

// With Shift held the keyboard "releases" Shift around the grey keys; with its own Num Lock on it
// "presses" Shift around them. Neither may change what the kernel thinks Shift is.
TEST(ScancodeSet1, FakeShiftsAroundNavigationKeysKeepTheRealShiftState) {
  Keyboard keyboard(kUsLayout);
  EXPECT_TRUE(feed_one(keyboard, {0x2A}).modifiers.left_shift);
  const KeyEvent insert = feed_one(keyboard, {0xE0, 0xAA, 0xE0, 0x52});
  EXPECT_EQ(insert.key, KeyCode::Insert);
  EXPECT_TRUE(insert.modifiers.left_shift);
  const KeyEvent insert_up = feed_one(keyboard, {0xE0, 0xD2, 0xE0, 0x2A});
  EXPECT_FALSE(insert_up.pressed);
  EXPECT_TRUE(keyboard.modifiers().left_shift);
  EXPECT_FALSE(feed_one(keyboard, {0xAA}).modifiers.shift());

  // Right Shift variant, around the keypad slash.
  feed_all(keyboard, {0x36});
  const KeyEvent slash = feed_one(keyboard, {0xE0, 0xB6, 0xE0, 0x35});
  EXPECT_EQ(slash.key, KeyCode::KeypadDivide);
  EXPECT_EQ(slash.character, U'/');
  EXPECT_TRUE(slash.modifiers.right_shift);
  feed_one(keyboard, {0xE0, 0xB5, 0xE0, 0x36});
  EXPECT_TRUE(keyboard.modifiers().right_shift);
  feed_all(keyboard, {0xB6});

  // Keyboard-side Num Lock on: E0 2A before the arrow, E0 AA after its release.
  const KeyEvent up = feed_one(keyboard, {0xE0, 0x2A, 0xE0, 0x48});
  EXPECT_EQ(up.key, KeyCode::ArrowUp);
  EXPECT_FALSE(up.modifiers.shift());
  feed_one(keyboard, {0xE0, 0xC8, 0xE0, 0xAA});
  EXPECT_EQ(keyboard.modifiers(), Modifiers{});
  EXPECT_EQ(keyboard.stats().fake_shifts, 6u);
}

TEST(ScancodeSet1, ProtocolBytesAreCountedAndDoNotBreakASequence) {
  ScancodeSet1Decoder decoder;
  for (std::uint8_t byte : {0xFA, 0xFE, 0xEE, 0xFC, 0xFD}) EXPECT_FALSE(decoder.feed(byte));
  EXPECT_EQ(decoder.stats().protocol_bytes, 5u);
  EXPECT_FALSE(decoder.feed(0xE0));
  EXPECT_FALSE(decoder.feed(0xFA));  // an ACK between prefix and code
  const auto event = decoder.feed(0x48);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->key, KeyCode::ArrowUp);
  EXPECT_EQ(decoder.stats().unknown_scancodes, 0u);
}

TEST(ScancodeSet1, KeyboardErrorsAbandonTheSequence) {
  for (std::uint8_t error : {0x00, 0xFF}) {
    ScancodeSet1Decoder decoder;
    EXPECT_FALSE(decoder.feed(0xE0));
    EXPECT_FALSE(decoder.feed(error));
    const auto event = decoder.feed(0x48);  // no longer extended: keypad 8
    ASSERT_TRUE(event);
    EXPECT_EQ(event->key, KeyCode::Keypad8);
    EXPECT_EQ(decoder.stats().keyboard_errors, 1u);
  }
}

TEST(ScancodeSet1, BrokenSequencesCostOnlyTheInterruptedKey) {
  struct Case {
    Bytes bytes;
    KeyCode key;
    bool pressed;
  };
  const Case cases[] = {
      {{0xE1, 0x1E}, KeyCode::A, true},              // E1 then a plain key
      {{0xE1, 0x1D, 0x9E}, KeyCode::A, false},       // E1 1D then a plain key
      {{0xE1, 0x9D, 0x45}, KeyCode::NumLock, true},  // release prefix with a press byte
      {{0xE0, 0xE0, 0x48}, KeyCode::ArrowUp, true},  // doubled E0
      {{0xE0, 0xE1, 0x1D, 0x45}, KeyCode::Pause, true},
      {{0xE1, 0xE0, 0x1D}, KeyCode::RCtrl, true},
      {{0xE1, 0xE1, 0x1D, 0x45}, KeyCode::Pause, true},
  };
  for (const Case& c : cases) {
    ScancodeSet1Decoder decoder;
    std::vector<ScancodeEvent> events;
    for (std::uint8_t byte : c.bytes) {
      if (auto event = decoder.feed(byte)) events.push_back(*event);
    }
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].key, c.key) << to_string(events[0].key);
    EXPECT_EQ(events[0].pressed, c.pressed);
    EXPECT_EQ(decoder.stats().broken_sequences, 1u);
  }
}

TEST(ScancodeSet1, ResetDropsAHalfReceivedSequence) {
  ScancodeSet1Decoder decoder;
  EXPECT_FALSE(decoder.feed(0xE0));
  decoder.reset();
  const auto event = decoder.feed(0x1D);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->key, KeyCode::LCtrl);
}

// ---------------------------------------------------------------------------------------------
// Layouts and modifiers

TEST(Layout, LookupByName) {
  EXPECT_EQ(layout_by_name("us"), &kUsLayout);
  EXPECT_EQ(layout_by_name("uk"), &kUkLayout);
  EXPECT_EQ(layout_by_name("gb"), &kUkLayout);
  EXPECT_EQ(layout_by_name("de"), &kGermanLayout);
  EXPECT_EQ(layout_by_name(""), nullptr);
  EXPECT_EQ(layout_by_name("US"), nullptr);
  EXPECT_EQ(layout_by_name("fr"), nullptr);
  EXPECT_EQ(layout_by_name("usa"), nullptr);
  EXPECT_EQ(all_layouts().size(), layout_expectations().size());
  for (const LayoutExpectation& expectation : layout_expectations()) {
    const Layout* layout = layout_by_name(expectation.name);
    ASSERT_NE(layout, nullptr) << expectation.name;
    EXPECT_EQ(layout->name, expectation.name);
    EXPECT_EQ(layout->right_alt_is_altgr, expectation.right_alt_is_altgr);
    EXPECT_FALSE(layout->description.empty());
  }
}

// The central table test: every key of every layout under every combination of Shift, Caps Lock,
// Ctrl, right Alt (AltGr) and Num Lock, typed as real scancodes through Keyboard::feed.
TEST(Layout, EveryKeyUnderEveryModifierCombination) {
  int checked = 0;
  for (const LayoutExpectation& expectation : layout_expectations()) {
    const Layout* layout = layout_by_name(expectation.name);
    ASSERT_NE(layout, nullptr);
    for (int bits = 0; bits < 64; ++bits) {
      const Combination combination{(bits & 1) != 0, (bits & 2) != 0,  (bits & 4) != 0,
                                    (bits & 8) != 0, (bits & 16) != 0, (bits & 32) != 0};
      for (const PhysicalKey& key : all_physical_keys()) {
        Keyboard keyboard(*layout);
        const KeyEvent press = type_key(keyboard, key, combination);
        const char32_t expected = expected_character(expectation, key.key, combination);
        EXPECT_EQ(hex(press.character), hex(expected))
            << expectation.name << " " << describe(combination) << to_string(key.key);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 3 * 64 * 105);
}

TEST(Layout, HandPickedCharacters) {
  struct Case {
    const Layout* layout;
    Bytes bytes;  // modifiers pressed, then the key
    char32_t expected;
  };
  const Case cases[] = {
      {&kUsLayout, {0x1D, 0x2E}, 0x03},                        // Ctrl+C
      {&kUkLayout, {0x1D, 0x2E}, 0x03},                        // Ctrl+C
      {&kGermanLayout, {0x1D, 0x2E}, 0x03},                    // Strg+C
      {&kGermanLayout, {0x1D, 0x15}, 0x1A},                    // Strg+Z: the Z key is at US "Y"
      {&kUsLayout, {0xE0, 0x1D, 0x1A}, 0x1B},                  // right Ctrl+[ = ESC
      {&kUsLayout, {0x1D, 0x03}, 0},                           // Ctrl+2: no character
      {&kUsLayout, {0x2A, 0x28}, U'"'},                        // Shift+'
      {&kUkLayout, {0x2A, 0x28}, U'@'},                        // Shift+' in the UK
      {&kUkLayout, {0x2A, 0x04}, U'£'},                        // Shift+3
      {&kGermanLayout, {0xE0, 0x38, 0x10}, U'@'},              // AltGr+Q
      {&kGermanLayout, {0xE0, 0x38, 0x12}, U'€'},              // AltGr+E
      {&kGermanLayout, {0xE0, 0x38, 0x08}, U'{'},              // AltGr+7
      {&kGermanLayout, {0xE0, 0x38, 0x0C}, U'\\'},             // AltGr+ß
      {&kGermanLayout, {0xE0, 0x38, 0x56}, U'|'},              // AltGr+<
      {&kGermanLayout, {0xE0, 0x38, 0x1B}, U'~'},              // AltGr++
      {&kGermanLayout, {0x3A, 0xBA, 0x28}, U'Ä'},              // Caps Lock, ä
      {&kGermanLayout, {0x3A, 0xBA, 0x0C}, U'ß'},              // Caps Lock leaves ß alone
      {&kGermanLayout, {0x3A, 0xBA, 0x02}, U'1'},              // and digits
      {&kGermanLayout, {0x3A, 0xBA, 0xE0, 0x38, 0x10}, U'@'},  // Caps + AltGr+Q
      {&kGermanLayout, {0x1D, 0xE0, 0x38, 0x10}, U'@'},        // Ctrl + AltGr+Q
      {&kUsLayout, {0xE0, 0x38, 0x10}, 0},                     // US: right Alt is Alt: no 'q'
      {&kUsLayout, {0x38, 0x2D}, 0},                           // Alt+X types nothing
      {&kGermanLayout, {0x38, 0x10}, 0},                       // left Alt+Q: nothing, not '@'
      {&kUsLayout, {0x45, 0xC5, 0x48}, U'8'},                  // Num Lock on: keypad 8
      {&kUsLayout, {0x48}, 0},                                 // Num Lock off: keypad Up
      {&kGermanLayout, {0x45, 0xC5, 0x53}, U','},              // German keypad decimal
  };
  for (const Case& c : cases) {
    Keyboard keyboard(*c.layout);
    const std::vector<KeyEvent> events = feed_all(keyboard, c.bytes);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(hex(events.back().character), hex(c.expected)) << c.layout->name;
  }
}

TEST(Modifiers, ReportedStateAfterEachEvent) {
  Keyboard keyboard(kGermanLayout);
  KeyEvent event = feed_one(keyboard, {0x2A});
  EXPECT_TRUE(event.modifiers.left_shift);
  event = feed_one(keyboard, {0x36});
  EXPECT_TRUE(event.modifiers.right_shift);
  event = feed_one(keyboard, {0xAA});  // one Shift up, the other still held
  EXPECT_TRUE(event.modifiers.shift());
  EXPECT_EQ(feed_one(keyboard, {0x1E}).character, U'A');
  feed_one(keyboard, {0xB6});
  EXPECT_FALSE(keyboard.modifiers().shift());

  event = feed_one(keyboard, {0xE0, 0x38});
  EXPECT_TRUE(event.modifiers.right_alt);
  EXPECT_TRUE(event.modifiers.altgr);
  EXPECT_FALSE(event.modifiers.alt());
  feed_one(keyboard, {0xE0, 0xB8});
  event = feed_one(keyboard, {0x38});
  EXPECT_TRUE(event.modifiers.alt());
  feed_one(keyboard, {0xB8});

  event = feed_one(keyboard, {0xE0, 0x5B});
  EXPECT_TRUE(event.modifiers.left_gui);
  EXPECT_TRUE(event.modifiers.gui());
  feed_one(keyboard, {0xE0, 0xDB});
  event = feed_one(keyboard, {0xE0, 0x1D});
  EXPECT_TRUE(event.modifiers.right_ctrl);
  EXPECT_TRUE(event.modifiers.ctrl());
  feed_one(keyboard, {0xE0, 0x9D});
  EXPECT_EQ(keyboard.modifiers(), Modifiers{});
}

TEST(Modifiers, LocksToggleOnceWhileTheKeyRepeats) {
  Keyboard keyboard(kUsLayout);
  const std::vector<KeyEvent> events = feed_all(keyboard, {0x3A, 0x3A, 0x3A, 0xBA});
  ASSERT_EQ(events.size(), 4u);
  for (const KeyEvent& event : events) EXPECT_TRUE(event.modifiers.caps_lock);
  EXPECT_EQ(feed_one(keyboard, {0x1E}).character, U'A');
  EXPECT_FALSE(feed_one(keyboard, {0x3A}).modifiers.caps_lock);
  feed_all(keyboard, {0xBA});
  EXPECT_EQ(feed_one(keyboard, {0x1E}).character, U'a');

  EXPECT_TRUE(feed_one(keyboard, {0x45}).modifiers.num_lock);
  EXPECT_TRUE(feed_one(keyboard, {0x45}).modifiers.num_lock);  // repeat
  feed_all(keyboard, {0xC5});
  EXPECT_TRUE(feed_one(keyboard, {0x46}).modifiers.scroll_lock);
  feed_all(keyboard, {0xC6});
  EXPECT_FALSE(feed_one(keyboard, {0x46}).modifiers.scroll_lock);
  EXPECT_TRUE(keyboard.modifiers().num_lock);
}

TEST(Modifiers, SwitchingLayoutKeepsStateAndReevaluatesAltGr) {
  Keyboard keyboard(kUsLayout);
  feed_all(keyboard, {0x3A, 0xBA, 0xE0, 0x38});
  EXPECT_FALSE(keyboard.modifiers().altgr);
  EXPECT_TRUE(keyboard.modifiers().alt());
  keyboard.set_layout(kGermanLayout);
  EXPECT_EQ(&keyboard.layout(), &kGermanLayout);
  EXPECT_TRUE(keyboard.modifiers().altgr);
  EXPECT_TRUE(keyboard.modifiers().caps_lock);
  EXPECT_EQ(feed_one(keyboard, {0x10}).character, U'@');
  keyboard.set_layout(kUsLayout);
  EXPECT_FALSE(keyboard.modifiers().altgr);
  EXPECT_EQ(feed_one(keyboard, {0x10}).character, 0u);  // Alt+q (right Alt is Alt again): no text
}

TEST(Modifiers, ControlCharacterRule) {
  EXPECT_EQ(control_character(U'c'), 0x03u);
  EXPECT_EQ(control_character(U'C'), 0x03u);
  EXPECT_EQ(control_character(U'['), 0x1Bu);
  EXPECT_EQ(control_character(U'_'), 0x1Fu);
  EXPECT_EQ(control_character(U'@'), 0u);
  EXPECT_EQ(control_character(U'\n'), U'\n');
  EXPECT_EQ(control_character(U'1'), 0u);
  EXPECT_EQ(control_character(U'ä'), 0u);
  EXPECT_EQ(control_character(U' '), 0u);
}

// ---------------------------------------------------------------------------------------------
// Robustness: random byte streams

// A model of what the modifiers must be, built only from the events the keyboard emitted.
struct ModifierModel {
  bool left_shift = false, right_shift = false, left_ctrl = false, right_ctrl = false;
  bool left_alt = false, right_alt = false, left_gui = false, right_gui = false;
  bool caps_lock = false, num_lock = false, scroll_lock = false;
  bool caps_held = false, num_held = false, scroll_held = false;

  void apply(const KeyEvent& event) {
    auto toggle = [&](bool& held, bool& lock) {
      if (event.pressed && !held) lock = !lock;
      held = event.pressed;
    };
    switch (event.key) {
      case KeyCode::LShift:
        left_shift = event.pressed;
        break;
      case KeyCode::RShift:
        right_shift = event.pressed;
        break;
      case KeyCode::LCtrl:
        left_ctrl = event.pressed;
        break;
      case KeyCode::RCtrl:
        right_ctrl = event.pressed;
        break;
      case KeyCode::LAlt:
        left_alt = event.pressed;
        break;
      case KeyCode::RAlt:
        right_alt = event.pressed;
        break;
      case KeyCode::LGui:
        left_gui = event.pressed;
        break;
      case KeyCode::RGui:
        right_gui = event.pressed;
        break;
      case KeyCode::CapsLock:
        toggle(caps_held, caps_lock);
        break;
      case KeyCode::NumLock:
        toggle(num_held, num_lock);
        break;
      case KeyCode::ScrollLock:
        toggle(scroll_held, scroll_lock);
        break;
      default:
        break;
    }
  }

  Modifiers expected(const Layout& layout) const {
    return Modifiers{left_shift, right_shift, left_ctrl,
                     right_ctrl, left_alt,    right_alt,
                     left_gui,   right_gui,   right_alt && layout.right_alt_is_altgr,
                     caps_lock,  num_lock,    scroll_lock};
  }
};

bool character_is_consistent(const Layout& layout, const KeyEvent& event) {
  if (event.character == 0) return true;
  if (!event.pressed) return false;
  const KeyCharacters& characters = layout[event.key];
  if (characters.kind == KeyKind::NoCharacter) return false;
  if (event.modifiers.alt()) return false;  // Alt+key is a shortcut, not text
  for (char32_t level :
       {characters.plain, characters.shifted, characters.altgr, characters.shifted_altgr}) {
    if (level == 0) continue;
    if (event.character == level) return true;
    if (event.modifiers.ctrl() && event.character == control_character(level)) return true;
  }
  return false;
}

// Random bytes, with extra weight on the bytes that start or steer sequences, plus whole valid
// key codes so that every key and every modifier state actually occurs.
class ByteSource {
 public:
  explicit ByteSource(std::uint32_t seed) : random_(seed) {}

  void append(Bytes& out) {
    const std::uint32_t choice = random_() % 100;
    if (choice < 50) {
      out.push_back(static_cast<std::uint8_t>(random_()));
    } else if (choice < 65) {
      constexpr std::uint8_t kInteresting[] = {0xE0, 0xE1, 0x1D, 0x9D, 0x45, 0xC5, 0x2A, 0xAA,
                                               0x36, 0xB6, 0x37, 0xB7, 0x46, 0xC6, 0x54, 0x00,
                                               0xFF, 0xFA, 0x3A, 0xBA, 0x38, 0xB8};
      out.push_back(kInteresting[random_() % std::size(kInteresting)]);
    } else {
      const auto& keys = all_physical_keys();
      const PhysicalKey& key = keys[random_() % keys.size()];
      const Bytes& bytes = (random_() % 2) ? key.make : key.release;
      out.insert(out.end(), bytes.begin(), bytes.end());
    }
  }

  std::uint32_t next() { return random_(); }

 private:
  std::mt19937 random_;
};

TEST(Fuzz, MillionsOfRandomBytesNeverEmitAnUndefinedKeyOrAnInconsistentCharacter) {
  constexpr std::size_t kBytes = 5'000'000;
  ByteSource source(20240611);
  Bytes bytes;
  bytes.reserve(kBytes + 8);
  while (bytes.size() < kBytes) source.append(bytes);

  const auto start = std::chrono::steady_clock::now();
  Keyboard keyboard(kUsLayout);
  ModifierModel model;
  std::vector<bool> seen(kKeyCodeCount, false);
  std::size_t events = 0;
  std::size_t failures = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i % 100'000 == 0) {
      const auto layouts = all_layouts();
      keyboard.set_layout(*layouts[source.next() % layouts.size()]);
    }
    const std::optional<KeyEvent> event = keyboard.feed(bytes[i]);
    if (!event) continue;
    ++events;
    model.apply(*event);
    const bool ok = is_defined(event->key) && character_is_consistent(keyboard.layout(), *event) &&
                    event->modifiers == model.expected(keyboard.layout()) &&
                    event->modifiers == keyboard.modifiers();
    if (!ok && ++failures <= 5) {
      ADD_FAILURE() << "byte " << i << ": key " << static_cast<int>(event->key) << " ("
                    << to_string(event->key) << ") pressed=" << event->pressed
                    << " character=" << hex(event->character);
    }
    if (is_defined(event->key)) seen[index_of(event->key)] = true;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(failures, 0u);
  for (KeyCode key : kAllKeyCodes) EXPECT_TRUE(seen[index_of(key)]) << to_string(key);

  const DecoderStats& stats = keyboard.stats();
  EXPECT_EQ(stats.bytes, bytes.size());
  EXPECT_EQ(stats.events, events);
  EXPECT_GT(stats.unknown_scancodes, 0u);
  EXPECT_GT(stats.broken_sequences, 0u);
  EXPECT_GT(stats.fake_shifts, 0u);
  EXPECT_GT(stats.keyboard_errors, 0u);
  EXPECT_GT(stats.protocol_bytes, 0u);
  std::printf("[ fuzz ] %zu bytes -> %zu events in %.2f s (unknown %llu, broken %llu)\n",
              bytes.size(), events, seconds,
              static_cast<unsigned long long>(stats.unknown_scancodes),
              static_cast<unsigned long long>(stats.broken_sequences));
}

// Whatever garbage came before, the decoder is back in step within two bytes: "A down, A up,
// A down" always ends with A down.
TEST(Fuzz, DecoderResynchronisesAfterGarbage) {
  ByteSource source(7);
  for (int round = 0; round < 20'000; ++round) {
    Keyboard keyboard(kUsLayout);
    const std::size_t garbage = source.next() % 12;
    for (std::size_t i = 0; i < garbage; ++i)
      (void)keyboard.feed(static_cast<std::uint8_t>(source.next()));
    (void)keyboard.feed(0x1E);
    (void)keyboard.feed(0x9E);
    const std::optional<KeyEvent> last = keyboard.feed(0x1E);
    ASSERT_TRUE(last) << "round " << round;
    EXPECT_EQ(last->key, KeyCode::A);
    EXPECT_TRUE(last->pressed);
  }
}

// Every two-byte input from a fresh keyboard, in every layout: at most two events, each valid.
TEST(Fuzz, EveryTwoByteSequence) {
  for (const Layout* layout : all_layouts()) {
    for (int first = 0; first < 256; ++first) {
      for (int second = 0; second < 256; ++second) {
        Keyboard keyboard(*layout);
        ModifierModel model;
        for (int byte : {first, second}) {
          const std::optional<KeyEvent> event = keyboard.feed(static_cast<std::uint8_t>(byte));
          if (!event) continue;
          model.apply(*event);
          ASSERT_TRUE(is_defined(event->key));
          ASSERT_TRUE(character_is_consistent(*layout, *event))
              << std::hex << first << " " << second;
          ASSERT_EQ(event->modifiers, model.expected(*layout));
        }
      }
    }
  }
}

}  // namespace
}  // namespace ferrite::drivers::keyboard
