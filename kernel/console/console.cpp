// The global console: which screen is active, the serial mirror, and the lock around both.
#include "console/console.h"

#include "arch/x86_64/cpu.h"
#include "platform/pc/serial.h"
#include "console/text_writer.h"

namespace ferrite::console {

namespace {

struct State {
  pc::SerialPort serial{0x3F8};  // COM1
  Screen active = Screen::none;
  TextWriter<pc::VgaTextScreen> vga;
  TextWriter<FramebufferScreen> framebuffer;
};

constinit sync::Spinlock console_lock;
constinit State state;
constinit ScreenChar vga_shadow[pc::VgaTextScreen::kCells];
constinit ScreenChar framebuffer_shadow[FramebufferScreen::kMaxCells];

// Calls f with the active writer (whatever its screen type).
template <class F>
void with_writer(F&& f) {
  switch (state.active) {
    case Screen::vga_text: f(state.vga); break;
    case Screen::framebuffer: f(state.framebuffer); break;
    case Screen::none: break;
  }
}

// The writer's position is the cursor (the shell draws its own), so the VGA's blinking hardware
// cursor would only blink wherever the BIOS left it. CRT controller register 0x0A ("cursor
// start"), bit 5 switches it off; 0x3D4/0x3D5 are the CRTC's index and data ports in colour mode
// (IBM VGA Technical Reference, "CRT Controller Registers").
void hide_vga_hardware_cursor() {
  constexpr std::uint16_t kCrtcIndex = 0x3D4, kCrtcData = 0x3D5;
  constexpr std::uint8_t kCursorStart = 0x0A, kCursorOff = 1u << 5;
  arch::outb(kCrtcIndex, kCursorStart);
  arch::outb(kCrtcData, kCursorOff);
}

void write_unlocked(std::string_view text) {
  with_writer([&](auto& writer) { writer.write(text); });
  state.serial.write(text);
}

}  // namespace

void init_early(volatile ScreenChar* vga_text_buffer) {
  state.serial.init();
  state.vga = TextWriter<pc::VgaTextScreen>(pc::VgaTextScreen(vga_text_buffer, vga_shadow));
  state.vga.clear();  // firmware and bootloader leave their messages behind
  hide_vga_hardware_cursor();
  state.active = Screen::vga_text;
}

bool use_framebuffer(std::uint8_t* pixels, std::uint32_t width, std::uint32_t height,
                     std::uint32_t pitch, PixelFormat format) {
  if (format.bytes_per_pixel != 3 && format.bytes_per_pixel != 4) return false;
  if (width < 8 * kGlyphWidth || height < 2 * kGlyphHeight) return false;
  sync::SpinlockGuard guard(console_lock);
  const ColorCode color = state.vga.color();
  state.framebuffer = TextWriter<FramebufferScreen>(
      FramebufferScreen(pixels, width, height, pitch, format, framebuffer_shadow));
  state.framebuffer.set_color(color);
  state.framebuffer.clear();
  state.active = Screen::framebuffer;
  return true;
}

Locked::Locked() : guard_(console_lock) {}
Locked::~Locked() = default;

void Locked::write(std::string_view text) { write_unlocked(text); }

void Locked::set_color(ColorCode color) {
  state.vga.set_color(color);
  state.framebuffer.set_color(color);
}

ColorCode Locked::color() const {
  return state.active == Screen::framebuffer ? state.framebuffer.color() : state.vga.color();
}

void Locked::show_input_line(std::string_view text, std::optional<std::size_t> cursor) {
  with_writer([&](auto& writer) { writer.show_input_line(text, cursor); });
}

void Locked::clear() {
  with_writer([](auto& writer) { writer.clear(); });
}

Screen Locked::screen() const { return state.active; }

ScreenChar Locked::cell(std::size_t row, std::size_t column) const {
  ScreenChar result{0, 0};
  with_writer([&](auto& writer) {
    if (row < writer.screen().rows() && column < writer.screen().columns()) {
      result = writer.screen().get(row, column);
    }
  });
  return result;
}

std::size_t Locked::rows() const {
  std::size_t rows = 0;
  with_writer([&](auto& writer) { rows = writer.screen().rows(); });
  return rows;
}

std::size_t Locked::columns() const {
  std::size_t columns = 0;
  with_writer([&](auto& writer) { columns = writer.screen().columns(); });
  return columns;
}

void write(std::string_view text) {
  Locked console;
  console.write(text);
}

void write_for_panic(std::string_view text, ColorCode color) {
  // Whoever held the lock will never run again: take the console as it is.
  arch::disable_interrupts();
  console_lock.force_unlock();
  Locked console;
  const ColorCode previous = console.color();
  console.set_color(color);
  console.write(text);
  console.set_color(previous);
}

void write_serial(std::string_view text) {
  sync::SpinlockGuard guard(console_lock);
  state.serial.write(text);
}

}  // namespace ferrite::console
