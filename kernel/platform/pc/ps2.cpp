// Initialising the 8042 PS/2 controller, the IRQ 1 handler, and the reset line (chapter 7).
// References: IBM "Personal System/2 Hardware Interface Technical Reference" (1988), section
// "Keyboard/Auxiliary Device Controller" (status register, command byte, controller commands),
// and its "Keyboard" section for the commands sent to the keyboard itself (0xF0, 0xF4, ACK 0xFA).
#include "platform/pc/ps2.h"

#include <atomic>
#include <optional>

#include "arch/x86_64/cpu.h"
#include "platform/pc/pic8259.h"

namespace ferrite::pc::ps2 {

namespace {

constexpr std::uint16_t kDataPort = 0x60;
constexpr std::uint16_t kStatusPort = 0x64;   // on read
constexpr std::uint16_t kCommandPort = 0x64;  // on write

// Status register bits.
constexpr std::uint8_t kStatusOutputFull = 1u << 0;  // a byte waits in port 0x60 for us
constexpr std::uint8_t kStatusInputFull = 1u << 1;   // the controller has not taken our last byte

// Controller commands.
constexpr std::uint8_t kReadConfiguration = 0x20;
constexpr std::uint8_t kWriteConfiguration = 0x60;
constexpr std::uint8_t kDisablePort2 = 0xA7;
constexpr std::uint8_t kEnablePort2 = 0xA8;
constexpr std::uint8_t kSelfTest = 0xAA;
constexpr std::uint8_t kTestPort1 = 0xAB;
constexpr std::uint8_t kDisablePort1 = 0xAD;
constexpr std::uint8_t kEnablePort1 = 0xAE;
constexpr std::uint8_t kPulseResetLine = 0xFE;  // pulse output-port bit 0: the CPU reset line

constexpr std::uint8_t kSelfTestPassed = 0x55;
constexpr std::uint8_t kPortTestPassed = 0x00;

// The configuration ("command") byte.
constexpr std::uint8_t kConfigPort1Interrupt = 1u << 0;
constexpr std::uint8_t kConfigPort2Interrupt = 1u << 1;
constexpr std::uint8_t kConfigPort1ClockOff = 1u << 4;
constexpr std::uint8_t kConfigPort2ClockOff = 1u << 5;
constexpr std::uint8_t kConfigTranslation = 1u << 6;  // set 2 from the keyboard -> set 1 for us

// Keyboard commands and answers.
constexpr std::uint8_t kKeyboardSelectScancodeSet = 0xF0;
constexpr std::uint8_t kKeyboardEnableScanning = 0xF4;
constexpr std::uint8_t kKeyboardAck = 0xFA;
constexpr std::uint8_t kScancodeSet2 = 2;  // translated by the controller into set 1

// Polls are bounded: a missing controller must not hang the boot. Each port read is about a
// microsecond on real hardware, so this is ~100 ms.
constexpr int kPollLimit = 100'000;

constinit std::atomic<ByteConsumer> consumer{nullptr};
constinit std::atomic<std::uint64_t> received{0};
constinit std::atomic<std::uint64_t> dropped{0};

bool wait_until_input_empty() {
  for (int i = 0; i < kPollLimit; ++i) {
    if ((arch::inb(kStatusPort) & kStatusInputFull) == 0) return true;
  }
  return false;
}

std::optional<std::uint8_t> read_data() {
  for (int i = 0; i < kPollLimit; ++i) {
    if ((arch::inb(kStatusPort) & kStatusOutputFull) != 0) return arch::inb(kDataPort);
  }
  return std::nullopt;
}

bool send_command(std::uint8_t command) {
  if (!wait_until_input_empty()) return false;
  arch::outb(kCommandPort, command);
  return true;
}

bool write_data(std::uint8_t byte) {
  if (!wait_until_input_empty()) return false;
  arch::outb(kDataPort, byte);
  return true;
}

std::optional<std::uint8_t> command_with_answer(std::uint8_t command) {
  if (!send_command(command)) return std::nullopt;
  return read_data();
}

bool write_configuration(std::uint8_t configuration) {
  return send_command(kWriteConfiguration) && write_data(configuration);
}

void flush_output_buffer() {
  for (int i = 0; i < 16 && (arch::inb(kStatusPort) & kStatusOutputFull) != 0; ++i) (void)arch::inb(kDataPort);
}

// Sends a byte to the keyboard and waits for its ACK, skipping bytes that were already queued.
bool keyboard_command(std::uint8_t byte) {
  if (!write_data(byte)) return false;
  for (int i = 0; i < 4; ++i) {
    const auto answer = read_data();
    if (!answer) return false;
    if (*answer == kKeyboardAck) return true;
  }
  return false;
}

void on_keyboard_interrupt(arch::InterruptFrame&) {
  const std::uint8_t byte = arch::inb(kDataPort);
  received.fetch_add(1, std::memory_order_relaxed);
  if (const ByteConsumer take = consumer.load(std::memory_order_acquire)) {
    take(byte);
  } else {
    dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace

std::expected<ControllerInfo, Ps2Error> init() {
  ControllerInfo info{};
  // 1. Stop both devices from sending while we reconfigure, and discard what they already sent.
  if (!send_command(kDisablePort1) || !send_command(kDisablePort2)) {
    return std::unexpected(Ps2Error::controller_timeout);
  }
  flush_output_buffer();

  // 2. The configuration byte without interrupts or translation for now: the answers to our
  //    commands must stay in the buffer for us, not go to an IRQ handler.
  const auto configuration = command_with_answer(kReadConfiguration);
  if (!configuration) return std::unexpected(Ps2Error::controller_timeout);
  info.configuration_before = *configuration;
  std::uint8_t quiet =
      *configuration & ~(kConfigPort1Interrupt | kConfigPort2Interrupt | kConfigTranslation);
  if (!write_configuration(quiet)) return std::unexpected(Ps2Error::controller_timeout);

  // 3. Controller self-test. Some controllers reset themselves here: write the byte again.
  const auto self_test = command_with_answer(kSelfTest);
  if (!self_test) return std::unexpected(Ps2Error::controller_timeout);
  if (*self_test != kSelfTestPassed) return std::unexpected(Ps2Error::controller_self_test_failed);
  if (!write_configuration(quiet)) return std::unexpected(Ps2Error::controller_timeout);

  // 4. A second port exists if "enable port 2" clears its clock-off bit (a single-channel
  //    controller ignores the command). We only detect it; the mouse stays off.
  if ((quiet & kConfigPort2ClockOff) != 0 && send_command(kEnablePort2)) {
    const auto with_port2 = command_with_answer(kReadConfiguration);
    info.dual_channel = with_port2 && (*with_port2 & kConfigPort2ClockOff) == 0;
    if (info.dual_channel && !send_command(kDisablePort2)) {
      return std::unexpected(Ps2Error::controller_timeout);
    }
  }

  // 5. Test the keyboard port's clock and data lines, then enable it.
  const auto port_test = command_with_answer(kTestPort1);
  if (!port_test) return std::unexpected(Ps2Error::controller_timeout);
  if (*port_test != kPortTestPassed) return std::unexpected(Ps2Error::port1_test_failed);
  if (!send_command(kEnablePort1)) return std::unexpected(Ps2Error::controller_timeout);

  // 6. The keyboard itself: scancode set 2 (its default, which the controller's translation turns
  //    into set 1, the set our decoder reads), then scanning on. A keyboard that does not answer
  //    is not fatal: it may be unplugged, and QEMU's always answers.
  info.keyboard_acknowledged = keyboard_command(kKeyboardSelectScancodeSet) &&
                               keyboard_command(kScancodeSet2) &&
                               keyboard_command(kKeyboardEnableScanning);

  // 7. Final configuration: port 1 clock on, its interrupt on, translation on; port 2 off.
  std::uint8_t final_configuration = quiet;
  final_configuration &= static_cast<std::uint8_t>(~kConfigPort1ClockOff);
  final_configuration |= kConfigPort1Interrupt | kConfigTranslation;
  if (info.dual_channel) final_configuration |= kConfigPort2ClockOff;
  if (!write_configuration(final_configuration))
    return std::unexpected(Ps2Error::controller_timeout);
  info.configuration_after = final_configuration;
  flush_output_buffer();

  pic::set_irq_handler(pic::kKeyboardLine, on_keyboard_interrupt);
  return info;
}

void set_keyboard_consumer(ByteConsumer new_consumer) {
  consumer.store(new_consumer, std::memory_order_release);
}

std::uint64_t bytes_received() {
  return received.load(std::memory_order_relaxed);
}
std::uint64_t bytes_dropped() {
  return dropped.load(std::memory_order_relaxed);
}

void reboot() {
  arch::disable_interrupts();
  if (wait_until_input_empty()) arch::outb(kCommandPort, kPulseResetLine);
  for (int i = 0; i < kPollLimit; ++i) arch::io_wait();  // give the reset a moment to happen
  // No reset line: an empty IDT turns the next exception into a triple fault, which resets.
  const struct [[gnu::packed]] {
    std::uint16_t limit;
    std::uint64_t base;
  } empty_idt{0, 0};
  asm volatile("lidt %0; int3" : : "m"(empty_idt) : "memory");
  arch::halt_forever();
}

}  // namespace ferrite::pc::ps2
