// Keyboard: scancode decoder + modifier state + layout, turning the bytes from port 0x60 into
// key events with characters. Portable and not interrupt-safe: feed it from one task, never from
// the IRQ handler (which only queues the raw bytes).
#pragma once

#include <cstdint>
#include <optional>

#include "drivers/keyboard/keycode.h"
#include "drivers/keyboard/layout.h"
#include "drivers/keyboard/scancode_set1.h"

namespace ferrite::drivers::keyboard {

// Which modifier keys are held and which locks are on, after the event they are reported with.
struct Modifiers {
  bool left_shift = false;
  bool right_shift = false;
  bool left_ctrl = false;
  bool right_ctrl = false;
  bool left_alt = false;
  bool right_alt = false;
  bool left_gui = false;
  bool right_gui = false;
  bool altgr = false;  // right Alt is held and the layout treats it as AltGr
  bool caps_lock = false;
  bool num_lock = false;
  bool scroll_lock = false;

  [[nodiscard]] constexpr bool shift() const { return left_shift || right_shift; }
  [[nodiscard]] constexpr bool ctrl() const { return left_ctrl || right_ctrl; }
  // Alt as in "Alt+Tab": left Alt, or right Alt where it is not AltGr.
  [[nodiscard]] constexpr bool alt() const { return left_alt || (right_alt && !altgr); }
  [[nodiscard]] constexpr bool gui() const { return left_gui || right_gui; }

  friend constexpr bool operator==(const Modifiers&, const Modifiers&) = default;
};

struct KeyEvent {
  KeyCode key;
  bool pressed;  // false: released (held keys repeat as further presses)
  Modifiers modifiers;
  char32_t character;  // what a press types; 0 if none (always 0 on release, and under Alt)
};

class Keyboard {
 public:
  // Starts with no keys held and all locks off.
  explicit Keyboard(const Layout& layout) : layout_(&layout) {}

  // Decodes one byte as read from port 0x60. An event when the byte completes a key's code.
  [[nodiscard]] std::optional<KeyEvent> feed(std::uint8_t scancode);

  // Switching layouts keeps held keys and locks as they are.
  void set_layout(const Layout& layout);

  [[nodiscard]] const Layout& layout() const { return *layout_; }
  [[nodiscard]] const Modifiers& modifiers() const { return modifiers_; }
  [[nodiscard]] const DecoderStats& stats() const { return decoder_.stats(); }

 private:
  void update_modifiers(KeyCode key, bool pressed);
  [[nodiscard]] char32_t character_for(KeyCode key) const;

  const Layout* layout_;
  ScancodeSet1Decoder decoder_{};
  Modifiers modifiers_{};
  // A held lock key repeats its make code; only the first one toggles the lock.
  bool caps_lock_held_ = false;
  bool num_lock_held_ = false;
  bool scroll_lock_held_ = false;
};

// The character Ctrl turns `character` into: Ctrl+letter and Ctrl+@[\]^_ give the ASCII control
// codes (Ctrl+C = 0x03, Ctrl+[ = ESC), control characters stay as they are (Ctrl+Enter), anything
// else types nothing. Ctrl+@ would be NUL, which KeyEvent cannot tell from "nothing".
[[nodiscard]] constexpr char32_t control_character(char32_t character) {
  if (character >= U'a' && character <= U'z') return character - U'a' + 1;
  if (character >= U'@' && character <= U'_') return character - U'@';
  if (character < U' ' || character == U'\x7F') return character;
  return 0;
}

// Ctrl+C (ETX, 0x03): drops the line being typed, or stops a running command.
inline constexpr char32_t kCtrlC = control_character(U'c');

}  // namespace ferrite::drivers::keyboard
