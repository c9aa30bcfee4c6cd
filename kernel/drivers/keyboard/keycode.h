// KeyCode: one value per physical key of a 104-key (ANSI) or 105-key (ISO) PC keyboard.
// A KeyCode names a key's position, never a character: the layout (layout.h) decides what it types.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ferrite::drivers::keyboard {

// Keys are named after their US legend (KeyCode::Z is the key a German keyboard labels "Y").
// The values are dense, 0 .. kKeyCodeCount-1, so they index tables directly; there is no
// "unknown" member: a scancode that maps to no key produces no KeyCode at all.
// One line per keyboard row, so the enum reads like the keyboard (hence no clang-format).
// clang-format off
enum class KeyCode : std::uint8_t {
  // Function row
  Escape, F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12, PrintScreen, ScrollLock, Pause,
  // Number row
  Backtick, Digit1, Digit2, Digit3, Digit4, Digit5, Digit6, Digit7, Digit8, Digit9, Digit0,
  Minus, Equals, Backspace,
  // Top letter row
  Tab, Q, W, E, R, T, Y, U, I, O, P, LeftBracket, RightBracket,
  Backslash,  // ANSI: above Enter. ISO: the "# ~" key left of Enter. Both send scancode 0x2B.
  // Home row
  CapsLock, A, S, D, F, G, H, J, K, L, Semicolon, Apostrophe, Enter,
  // Bottom letter row
  LShift,
  NonUsBackslash,  // ISO only: the extra key between left Shift and Z (scancode 0x56).
  Z, X, C, V, B, N, M, Comma, Period, Slash, RShift,
  // Space row
  LCtrl, LGui, LAlt, Space, RAlt, RGui, Menu, RCtrl,
  // Navigation block
  Insert, Home, PageUp, Delete, End, PageDown, ArrowUp, ArrowLeft, ArrowDown, ArrowRight,
  // Keypad
  NumLock, KeypadDivide, KeypadMultiply, KeypadMinus, Keypad7, Keypad8, Keypad9, KeypadPlus,
  Keypad4, Keypad5, Keypad6, Keypad1, Keypad2, Keypad3, KeypadEnter, Keypad0, KeypadPeriod,
};
// clang-format on

inline constexpr std::size_t kKeyCodeCount = static_cast<std::size_t>(KeyCode::KeypadPeriod) + 1;
static_assert(kKeyCodeCount == 105, "a 105-key ISO keyboard has 105 keys");

[[nodiscard]] constexpr std::size_t index_of(KeyCode key) {
  return static_cast<std::size_t>(key);
}

// True for every value a decoder may emit. Only a value forged with static_cast can fail it.
[[nodiscard]] constexpr bool is_defined(KeyCode key) {
  return index_of(key) < kKeyCodeCount;
}

namespace detail {
struct KeyName {
  KeyCode key;
  std::string_view name;
};

// Written as pairs and checked below, so a reordered enum cannot silently shift the names.
inline constexpr std::array<KeyName, kKeyCodeCount> kKeyNames{{
    {KeyCode::Escape, "Escape"},
    {KeyCode::F1, "F1"},
    {KeyCode::F2, "F2"},
    {KeyCode::F3, "F3"},
    {KeyCode::F4, "F4"},
    {KeyCode::F5, "F5"},
    {KeyCode::F6, "F6"},
    {KeyCode::F7, "F7"},
    {KeyCode::F8, "F8"},
    {KeyCode::F9, "F9"},
    {KeyCode::F10, "F10"},
    {KeyCode::F11, "F11"},
    {KeyCode::F12, "F12"},
    {KeyCode::PrintScreen, "PrintScreen"},
    {KeyCode::ScrollLock, "ScrollLock"},
    {KeyCode::Pause, "Pause"},
    {KeyCode::Backtick, "Backtick"},
    {KeyCode::Digit1, "Digit1"},
    {KeyCode::Digit2, "Digit2"},
    {KeyCode::Digit3, "Digit3"},
    {KeyCode::Digit4, "Digit4"},
    {KeyCode::Digit5, "Digit5"},
    {KeyCode::Digit6, "Digit6"},
    {KeyCode::Digit7, "Digit7"},
    {KeyCode::Digit8, "Digit8"},
    {KeyCode::Digit9, "Digit9"},
    {KeyCode::Digit0, "Digit0"},
    {KeyCode::Minus, "Minus"},
    {KeyCode::Equals, "Equals"},
    {KeyCode::Backspace, "Backspace"},
    {KeyCode::Tab, "Tab"},
    {KeyCode::Q, "Q"},
    {KeyCode::W, "W"},
    {KeyCode::E, "E"},
    {KeyCode::R, "R"},
    {KeyCode::T, "T"},
    {KeyCode::Y, "Y"},
    {KeyCode::U, "U"},
    {KeyCode::I, "I"},
    {KeyCode::O, "O"},
    {KeyCode::P, "P"},
    {KeyCode::LeftBracket, "LeftBracket"},
    {KeyCode::RightBracket, "RightBracket"},
    {KeyCode::Backslash, "Backslash"},
    {KeyCode::CapsLock, "CapsLock"},
    {KeyCode::A, "A"},
    {KeyCode::S, "S"},
    {KeyCode::D, "D"},
    {KeyCode::F, "F"},
    {KeyCode::G, "G"},
    {KeyCode::H, "H"},
    {KeyCode::J, "J"},
    {KeyCode::K, "K"},
    {KeyCode::L, "L"},
    {KeyCode::Semicolon, "Semicolon"},
    {KeyCode::Apostrophe, "Apostrophe"},
    {KeyCode::Enter, "Enter"},
    {KeyCode::LShift, "LShift"},
    {KeyCode::NonUsBackslash, "NonUsBackslash"},
    {KeyCode::Z, "Z"},
    {KeyCode::X, "X"},
    {KeyCode::C, "C"},
    {KeyCode::V, "V"},
    {KeyCode::B, "B"},
    {KeyCode::N, "N"},
    {KeyCode::M, "M"},
    {KeyCode::Comma, "Comma"},
    {KeyCode::Period, "Period"},
    {KeyCode::Slash, "Slash"},
    {KeyCode::RShift, "RShift"},
    {KeyCode::LCtrl, "LCtrl"},
    {KeyCode::LGui, "LGui"},
    {KeyCode::LAlt, "LAlt"},
    {KeyCode::Space, "Space"},
    {KeyCode::RAlt, "RAlt"},
    {KeyCode::RGui, "RGui"},
    {KeyCode::Menu, "Menu"},
    {KeyCode::RCtrl, "RCtrl"},
    {KeyCode::Insert, "Insert"},
    {KeyCode::Home, "Home"},
    {KeyCode::PageUp, "PageUp"},
    {KeyCode::Delete, "Delete"},
    {KeyCode::End, "End"},
    {KeyCode::PageDown, "PageDown"},
    {KeyCode::ArrowUp, "ArrowUp"},
    {KeyCode::ArrowLeft, "ArrowLeft"},
    {KeyCode::ArrowDown, "ArrowDown"},
    {KeyCode::ArrowRight, "ArrowRight"},
    {KeyCode::NumLock, "NumLock"},
    {KeyCode::KeypadDivide, "KeypadDivide"},
    {KeyCode::KeypadMultiply, "KeypadMultiply"},
    {KeyCode::KeypadMinus, "KeypadMinus"},
    {KeyCode::Keypad7, "Keypad7"},
    {KeyCode::Keypad8, "Keypad8"},
    {KeyCode::Keypad9, "Keypad9"},
    {KeyCode::KeypadPlus, "KeypadPlus"},
    {KeyCode::Keypad4, "Keypad4"},
    {KeyCode::Keypad5, "Keypad5"},
    {KeyCode::Keypad6, "Keypad6"},
    {KeyCode::Keypad1, "Keypad1"},
    {KeyCode::Keypad2, "Keypad2"},
    {KeyCode::Keypad3, "Keypad3"},
    {KeyCode::KeypadEnter, "KeypadEnter"},
    {KeyCode::Keypad0, "Keypad0"},
    {KeyCode::KeypadPeriod, "KeypadPeriod"},
}};

constexpr bool names_follow_enum_order() {
  for (std::size_t i = 0; i < kKeyNames.size(); ++i) {
    if (index_of(kKeyNames[i].key) != i) return false;
  }
  return true;
}
static_assert(names_follow_enum_order(), "kKeyNames must list the keys in enum order");
}  // namespace detail

// Every key, in enum order: for loops over all keys (tests, layout tables).
inline constexpr std::array<KeyCode, kKeyCodeCount> kAllKeyCodes = [] {
  std::array<KeyCode, kKeyCodeCount> keys{};
  for (std::size_t i = 0; i < kKeyCodeCount; ++i) keys[i] = detail::kKeyNames[i].key;
  return keys;
}();

[[nodiscard]] constexpr std::string_view to_string(KeyCode key) {
  return is_defined(key) ? detail::kKeyNames[index_of(key)].name : std::string_view{"?"};
}

}  // namespace ferrite::drivers::keyboard
