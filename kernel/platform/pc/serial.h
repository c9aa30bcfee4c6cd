// The 16550 UART on COM1: everything the kernel shows is mirrored here, and tests read it.
// Register layout, the loopback self-test and the transmit interrupt: PC16550D datasheet; OSDev
// wiki "Serial Ports".
//
// Two ways to send:
//   - interrupt-driven (normal operation): queue() copies bytes into a buffer, and the transmit
//     interrupt (THRE, IRQ 4) refills the 16-byte FIFO each time it runs empty. Nobody waits for
//     the UART with interrupts off: at 115200 baud a line takes ~7 ms, seven lost timer ticks.
//   - polled (before interrupts run, and on the panic path): write_polled() waits on the line
//     status register itself, after pushing out what the buffer still holds, so the order of
//     bytes on the wire stays the order they were given.
// One CPU: the buffer's producer is the console (task context, or any context with interrupts
// off) and its consumer the interrupt handler; the few steps where both touch the UART run with
// interrupts off. (With several CPUs this needs a lock around those steps.)
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ferrite::pc {

class SerialPort {
 public:
  static constexpr std::size_t kBufferBytes = 4096;

  constexpr explicit SerialPort(std::uint16_t base) : base_(base) {}

  // Programs 115200 baud 8N1 with FIFOs and checks the chip in loopback mode.
  // Returns false (and leaves the port unused) if no working UART answers.
  bool init();
  bool present() const { return present_; }

  // From now on queue() sends through the transmit interrupt on PIC line `irq_line` (4 for
  // COM1). Only one port may use interrupts (the handler knows one port).
  void use_interrupts(std::uint8_t irq_line);
  // Back to polling (the panic path): the interrupt is switched off and the buffer sent.
  void stop_interrupts();
  bool interrupt_driven() const { return interrupt_driven_; }

  // Bytes queue() can take now ('\n' becomes "\r\n": count it twice).
  std::size_t room() const;
  // Queues what fits of `text` and starts the transmitter; returns the bytes of `text` taken.
  // In polled mode it sends everything at once.
  std::size_t queue(std::string_view text);
  // Whether everything queued has been handed to the UART.
  bool idle() const;

  // Sends queued bytes, then `text`, by polling (bounded waits: a wedged UART loses bytes
  // instead of hanging the kernel). For interrupts-off contexts only.
  void write_polled(std::string_view text);
  void flush_polled();

  // IRQ 4: the FIFO ran empty.
  void on_transmit_interrupt();

 private:
  void write_byte_polled(std::uint8_t byte);
  void fill_fifo();  // interrupts off
  bool push(std::uint8_t byte);

  std::uint16_t base_;
  bool present_ = false;
  bool interrupt_driven_ = false;
  bool transmitting_ = false;    // the transmit interrupt is armed
  std::uint8_t fifo_bytes_ = 1;  // bytes the transmitter takes at once: 16 with a FIFO, else 1
  std::uint8_t room_ = 0;        // polled: bytes we may still write before polling the line status
  std::atomic<std::size_t> head_{0};  // next byte to fill (producer)
  std::atomic<std::size_t> tail_{0};  // next byte to send (consumer)
  std::uint8_t buffer_[kBufferBytes] = {};
};

}  // namespace ferrite::pc
