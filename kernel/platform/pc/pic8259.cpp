// Programming the 8259A pair: initialisation, masks, EOI and spurious IRQs (chapter 7).
// The reference is Intel's "8259A Programmable Interrupt Controller" datasheet (order number
// 231468-003): "Initialization Command Words" with figure 6 (initialisation sequence) and
// figure 7 (ICW formats), "Operation Command Words" with figure 8 (OCW formats), and
// "Interrupt Sequence" for what a too-short request looks like.
#include "platform/pc/pic8259.h"

#include <atomic>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/lapic.h"
#include "platform/pc/ioapic.h"
#include "sync/spinlock.h"

namespace ferrite::pc::pic {

namespace {

// I/O ports of a PC's two controllers (IBM PC AT Technical Reference, "I/O Address Map").
struct Controller {
  std::uint16_t command;  // A0 = 0: ICW1, OCW2, OCW3; reads IRR/ISR
  std::uint16_t data;     // A0 = 1: ICW2-4, OCW1 (the mask)
};
constexpr Controller kMaster{0x20, 0x21};
constexpr Controller kSlave{0xA0, 0xA1};

// ICW1: bit 4 marks it as ICW1, bit 0 "ICW4 needed"; bit 1 = 0 cascade mode, bit 3 = 0 edge
// triggered (figure 7).
constexpr std::uint8_t kIcw1Init = 0x10;
constexpr std::uint8_t kIcw1NeedIcw4 = 0x01;
// ICW3: on the master, a bit per line that has a slave; on the slave, its line number on the
// master (its "cascade identity").
constexpr std::uint8_t kIcw3MasterHasSlaveOnLine2 = 1u << kCascadeLine;
constexpr std::uint8_t kIcw3SlaveIdentity = kCascadeLine;
// ICW4: bit 0 = 8086/8088 mode (vector numbers, not 8080 CALL instructions); normal (not
// automatic) EOI.
constexpr std::uint8_t kIcw4Mode8086 = 0x01;
// OCW2 0b001 in bits 7..5: non-specific EOI (clears the highest-priority in-service bit).
constexpr std::uint8_t kOcw2NonSpecificEoi = 0x20;
// OCW3: bit 3 marks it as OCW3; bits 1..0 = 0b11 "read the in-service register on the next read".
constexpr std::uint8_t kOcw3ReadInService = 0x0B;

constexpr std::uint8_t kLowestPriorityLine = 7;

constinit std::uint16_t masks = 0xFFFF;  // bit n set: line n masked; the cache of both OCW1s
constinit std::atomic<std::uint64_t> spurious_master{0};
constinit std::atomic<std::uint64_t> spurious_slave{0};
constinit bool via_ioapic = false;

void write_masks() {
  arch::outb(kMaster.data, static_cast<std::uint8_t>(masks));
  arch::outb(kSlave.data, static_cast<std::uint8_t>(masks >> 8));
}

std::uint8_t read_in_service(Controller controller) {
  arch::outb(controller.command, kOcw3ReadInService);
  return arch::inb(controller.command);
}

void send_eoi(std::uint8_t line) {
  // A slave IRQ is in service on both: on the slave, and on the master's cascade line.
  if (line >= 8) arch::outb(kSlave.command, kOcw2NonSpecificEoi);
  arch::outb(kMaster.command, kOcw2NonSpecificEoi);
}

}  // namespace

void init() {
  sync::InterruptGuard no_interrupts;
  // ICW1 starts the sequence on each controller; the ICW2-4 that follow go to the data port. The
  // old parts need a moment between writes, hence arch::io_wait (figure 6: ICW1, ICW2, ICW3 if
  // cascaded, ICW4 if requested).
  struct Write {
    std::uint16_t port;
    std::uint8_t value;
  };
  static constexpr Write kSequence[] = {
      {kMaster.command, kIcw1Init | kIcw1NeedIcw4},
      {kSlave.command, kIcw1Init | kIcw1NeedIcw4},
      {kMaster.data, kMasterVectorOffset},  // ICW2: vector of line 0 (bits 2..0 must be 0)
      {kSlave.data, kSlaveVectorOffset},
      {kMaster.data, kIcw3MasterHasSlaveOnLine2},
      {kSlave.data, kIcw3SlaveIdentity},
      {kMaster.data, kIcw4Mode8086},
      {kSlave.data, kIcw4Mode8086},
  };
  for (const Write& write : kSequence) {
    arch::outb(write.port, write.value);
    arch::io_wait();
  }
  // ICW1 cleared the masks (every line enabled); set ours: all masked but the cascade, which
  // must be open for any slave line to get through.
  masks = static_cast<std::uint16_t>(0xFFFF & ~(1u << kCascadeLine));
  write_masks();
}

void use_ioapic() {
  sync::InterruptGuard no_interrupts;
  for (std::uint8_t line = 0; line < kLineCount; ++line) {
    if (line != kCascadeLine && !is_masked(line)) ioapic::unmask(line);
  }
  masks = 0xFFFF;  // the cascade too: nothing of the 8259s' should reach the CPU any more
  write_masks();
  arch::lapic::mask_lint0();
  via_ioapic = true;
}

bool ioapic_active() { return via_ioapic; }

std::uint16_t read_hardware_masks() {
  return static_cast<std::uint16_t>(arch::inb(kMaster.data) | arch::inb(kSlave.data) << 8);
}

void mask(std::uint8_t line) {
  if (via_ioapic) return ioapic::mask(line);
  sync::InterruptGuard no_interrupts;
  masks = static_cast<std::uint16_t>(masks | (1u << line));
  write_masks();
}

void unmask(std::uint8_t line) {
  if (via_ioapic) return ioapic::unmask(line);
  sync::InterruptGuard no_interrupts;
  masks = static_cast<std::uint16_t>(masks & ~(1u << line));
  write_masks();
}

bool is_masked(std::uint8_t line) {
  if (via_ioapic) return ioapic::is_masked(line);
  return (masks >> line & 1) != 0;
}

void set_irq_handler(std::uint8_t line, arch::InterruptHandler handler) {
  if (line >= kLineCount) return;
  if (handler == nullptr) mask(line);
  arch::set_handler(vector_of(line), handler);
  if (handler != nullptr) unmask(line);
}

void handle_irq(arch::InterruptFrame& frame) {
  const auto line = static_cast<std::uint8_t>(frame.vector - kMasterVectorOffset);
  if (via_ioapic) {
    // The I/O APIC sent it as a message to the local APIC, which wants the EOI (SDM Vol. 3A
    // 11.8.5); the masked 8259s raise nothing, so vectors 39 and 47 are ordinary lines here.
    if (const arch::InterruptHandler registered = arch::handler(vector_of(line))) {
      registered(frame);
    } else {
      report_unexpected_interrupt(frame);
    }
    arch::lapic::eoi();
    return;
  }
  // A spurious IRQ arrives as line 7 of the controller that raised it, with its in-service bit
  // clear ("Interrupt Sequence": a request gone before the acknowledge is reported as level 7).
  if (line == kLowestPriorityLine && (read_in_service(kMaster) & 0x80) == 0) {
    spurious_master.fetch_add(1, std::memory_order_relaxed);
    return;  // nothing is in service on the master: an EOI would end some other IRQ
  }
  if (line == 8 + kLowestPriorityLine && (read_in_service(kSlave) & 0x80) == 0) {
    spurious_slave.fetch_add(1, std::memory_order_relaxed);
    // The master did see a real request on its cascade line and has it in service.
    arch::outb(kMaster.command, kOcw2NonSpecificEoi);
    return;
  }
  if (const arch::InterruptHandler registered = arch::handler(vector_of(line))) {
    registered(frame);
  } else {
    report_unexpected_interrupt(frame);
  }
  send_eoi(line);
}

SpuriousCounts spurious_counts() {
  return {spurious_master.load(std::memory_order_relaxed),
          spurious_slave.load(std::memory_order_relaxed)};
}

}  // namespace ferrite::pc::pic
