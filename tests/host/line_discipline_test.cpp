// The terminal's canonical-mode line discipline (kernel/tty/line_discipline.h): what a read
// returns and what the user sees echoed, for the editing keys of termios(3).
#include "tty/line_discipline.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  // Screen columns of the line being edited: a control character shows as ^X, a UTF-8
  // character takes one column whatever its length.
  std::size_t editing_columns() const {
    std::size_t columns = 0;
    for (const char c : editing) {
      const auto value = static_cast<std::uint8_t>(c);
      if ((value & 0xC0) == 0x80) continue;
      columns += value < 0x20 ? 2 : 1;
    }
    return columns;
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
  bool erase() {
    if (editing.empty()) return false;
    while (editing.size() > 1 && (static_cast<std::uint8_t>(editing.back()) & 0xC0) == 0x80) {
      editing.pop_back();
    }
    editing.pop_back();
    return true;
  }
};

// A terminal that only counts the cursor's column: "\b" goes back one, "\n" to 0, a UTF-8
// continuation byte adds nothing, every other byte one.
struct ColumnCounter final : ferrite::fmt::Sink {
  std::size_t column = 0;
  void write(std::string_view text) override {
    for (const char c : text) {
      const auto value = static_cast<std::uint8_t>(c);
      if (c == '\b') {
        if (column > 0) --column;
      } else if (c == '\n') {
        column = 0;
      } else if ((value & 0xC0) != 0x80) {
        ++column;
      }
    }
  }
};

// One key as the console types it: ASCII, a UTF-8 character (as encode_utf8 makes it), an
// editing or signal key, another control character (not tab: its width is the terminal's).
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
  if (choice < 99) {
    const char c = static_cast<char>(1 + random.below(31));
    return c == '\t' ? std::string("\x01") : std::string(1, c);
  }
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
              ASSERT_EQ(screen.column, *line_start + model.editing_columns())
                  << "the echo does not match the line being edited";
            }
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
          } else if (op < 99) {
            model.isig = random.below(4) != 0;
            model.noflsh = random.chance(3);
            ld.set_signals(model.isig, model.noflsh, 0x03, 0x1C);
          } else {
            ld.flush_input();
            model.flush();
          }
          if (model.editing.empty()) line_start = screen.column;
          ASSERT_EQ(ld.can_read(), !model.committed.empty());
          ASSERT_EQ(ld.readable_bytes(), model.readable());
          ASSERT_EQ(ld.editing_bytes(), model.editing.size());
        }
      });
  std::printf("[ fuzz ] line discipline: %llu runs, %llu bytes read\n",
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(bytes_read));
}
