// The 8x16 bitmap font used where there is no VGA text mode (the UEFI framebuffer console).
#pragma once

#include <cstdint>

namespace ferrite::console {

inline constexpr int kGlyphWidth = 8;
inline constexpr int kGlyphHeight = 16;
// 256 glyphs in code page 437 order; row bytes, most significant bit = leftmost pixel.
extern const std::uint8_t kFont8x16[256][16];

}  // namespace ferrite::console
