// The kernel console: one screen (VGA text mode, or a framebuffer under UEFI) plus a mirror of
// everything on the COM1 serial port, behind one spinlock that also disables interrupts — so an
// interrupt handler that prints cannot deadlock against the code it interrupted (chapter 7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "console/framebuffer_screen.h"
#include "platform/pc/vga_text.h"
#include "lib/format.h"
#include "sync/spinlock.h"

namespace ferrite::console {

// Serial first (it needs nothing), then VGA text mode at 0xB8000 through the given pointer.
void init_early(volatile ScreenChar* vga_text_buffer);
// Switches the screen to a linear framebuffer (UEFI has no text mode). `pixels` is its virtual
// address. Returns false if the format is not one we can draw (the VGA text screen then stays).
bool use_framebuffer(std::uint8_t* pixels, std::uint32_t width, std::uint32_t height,
                     std::uint32_t pitch, PixelFormat format);

enum class Screen { none, vga_text, framebuffer };

// Holds the console lock (interrupts off) for a sequence of writes; also a fmt::Sink, so
// print/println format straight into the screen without an intermediate buffer.
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
  // `text` wrapped over the bottom rows, the cursor on character `cursor` (TextWriter).
  void show_input_line(std::string_view text, std::optional<std::size_t> cursor);
  void clear();
  Screen screen() const;
  // The character cell at (row, column) of the screen as the writer sees it (tests read this).
  ScreenChar cell(std::size_t row, std::size_t column) const;
  std::size_t rows() const;
  std::size_t columns() const;

 private:
  sync::SpinlockGuard guard_;
};

// Convenience for one write.
void write(std::string_view text);

// The panic path: takes the console even if the panicking code held the lock.
void write_for_panic(std::string_view text, ColorCode color);

// Serial output only (tests' machine-readable lines that must not clutter the screen).
void write_serial(std::string_view text);

}  // namespace ferrite::console
