// The terminal's canonical-mode line discipline (kernel/tty/line_discipline.h): what a read
// returns and what the user sees echoed, for the editing keys of termios(3).
#include "tty/line_discipline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <optional>
#include <string>

#include "support/mutator.h"

using ferrite::tty::LineDiscipline;

namespace {

struct Echo final : ferrite::fmt::Sink {
  std::string text;
  void write(std::string_view part) override { text.append(part); }
};

void type(LineDiscipline& ld, std::string_view keys, ferrite::fmt::Sink& echo) {
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

// --- Erasing over a Tab: the echo backs up exactly the columns the Tab moved the cursor, which
// depends on the column it started at (n_tty.c's eraser(), ECHOE). ---

namespace {

// One row of a terminal: the bytes it was sent, what it shows, where the cursor is. Printable
// ASCII is drawn at the cursor, \b moves back a column, \t to the next multiple of 8 without
// drawing (as the console's VT100 and Linux's do), \n to column 0.
struct Row final : ferrite::fmt::Sink {
  std::string bytes, cells;
  std::size_t column = 0;
  void write(std::string_view text) override {
    bytes.append(text);
    for (const char c : text) {
      if (c == '\b') {
        if (column > 0) --column;
      } else if (c == '\t') {
        column = (column / 8 + 1) * 8;
      } else if (c == '\n') {
        column = 0;  // the row is done: what it shows stays
      } else {
        if (cells.size() <= column) cells.resize(column + 1, ' ');
        cells[column++] = c;
      }
    }
  }
  // What the row shows, trailing blanks removed.
  std::string shown() const {
    const std::size_t end = cells.find_last_not_of(' ');
    return end == std::string::npos ? "" : cells.substr(0, end + 1);
  }
};

// A program's output: on the row, and told to the discipline as the terminal tells it.
void program_writes(LineDiscipline& ld, Row& row, std::string_view text) {
  row.write(text);
  ld.wrote(text);
}

std::string backspaces(std::size_t n) { return std::string(n, '\b'); }

std::string repeat(std::string_view text, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += text;
  return out;
}

}  // namespace

TEST(LineDiscipline, BackspaceOverATabBacksUpToWhereTheTabBegan) {
  LineDiscipline ld;
  Row row;
  type(ld, "ab\tc\b", row);
  EXPECT_EQ(row.column, 8u);
  type(ld, "\b", row);
  // c is one column; the Tab went from column 2 to 8: six "\b" and nothing drawn.
  EXPECT_EQ(row.bytes, "ab\tc\b \b" + backspaces(6));
  EXPECT_EQ(row.column, 2u);
  type(ld, "x\n", row);
  EXPECT_EQ(read_all(ld), "abx\n");
  EXPECT_EQ(row.shown(), "abx");
}

TEST(LineDiscipline, ATabAfterAPromptIsErasedFromThePromptsColumn) {
  LineDiscipline ld;
  Row row;
  program_writes(ld, row, "/ # ");  // busybox sh's prompt: the line begins at column 4
  type(ld, "\t", row);
  EXPECT_EQ(row.column, 8u);
  type(ld, "\b", row);
  EXPECT_EQ(row.bytes, "/ # \t" + backspaces(4));
  EXPECT_EQ(row.column, 4u);
  type(ld, "ab\t\b", row);  // from column 6: two
  EXPECT_EQ(row.bytes, "/ # \t" + backspaces(4) + "ab\t" + backspaces(2));
  EXPECT_EQ(row.shown(), "/ # ab");
  EXPECT_EQ(row.column, 6u);
}

TEST(LineDiscipline, ATabsWidthCountsCaretLettersUtf8AndEarlierTabs) {
  LineDiscipline ld;
  Row row;
  program_writes(ld, row, "\x1b[1;32m$ \x1b[0m");  // a coloured prompt: two columns
  EXPECT_EQ(ld.column(), 2u);
  type(ld, "\x01\t\b", row);  // ^A at 2-3, the Tab from 4 to 8
  EXPECT_EQ(row.bytes.substr(row.bytes.size() - 7), "^A\t" + backspaces(4));
  type(ld, "\b\xC3\xA4\t\t\b", row);  // ä at column 2, a Tab 3 to 8, a Tab 8 to 16
  EXPECT_EQ(row.bytes.substr(row.bytes.size() - 12), "\xC3\xA4\t\t" + backspaces(8));
  type(ld, "\b", row);
  EXPECT_EQ(row.bytes.substr(row.bytes.size() - 5), backspaces(5));
  type(ld, "\n", row);
  EXPECT_EQ(read_all(ld), "\xC3\xA4\n");
}

TEST(LineDiscipline, CtrlWErasesTheLastWordAndATabBeforeIt) {
  LineDiscipline ld;
  Row row;
  program_writes(ld, row, "/ # ");
  type(ld, "ls\tfoo_1\x17", row);  // Ctrl+W: "foo_1", five columns
  EXPECT_EQ(row.bytes, "/ # ls\tfoo_1" + repeat("\b \b", 5));
  EXPECT_EQ(row.column, 8u);
  type(ld, "\x17", row);  // then the Tab (6 to 8) and "ls"
  EXPECT_EQ(row.bytes.substr(row.bytes.size() - 8), backspaces(2) + repeat("\b \b", 2));
  EXPECT_EQ(row.column, 4u);
  type(ld, "cat a.b\x17\x17x\n", row);  // "b", then ".", "a"
  EXPECT_EQ(read_all(ld), "cat x\n");
  EXPECT_EQ(row.shown(), "/ # cat x");
}

TEST(LineDiscipline, CtrlUWithEchokeErasesTabsToThePromptsEnd) {
  LineDiscipline ld;
  Row row;
  program_writes(ld, row, "/ # ");
  type(ld, "a\tb\tc\x15", row);  // a at 4, Tab 5-8, b at 8, Tab 9-16, c at 16
  EXPECT_EQ(row.bytes, "/ # a\tb\tc\b \b" + backspaces(7) + "\b \b" + backspaces(3) + "\b \b");
  EXPECT_EQ(row.column, 4u);
  EXPECT_EQ(row.shown(), "/ #");
  EXPECT_EQ(ld.editing_bytes(), 0u);
}

TEST(LineDiscipline, ATabOnTheNextLineStartsFromColumnZero) {
  LineDiscipline ld;
  Row row;
  program_writes(ld, row, "/ # ");
  type(ld, "x\n", row);
  row = Row{};  // the echoed newline returned the cursor to column 0
  type(ld, "ab\t\b", row);
  EXPECT_EQ(row.bytes, "ab\t" + backspaces(6));
}

// IUTF8: continuation bytes are erased with their lead byte as one character; a continuation
// byte that no lead byte announced is a character of its own (the console shows it as a block).
TEST(LineDiscipline, BackspaceErasesStrayContinuationBytesOneAtATime) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "a\x80\x80\b", echo);
  EXPECT_EQ(echo.text, "a\x80\x80\b \b");
  EXPECT_EQ(ld.editing_bytes(), 2u);  // "a\x80": the a stays
  type(ld, "\b", echo);
  EXPECT_EQ(ld.editing_bytes(), 1u);
  type(ld, "\xC3\xA4\xA4\b", echo);  // ä, then a continuation byte too many
  EXPECT_EQ(ld.editing_bytes(), 3u);
  type(ld, "\b\xF0\x9F\x98\x80\b\n", echo);  // a four-byte character goes whole
  EXPECT_EQ(read_all(ld), "a\n");
}

// ISIG (chapter 15): Ctrl+C and Ctrl+\\ are signals, not input; what was typed is flushed.
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

// Chapter 15, job control: Ctrl+Z (VSUSP) stands for SIGTSTP as Ctrl+C for SIGINT — the line
// typed so far is flushed and ^Z echoed; a VSUSP of 0 (_POSIX_VDISABLE) makes it input.
TEST(LineDiscipline, CtrlZStandsForSigtstp) {
  LineDiscipline ld;
  Echo echo;
  type(ld, "half", echo);
  EXPECT_EQ(ld.receive('\x1a', echo), LineDiscipline::kSignalSuspend);
  EXPECT_EQ(ld.editing_bytes(), 0u);
  EXPECT_EQ(echo.text, "half^Z");
  ld.set_signals(true, false, '\x03', '\x1c', '\0');
  EXPECT_EQ(ld.signal_for('\x1a'), 0);
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

// --- Seeded random typing against a model: every byte typed and not erased is read, in order,
// exactly once; nothing is invented; and the echo leaves the cursor where the line being edited
// ends (so an erase never removes what the user cannot see, nor leaves what is gone). ---

namespace {

// The rules of line_discipline.h restated over plain containers.
class LineModel {
 public:
  enum Kind { plain, line_end, eof };
  static constexpr std::size_t kCapacity = LineDiscipline::kCapacity;

  bool canonical = true, isig = true, noflsh = false;
  std::deque<std::pair<char, Kind>> committed;
  std::string editing;

  int receive(char byte) {
    if (isig && byte == 0x03) return signal(2);
    if (isig && byte == 0x1C) return signal(3);
    if (isig && byte == 0x1A) return signal(20);  // VSUSP: SIGTSTP
    if (byte == '\r') byte = '\n';
    if (!canonical) {
      if (size() < kCapacity - 1) committed.emplace_back(byte, plain);
      return 0;
    }
    switch (byte) {
      case '\n':
        if (size() < kCapacity) commit('\n', line_end);
        return 0;
      case 0x04:
        if (size() < kCapacity) commit('\0', eof);
        return 0;
      case '\b':
      case 0x7F:
        erase();
        return 0;
      case 0x15:
        while (erase()) {
        }
        return 0;
      case 0x17:  // Ctrl+W: non-word characters, then word characters
        for (bool in_word = false; !editing.empty();) {
          const bool word = is_word(last_character().front());
          if (in_word && !word) break;
          in_word = in_word || word;
          erase();
        }
        return 0;
      default:
        if (size() < kCapacity - 1) editing.push_back(byte);
        return 0;
    }
  }
  std::string read(std::size_t room) {
    std::string out;
    while (!committed.empty()) {
      const auto [byte, kind] = committed.front();
      if (kind == eof) {
        committed.pop_front();
        break;
      }
      if (out.size() == room) break;
      out.push_back(byte);
      committed.pop_front();
      if (kind == line_end && canonical) break;
    }
    return out;
  }
  void set_canonical(bool on) {
    canonical = on;
    if (!on) commit_editing();
  }
  void flush() {
    committed.clear();
    editing.clear();
  }
  std::size_t readable() const {
    return static_cast<std::size_t>(std::count_if(committed.begin(), committed.end(),
                                                  [](const auto& b) { return b.second != eof; }));
  }
  std::size_t size() const { return committed.size() + editing.size(); }
  // The screen column where the line being edited ends if it began at `start`: a control
  // character shows as ^X, a UTF-8 character takes one column whatever its length, a Tab goes
  // to the next multiple of 8.
  std::size_t end_column(std::size_t start) const {
    std::size_t column = start;
    for (const char c : editing) {
      const auto value = static_cast<std::uint8_t>(c);
      if ((value & 0xC0) == 0x80) continue;
      column = c == '\t' ? (column / 8 + 1) * 8 : column + (value < 0x20 ? 2 : 1);
    }
    return column;
  }

 private:
  int signal(int number) {
    if (!noflsh) flush();
    return number;
  }
  void commit_editing() {
    for (const char c : editing) committed.emplace_back(c, plain);
    editing.clear();
  }
  void commit(char byte, Kind kind) {
    commit_editing();
    committed.emplace_back(byte, kind);
  }
  // The keys are whole UTF-8 characters: the last one starts at the last non-continuation byte.
  std::string last_character() const {
    std::size_t start = editing.size() - 1;
    while (start > 0 && (static_cast<std::uint8_t>(editing[start]) & 0xC0) == 0x80) --start;
    return editing.substr(start);
  }
  static bool is_word(char c) {
    const auto value = static_cast<std::uint8_t>(c);
    return std::isalnum(value) != 0 || c == '_' || value >= 0xC0;
  }
  bool erase() {
    if (editing.empty()) return false;
    editing.resize(editing.size() - last_character().size());
    return true;
  }
};

// A terminal that only counts the cursor's column: "\b" goes back one, "\n" to 0, "\t" to the
// next multiple of 8, a UTF-8 continuation byte adds nothing, every other byte one.
struct ColumnCounter final : ferrite::fmt::Sink {
  std::size_t column = 0;
  void write(std::string_view text) override {
    for (const char c : text) {
      const auto value = static_cast<std::uint8_t>(c);
      if (c == '\b') {
        if (column > 0) --column;
      } else if (c == '\n') {
        column = 0;
      } else if (c == '\t') {
        column = (column / 8 + 1) * 8;
      } else if ((value & 0xC0) != 0x80) {
        ++column;
      }
    }
  }
};

// One key as the console types it: ASCII, a UTF-8 character (as encode_utf8 makes it), an
// editing or signal key, Tab, another control character.
std::string random_key(ferrite::testing::Mutator& random) {
  const std::uint64_t choice = random.below(100);
  if (choice < 40) return std::string(1, static_cast<char>(' ' + random.below(95)));
  if (choice < 50) {
    constexpr const char* kUtf8[] = {"\xc3\xa4", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3\x9f"};
    return kUtf8[random.below(std::size(kUtf8))];
  }
  if (choice < 58) return "\b";
  if (choice < 62) return "\x7f";
  if (choice < 65) return "\x15";
  if (choice < 75) return "\n";
  if (choice < 78) return "\r";
  if (choice < 82) return "\x04";
  if (choice < 85) return "\x03";
  if (choice < 87) return "\x1c";
  if (choice < 93) return std::string(1, static_cast<char>(1 + random.below(31)));
  if (choice < 97) return "\t";
  if (choice < 99) return "\x17";  // Ctrl+W
  return std::string(5000, 'x');  // past the buffer's capacity
}

}  // namespace

TEST(LineDisciplineFuzz, RandomTypingLosesNothingAndEchoesWhatTheLineHolds) {
  std::uint64_t bytes_read = 0;
  const std::uint64_t runs = ferrite::testing::fuzz(
      "LineDisciplineFuzz", 20261130, 400, [&](ferrite::testing::Mutator& random, std::uint64_t) {
        LineDiscipline ld;
        LineModel model;
        ColumnCounter screen;
        // The screen column where the line being edited begins, while the whole line was typed
        // with echo on in canonical mode (else the screen is not expected to show it).
        std::optional<std::size_t> line_start = 0;
        bool echo = true;
        for (int step = 0; step < 400 && !::testing::Test::HasFailure(); ++step) {
          const std::uint64_t op = random.below(100);
          if (op < 70) {
            for (const char byte : random_key(random)) {
              const int signal = ld.receive(byte, screen);
              ASSERT_EQ(signal, model.receive(byte)) << "byte " << int{byte};
              // ^C echoed after a line NOFLSH keeps: the screen shows more than the line.
              if (signal != 0) line_start.reset();
              if (model.editing.empty()) line_start = screen.column;
            }
            // After each whole key (a UTF-8 character is several bytes).
            if (echo && model.canonical && line_start) {
              ASSERT_EQ(screen.column, model.end_column(*line_start))
                  << "the echo does not match the line being edited";
            }
          } else if (op < 75) {
            // A program writes (a prompt): the line typed next begins after it. Written in the
            // middle of a line, the screen shows more than the line.
            constexpr const char* kOutput[] = {"/ # ", "$ ", "ok\n> ", "\t", "abc"};
            const std::string_view text = kOutput[random.below(std::size(kOutput))];
            screen.write(text);
            ld.wrote(text);
            if (!model.editing.empty()) line_start.reset();
          } else if (op < 92) {
            constexpr std::size_t kRooms[] = {1, 2, 3, 7, 64, 4096};
            const std::size_t room = kRooms[random.below(std::size(kRooms))];
            std::string out(room, '?');
            out.resize(ld.read({out.data(), out.size()}));
            const std::string expected = model.read(room);
            ASSERT_EQ(out, expected) << "read of " << room;
            bytes_read += out.size();
          } else if (op < 95) {
            echo = !echo;
            ld.set_echo(echo);
            line_start.reset();
          } else if (op < 97) {
            const bool on = !model.canonical;
            ld.set_canonical(on);
            model.set_canonical(on);
            line_start.reset();
            // Raw mode echoes control bytes and escape sequences as they are: the console
            // interprets them (and the discipline follows that), this counter does not.
            if (on) ld.set_column(screen.column);
          } else if (op < 99) {
            model.isig = random.below(4) != 0;
            model.noflsh = random.chance(3);
            ld.set_signals(model.isig, model.noflsh, 0x03, 0x1C);
          } else {
            ld.flush_input();
            model.flush();
          }
          if (model.editing.empty()) line_start = screen.column;
          if (model.canonical) {
            ASSERT_EQ(ld.column(), screen.column) << "the column followed";
          }
          ASSERT_EQ(ld.can_read(), !model.committed.empty());
          ASSERT_EQ(ld.readable_bytes(), model.readable());
          ASSERT_EQ(ld.editing_bytes(), model.editing.size());
        }
      });
  std::printf("[ fuzz ] line discipline: %llu runs, %llu bytes read\n",
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(bytes_read));
}
