// 16550 UART driver: interrupt-driven transmit from a buffer, and a polled path for panics and
// for the time before interrupts run (see serial.h). Polling stays cheap: the transmit FIFO
// takes 16 bytes at a time, so the line status register is read once per 16 bytes rather than
// once per byte (each port read is an emulated device access under QEMU, and a slow bus cycle
// on real hardware).
#include "platform/pc/serial.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupt_frame.h"
#include "platform/pc/pic8259.h"

namespace ferrite::pc {

namespace {
// Register offsets from the base port (PC16550D datasheet, table 2).
enum Register : std::uint16_t {
  kData = 0,             // THR/RBR; with DLAB=1: divisor low byte
  kInterruptEnable = 1,  // with DLAB=1: divisor high byte
  kFifoControl = 2,      // on write; on read: the interrupt identification register (IIR)
  kLineControl = 3,
  kModemControl = 4,
  kLineStatus = 5,
};
constexpr std::uint8_t kLineControlDlab = 0x80;
constexpr std::uint8_t kLineControl8N1 = 0x03;
constexpr std::uint8_t kFifoEnableClear14 = 0xC7;  // enable, clear both, 14-byte threshold
constexpr std::uint8_t kModemLoopback = 0x1E;      // LOOP + OUT2 + OUT1 + RTS
// DTR + RTS + OUT1 + OUT2. On the PC, OUT2 gates the UART's interrupt line onto the bus.
constexpr std::uint8_t kModemNormal = 0x0F;
// IER bit 1, ETBEI: "Enable Transmitter Holding Register Empty Interrupt". The THRE interrupt
// is raised when the transmitter holding register (the FIFO in FIFO mode) is empty, and cleared
// by reading the IIR (when it is the interrupt named there) or by writing the THR (datasheet,
// table 4).
constexpr std::uint8_t kEnableTransmitEmpty = 0x02;
// IIR bit 0 is 1 when no interrupt is pending (datasheet, table 4).
constexpr std::uint8_t kNoInterruptPending = 0x01;
// THRE: the transmit holding register is empty, or in FIFO mode "the XMIT FIFO is empty"
// (PC16550D datasheet, LSR bit 5).
constexpr std::uint8_t kLineStatusTransmitEmpty = 0x20;
// IIR bits 7..6 read 11 when the FIFOs are enabled; an 8250/16450 has none and reads 00
// (PC16550D datasheet, table 4).
constexpr std::uint8_t kFifoEnabledMask = 0xC0;
constexpr std::uint8_t kTransmitFifoBytes = 16;
constexpr int kFillsPerCall = 8;  // FIFO fills per fill_fifo() while the UART keeps up
constexpr int kDrainPollLimit = 1'000'000;
constexpr std::uint16_t kDivisor115200 = 1;  // 115200 / divisor baud

constinit SerialPort* interrupt_port = nullptr;

void on_irq(arch::InterruptFrame&) {
  if (interrupt_port != nullptr) interrupt_port->on_transmit_interrupt();
}
}  // namespace

bool SerialPort::init() {
  arch::outb(base_ + kInterruptEnable, 0x00);
  arch::outb(base_ + kLineControl, kLineControlDlab);
  arch::outb(base_ + kData, kDivisor115200 & 0xFF);
  arch::outb(base_ + kInterruptEnable, kDivisor115200 >> 8);
  arch::outb(base_ + kLineControl, kLineControl8N1);
  arch::outb(base_ + kFifoControl, kFifoEnableClear14);
  fifo_bytes_ =
      (arch::inb(base_ + kFifoControl) & kFifoEnabledMask) == kFifoEnabledMask ? kTransmitFifoBytes : 1;

  // Loopback self-test: what we send must come back unchanged.
  arch::outb(base_ + kModemControl, kModemLoopback);
  constexpr std::uint8_t kProbe = 0xAE;
  arch::outb(base_ + kData, kProbe);
  if (arch::inb(base_ + kData) != kProbe) return false;

  arch::outb(base_ + kModemControl, kModemNormal);
  present_ = true;
  return true;
}

void SerialPort::use_interrupts(std::uint8_t irq_line) {
  if (!present_) return;
  const bool were_enabled = arch::save_and_disable_interrupts();
  flush_polled();
  interrupt_port = this;
  interrupt_driven_ = true;
  pic::set_irq_handler(irq_line, on_irq);
  arch::restore_interrupts(were_enabled);
}

void SerialPort::stop_interrupts() {
  const bool were_enabled = arch::save_and_disable_interrupts();
  if (interrupt_driven_) arch::outb(base_ + kInterruptEnable, 0x00);
  interrupt_driven_ = false;
  transmitting_ = false;
  flush_polled();
  arch::restore_interrupts(were_enabled);
}

std::size_t SerialPort::room() const {
  return kBufferBytes - (head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_acquire));
}

bool SerialPort::idle() const {
  return head_.load(std::memory_order_relaxed) == tail_.load(std::memory_order_acquire);
}

bool SerialPort::push(std::uint8_t byte) {
  const std::size_t head = head_.load(std::memory_order_relaxed);
  if (head - tail_.load(std::memory_order_acquire) == kBufferBytes) return false;
  buffer_[head % kBufferBytes] = byte;
  head_.store(head + 1, std::memory_order_release);
  return true;
}

std::size_t SerialPort::queue(std::string_view text) {
  if (!present_) return text.size();
  if (!interrupt_driven_) {
    write_polled(text);
    return text.size();
  }
  std::size_t taken = 0;
  for (char c : text) {
    if (c == '\n' && room() < 2) break;  // CR LF go together
    if (c == '\n') push('\r');
    if (!push(static_cast<std::uint8_t>(c))) break;
    ++taken;
  }
  // Start the transmitter unless its interrupt is already armed (it re-arms itself while there
  // is data). Interrupts off: the handler must not run between the check and the arming.
  const bool were_enabled = arch::save_and_disable_interrupts();
  if (!transmitting_ && !idle()) {
    transmitting_ = true;
    // Prime the FIFO ourselves when it is empty (as Linux's 8250 driver does): not every UART
    // raises THRE on the arming alone.
    if ((arch::inb(base_ + kLineStatus) & kLineStatusTransmitEmpty) != 0) fill_fifo();
    if (idle()) {
      transmitting_ = false;  // all of it is in the UART already (an emulated one keeps up)
    } else {
      arch::outb(base_ + kInterruptEnable, kEnableTransmitEmpty);
    }
  }
  arch::restore_interrupts(were_enabled);
  return taken;
}

void SerialPort::fill_fifo() {
  std::size_t tail = tail_.load(std::memory_order_relaxed);
  const std::size_t head = head_.load(std::memory_order_acquire);
  for (int fill = 0;; ++fill) {
    for (std::uint8_t n = 0; n < fifo_bytes_ && tail != head; ++n, ++tail) {
      arch::outb(base_ + kData, buffer_[tail % kBufferBytes]);
    }
    // A real UART needs 1.4 ms at 115200 baud to send what was just written, so THRE reads 0 and
    // the transmit interrupt comes back for the rest. An emulated one (QEMU's) has sent it
    // already: fill the FIFO again rather than take an interrupt per 16 bytes (one port read
    // instead of an interrupt, an IIR read and an EOI). Bounded, so that interrupts are never
    // off for long.
    if (tail == head || fill + 1 == kFillsPerCall) break;
    if ((arch::inb(base_ + kLineStatus) & kLineStatusTransmitEmpty) == 0) break;
  }
  tail_.store(tail, std::memory_order_release);
}

void SerialPort::on_transmit_interrupt() {
  if ((arch::inb(base_ + kFifoControl) & kNoInterruptPending) != 0) return;  // not ours (shared line)
  if (!interrupt_driven_) return;
  // The IIR read acknowledged THRE: the FIFO is empty.
  fill_fifo();
  if (idle()) {
    arch::outb(base_ + kInterruptEnable, 0x00);
    transmitting_ = false;
  }
}

void SerialPort::write_byte_polled(std::uint8_t byte) {
  if (room_ == 0) {  // what we handed over may still be queued: wait until the FIFO drains
    // Bounded, so a wedged UART loses bytes instead of hanging the kernel (a panic prints here
    // too). 16 bytes at 115200 baud take 1.4 ms; the bound is far above that.
    for (int i = 0; i < kDrainPollLimit; ++i) {
      if ((arch::inb(base_ + kLineStatus) & kLineStatusTransmitEmpty) != 0) break;
      asm volatile("pause");
    }
    room_ = fifo_bytes_;
  }
  arch::outb(base_ + kData, byte);
  --room_;
}

void SerialPort::flush_polled() {
  if (!present_) return;
  std::size_t tail = tail_.load(std::memory_order_relaxed);
  const std::size_t head = head_.load(std::memory_order_acquire);
  room_ = 0;  // the interrupt path may have filled the FIFO: poll before the first byte
  for (; tail != head; ++tail) write_byte_polled(buffer_[tail % kBufferBytes]);
  tail_.store(tail, std::memory_order_release);
}

void SerialPort::write_polled(std::string_view text) {
  if (!present_) return;
  flush_polled();
  for (char c : text) {
    if (c == '\n') write_byte_polled('\r');  // terminals expect CR LF
    write_byte_polled(static_cast<std::uint8_t>(c));
  }
}

}  // namespace ferrite::pc
