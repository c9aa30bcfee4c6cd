// Keyboard layouts: which character each key types at each modifier level. A layout is plain
// constant data; keyboard.h combines it with the modifier state.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "drivers/keyboard/keycode.h"

namespace ferrite::drivers::keyboard {

// How a key's characters react to the modifiers.
enum class KeyKind : std::uint8_t {
  NoCharacter,    // modifiers, locks, F-keys, navigation: the event carries only the KeyCode
  Fixed,          // one character whatever Shift/AltGr/Caps Lock say (Enter, Tab, keypad "+")
  Letter,         // Shift picks the case and Caps Lock inverts that choice
  Symbol,         // Shift picks; Caps Lock has no effect ("1" / "!")
  NumericKeypad,  // types `plain` when Num Lock is on (Shift inverts it), else acts as navigation
};

// The characters of one key. 0 means "types nothing at this level".
struct KeyCharacters {
  KeyKind kind = KeyKind::NoCharacter;
  char32_t plain = 0;
  char32_t shifted = 0;
  char32_t altgr = 0;
  char32_t shifted_altgr = 0;
};

struct Layout {
  std::string_view name;         // the kernel command line's spelling: "us", "uk", "de"
  std::string_view description;  // for humans: "German (QWERTZ, 105 keys)"
  bool right_alt_is_altgr;       // European layouts: right Alt selects the AltGr level
  std::array<KeyCharacters, kKeyCodeCount> keys;

  [[nodiscard]] constexpr const KeyCharacters& operator[](KeyCode key) const {
    return keys[index_of(key)];
  }
};

// The layouts, each defined in layouts/<name>.cpp.
extern const Layout kUsLayout;      // "us": US English, 104 keys (ANSI)
extern const Layout kUkLayout;      // "uk": United Kingdom, 105 keys (ISO)
extern const Layout kGermanLayout;  // "de": German QWERTZ, 105 keys (ISO), no dead keys

// The layout called `name` ("us", "uk", "de"; "gb" is accepted for "uk"), or nullptr.
[[nodiscard]] const Layout* layout_by_name(std::string_view name);

// Every layout, e.g. to list the valid names when the command line asks for an unknown one.
[[nodiscard]] std::span<const Layout* const> all_layouts();

}  // namespace ferrite::drivers::keyboard
