// Decoder for PS/2 scancode set 1: turns the bytes read from port 0x60 into key press and
// release events. Pure state machine, no hardware access; runs in a task, never in the IRQ handler.
//
// Set 1 in one paragraph (OSDev wiki "PS/2 Keyboard", section "Scan Code Set 1"; Microsoft
// "Keyboard Scan Code Specification" rev 1.3a, appendix "Scan Code Tables"): a key press sends a
// make code 0x01..0x7F, its release the same code with bit 7 set. Keys added by the 101-key
// keyboard send the prefix 0xE0 first. Pause is the odd one: it sends E1 1D 45 and at once
// E1 9D C5, whatever the user does. To stay compatible with old software the keyboard also wraps
// some E0 keys in "fake shift" codes E0 2A / E0 AA / E0 36 / E0 B6 (Print Screen is always
// E0 2A E0 37 ... E0 B7 E0 AA); those are not keys and are dropped here.
#pragma once

#include <cstdint>
#include <optional>

#include "drivers/keyboard/keycode.h"

namespace ferrite::drivers::keyboard {

struct ScancodeEvent {
  KeyCode key;
  bool pressed;  // false: released
};

// Counters for diagnostics (the kernel can print them); they never affect decoding.
struct DecoderStats {
  std::uint64_t bytes = 0;              // every byte fed in
  std::uint64_t events = 0;             // key events emitted
  std::uint64_t unknown_scancodes = 0;  // complete codes that name no key we know: no event
  std::uint64_t broken_sequences = 0;   // an E1 sequence interrupted by an unexpected byte
  std::uint64_t fake_shifts = 0;        // E0 2A / E0 AA / E0 36 / E0 B6, dropped on purpose
  std::uint64_t keyboard_errors = 0;    // 0x00 / 0xFF: key detection error or buffer overrun
  std::uint64_t protocol_bytes = 0;     // command replies (ACK, Resend, Echo, BAT failure)
};

class ScancodeSet1Decoder {
 public:
  // Returns an event when `byte` completes a key's code; nothing for prefixes, the fake shifts,
  // unknown codes and protocol bytes.
  [[nodiscard]] std::optional<ScancodeEvent> feed(std::uint8_t byte);

  // Drops a half-received sequence (e.g. after the controller was reset).
  void reset() { state_ = State::Ready; }

  [[nodiscard]] const DecoderStats& stats() const { return stats_; }

 private:
  enum class State : std::uint8_t {
    Ready,             // expecting the first byte of a code
    AfterE0,           // got E0, expecting an extended key's byte
    AfterE1,           // got E1, expecting 1D (Pause down) or 9D (Pause up)
    AfterE1SecondByte  // got E1 1D or E1 9D, expecting 45 or C5 respectively
  };

  std::optional<ScancodeEvent> feed_ready(std::uint8_t byte);
  std::optional<ScancodeEvent> feed_after_e0(std::uint8_t byte);
  std::optional<ScancodeEvent> feed_after_e1(std::uint8_t byte);
  std::optional<ScancodeEvent> feed_after_e1_second_byte(std::uint8_t byte);
  std::optional<ScancodeEvent> emit(KeyCode key, bool pressed);
  std::optional<ScancodeEvent> abandon_sequence_and_retry(std::uint8_t byte);

  State state_ = State::Ready;
  bool pause_release_ = false;  // AfterE1SecondByte: the sequence started E1 9D
  DecoderStats stats_{};
};

}  // namespace ferrite::drivers::keyboard
