// The kernel console: one screen (VGA text mode, or a framebuffer under UEFI) plus a mirror of
// everything on the COM1 serial port. The console is a reader of the kernel log (lib/log.h):
// interrupt handlers, the NMI handler and panic only append records there, and the console
// shows them (drains the log) from task context — whenever task code prints, and when the
// executor goes idle. So nothing that runs in an interrupt ever waits for the console, and the
// console lock never needs interrupts off: it is only taken in task context. Serial output is
// sent by the UART's transmit interrupt (platform/pc/serial.h); only the panic path polls.
//
// Order: whoever holds the console shows the log's pending records before its own text, so the
// console shows everything in the order it was written to the log or printed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "console/framebuffer_screen.h"
#include "lib/format.h"
#include "lib/log.h"
#include "platform/pc/vga_text.h"

namespace ferrite::console {

// Serial first (it needs nothing), then VGA text mode at 0xB8000 through the given pointer.
// Registers the console as the log's consumer. Serial output is polled until
// use_serial_interrupts().
void init_early(volatile ScreenChar* vga_text_buffer);
// Once the PIC is set up: serial output goes through the transmit interrupt (IRQ 4) from now on,
// and code running with interrupts off is taken to be an interrupt handler (it only logs).
void use_serial_interrupts();
// Switches the screen to a linear framebuffer (UEFI has no text mode). `pixels` is its virtual
// address. Returns false if the format is not one we can draw (the VGA text screen then stays).
bool use_framebuffer(std::uint8_t* pixels, std::uint32_t width, std::uint32_t height,
                     std::uint32_t pitch, PixelFormat format);

// Records below this level stay in the log but are not shown (`log=` on the command line).
void set_level(log::Level level);
log::Level level();

enum class Screen { none, vga_text, framebuffer };

// Holds the console for a sequence of writes; also a fmt::Sink, so formatted text goes straight
// to the screen. Task context only: it waits if the console is taken — asleep once threads run,
// since the holder may be a preempted thread of lower priority (and an interrupt handler must
// never wait). Pending log records are shown first, and again when it lets go.
class Locked final : public fmt::Sink {
 public:
  Locked();
  ~Locked();
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

  void write(std::string_view text) override;
  void set_color(ColorCode color);
  ColorCode color() const;
  // The shell's input line, on the screen only (serial sees the line once, when it is submitted):
  // `text` wrapped from the prompt's row downwards, the cursor on character `cursor` (TextWriter).
  void show_input_line(std::string_view text, std::optional<std::size_t> cursor);
  void clear();
  Screen screen() const;
  // The character cell at (row, column) of the screen as the writer sees it (tests read this).
  ScreenChar cell(std::size_t row, std::size_t column) const;
  std::size_t rows() const;
  std::size_t columns() const;
};

// What print/println write to (console/print.h): the console itself when it is free and we are
// in task context, otherwise (an interrupt handler, or the console is held further up this very
// call chain) one log record at level info, which the console shows later. Never waits.
class Printer final : public fmt::Sink {
 public:
  Printer();
  ~Printer();
  Printer(const Printer&) = delete;
  Printer& operator=(const Printer&) = delete;

  void write(std::string_view text) override;
  // The console is held for the Printer's whole life, or the text goes into a log record.
  bool small_writes_are_cheap() const override { return true; }
  // Colours apply only when the text goes straight to the screen.
  void set_color(ColorCode color);
  ColorCode color() const;

 private:
  bool direct_;
  log::RecordWriter record_;
};

// Convenience for one write (through a Printer).
void write(std::string_view text);

// A program's output (chapter 14: what it writes to /dev/console, and the terminal's echo):
// through the VT100 terminal (console/vt100.h), so cursor movement, erasing and SGR colours
// work on VGA text and the framebuffer alike, and to the serial port as it is (the terminal
// on the other end interprets the sequences). It continues where the kernel's last output
// ended, and the kernel's next output continues where the program left the cursor, on any row
// (both are top-down, as a terminal). Task context only (it waits for the console).
//
// Chapter 15: a report the text asks for (the cursor position, CSI 6 n) is answered into
// `reply` — the terminal's answer, which is input for the program: the tty queues it. Returns
// its length (0 if nothing was asked or there is no screen).
std::size_t write_terminal(std::string_view text, std::span<char> reply = {});
// The screen's size in character cells, for TIOCGWINSZ.
struct CellSize {
  std::size_t rows = 0;
  std::size_t columns = 0;
};
CellSize screen_size();

// Serial output only (tests' machine-readable lines that must not clutter the screen). After a
// panic it is written by polling.
void write_serial(std::string_view text);

// `dmesg`: every record the log still holds, with its timestamp, at any level.
void show_log();

}  // namespace ferrite::console
