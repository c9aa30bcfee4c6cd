// Modifier tracking and character selection on top of the scancode set 1 decoder.
#include "drivers/keyboard/keyboard.h"

namespace ferrite::drivers::keyboard {

std::optional<KeyEvent> Keyboard::feed(std::uint8_t scancode) {
  const std::optional<ScancodeEvent> decoded = decoder_.feed(scancode);
  if (!decoded) return std::nullopt;
  update_modifiers(decoded->key, decoded->pressed);
  const char32_t character = decoded->pressed ? character_for(decoded->key) : 0;
  return KeyEvent{decoded->key, decoded->pressed, modifiers_, character};
}

void Keyboard::set_layout(const Layout& layout) {
  layout_ = &layout;
  modifiers_.altgr = modifiers_.right_alt && layout_->right_alt_is_altgr;
}

namespace {

// Lock keys toggle on the press, not on the typematic repeats while held.
void toggle_on_first_press(bool pressed, bool& held, bool& lock) {
  if (pressed && !held) lock = !lock;
  held = pressed;
}

}  // namespace

void Keyboard::update_modifiers(KeyCode key, bool pressed) {
  switch (key) {
    case KeyCode::LShift:
      modifiers_.left_shift = pressed;
      break;
    case KeyCode::RShift:
      modifiers_.right_shift = pressed;
      break;
    case KeyCode::LCtrl:
      modifiers_.left_ctrl = pressed;
      break;
    case KeyCode::RCtrl:
      modifiers_.right_ctrl = pressed;
      break;
    case KeyCode::LAlt:
      modifiers_.left_alt = pressed;
      break;
    case KeyCode::RAlt:
      modifiers_.right_alt = pressed;
      modifiers_.altgr = pressed && layout_->right_alt_is_altgr;
      break;
    case KeyCode::LGui:
      modifiers_.left_gui = pressed;
      break;
    case KeyCode::RGui:
      modifiers_.right_gui = pressed;
      break;
    case KeyCode::CapsLock:
      toggle_on_first_press(pressed, caps_lock_held_, modifiers_.caps_lock);
      break;
    case KeyCode::NumLock:
      toggle_on_first_press(pressed, num_lock_held_, modifiers_.num_lock);
      break;
    case KeyCode::ScrollLock:
      toggle_on_first_press(pressed, scroll_lock_held_, modifiers_.scroll_lock);
      break;
    default:
      break;  // not a modifier
  }
}

char32_t Keyboard::character_for(KeyCode key) const {
  // Alt+key is a shortcut, not text: left Alt, and right Alt on layouts without AltGr (US),
  // where "AltGr+Q" is Alt+Q. Under AltGr itself the layout's AltGr level applies.
  if (modifiers_.alt()) return 0;
  const KeyCharacters& characters = (*layout_)[key];
  const bool shift = modifiers_.shift();
  char32_t character = 0;
  switch (characters.kind) {
    case KeyKind::NoCharacter:
      return 0;
    case KeyKind::NumericKeypad:
      // Shift inverts Num Lock, as on the PC since the IBM AT: with Num Lock on, Shift+8 is Up.
      // Without the digit the key is a navigation key, which types nothing.
      character = (modifiers_.num_lock != shift) ? characters.plain : 0;
      break;
    case KeyKind::Fixed:
      character = characters.plain;
      break;
    case KeyKind::Letter:
    case KeyKind::Symbol: {
      if (modifiers_.altgr) {
        // Caps Lock leaves the AltGr level alone: Caps Lock + AltGr+Q is still '@' in German.
        character = shift ? characters.shifted_altgr : characters.altgr;
      } else {
        const bool caps = characters.kind == KeyKind::Letter && modifiers_.caps_lock;
        character = (shift != caps) ? characters.shifted : characters.plain;
      }
      break;
    }
    default:
      return 0;  // a KeyKind added without teaching this function about it
  }
  // Under AltGr, Ctrl does not make control codes: on many systems AltGr is itself Ctrl+Alt.
  if (modifiers_.ctrl() && !modifiers_.altgr) return control_character(character);
  return character;
}

}  // namespace ferrite::drivers::keyboard
