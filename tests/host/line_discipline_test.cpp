// The terminal's canonical-mode line discipline (kernel/tty/line_discipline.h): what a read
// returns and what the user sees echoed, for the editing keys of termios(3).
#include "tty/line_discipline.h"

#include <gtest/gtest.h>

#include <string>

using ferrite::tty::LineDiscipline;

namespace {

struct Echo final : ferrite::fmt::Sink {
  std::string text;
  void write(std::string_view part) override { text.append(part); }
};

void type(LineDiscipline& ld, std::string_view keys, Echo& echo) {
  for (char c : keys) ld.receive(c, echo);
}

std::string read_all(LineDiscipline& ld, std::size_t buffer = 100) {
  std::string out(buffer, '\0');
  out.resize(ld.read({out.data(), out.size()}));
  return out;
}

}  // namespace

TEST(LineDiscipline, EnterCompletesTheLineAndItIsEchoed) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "hello", echo);
  EXPECT_FALSE(ld.can_read());  // still being edited
  EXPECT_EQ(ld.editing_bytes(), 5u);
  type(ld, "\n", echo);
  ASSERT_TRUE(ld.can_read());
  EXPECT_EQ(ld.readable_bytes(), 6u);
  EXPECT_EQ(read_all(ld), "hello\n");
  EXPECT_EQ(echo.text, "hello\n");
  EXPECT_FALSE(ld.can_read());
}

TEST(LineDiscipline, CarriageReturnIsANewline) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "a\r", echo);
  EXPECT_EQ(read_all(ld), "a\n");  // ICRNL
}

TEST(LineDiscipline, AReadReturnsAtMostOneLine) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "one\ntwo\nthr", echo);
  EXPECT_EQ(read_all(ld), "one\n");
  EXPECT_EQ(read_all(ld), "two\n");
  EXPECT_FALSE(ld.can_read());  // "thr" is still being typed
  type(ld, "ee\n", echo);
  EXPECT_EQ(read_all(ld), "three\n");
}

TEST(LineDiscipline, ASmallBufferTakesTheLineInPieces) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "abcdef\nnext\n", echo);
  EXPECT_EQ(read_all(ld, 4), "abcd");
  EXPECT_EQ(read_all(ld, 4), "ef\n");
  EXPECT_EQ(read_all(ld, 4), "next");
  EXPECT_EQ(read_all(ld, 4), "\n");
}

TEST(LineDiscipline, BackspaceAndDeleteEraseTheLastCharacter) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "abx\b", echo);
  type(ld,
       "c\x7F"
       "d\n",
       echo);
  EXPECT_EQ(read_all(ld), "abd\n");
  EXPECT_EQ(echo.text, "abx\b \bc\b \bd\n");
}

TEST(LineDiscipline, BackspaceErasesAWholeUtf8Character) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "a\xC3\xA4\b\n", echo);  // a, ä, Backspace
  EXPECT_EQ(read_all(ld), "a\n");
}

TEST(LineDiscipline, BackspaceCannotEraseACompletedLine) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "ok\n\b\b\b", echo);
  EXPECT_EQ(read_all(ld), "ok\n");
  EXPECT_EQ(echo.text, "ok\n");  // nothing to erase: nothing echoed
}

TEST(LineDiscipline, CtrlUKillsTheLineBeingTyped) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "wrong\x15right\n", echo);
  EXPECT_EQ(read_all(ld), "right\n");
  EXPECT_NE(echo.text.find("\b \b\b \b\b \b\b \b\b \b"), std::string::npos);
}

TEST(LineDiscipline, CtrlDOnAnEmptyLineReadsAsEndOfFile) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "\x04", echo);
  ASSERT_TRUE(ld.can_read());
  EXPECT_EQ(read_all(ld), "");  // read() returns 0: end of file
  EXPECT_FALSE(ld.can_read());
}

TEST(LineDiscipline, CtrlDAfterTextCompletesTheLineWithoutANewline) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "abc\x04", echo);
  EXPECT_EQ(read_all(ld), "abc");
  type(ld, "\x04", echo);
  EXPECT_EQ(read_all(ld), "");  // and a second Ctrl+D is EOF
}

TEST(LineDiscipline, ControlCharactersEchoAsCaretLetters) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "\x01\b\n", echo);
  EXPECT_EQ(echo.text, "^A\b \b\b \b\n");  // ^A is two columns wide: two erasures
  EXPECT_EQ(read_all(ld), "\n");
}

// ISIG (chapter 15): Ctrl+C and Ctrl+\ are signals, not input; what was typed is flushed.
TEST(LineDiscipline, CtrlCIsSigintAndFlushesTheInput) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "done\nabc", echo);
  EXPECT_EQ(ld.receive('\x03', echo), LineDiscipline::kSignalInterrupt);
  EXPECT_EQ(echo.text, "done\nabc^C");  // echoed as ^C, no newline (the shell writes one)
  EXPECT_FALSE(ld.can_read());          // the completed line went too, as n_tty flushes it
  type(ld, "xyz\n", echo);
  EXPECT_EQ(read_all(ld), "xyz\n");
}

TEST(LineDiscipline, CtrlBackslashIsSigquit) {
  LineDiscipline ld;
  Echo echo;
  EXPECT_EQ(ld.receive('\x1c', echo), LineDiscipline::kSignalQuit);
  EXPECT_EQ(echo.text, "^\\");
  EXPECT_EQ(ld.signal_for('a'), 0);
}

TEST(LineDiscipline, IsigWorksInRawModeToo) {
  LineDiscipline ld;
  Echo echo;
  ld.set_canonical(false);
  ld.set_echo(false);
  type(ld, "ab", echo);
  EXPECT_EQ(ld.receive('\x03', echo), LineDiscipline::kSignalInterrupt);
  EXPECT_EQ(ld.readable_bytes(), 0u);
  EXPECT_EQ(echo.text, "");
}

TEST(LineDiscipline, NoflshKeepsTheInput) {
  LineDiscipline ld;
  Echo echo;
  ld.set_signals(true, true, '\x03', '\x1c');
  type(ld, "one\ntw", echo);
  EXPECT_EQ(ld.receive('\x03', echo), LineDiscipline::kSignalInterrupt);
  type(ld, "o\n", echo);
  EXPECT_EQ(read_all(ld), "one\n");
  EXPECT_EQ(read_all(ld), "two\n");
}

TEST(LineDiscipline, WithoutIsigCtrlCIsAnOrdinaryCharacter) {
  LineDiscipline ld;
  Echo echo;
  ld.set_signals(false, false, '\x03', '\x1c');
  EXPECT_EQ(ld.signal_for('\x03'), 0);
  type(ld, "a\x03\n", echo);
  EXPECT_EQ(read_all(ld), "a\x03\n");
  EXPECT_EQ(echo.text, "a^C\n");
}

TEST(LineDiscipline, ADisabledControlCharacterMatchesNothing) {
  LineDiscipline ld;
  ld.set_signals(true, false, '\0', '\x1c');  // VINTR = _POSIX_VDISABLE
  EXPECT_EQ(ld.signal_for('\0'), 0);
  EXPECT_EQ(ld.signal_for('\x03'), 0);
}

TEST(LineDiscipline, WithoutEchoNothingIsShown) {
  LineDiscipline ld;
  Echo echo;
  ld.set_echo(false);
  type(ld, "secret\b\n", echo);
  EXPECT_EQ(echo.text, "");
  EXPECT_EQ(read_all(ld), "secre\n");
}

TEST(LineDiscipline, AFullBufferStillTakesTheNewline) {
  LineDiscipline ld;
  Echo echo;
  for (std::size_t i = 0; i < LineDiscipline::kCapacity + 10; ++i) ld.receive('x', echo);
  EXPECT_EQ(ld.editing_bytes(), LineDiscipline::kCapacity - 1);
  ld.receive('\n', echo);
  std::string line(LineDiscipline::kCapacity + 10, '\0');
  line.resize(ld.read({line.data(), line.size()}));
  EXPECT_EQ(line.size(), LineDiscipline::kCapacity);
  EXPECT_EQ(line.back(), '\n');
}

// Chapter 15: ICANON off. Each byte is readable at once, editing characters are data (busybox's
// line editor reads Backspace and ESC [ A itself), a read spans line ends, and turning raw mode
// on makes a half-typed line readable.
TEST(LineDiscipline, RawModeHandsOverEveryByteAtOnce) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "ab", echo);
  EXPECT_FALSE(ld.can_read());
  ld.set_canonical(false);
  ld.set_echo(false);
  ASSERT_TRUE(ld.can_read());
  EXPECT_EQ(read_all(ld), "ab");
  type(ld, "x\x7f\x1b[A\r\x15y", echo);
  EXPECT_EQ(ld.readable_bytes(), 8u);
  EXPECT_EQ(read_all(ld, 3), "x\x7f\x1b");
  EXPECT_EQ(read_all(ld), "[A\n\x15y");  // \r became \n (ICRNL); Ctrl+U is data
  EXPECT_EQ(echo.text, "ab");  // echo was off
  ld.set_canonical(true);
  type(ld, "no\x7f\x7fok\n", echo);
  EXPECT_EQ(read_all(ld), "ok\n");
}
