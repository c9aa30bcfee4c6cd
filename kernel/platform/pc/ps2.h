// The PS/2 (8042) keyboard controller (chapter 7 "Hardware Interrupts"). init() brings the
// controller into a known state with the keyboard port's interrupt (IRQ 1) on and translation to
// scancode set 1 on. The IRQ 1 handler only reads the byte from port 0x60 and hands it to the
// registered consumer: decoding happens outside the interrupt (drivers/keyboard).
#pragma once

#include <cstdint>
#include <expected>
#include <string_view>

namespace ferrite::pc::ps2 {

enum class Ps2Error : std::uint8_t {
  controller_timeout,           // the controller never took a command or never answered
  controller_self_test_failed,  // command 0xAA did not answer 0x55
  port1_test_failed,            // command 0xAB reported a clock or data line stuck
};

constexpr std::string_view to_string(Ps2Error error) {
  switch (error) {
    case Ps2Error::controller_timeout:
      return "the PS/2 controller does not respond";
    case Ps2Error::controller_self_test_failed:
      return "the PS/2 controller failed its self-test";
    case Ps2Error::port1_test_failed:
      return "the PS/2 keyboard port failed its interface test";
  }
  return "unknown PS/2 error";
}

struct ControllerInfo {
  std::uint8_t configuration_before;  // the controller configuration byte as firmware left it
  std::uint8_t configuration_after;   // as we wrote it
  bool dual_channel;                  // has a second (mouse) port; we leave it disabled
  bool keyboard_acknowledged;         // the keyboard ACKed "scancode set 2" and "enable scanning"
};

// Initialises the controller and installs the IRQ 1 handler (which unmasks the line). Call after
// pic::init(), with interrupts still disabled.
[[nodiscard]] std::expected<ControllerInfo, Ps2Error> init();

// Receives every byte the keyboard sends, in interrupt context: it must be short and must not
// take a lock that non-interrupt code holds with interrupts enabled. nullptr: bytes are dropped.
using ByteConsumer = void (*)(std::uint8_t byte);
void set_keyboard_consumer(ByteConsumer consumer);

// Bytes read from the keyboard port by the IRQ 1 handler, and those of them dropped for lack of
// a consumer.
[[nodiscard]] std::uint64_t bytes_received();
[[nodiscard]] std::uint64_t bytes_dropped();

// Resets the machine through the controller's reset line (command 0xFE); if that does nothing,
// by a triple fault.
[[noreturn]] void reboot();

}  // namespace ferrite::pc::ps2
