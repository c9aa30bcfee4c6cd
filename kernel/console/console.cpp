// The global console: which screen is active, the serial mirror, the console's place in the log,
// and the lock around all of it (task context only; see console.h).
#include "console/console.h"

#include <algorithm>

#include "arch/x86_64/cpu.h"
#include "console/flood_guard.h"
#include "console/text_writer.h"
#include "console/vt100.h"
#include "platform/pc/serial.h"
#include "sched/scheduler.h"
#include "sched/sync.h"
#include "sync/spinlock.h"

namespace ferrite::console {

namespace {

constexpr std::uint8_t kCom1Irq = 4;

struct State {
  pc::SerialPort serial{0x3F8};  // COM1
  Screen active = Screen::none;
  TextWriter<pc::VgaTextScreen> vga;
  TextWriter<FramebufferScreen> framebuffer;
  log::Reader reader{log::ring()};  // from the first record on
  std::uint64_t drops_reported = 0;
  log::Level level = log::Level::info;
  bool interrupts_in_use = false;  // after use_serial_interrupts()
  bool emergency = false;          // a panic took the console: no lock, polled serial, for good
  FloodGuard flood;                // how much of a flood of messages is shown (flood_guard.h)
  bool showing = true;             // whether the message being read (its continuations) is shown
  // Programs' output (write_terminal): a VT100 terminal over each screen, made at first use.
  // `kernel_wrote` says the kernel's writer drew since, so the terminal's cursor must catch up.
  std::optional<Terminal<pc::VgaTextScreen>> vga_terminal;
  std::optional<Terminal<FramebufferScreen>> framebuffer_terminal;
  bool kernel_wrote = true;
  Utf8ToGlyphs program_utf8;  // a UTF-8 sequence may be split between two writes
};

// Task context only (try_acquire refuses interrupt handlers), held with interrupts on.
constinit sync::Spinlock console_lock;
// Threads that wait for the console (Locked) sleep here rather than spin: its holder may be
// preempted, and a waiter of higher priority (the shell's thread) spinning would never let it
// run again (strict priorities, sched/run_queue.h).
constinit sched::WaitQueue console_waiters;
State state;  // not constinit: the reader points at the log's ring (set up before any constructor runs)
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

ColorCode current_color() {
  return state.active == Screen::framebuffer ? state.framebuffer.color() : state.vga.color();
}

void set_current_color(ColorCode color) {
  state.vga.set_color(color);
  state.framebuffer.set_color(color);
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

// Task context: may wait for the console and for room in the serial buffer. Before the serial
// interrupt is in use (early boot) nothing runs in interrupt context, so every context counts.
bool in_task_context() { return !state.interrupts_in_use || arch::interrupts_enabled(); }

// Hands text to the UART. When the buffer is full, waits for the transmit interrupt to make room
// (`sti; hlt` after a check with interrupts off, so the wake-up cannot be missed), or, with
// interrupts off, pushes the buffer out by polling.
void serial_write(std::string_view text) {
  while (!text.empty()) {
    text.remove_prefix(state.serial.queue(text));
    if (text.empty()) break;
    if (arch::interrupts_enabled() && state.serial.interrupt_driven()) {
      arch::disable_interrupts();
      if (state.serial.room() < 2) {
        arch::enable_interrupts_and_halt();
      } else {
        arch::enable_interrupts();
      }
    } else {
      state.serial.flush_polled();
    }
  }
}

void write_unlocked(std::string_view text) {
  state.kernel_wrote = true;
  with_writer([&](auto& writer) { writer.write(text); });
  serial_write(text);
}

ColorCode color_of(log::Level level) {
  switch (level) {
    case log::Level::debug: return ColorCode(Color::dark_gray, Color::black);
    case log::Level::info: return current_color();
    case log::Level::warn: return ColorCode(Color::yellow, Color::black);
    case log::Level::error: return ColorCode(Color::light_red, Color::black);
  }
  return current_color();
}

// Says how many messages the flood guard left out, once it lets one through again.
void report_left_out() {
  char note[96];
  const std::size_t length = fmt::format_to_buffer(
      note, "[console: {} log messages left out (a flood); `dmesg` has the latest]\n",
      state.flood.take_left_out());
  write_unlocked({note, length < sizeof(note) ? length : sizeof(note) - 1});
}

// Shows new log records (console held, or the panic path); records written meanwhile wait for
// the next drain, so a flood cannot keep the holder here. Returns whether it read any.
// `guarded`: leave out what the flood guard refuses (task context); panic and flush() show all.
bool drain_unlocked(bool skip_in_flight = false, bool guarded = true) {
  bool progress = false;
  log::Record record;
  const std::uint64_t end = log::ring().head();
  while (state.reader.position() < end && state.reader.next(record, skip_in_flight)) {
    progress = true;
    if (state.reader.dropped() != state.drops_reported) {
      char note[64];
      const std::size_t length = fmt::format_to_buffer(
          note, "[log: {} records lost]\n", state.reader.dropped() - state.drops_reported);
      state.drops_reported = state.reader.dropped();
      write_unlocked({note, length < sizeof(note) ? length : sizeof(note) - 1});
    }
    if (record.level < state.level) continue;
    if (!record.continuation) {
      state.showing = !guarded || record.console || state.flood.admit(record.timestamp_ns);
      if (state.showing && state.flood.left_out() > 0) report_left_out();
    }
    if (!state.showing) continue;
    const std::uint64_t started = guarded ? log::now_ns() : 0;
    const ColorCode previous = current_color();
    set_current_color(color_of(record.level));
    write_unlocked(record.view());
    set_current_color(previous);
    if (guarded) state.flood.charge(log::now_ns() - started);
  }
  // The flood is over: say what was left out now rather than at the next message.
  if (guarded && state.flood.left_out() > 0 && !state.reader.pending() &&
      state.flood.has_credit(log::now_ns())) {
    report_left_out();
  }
  return progress;
}

// Waits for the console: asleep in a thread, spinning only before threads exist (when nobody
// can hold it meanwhile).
void lock_console() {
  if (!sched::running()) return console_lock.lock();
  sync::InterruptGuard no_interrupts;  // one CPU: the holder cannot let go between try and wait
  while (!console_lock.try_lock()) console_waiters.wait_locked();
}

void unlock_console() {
  console_lock.unlock();
  // A waiter queued itself before this unlock (its try and wait are one interrupts-off step),
  // or its next try finds the console free: the emptiness test misses nobody.
  if (console_waiters.empty()) return;
  sync::InterruptGuard no_interrupts;
  // All wake: one that was killed meanwhile would not pass the console on.
  while (console_waiters.wake_one_locked()) {
  }
  // A waiter of higher priority runs now, while the console is free: else a holder that takes
  // it again at once (a program writing in a loop) could keep it from the shell for long.
  sched::preempt_if_needed_locked();
}

// Takes the console if it is free and we are in task context (never waits).
bool try_acquire() {
  if (state.emergency || !in_task_context()) return false;
  if (!console_lock.try_lock()) return false;
  drain_unlocked();
  return true;
}

void release() {
  drain_unlocked();
  unlock_console();
}

// --- The log's consumer interface (lib/log.h).

void drain() {
  // A record that lands after our last look but before the unlock would wait for the next
  // printer: look again after letting go (printk's console_unlock does the same).
  while (state.reader.pending() && try_acquire()) {
    const bool progress = drain_unlocked();
    unlock_console();
    if (!progress) break;  // the next record is still being written
  }
}

void emergency_flush() {
  // The panicking code may hold the console, or have been interrupted inside it: take it as it
  // is, for good. The serial buffer goes out first (it is older than any unread record).
  state.emergency = true;
  state.serial.stop_interrupts();
  state.showing = true;
  drain_unlocked(/*skip_in_flight=*/true, /*guarded=*/false);  // a writer the panic interrupted will never finish
}

void flush() {
  if (!try_acquire()) {
    emergency_flush();  // an interrupt handler or a panic hook: nothing will run after this
    return;
  }
  while (drain_unlocked(false, /*guarded=*/false)) {
  }
  // Wait until the transmit interrupt has handed everything to the UART.
  while (state.serial.interrupt_driven() && !state.serial.idle()) {
    arch::disable_interrupts();
    if (!state.serial.idle()) {
      arch::enable_interrupts_and_halt();
    } else {
      arch::enable_interrupts();
    }
  }
  unlock_console();
}

void emergency_write(std::string_view text) { state.serial.write_polled(text); }

constexpr log::Consumer kConsumer{drain, flush, emergency_flush, emergency_write};

}  // namespace

void init_early(volatile ScreenChar* vga_text_buffer) {
  state.serial.init();
  state.vga = TextWriter<pc::VgaTextScreen>(pc::VgaTextScreen(vga_text_buffer, vga_shadow));
  state.vga.clear();  // firmware and bootloader leave their messages behind
  hide_vga_hardware_cursor();
  state.active = Screen::vga_text;
  log::set_consumer(&kConsumer);
}

void use_serial_interrupts() {
  state.serial.use_interrupts(kCom1Irq);
  state.interrupts_in_use = true;
}

bool use_framebuffer(std::uint8_t* pixels, std::uint32_t width, std::uint32_t height,
                     std::uint32_t pitch, PixelFormat format) {
  if (format.bytes_per_pixel != 3 && format.bytes_per_pixel != 4) return false;
  if (width < 8 * kGlyphWidth || height < 2 * kGlyphHeight) return false;
  Locked console;
  const ColorCode color = state.vga.color();
  state.framebuffer = TextWriter<FramebufferScreen>(
      FramebufferScreen(pixels, width, height, pitch, format, framebuffer_shadow));
  state.framebuffer.set_color(color);
  state.framebuffer.clear();
  state.active = Screen::framebuffer;
  return true;
}

void set_level(log::Level level) { state.level = level; }
log::Level level() { return state.level; }

Locked::Locked() {
  lock_console();
  drain_unlocked();
}

Locked::~Locked() {
  release();
  drain();
}

void Locked::write(std::string_view text) { write_unlocked(text); }
void Locked::set_color(ColorCode color) { set_current_color(color); }
ColorCode Locked::color() const { return current_color(); }

void Locked::show_input_line(std::string_view text, std::optional<std::size_t> cursor) {
  state.kernel_wrote = true;
  with_writer([&](auto& writer) { writer.show_input_line(text, cursor); });
}

void Locked::clear() {
  state.kernel_wrote = true;
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

Printer::Printer()
    : direct_(try_acquire()), record_(log::ring(), log::Level::info, log::now_ns(), /*console=*/true) {}

Printer::~Printer() {
  if (direct_) {
    release();
    drain();
  } else {
    record_.finish();
  }
}

void Printer::write(std::string_view text) {
  if (direct_) {
    write_unlocked(text);
  } else {
    record_.write(text);
  }
}

void Printer::set_color(ColorCode color) {
  if (direct_) set_current_color(color);
}
ColorCode Printer::color() const { return current_color(); }

void write(std::string_view text) {
  Printer printer;
  printer.write(text);
}

namespace {

template <class Screen>
std::size_t write_through_terminal(TextWriter<Screen>& writer, std::optional<Terminal<Screen>>& terminal,
                                   std::string_view text, std::span<char> reply) {
  if (!terminal) terminal.emplace(writer.screen());
  // The writer and the terminal share one cursor: whoever drew last hands it over.
  if (state.kernel_wrote) terminal->move_to(writer.row(), writer.column());
  // UTF-8 from programs becomes code-page-437 glyphs, as the kernel's own text does
  // (text_writer.h); bytes below 0x80 — text, controls, escape sequences — reach the VT100
  // parser as they are. A glyph below 0x20 (CP437 puts symbols there) would read as a control
  // character, so it shows as the block too.
  const auto glyph = [&](std::uint8_t g) { terminal->write(g < 0x20 ? std::uint8_t{0xFE} : g); };
  for (const char c : text) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (byte < 0x80) {
      state.program_utf8.finish(glyph);  // a sequence cut short shows as a block
      terminal->write(byte);
    } else {
      state.program_utf8.feed(byte, glyph);
    }
  }
  writer.continue_at(terminal->row(), terminal->column());
  const std::string_view answer = terminal->pending_reply();
  const std::size_t length = std::min(answer.size(), reply.size());
  std::copy_n(answer.begin(), length, reply.begin());
  terminal->clear_reply();
  return length;
}

}  // namespace

std::size_t write_terminal(std::string_view text, std::span<char> reply) {
  Locked console;  // shows pending log records first
  std::size_t replied = 0;
  switch (state.active) {
    case Screen::vga_text: replied = write_through_terminal(state.vga, state.vga_terminal, text, reply); break;
    case Screen::framebuffer:
      replied = write_through_terminal(state.framebuffer, state.framebuffer_terminal, text, reply);
      break;
    case Screen::none: break;
  }
  serial_write(text);
  state.kernel_wrote = false;
  return replied;
}

CellSize screen_size() {
  Locked console;
  return {console.rows(), console.columns()};
}

void write_serial(std::string_view text) {
  if (state.emergency) {
    state.serial.write_polled(text);
  } else if (try_acquire()) {
    serial_write(text);
    release();
  } else {
    // An interrupt handler, or the console is busy: shown (on screen too) later.
    log::RecordWriter(log::ring(), log::Level::info, log::now_ns(), /*console=*/true).write(text);
  }
}

void show_log() {
  Locked console;
  const log::Ring& ring = log::ring();
  log::Reader reader(ring, ring.oldest());
  log::Record record;
  bool line_start = true;
  const ColorCode normal = current_color();
  while (reader.next(record)) {
    set_current_color(record.level == log::Level::info ? normal : color_of(record.level));
    std::string_view text = record.view();
    while (!text.empty()) {
      if (line_start) {
        log::write_timestamp(console, record.timestamp_ns);
      }
      const std::size_t end = text.find('\n');
      const std::size_t take = end == std::string_view::npos ? text.size() : end + 1;
      console.write(text.substr(0, take));
      line_start = end != std::string_view::npos;
      text.remove_prefix(take);
    }
  }
  set_current_color(normal);
  if (!line_start) console.write("\n");
  if (reader.dropped() > 0) {
    fmt::format_to(console, "({} older records were overwritten)\n", reader.dropped());
  }
}

}  // namespace ferrite::console
