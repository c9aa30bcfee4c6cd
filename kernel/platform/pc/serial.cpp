// 16550 UART driver (polled output only: tests need reliable ordering, not speed). Polling is
// still kept cheap: the transmit FIFO takes 16 bytes at a time, so the line status register is
// read once per 16 bytes rather than once per byte (each port read is an emulated device access
// under QEMU, and a slow bus cycle on real hardware).
#include "platform/pc/serial.h"

#include "arch/x86_64/cpu.h"

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
constexpr std::uint8_t kModemNormal = 0x0F;        // DTR + RTS + OUT1 + OUT2
// THRE: the transmit holding register is empty, or in FIFO mode "the XMIT FIFO is empty"
// (PC16550D datasheet, LSR bit 5).
constexpr std::uint8_t kLineStatusTransmitEmpty = 0x20;
// IIR bits 7..6 read 11 when the FIFOs are enabled; an 8250/16450 has none and reads 00
// (PC16550D datasheet, table 4).
constexpr std::uint8_t kFifoEnabledMask = 0xC0;
constexpr std::uint8_t kTransmitFifoBytes = 16;
constexpr int kDrainPollLimit = 1'000'000;
constexpr std::uint16_t kDivisor115200 = 1;  // 115200 / divisor baud
}  // namespace

bool SerialPort::init() {
  using arch::inb;
  using arch::outb;
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

void SerialPort::write_byte(std::uint8_t byte) {
  if (!present_) return;
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

void SerialPort::write(std::string_view text) {
  for (char c : text) {
    if (c == '\n') write_byte('\r');  // terminals expect CR LF
    write_byte(static_cast<std::uint8_t>(c));
  }
}

}  // namespace ferrite::pc
