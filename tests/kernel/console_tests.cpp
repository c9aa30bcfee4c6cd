// Chapter 3 and 4's tests of the console: println works, survives scrolling, and puts the text
// where the VGA writer says it does: top-down, as a terminal (a cleared screen starts at row 0).
#include "console/console.h"
#include "console/print.h"
#include "arch/x86_64/cpu.h"
#include "platform/pc/pit.h"
#include "time/tick.h"
#include "test/ktest.h"

KTEST(trivial_assertion) { KEXPECT_EQ(1, 1); }

KTEST(test_println_simple) { ferrite::println("test_println_simple output"); }

KTEST(test_println_many) {
  for (int i = 0; i < 200; ++i) ferrite::println("test_println_many output {}", i);
}

KTEST(test_println_output) {
  constexpr std::string_view text = "Some test string that fits on a single line";
  // Hold the console for the whole check, so no interrupt handler prints in between.
  ferrite::console::Locked console;
  console.clear();
  ferrite::fmt::format_to(console, "\n{}\n", text);
  const std::size_t row = 1;  // below the empty first line
  for (std::size_t i = 0; i < text.size(); ++i) {
    KEXPECT_EQ(console.cell(row, i).character, static_cast<std::uint8_t>(text[i]));
  }
  KEXPECT_EQ(console.cell(row, text.size()).character, std::uint8_t{' '});
}

KTEST(println_wraps_long_lines) {
  ferrite::console::Locked console;
  const std::size_t columns = console.columns();
  console.clear();
  for (std::size_t i = 0; i < columns + 5; ++i) console.write("x");
  // The first `columns` characters filled row 0; 5 went on to row 1.
  KEXPECT_EQ(console.cell(0, columns - 1).character, std::uint8_t{'x'});
  KEXPECT_EQ(console.cell(1, 4).character, std::uint8_t{'x'});
  KEXPECT_EQ(console.cell(1, 5).character, std::uint8_t{' '});
  // Down to the last row: only the newline written there scrolls the screen up by one.
  for (std::size_t row = 2; row < console.rows(); ++row) console.write("\n");  // rows - 2 down
  KEXPECT_EQ(console.cell(0, 0).character, std::uint8_t{'x'});
  console.write("\n");
  KEXPECT_EQ(console.cell(0, 4).character, std::uint8_t{'x'});  // row 1 moved up
  KEXPECT_EQ(console.cell(0, 5).character, std::uint8_t{' '});
}

KTEST(println_shows_unprintable_bytes_as_blocks) {
  ferrite::console::Locked console;
  console.clear();
  console.write("\na\x01" "b\n");
  const std::size_t row = 1;
  KEXPECT_EQ(console.cell(row, 0).character, std::uint8_t{'a'});
  KEXPECT_EQ(console.cell(row, 1).character, std::uint8_t{0xFE});
  KEXPECT_EQ(console.cell(row, 2).character, std::uint8_t{'b'});
}

// Issue 9, bug 3: holding the console (and printing a lot, more than the serial buffer holds)
// must not hold interrupts off, or the PIT's ticks are lost and the clock runs slow. The serial
// port is fed by its transmit interrupt; the writer waits for it with interrupts on.
KTEST(timer_keeps_ticking_while_the_console_prints) {
  std::uint64_t ticks_before = 0, ticks_after = 0;
  bool interrupts_on = false;
  {
    ferrite::console::Locked console;
    interrupts_on = ferrite::arch::interrupts_enabled();
    ticks_before = ferrite::time::tick_count();  // the APIC timer tick (chapter 13)
    console.write("\n");
    for (int line = 0; line < 100; ++line) {
      ferrite::fmt::format_to(console, "timer_keeps_ticking line {:>3}: {:-<80}\n", line, "");
    }
    ticks_after = ferrite::time::tick_count();
  }
  KEXPECT(interrupts_on);
  KEXPECT(ticks_after > ticks_before);
}

// Chapter 14: programs' output goes through the VT100 terminal (console::write_terminal) and
// continues where the kernel's writer left off; the kernel's next output continues after it, on
// whatever row the program left the cursor (the two hand one cursor over both ways).
KTEST(terminal_output_understands_vt100) {
  ferrite::console::Locked().clear();
  ferrite::console::write("kernel\n");  // the cursor is at row 1 now
  // "abc", back two, overwrite with X; then red "R" (SGR 31), reset, and "k" from the kernel.
  ferrite::console::write_terminal("abc\x1b[2DX\x1b[31mR\x1b[0m");
  ferrite::console::write("k");
  {
    ferrite::console::Locked console;
    KEXPECT_EQ(console.cell(0, 0).character, std::uint8_t{'k'});
    KEXPECT_EQ(console.cell(1, 0).character, std::uint8_t{'a'});
    KEXPECT_EQ(console.cell(1, 1).character, std::uint8_t{'X'});
    KEXPECT_EQ(console.cell(1, 2).character, std::uint8_t{'R'});
    KEXPECT_EQ(console.cell(1, 2).color, std::uint8_t{0x04});  // ANSI red = VGA red on black
    KEXPECT_EQ(console.cell(1, 3).character, std::uint8_t{'k'});
  }
  // UTF-8 from a program is shown in code page 437, even split between two writes: "ä" is 0x84.
  ferrite::console::write_terminal("\x1b[2K\x1b[1G\xC3");
  ferrite::console::write_terminal("\xA4!");
  {
    ferrite::console::Locked console;
    KEXPECT_EQ(console.cell(1, 0).character, std::uint8_t{0x84});
    KEXPECT_EQ(console.cell(1, 1).character, std::uint8_t{'!'});
  }
  // Erase in line (CSI 2 K) blanks the whole row the cursor is on.
  ferrite::console::write_terminal("\x1b[2K");
  {
    ferrite::console::Locked console;
    KEXPECT_EQ(console.cell(1, 0).character, std::uint8_t{' '});
    KEXPECT_EQ(console.cell(1, 3).character, std::uint8_t{' '});
  }
  // A program that moves the cursor (CSI 10;5 H: row 10, column 5, 1-based) leaves it there for
  // the kernel's next output, which then goes on down from that row.
  ferrite::console::write_terminal("\x1b[10;5H");
  ferrite::console::write("K\nL");
  {
    ferrite::console::Locked console;
    KEXPECT_EQ(console.cell(9, 4).character, std::uint8_t{'K'});
    KEXPECT_EQ(console.cell(10, 0).character, std::uint8_t{'L'});
  }
  ferrite::console::write("\n");
}
