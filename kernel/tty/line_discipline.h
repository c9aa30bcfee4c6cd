// The terminal's line discipline in canonical mode (chapter 14): what a Linux tty does between
// the keyboard and a program's read() when ICANON is on (termios(3), "Canonical and
// noncanonical mode"; Linux's drivers/tty/n_tty.c). Typed characters are collected into a line
// that can still be edited; Enter hands the line to the reader.
//
//   Enter (\n, or \r turned into \n as ICRNL does)  completes the line, newline included
//   Backspace (\b) or DEL (0x7F, VERASE)             erases the last character (a whole UTF-8 one)
//   Ctrl+W (VWERASE)                                  erases the last word (as Linux: what is not a
//                                                     letter, digit or _, then the letters before it)
//   Ctrl+U (VKILL)                                    erases the whole line being typed
//   Ctrl+D (VEOF)                                     completes the line without a newline; on an
//                                                     empty line the next read returns 0 (EOF)
//
// With ISIG (chapter 15, in both modes) VINTR (Ctrl+C), VQUIT (Ctrl+\) and VSUSP (Ctrl+Z) are
// not input: they stand for SIGINT, SIGQUIT and SIGTSTP to the terminal's foreground process
// group (n_tty.c's isig()).
// The line discipline says which signal a byte means (signal_for) and does its own part when the
// byte arrives: everything typed so far is flushed unless NOFLSH, and it echoes as ^C. Sending
// the signal is the terminal's (tty/console.cpp): it must happen when the key is pressed, even
// when no program is reading.
//
// A read returns at most one line (less if the reader's buffer is smaller: the rest waits for
// the next read). Echo goes to a fmt::Sink — the console — with "\b \b" for erasing, as
// ECHOE/ECHOKE do, and other control characters echoed as ^X (ECHOCTL).
//
// Erasing must back the cursor up over exactly the columns the character took. Most take one,
// ^X two; a Tab is echoed as itself and takes the screen to the next multiple of 8, so its width
// depends on the column it started at — which depends on what was on the screen before the line
// began (the shell's prompt "/ # " ends at column 4). So the discipline follows the cursor's
// column through everything written to the terminal (its echo, and program output, which the
// terminal passes to wrote()), notes the column each line begins at, and erases a Tab by working
// out where it started (n_tty.c's eraser() does the same with its canon_column). A Tab's cells
// were never written, so it is erased with "\b"s alone.
// Portable and host-tested; it knows nothing about keyboards, screens or blocking.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "lib/format.h"

namespace ferrite::tty {

class LineDiscipline {
 public:
  // Linux's n_tty keeps 4096 bytes; a line that would not fit takes no more characters.
  static constexpr std::size_t kCapacity = 4096;

  // Linux's numbers for the signals the terminal sends (proc/signal.h has them all).
  static constexpr int kSignalInterrupt = 2, kSignalQuit = 3, kSignalSuspend = 20;

  // One typed byte. What the user should see of it is written to `echo`. Returns the signal the
  // byte stands for under ISIG (its flush and echo are done), 0 for an ordinary byte.
  int receive(char byte, fmt::Sink& echo);

  // The signal `byte` stands for with the current settings: kSignalInterrupt for VINTR,
  // kSignalQuit for VQUIT, kSignalSuspend for VSUSP, 0 otherwise or without ISIG. A control character set to 0
  // (_POSIX_VDISABLE) matches nothing.
  [[nodiscard]] int signal_for(char byte) const {
    if (!isig_ || byte == 0) return 0;
    if (byte == interrupt_char_) return kSignalInterrupt;
    if (byte == quit_char_) return kSignalQuit;
    if (byte == suspend_char_) return kSignalSuspend;
    return 0;
  }
  // A signal key's own part (receive() does it for a byte signal_for() matches; the terminal
  // calls it for a key it already recognised on arrival): the input is flushed unless NOFLSH,
  // and the key echoes as ^C / ^\ / ^Z if ECHO is on.
  void signal_key(char byte, fmt::Sink& echo);
  // ISIG, NOFLSH and the VINTR/VQUIT/VSUSP characters from termios (defaults: on, off, ^C, ^\,
  // ^Z).
  void set_signals(bool isig, bool noflsh, char interrupt_char, char quit_char,
                   char suspend_char = 0x1A) {
    isig_ = isig;
    noflsh_ = noflsh;
    interrupt_char_ = interrupt_char;
    quit_char_ = quit_char;
    suspend_char_ = suspend_char;
  }

  // Program output written to the terminal: moves the column the discipline follows (its own
  // echo it counts itself). Escape sequences take no columns (an SGR colour in a prompt).
  void wrote(std::string_view text) { follow(text); }
  // The cursor is at `column` now (a program takes the terminal where the kernel left it).
  void set_column(std::size_t column) { column_ = column; }
  [[nodiscard]] std::size_t column() const { return column_; }

  // Whether a read would return now: a completed line (or an end-of-file mark) is waiting.
  [[nodiscard]] bool can_read() const { return committed_ > 0; }
  // Takes at most one completed line (or as much of it as fits) into `out`, and returns the
  // byte count; 0 means end of file (Ctrl+D on an empty line) or nothing to read (check
  // can_read() first).
  std::size_t read(std::span<char> out);

  // Bytes of completed lines waiting (FIONREAD), and of the line still being typed.
  [[nodiscard]] std::size_t readable_bytes() const;
  [[nodiscard]] std::size_t editing_bytes() const { return size_ - committed_; }

  // ICANON off (chapter 15, "raw" or noncanonical mode): every byte is readable at once, no
  // editing characters, a read takes whatever is there up to its size (VMIN/VTIME are the
  // terminal's to wait for). ICRNL and ECHO still apply.
  void set_canonical(bool on) {
    canonical_ = on;
    if (!on) commit();  // what was being typed becomes readable as it is
  }
  [[nodiscard]] bool canonical() const { return canonical_; }

  void set_echo(bool on) { echo_ = on; }
  [[nodiscard]] bool echo() const { return echo_; }
  // Drops everything typed (TCSETSF, or a new program taking the terminal).
  void flush_input();

 private:
  // Each byte of the buffer may end a line; an end-of-file mark is a placeholder byte that ends
  // a line and is never copied to the reader (n_tty.c stores __DISABLED_CHAR the same way).
  enum Mark : std::uint8_t { kNone = 0, kLineEnd = 1, kEofMark = 2 };

  bool append(char byte, std::uint8_t mark);
  bool erase_last_character(fmt::Sink& echo);  // false: nothing left to erase
  void erase_word(fmt::Sink& echo);
  // Where the character that ends just before `end` (> committed_) starts: at a UTF-8 lead byte
  // followed by no more continuation bytes than it announces, or else `end` - 1 (a stray
  // continuation byte shows on the console as a block of its own, one column).
  [[nodiscard]] std::size_t character_start(std::size_t end) const;
  // The columns a Tab at `at` in the line being typed moved the cursor.
  [[nodiscard]] std::size_t tab_width(std::size_t at) const;
  void commit() { committed_ = size_; }
  // Echo: writes `text` and follows the cursor through it.
  void show(fmt::Sink& echo, std::string_view text) {
    echo.write(text);
    follow(text);
  }
  void follow(std::string_view text);

  std::array<char, kCapacity> bytes_{};
  std::array<std::uint8_t, kCapacity> marks_{};
  std::size_t size_ = 0;       // bytes in the buffer
  std::size_t committed_ = 0;  // of those, the completed lines at the front
  bool echo_ = true;
  bool canonical_ = true;
  bool isig_ = true, noflsh_ = false;
  char interrupt_char_ = 0x03, quit_char_ = 0x1C, suspend_char_ = 0x1A;
  // The cursor's column as far as output through the terminal tells (ONLCR: a newline returns
  // it to 0), and the column the line being typed began at.
  std::size_t column_ = 0, line_column_ = 0;
  // follow()'s state across writes: inside an escape sequence, and UTF-8 continuation bytes
  // still expected (they take no column of their own).
  enum class Escape : std::uint8_t { none, escape, csi } escape_ = Escape::none;
  std::uint8_t utf8_pending_ = 0;
};

}  // namespace ferrite::tty
