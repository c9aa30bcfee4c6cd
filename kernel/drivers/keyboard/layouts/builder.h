// Helpers for writing a layout as a readable list of "key: characters" lines. Used only by
// layouts/*.cpp; everything here runs at compile time.
#pragma once

#include <span>

#include "drivers/keyboard/layout.h"

namespace ferrite::drivers::keyboard::layout_builder {

struct Entry {
  KeyCode key;
  KeyCharacters characters;
};

constexpr KeyCharacters letter(char32_t lower, char32_t upper, char32_t altgr = 0,
                               char32_t shifted_altgr = 0) {
  return {KeyKind::Letter, lower, upper, altgr, shifted_altgr};
}

constexpr KeyCharacters symbol(char32_t plain, char32_t shifted, char32_t altgr = 0,
                               char32_t shifted_altgr = 0) {
  return {KeyKind::Symbol, plain, shifted, altgr, shifted_altgr};
}

constexpr KeyCharacters fixed(char32_t character) {
  return {KeyKind::Fixed, character, character, character, character};
}

constexpr KeyCharacters keypad(char32_t character) {
  return {KeyKind::NumericKeypad, character, 0, 0, 0};
}

// Keys that type the same in every layout here. A layout may still override them (the German
// keypad's decimal key types ',').
constexpr Entry kCommonKeys[] = {
    {KeyCode::Escape, fixed(U'\x1B')},      {KeyCode::Backspace, fixed(U'\b')},
    {KeyCode::Tab, fixed(U'\t')},           {KeyCode::Enter, fixed(U'\n')},
    {KeyCode::Space, fixed(U' ')},          {KeyCode::KeypadDivide, fixed(U'/')},
    {KeyCode::KeypadMultiply, fixed(U'*')}, {KeyCode::KeypadMinus, fixed(U'-')},
    {KeyCode::KeypadPlus, fixed(U'+')},     {KeyCode::KeypadEnter, fixed(U'\n')},
    {KeyCode::Keypad0, keypad(U'0')},       {KeyCode::Keypad1, keypad(U'1')},
    {KeyCode::Keypad2, keypad(U'2')},       {KeyCode::Keypad3, keypad(U'3')},
    {KeyCode::Keypad4, keypad(U'4')},       {KeyCode::Keypad5, keypad(U'5')},
    {KeyCode::Keypad6, keypad(U'6')},       {KeyCode::Keypad7, keypad(U'7')},
    {KeyCode::Keypad8, keypad(U'8')},       {KeyCode::Keypad9, keypad(U'9')},
    {KeyCode::KeypadPeriod, keypad(U'.')},
};

// The keys every layout must give characters to: the 48 keys of the main block.
constexpr KeyCode kTypingKeys[] = {
    KeyCode::Backtick,
    KeyCode::Digit1,
    KeyCode::Digit2,
    KeyCode::Digit3,
    KeyCode::Digit4,
    KeyCode::Digit5,
    KeyCode::Digit6,
    KeyCode::Digit7,
    KeyCode::Digit8,
    KeyCode::Digit9,
    KeyCode::Digit0,
    KeyCode::Minus,
    KeyCode::Equals,
    KeyCode::Q,
    KeyCode::W,
    KeyCode::E,
    KeyCode::R,
    KeyCode::T,
    KeyCode::Y,
    KeyCode::U,
    KeyCode::I,
    KeyCode::O,
    KeyCode::P,
    KeyCode::LeftBracket,
    KeyCode::RightBracket,
    KeyCode::Backslash,
    KeyCode::A,
    KeyCode::S,
    KeyCode::D,
    KeyCode::F,
    KeyCode::G,
    KeyCode::H,
    KeyCode::J,
    KeyCode::K,
    KeyCode::L,
    KeyCode::Semicolon,
    KeyCode::Apostrophe,
    KeyCode::NonUsBackslash,
    KeyCode::Z,
    KeyCode::X,
    KeyCode::C,
    KeyCode::V,
    KeyCode::B,
    KeyCode::N,
    KeyCode::M,
    KeyCode::Comma,
    KeyCode::Period,
    KeyCode::Slash,
};

enum class RightAlt : bool { IsAlt = false, IsAltGr = true };

// Each layout file checks its list with this in a static_assert, so a key listed twice or a
// forgotten key is a compile error rather than a silent gap.
constexpr bool lists_every_typing_key_once(std::span<const Entry> entries) {
  std::array<int, kKeyCodeCount> listed{};
  for (const Entry& entry : entries) {
    if (!is_defined(entry.key) || ++listed[index_of(entry.key)] > 1) return false;
  }
  for (KeyCode key : kTypingKeys) {
    if (listed[index_of(key)] == 0) return false;
  }
  return true;
}

// The common keys first, then the layout's own entries on top.
constexpr Layout make_layout(std::string_view name, std::string_view description,
                             RightAlt right_alt, std::span<const Entry> entries) {
  Layout layout{name, description, right_alt == RightAlt::IsAltGr, {}};
  for (const Entry& entry : kCommonKeys) layout.keys[index_of(entry.key)] = entry.characters;
  for (const Entry& entry : entries) layout.keys[index_of(entry.key)] = entry.characters;
  return layout;
}

}  // namespace ferrite::drivers::keyboard::layout_builder
