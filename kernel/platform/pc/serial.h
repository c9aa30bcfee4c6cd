// The 16550 UART on COM1: everything the kernel prints is mirrored here, and tests read it.
// Register layout and the loopback self-test: PC16550D datasheet; OSDev wiki "Serial Ports".
#pragma once

#include <cstdint>
#include <string_view>

namespace ferrite::pc {

class SerialPort {
 public:
  constexpr explicit SerialPort(std::uint16_t base) : base_(base) {}

  // Programs 115200 baud 8N1 with FIFOs and checks the chip in loopback mode.
  // Returns false (and leaves the port unused) if no working UART answers.
  bool init();
  bool present() const { return present_; }

  void write(std::string_view text);
  void write_byte(std::uint8_t byte);

 private:
  std::uint16_t base_;
  bool present_ = false;
  std::uint8_t fifo_bytes_ = 1;  // bytes the transmitter takes at once: 16 with a FIFO, else 1
  std::uint8_t room_ = 0;        // bytes we may still write before polling the line status
};

}  // namespace ferrite::pc
