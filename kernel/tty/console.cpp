// The console terminal: keyboard bytes in, line discipline, VT100 screen out (see console.h).
#include "tty/console.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <optional>

#include "abi/linux_types.h"
#include "arch/x86_64/cpu.h"
#include "console/console.h"
#include "drivers/keyboard/keyboard.h"
#include "fs/file.h"
#include "lib/log.h"
#include "lib/panic.h"
#include "lib/utf8.h"
#include "proc/signal.h"
#include "proc/signals.h"
#include "sched/scheduler.h"
#include "sched/sync.h"
#include "sync/spinlock.h"
#include "task/kernel_runtime.h"
#include "task/spsc_ring.h"
#include "tty/line_discipline.h"

namespace ferrite::tty {

namespace {

// The echo goes where programs' output goes.
struct EchoToConsole final : fmt::Sink {
  void write(std::string_view text) override { console::write_terminal(text); }
};

// What TCGETS reports, as a Linux console in its default "cooked" mode has it (stty -a on a
// Linux VT: icrnl ixon opost onlcr cs8 cread isig icanon echo echoe echok echoctl echoke
// iexten, 38400 baud, ^C ^\ ^? ^U ^D min 1 time 0 ^Q ^S ^Z ^W).
abi::Termios default_termios() {
  abi::Termios t{};
  t.c_iflag = abi::kIcrnl | abi::kIxon;
  t.c_oflag = abi::kOpost | abi::kOnlcr;
  t.c_cflag = abi::kB38400 | abi::kCs8 | abi::kCread;
  t.c_lflag = abi::kIsig | abi::kIcanon | abi::kEcho | abi::kEchoe | abi::kEchok | abi::kEchoctl |
              abi::kEchoke | abi::kIexten;
  t.c_cc[abi::kVintr] = 0x03;
  t.c_cc[abi::kVquit] = 0x1C;
  t.c_cc[abi::kVerase] = 0x7F;
  t.c_cc[abi::kVkill] = 0x15;
  t.c_cc[abi::kVeof] = 0x04;
  t.c_cc[abi::kVmin] = 1;
  t.c_cc[abi::kVstart] = 0x11;
  t.c_cc[abi::kVstop] = 0x13;
  t.c_cc[abi::kVsusp] = 0x1A;
  t.c_cc[abi::kVwerase] = 0x17;
  return t;
}

class ConsoleTerminal final : public fs::TerminalPort {
 public:
  void init(const drivers::keyboard::Layout& layout) {
    layout_ = &layout;
    termios_ = default_termios();
  }

  std::expected<std::size_t, abi::Errno> read(std::span<char> out,
                                              std::uint32_t opened_in) override {
    for (;;) {
      // Hung up while waiting (the session's leader ended): end of file, as on Linux.
      if (tty::hung_up(jobs, opened_in)) return 0;
      {
        // The pump, the read and the checks under one hold of the pump's mutex: the signal-key
        // thread's pump (a ^C flush) or a set_termios between the line discipline's read
        // taking its count and shifting the buffer left it with committed_ > size_ once.
        sched::MutexGuard one_at_a_time(pump_mutex_);
        pump_locked();
        LineDiscipline& discipline = line_discipline();
        if (discipline.can_read()) return discipline.read(out);
        // Raw mode with VMIN 0: a read returns what is there, even nothing (VTIME is not
        // supported: no timed wait; VMIN > 1 returns as soon as one byte is there).
        if (!discipline.canonical() && termios_.c_cc[abi::kVmin] == 0) return 0;
      }
      // Sleep until IRQ 1 queues a byte — or a signal (or a kill: Ctrl+C in `run`) ends the
      // wait: EINTR, and the way back to ring 3 delivers it. The emptiness check and the wait
      // are one interrupts-off section, so a byte that arrives in between still wakes us.
      sync::InterruptGuard no_interrupts;
      if (scancodes_.empty() && replies_size_ == 0 && !tty::hung_up(jobs, opened_in) &&
          !waiters_.wait_interruptible_locked()) {
        return std::unexpected(abi::Errno::eintr);
      }
    }
  }

  void interrupt_readers() { waiters_.wake_all(); }

  // The screen may answer (the cursor position report busybox's line editor asks for with
  // CSI 6 n): the answer is typed into this terminal's input, as a real VT100 sends it back on
  // the line; it goes through the line discipline like keys (and echoes if ECHO is on, as on
  // Linux).
  void write(std::string_view text) override {
    char reply[kMaxReply];
    std::size_t length = 0;
    {
      // The line discipline follows the cursor's column through program output as through its
      // echo (a Tab typed after the prompt is erased from where the prompt ended); the pump's
      // mutex keeps the two in the order the screen gets them.
      sched::MutexGuard one_at_a_time(pump_mutex_);
      length = console::write_terminal(text, reply);
      line_discipline().wrote(text);
    }
    if (length == 0) return;
    {
      sync::SpinlockGuard guard(replies_lock_);
      for (std::size_t i = 0; i < length && replies_size_ < replies_.size(); ++i) {
        replies_[replies_size_++] = reply[i];
      }
    }
    waiters_.wake_all();
  }

  abi::Winsize window_size() override {
    const console::CellSize size = console::screen_size();
    return {static_cast<std::uint16_t>(size.rows), static_cast<std::uint16_t>(size.columns), 0, 0};
  }

  abi::Termios termios() override {
    sched::MutexGuard one_at_a_time(pump_mutex_);
    return termios_;
  }

  // ECHO, ICANON, ISIG, NOFLSH, VINTR, VQUIT and VSUSP take effect (TOSTOP too, read by the
  // system-call layer's job-control check) (chapter 15: raw mode for line editors); the other flags are
  // kept so that a program that saves and restores them gets back what it saved.
  // Under the pump's mutex: leaving canonical mode commits the line being typed, which must not
  // happen in the middle of a reader's or the pump's work on the buffer.
  void set_termios(const abi::Termios& termios) override {
    sched::MutexGuard one_at_a_time(pump_mutex_);
    termios_ = termios;
    line_discipline().set_echo((termios.c_lflag & abi::kEcho) != 0);
    line_discipline().set_canonical((termios.c_lflag & abi::kIcanon) != 0);
    apply_signal_settings();
  }

  std::size_t readable_bytes() override {
    sched::MutexGuard one_at_a_time(pump_mutex_);
    pump_locked();
    return line_discipline().readable_bytes();
  }

  std::uint32_t opened(std::int32_t sid) override {
    sched::MutexGuard counting(open_files_mutex_);  // against a hang-up in between
    const bool first = tty::live_files(jobs) == 0;
    const std::uint32_t opened_in = tty::file_opened(jobs, sid);
    if (!first) return opened_in;
    // The kernel's shell ran the program on Enter (or the boot log ended with a newline): the
    // program's output starts at column 0, and the discipline sees everything from here on.
    {
      sched::MutexGuard one_at_a_time(pump_mutex_);  // open_files_mutex_ first, as always
      line_discipline().set_column(0);
    }
    start_signal_key_thread();
    // A fresh decoder: the previous program's last keys (say Ctrl+D's releases) went to the
    // shell, and a modifier this one thinks is still held would garble the next line.
    if (layout_ != nullptr) {
      keyboard_.emplace(*layout_);
      sync::InterruptGuard no_interrupts;  // IRQ 1 feeds the watcher
      signal_watcher_.emplace(*layout_);
      pending_signal_keys_ = 0;
    }
    task::divert_scancodes(on_scancode);
    return opened_in;
  }

  void closed(std::uint32_t opened_in) override {
    sched::MutexGuard counting(open_files_mutex_);
    // A hung-up file was taken off the count by the hang-up already.
    if (tty::file_closed(jobs, opened_in)) give_back_keyboard();
  }

  // The session's files are dead at once, whoever still holds them (a background job the shell
  // left behind); another session's files on the console (a second program the kernel spawned)
  // stay alive. If none is left the keyboard goes back to the kernel shell now, as when the last
  // one closes; readers blocked in read() wake, the dead ones to return 0.
  std::optional<std::int32_t> hang_up_session(std::int32_t sid) override {
    std::optional<std::int32_t> old_foreground;
    {
      sched::MutexGuard counting(open_files_mutex_);
      const bool had_live = tty::live_files(jobs) > 0;
      old_foreground = tty::hang_up_session(jobs, sid);
      if (!old_foreground) return std::nullopt;
      if (had_live && tty::live_files(jobs) == 0) give_back_keyboard();
    }
    waiters_.wake_all();
    return old_foreground;
  }

 private:
  // The last live file closed or was hung up (open_files_mutex_ held).
  void give_back_keyboard() {
    // The queues and the line discipline have one consumer at a time: the signal-key thread
    // may be pumping right now.
    sched::MutexGuard one_at_a_time(pump_mutex_);
    {
      // Keys typed ahead that no read decoded belong to whoever reads next: the shell. Under
      // one interrupts-off section, so no byte can slip between the last one given back and
      // the shell's own queue.
      sync::InterruptGuard no_interrupts;
      task::divert_scancodes(nullptr);
      while (const std::optional<std::uint8_t> scancode = scancodes_.try_pop()) {
        if (*scancode != kSignalMark) task::give_back_scancode(*scancode);
      }
      while (signal_chars_.try_pop()) {
      }
      pending_signal_keys_ = 0;
    }
    // Decoded but unread text stays with the program that ended (Linux flushes a hung-up tty).
    line_discipline().flush_input();
    {
      sync::SpinlockGuard guard(replies_lock_);
      replies_size_ = 0;
    }
    line_discipline().set_echo(true);
    line_discipline().set_canonical(true);
    termios_ = default_termios();
    apply_signal_settings();
  }

  // IRQ 1 (through task::divert_scancodes): store the byte and wake the reader. A full queue
  // drops the byte, as the shell's queue does. A key that stands for a signal (ISIG: Ctrl+C,
  // Ctrl+\, Ctrl+Z) sends it to the foreground process group here, at once — whether or not anyone
  // reads the terminal (a shell waiting for `sleep 10` is not reading) — as Linux's n_tty does
  // when the byte arrives. In the queue it becomes a mark (kSignalMark, its character in
  // signal_chars_), and the signal-key thread pumps at once, so that the flush and the ^C echo
  // happen now, in thread context, where echoing may wait for the console.
  static void on_scancode(std::uint8_t scancode);
  static bool secure_attention(ConsoleTerminal& t, const drivers::keyboard::KeyEvent& event);

 public:
  static std::int64_t signal_key_thread(void*) {
    for (;;) {
      console_terminal_signal_keys().down();
      console_terminal_pump();
    }
  }

 private:
  // Started when a program first opens the terminal (a kernel that never runs one has no use
  // for it). Linux echoes ^C when the key arrives, not when someone reads; this thread does
  // that part.
  void start_signal_key_thread() {
    if (signal_key_thread_started_) return;
    signal_key_thread_started_ = true;
    if (auto thread = sched::spawn("tty-signal-keys", signal_key_thread, nullptr)) {
      sched::detach(**thread);
    } else {
      log::warn("tty: no thread for signal keys ({}): ^C echoes at the next read",
                sched::to_string(thread.error()));
    }
  }
  static sched::Semaphore& console_terminal_signal_keys();
  static void console_terminal_pump();
  static constexpr std::uint8_t kSignalMark = 0x00;  // not a set-1 make or break code

  // (pump_mutex_ held.) IRQ 1 reads these settings (signal_for) without the mutex, which it
  // must never wait for: they change with interrupts off, so it sees them whole (one CPU).
  void apply_signal_settings() {
    sync::InterruptGuard no_interrupts;
    line_discipline().set_signals((termios_.c_lflag & abi::kIsig) != 0,
                                 (termios_.c_lflag & abi::kNoflsh) != 0,
                                 static_cast<char>(termios_.c_cc[abi::kVintr]),
                                 static_cast<char>(termios_.c_cc[abi::kVquit]),
                                 static_cast<char>(termios_.c_cc[abi::kVsusp]));
  }

  // Decodes queued bytes into characters (UTF-8) and types them into the line discipline —
  // only until a line is complete, so that keys typed beyond it stay raw and can go back to the
  // shell if the program ends without reading them (`cat`, then Ctrl+D, then `ls` typed ahead).
  void pump() {
    sched::MutexGuard one_at_a_time(pump_mutex_);  // a reader and the signal-key thread
    pump_locked();
  }
  void pump_locked() {
    LineDiscipline& discipline = line_discipline();
    EchoToConsole echo;
    // The terminal's answers first: the program that asked is waiting for them.
    char replies[kMaxReply * 2];
    std::size_t reply_count = 0;
    {
      sync::SpinlockGuard guard(replies_lock_);
      reply_count = replies_size_;
      std::copy_n(replies_.begin(), reply_count, replies);
      replies_size_ = 0;
    }
    for (std::size_t i = 0; i < reply_count; ++i) (void)discipline.receive(replies[i], echo);
    // A queued signal key is decoded even past a completed line: its flush takes that line too.
    while (!discipline.can_read() || !discipline.canonical() ||
           pending_signal_keys_.load(std::memory_order_relaxed) > 0) {
      const std::optional<std::uint8_t> scancode = scancodes_.try_pop();
      if (!scancode) break;
      if (*scancode == kSignalMark) {
        if (const std::optional<char> key = signal_chars_.try_pop()) {
          discipline.signal_key(*key, echo);
          pending_signal_keys_.fetch_sub(1, std::memory_order_relaxed);
          continue;
        }
      }
      if (!keyboard_) continue;
      const auto event = keyboard_->feed(*scancode);
      if (!event || !event->pressed) continue;
      if (event->character == 0) {
        // In raw mode the keys without a character type what a VT100 sends for them (ECMA-48
        // cursor keys, as Linux's console in normal cursor mode): busybox's line editor
        // reads them for history and cursor motion. Canonical mode has no use for them.
        const std::string_view sequence = discipline.canonical() ? "" : escape_sequence(event->key);
        for (char byte : sequence) discipline.receive(byte, echo);
        continue;
      }
      char bytes[lib::kMaxUtf8Bytes];
      const std::size_t length = lib::encode_utf8(event->character, bytes);
      for (std::size_t i = 0; i < length; ++i) {
        // A signal key here was not one when it arrived (ISIG came on since): signal now.
        const int signal = discipline.receive(bytes[i], echo);
        const std::int32_t group = jobs.foreground.load();
        if (signal != 0 && group > 0) (void)proc::send_signal_to_group(group, signal);
      }
    }
  }

  // The line discipline, for a thread that holds pump_mutex_: its buffer changes under that
  // one lock only (IRQ 1 never touches it: keys reach it through scancodes_ and the pump). The
  // check is the invariant that a read outside the lock once broke (ConsoleTerminal::read).
  LineDiscipline& line_discipline() {
    FERRITE_ASSERT(pump_mutex_.held_by_current());
    return line_discipline_;
  }

  static std::string_view escape_sequence(drivers::keyboard::KeyCode key) {
    using drivers::keyboard::KeyCode;
    switch (key) {
      case KeyCode::ArrowUp: return "\x1b[A";
      case KeyCode::ArrowDown: return "\x1b[B";
      case KeyCode::ArrowRight: return "\x1b[C";
      case KeyCode::ArrowLeft: return "\x1b[D";
      case KeyCode::Home: return "\x1b[1~";
      case KeyCode::End: return "\x1b[4~";
      case KeyCode::Insert: return "\x1b[2~";
      case KeyCode::Delete: return "\x1b[3~";
      case KeyCode::PageUp: return "\x1b[5~";
      case KeyCode::PageDown: return "\x1b[6~";
      default: return "";
    }
  }

  const drivers::keyboard::Layout* layout_ = nullptr;
  std::optional<drivers::keyboard::Keyboard> keyboard_;
  // IRQ 1's own decoder, following every byte as keyboard_ will, to see signal keys at once.
  std::optional<drivers::keyboard::Keyboard> signal_watcher_;
  bool sysrq_held_ = false;  // IRQ 1's: Alt+SysRq (secure_attention)
  std::atomic<int> pending_signal_keys_{0};  // signal keys queued that pump() has not reached
  task::SpscRing<char, 16> signal_chars_;     // their characters, in order
  sched::Semaphore signal_keys_;              // one up() per signal key: the thread pumps
  sched::Mutex pump_mutex_;
  // Guards jobs' table of sessions with files open (tty::file_opened and the rest; taken
  // before pump_mutex_).
  sched::Mutex open_files_mutex_;
  bool signal_key_thread_started_ = false;
  // The screen's answers waiting to be typed in (write(), any thread; pump() takes them).
  static constexpr std::size_t kMaxReply = 32;
  // Threads only (IRQ 1 never takes it); SpinlockGuard keeps interrupts off, so its holder is never
  // preempted and nobody spins on a holder that cannot run.
  sync::Spinlock replies_lock_;
  std::array<char, kMaxReply * 2> replies_{};
  std::size_t replies_size_ = 0;
  LineDiscipline line_discipline_;
  abi::Termios termios_{};
  task::SpscRing<std::uint8_t, 256> scancodes_;
  sched::WaitQueue waiters_;
};

// Constant-initialised: its vtable pointer and members are in the image, so no constructor runs at
// boot and it is whole before init_console.
constinit ConsoleTerminal console_terminal;

sched::Semaphore& ConsoleTerminal::console_terminal_signal_keys() { return console_terminal.signal_keys_; }
void ConsoleTerminal::console_terminal_pump() { console_terminal.pump(); }

// Alt+SysRq+I, whatever the terminal's settings: SIGKILL to every process (proc::kill_all), as
// Linux's magic SysRq key "i" does. The way out when the program that holds the keyboard ignores
// or turns off every signal key (`trap '' INT QUIT TSTP` and a loop in busybox sh, or raw mode),
// which would otherwise keep the console from the kernel shell for good. SysRq is what Print
// Screen sends with Alt held. The I goes nowhere (the reader's decoder sees only its release).
bool ConsoleTerminal::secure_attention(ConsoleTerminal& t, const drivers::keyboard::KeyEvent& event) {
  using drivers::keyboard::KeyCode;
  if (event.key == KeyCode::PrintScreen) {
    t.sysrq_held_ = event.pressed;
    return false;  // the reader's decoder follows it (it types nothing)
  }
  if (!t.sysrq_held_ || !event.pressed || !event.modifiers.alt() || event.key != KeyCode::I)
    return false;
  const std::size_t count = proc::kill_all();
  log::warn("tty: Alt+SysRq+I: SIGKILL sent to {} process{}", count, count == 1 ? "" : "es");
  return true;
}

void ConsoleTerminal::on_scancode(std::uint8_t scancode) {
  ConsoleTerminal& t = console_terminal;
  // The watcher sees every byte first (a byte the full queue then drops is lost to the
  // reader's decoder too: its modifier state can be off by that byte, as with any dropped key).
  int signal = 0;
  char key = 0;
  if (t.signal_watcher_) {
    const auto event = t.signal_watcher_->feed(scancode);
    if (event && secure_attention(t, *event)) return;
    if (event && event->pressed && event->character != 0 && event->character < 0x80) {
      key = static_cast<char>(event->character);
      signal = t.line_discipline_.signal_for(key);
    }
  }
  if (signal == 0) {
    if (!t.scancodes_.try_push(scancode)) return;
    t.waiters_.wake_one();
    return;
  }
  if (const std::int32_t group = t.jobs.foreground.load(); group > 0) {
    (void)proc::send_signal_to_group(group, signal);
  }
  if (!t.signal_chars_.try_push(key)) return;
  if (!t.scancodes_.try_push(kSignalMark)) return;  // (its character then waits for the next mark)
  t.pending_signal_keys_.fetch_add(1, std::memory_order_relaxed);
  t.signal_keys_.up();
  t.waiters_.wake_one();
}

static_assert(LineDiscipline::kSignalInterrupt == proc::kSigInt &&
              LineDiscipline::kSignalQuit == proc::kSigQuit &&
              LineDiscipline::kSignalSuspend == proc::kSigTstp);

}  // namespace

void interrupt_console_readers() {
  console_terminal.interrupt_readers();
}

void init_console(const drivers::keyboard::Layout& layout) {
  console_terminal.init(layout);
  fs::set_terminal(&console_terminal);
}

}  // namespace ferrite::tty
