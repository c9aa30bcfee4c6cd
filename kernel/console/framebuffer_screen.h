// A text screen drawn into a linear framebuffer with an 8x16 font: what the console uses under
// UEFI, where VGA text mode does not exist. It offers the same cell interface as VgaTextScreen,
// so TextWriter (scrolling, wrapping) is shared. A shadow copy of the cells answers get(), lets
// tests read the screen the same way on both, and, as on VgaTextScreen, lets put() skip cells
// that do not change: a scroll redraws only the glyphs that differ from the row below.
#pragma once

#include <cstddef>
#include <cstdint>

#include "console/font.h"
#include "console/cell.h"

namespace ferrite::console {

struct PixelFormat {
  std::uint8_t bytes_per_pixel;  // 4 (32 bpp) or 3 (24 bpp)
  std::uint8_t red_shift, green_shift, blue_shift;
};

class FramebufferScreen {
 public:
  static constexpr std::size_t kMaxCells = 256 * 128;

  constexpr FramebufferScreen() = default;
  FramebufferScreen(std::uint8_t* pixels, std::uint32_t width, std::uint32_t height,
                    std::uint32_t pitch, PixelFormat format, ScreenChar* shadow)
      : pixels_(pixels), pitch_(pitch), format_(format), shadow_(shadow) {
    columns_ = width / kGlyphWidth;
    rows_ = height / kGlyphHeight;
    if (columns_ * rows_ > kMaxCells) rows_ = kMaxCells / columns_;
  }

  std::size_t rows() const { return rows_; }
  std::size_t columns() const { return columns_; }

  // The shadow starts zeroed (NUL characters, which the writer never produces), so the first
  // write to each cell, the clear when the console switches here, draws it.
  void put(std::size_t row, std::size_t column, ScreenChar c) {
    ScreenChar& known = shadow_[row * columns_ + column];
    if (known == c) return;
    known = c;
    draw(row, column, c);
  }
  ScreenChar get(std::size_t row, std::size_t column) const { return shadow_[row * columns_ + column]; }

  // Redraws the cells that change rather than moving all pixels up: a 1280x800 screen is 4 MiB,
  // and reading video memory back is slow (uncached on real hardware; emulated under QEMU).
  void scroll_up(ScreenChar blank) {
    for (std::size_t row = 1; row < rows_; ++row) {
      for (std::size_t column = 0; column < columns_; ++column) {
        put(row - 1, column, get(row, column));
      }
    }
    for (std::size_t column = 0; column < columns_; ++column) put(rows_ - 1, column, blank);
  }

 private:
  std::uint32_t rgb(Color color) const {
    // The standard VGA palette (IBM VGA technical reference, default DAC values).
    static constexpr std::uint32_t kPalette[16] = {
        0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA, 0xAA5500, 0xAAAAAA,
        0x555555, 0x5555FF, 0x55FF55, 0x55FFFF, 0xFF5555, 0xFF55FF, 0xFFFF55, 0xFFFFFF};
    const std::uint32_t value = kPalette[static_cast<std::uint8_t>(color) & 0xF];
    return (((value >> 16) & 0xFF) << format_.red_shift) | (((value >> 8) & 0xFF) << format_.green_shift) |
           ((value & 0xFF) << format_.blue_shift);
  }

  void draw(std::size_t row, std::size_t column, ScreenChar c) {
    const ColorCode code = ColorCode::from_byte(c.color);
    const std::uint32_t foreground = rgb(code.foreground());
    const std::uint32_t background = rgb(code.background());
    std::uint8_t* line = pixels_ + row * kGlyphHeight * std::size_t{pitch_} +
                         column * kGlyphWidth * format_.bytes_per_pixel;
    for (int y = 0; y < kGlyphHeight; ++y, line += pitch_) {
      const std::uint8_t bits = kFont8x16[c.character][y];
      std::uint8_t* pixel = line;
      for (int x = 0; x < kGlyphWidth; ++x, pixel += format_.bytes_per_pixel) {
        const std::uint32_t value = (bits & (0x80 >> x)) ? foreground : background;
        if (format_.bytes_per_pixel == 4) {
          *reinterpret_cast<volatile std::uint32_t*>(pixel) = value;
        } else {
          pixel[0] = value & 0xFF;
          pixel[1] = (value >> 8) & 0xFF;
          pixel[2] = (value >> 16) & 0xFF;
        }
      }
    }
  }

  std::uint8_t* pixels_ = nullptr;
  std::uint32_t pitch_ = 0;
  PixelFormat format_{};
  ScreenChar* shadow_ = nullptr;
  std::size_t columns_ = 0;
  std::size_t rows_ = 0;
};

}  // namespace ferrite::console
