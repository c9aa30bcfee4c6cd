// The shell's line editor: typing, cursor movement, erasing, history, Ctrl+C / Ctrl+L, limits.
#include "shell/line_editor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "console/framebuffer_screen.h"
#include "console/text_writer.h"
#include "platform/pc/vga_text.h"

namespace {

using ferrite::drivers::keyboard::KeyCode;
using ferrite::drivers::keyboard::KeyEvent;
using ferrite::shell::LineEditor;
using Action = LineEditor::Action;
using namespace ferrite::console;
using ferrite::pc::VgaTextScreen;

KeyEvent press(KeyCode key, char32_t character = 0) { return KeyEvent{key, true, {}, character}; }
KeyEvent release(KeyCode key) { return KeyEvent{key, false, {}, 0}; }

void type(LineEditor& editor, std::u32string_view text) {
  for (char32_t c : text) editor.feed(press(KeyCode::A, c));  // the key does not matter for text
}

TEST(LineEditor, TypesAndSubmits) {
  LineEditor editor;
  type(editor, U"echo hi");
  EXPECT_EQ(editor.text(), "echo hi");
  EXPECT_EQ(editor.cursor(), 7u);
  EXPECT_EQ(editor.feed(press(KeyCode::Enter, U'\n')), Action::submit);
  EXPECT_EQ(editor.submitted(), "echo hi");
  EXPECT_EQ(editor.text(), "");
}

TEST(LineEditor, ReleasesAndModifiersChangeNothing) {
  LineEditor editor;
  EXPECT_EQ(editor.feed(release(KeyCode::A)), Action::none);
  EXPECT_EQ(editor.feed(press(KeyCode::LShift)), Action::none);
  EXPECT_EQ(editor.text(), "");
}

TEST(LineEditor, BackspaceAndDeleteAroundTheCursor) {
  LineEditor editor;
  type(editor, U"abcd");
  editor.feed(press(KeyCode::ArrowLeft));
  editor.feed(press(KeyCode::ArrowLeft));        // cursor between b and c
  editor.feed(press(KeyCode::Backspace, 0x08));  // removes b
  EXPECT_EQ(editor.text(), "acd");
  EXPECT_EQ(editor.cursor(), 1u);
  editor.feed(press(KeyCode::Delete));  // removes c
  EXPECT_EQ(editor.text(), "ad");
  type(editor, U"X");
  EXPECT_EQ(editor.text(), "aXd");
  editor.feed(press(KeyCode::Home));
  editor.feed(press(KeyCode::Backspace, 0x08));  // nothing before the cursor
  EXPECT_EQ(editor.text(), "aXd");
  editor.feed(press(KeyCode::End));
  editor.feed(press(KeyCode::Delete));  // nothing after the cursor
  EXPECT_EQ(editor.text(), "aXd");
  EXPECT_EQ(editor.cursor(), 3u);
}

TEST(LineEditor, CursorStaysInsideTheLine) {
  LineEditor editor;
  editor.feed(press(KeyCode::ArrowLeft));
  EXPECT_EQ(editor.cursor(), 0u);
  type(editor, U"ab");
  editor.feed(press(KeyCode::ArrowRight));
  EXPECT_EQ(editor.cursor(), 2u);
}

TEST(LineEditor, NonAsciiCharactersAreOneCursorStep) {
  LineEditor editor;
  type(editor, U"äöü");
  EXPECT_EQ(editor.text(), "\xC3\xA4\xC3\xB6\xC3\xBC");
  EXPECT_EQ(editor.cursor(), 3u);
  editor.feed(press(KeyCode::ArrowLeft));
  editor.feed(press(KeyCode::Backspace, 0x08));
  EXPECT_EQ(editor.text(), "\xC3\xA4\xC3\xBC");
}

TEST(LineEditor, HistoryRecallsOlderAndNewerLines) {
  LineEditor editor;
  for (auto line : {U"one", U"two", U"three"}) {
    type(editor, line);
    editor.feed(press(KeyCode::Enter, U'\n'));
  }
  EXPECT_EQ(editor.history_size(), 3u);
  editor.feed(press(KeyCode::ArrowUp));
  EXPECT_EQ(editor.text(), "three");
  editor.feed(press(KeyCode::ArrowUp));
  editor.feed(press(KeyCode::ArrowUp));
  editor.feed(press(KeyCode::ArrowUp));  // past the oldest: stays there
  EXPECT_EQ(editor.text(), "one");
  editor.feed(press(KeyCode::ArrowDown));
  EXPECT_EQ(editor.text(), "two");
  editor.feed(press(KeyCode::ArrowDown));
  editor.feed(press(KeyCode::ArrowDown));  // past the newest: an empty line again
  EXPECT_EQ(editor.text(), "");
}

TEST(LineEditor, UpThenDownKeepsTheLineBeingEdited) {
  LineEditor editor;
  type(editor, U"one");
  editor.feed(press(KeyCode::Enter, U'\n'));
  type(editor, U"half a line");
  editor.feed(press(KeyCode::ArrowLeft));
  editor.feed(press(KeyCode::ArrowUp));
  EXPECT_EQ(editor.text(), "one");
  editor.feed(press(KeyCode::ArrowDown));  // back to the line being typed, as readline does
  EXPECT_EQ(editor.text(), "half a line");
  EXPECT_EQ(editor.cursor(), 11u);
  editor.feed(press(KeyCode::ArrowDown));  // nothing newer: the line stays
  EXPECT_EQ(editor.text(), "half a line");
  editor.feed(press(KeyCode::Enter, U'\n'));
  editor.feed(press(KeyCode::ArrowUp));
  editor.feed(press(KeyCode::ArrowDown));  // a new line was empty, and is again
  EXPECT_EQ(editor.text(), "");
}

TEST(LineEditor, HistorySkipsEmptyAndRepeatedLinesAndForgetsTheOldest) {
  LineEditor editor;
  editor.feed(press(KeyCode::Enter, U'\n'));
  type(editor, U"same");
  editor.feed(press(KeyCode::Enter, U'\n'));
  type(editor, U"same");
  editor.feed(press(KeyCode::Enter, U'\n'));
  EXPECT_EQ(editor.history_size(), 1u);
  for (std::size_t i = 0; i < LineEditor::kHistoryLines + 4; ++i) {
    const std::u32string line = U"line" + std::u32string(1, U'a' + i);
    type(editor, line);
    editor.feed(press(KeyCode::Enter, U'\n'));
  }
  EXPECT_EQ(editor.history_size(), LineEditor::kHistoryLines);
  for (std::size_t i = 0; i < LineEditor::kHistoryLines; ++i) editor.feed(press(KeyCode::ArrowUp));
  EXPECT_EQ(editor.text(), "linee");  // the 16 newest of linea..linet start at linee
}

TEST(LineEditor, CtrlCDropsTheLineAndCtrlLAsksForAClearScreen) {
  LineEditor editor;
  type(editor, U"oops");
  EXPECT_EQ(editor.feed(press(KeyCode::C, 0x03)), Action::cancel);
  EXPECT_EQ(editor.text(), "");
  EXPECT_EQ(editor.feed(press(KeyCode::L, 0x0C)), Action::clear_screen);
  EXPECT_EQ(editor.feed(press(KeyCode::Escape, 0x1B)), Action::none);
}

TEST(LineEditor, AFullLineRefusesMoreCharacters) {
  static_assert(LineEditor::kMaxLine >= 255, "lines as long as a user needs");
  LineEditor editor;
  type(editor, std::u32string(LineEditor::kMaxLine, U'x'));
  EXPECT_EQ(editor.feed(press(KeyCode::Y, U'y')), Action::full);
  EXPECT_EQ(editor.text().size(), LineEditor::kMaxLine);
}

TEST(SplitWords, SplitsAtRunsOfSpaces) {
  std::string_view words[3];
  EXPECT_EQ(ferrite::shell::split_words("  alloc   100 ", words), 2u);
  EXPECT_EQ(words[0], "alloc");
  EXPECT_EQ(words[1], "100");
  EXPECT_EQ(ferrite::shell::split_words("a b c d", words), 3u);
  EXPECT_EQ(ferrite::shell::split_words("", words), 0u);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The line editor and the screen together, as the shell uses them: after every key the input
// line (prompt + text) is redrawn, and every row of the screen is checked. Two screen sizes:
// VGA text (80x25) and a framebuffer console of 100x37 cells (800x600 pixels).

constexpr std::string_view kPrompt = "ferrite> ";

struct VgaScreenUnderTest {
  std::vector<ScreenChar> cells = std::vector<ScreenChar>(VgaTextScreen::kCells);
  std::vector<ScreenChar> shadow = std::vector<ScreenChar>(VgaTextScreen::kCells);
  TextWriter<VgaTextScreen> writer{VgaTextScreen(cells.data(), shadow.data())};
};

struct FramebufferScreenUnderTest {
  static constexpr std::uint32_t kWidth = 800, kHeight = 600, kPitch = kWidth * 4;
  std::vector<std::uint8_t> pixels = std::vector<std::uint8_t>(kPitch * kHeight);
  std::vector<ScreenChar> shadow = std::vector<ScreenChar>(FramebufferScreen::kMaxCells);
  TextWriter<FramebufferScreen> writer{FramebufferScreen(pixels.data(), kWidth, kHeight, kPitch,
                                                         PixelFormat{4, 16, 8, 0}, shadow.data())};
};

template <class ScreenUnderTest>
class InputLineOnScreen : public ::testing::Test {
 protected:
  void SetUp() override {
    writer().clear();
    writer().write("output above the prompt\n");
    writer().write(kPrompt);  // as the shell prints it (serial sees this once)
    show();
  }

  auto& writer() { return screen_.writer; }
  std::size_t rows() { return writer().screen().rows(); }
  std::size_t columns() { return writer().screen().columns(); }

  // What the shell does after each key.
  void show() {
    writer().show_input_line(std::string(kPrompt) + std::string(editor.text()),
                             kPrompt.size() + editor.cursor());
  }

  void key(KeyCode code, char32_t character = 0) {
    editor.feed(press(code, character));
    show();
  }

  std::string row_text(std::size_t row) {
    std::string text;
    for (std::size_t column = 0; column < columns(); ++column) {
      text += static_cast<char>(writer().screen().get(row, column).character);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
  }

  // Every row, top-down as on a terminal: `above` (the output before the prompt, one string a
  // row), then from row above.size() the input line (ASCII here) cut into rows of the screen's
  // width, with exactly one inverted cell (the cursor's), then blank rows.
  void expect_rows(const std::vector<std::string>& above, const std::string& input,
                   std::size_t cursor) {
    SCOPED_TRACE("input of " + std::to_string(input.size()) + " characters, cursor at " +
                 std::to_string(cursor) + ", screen " + std::to_string(columns()) + "x" +
                 std::to_string(rows()));
    const std::size_t cells = std::max(input.size(), cursor + 1);
    const std::size_t input_rows = (cells + columns() - 1) / columns();
    const std::size_t first = above.size();
    ASSERT_LE(first + input_rows, rows());
    for (std::size_t row = 0; row < rows(); ++row) {
      std::string expected;
      if (row < first) {
        expected = above[row];
      } else if (row < first + input_rows) {
        const std::size_t start = (row - first) * columns();
        if (start < input.size()) expected = input.substr(start, columns());
      }
      while (!expected.empty() && expected.back() == ' ') expected.pop_back();
      EXPECT_EQ(row_text(row), expected) << "row " << row;
    }
    const ColorCode inverted(kDefaultColor.background(), kDefaultColor.foreground());
    for (std::size_t row = 0; row < rows(); ++row) {
      for (std::size_t column = 0; column < columns(); ++column) {
        const bool is_cursor = row == first + cursor / columns() && column == cursor % columns();
        EXPECT_EQ(writer().screen().get(row, column).color,
                  (is_cursor ? inverted : kDefaultColor).value())
            << "row " << row << " column " << column;
      }
    }
  }

  // As SetUp left it: the output on row 0, the input line from row 1 down, blank rows below.
  void expect_screen(const std::string& input, std::size_t cursor) {
    expect_rows({"output above the prompt"}, input, cursor);
  }

  ScreenUnderTest screen_;
  LineEditor editor;
};

using Screens = ::testing::Types<VgaScreenUnderTest, FramebufferScreenUnderTest>;
TYPED_TEST_SUITE(InputLineOnScreen, Screens);

TYPED_TEST(InputLineOnScreen, ThreeHundredKeysWrapWithoutRepeatingThePrompt) {
  std::string typed;
  this->expect_screen(std::string(kPrompt), kPrompt.size());
  for (std::size_t i = 0; i < 300; ++i) {  // the last 45 do not fit: the line stays as it is
    const char c = static_cast<char>('a' + i % 26);
    const Action action = this->editor.feed(press(KeyCode::A, static_cast<char32_t>(c)));
    this->show();
    if (typed.size() < LineEditor::kMaxLine) typed += c;
    EXPECT_EQ(action, typed.size() == i + 1 ? Action::redraw : Action::full);
    ASSERT_EQ(this->editor.text(), typed);
    this->expect_screen(std::string(kPrompt) + typed, kPrompt.size() + typed.size());
    if (this->HasFailure()) return;  // one broken step is enough to read
  }
  // The cursor moves back over the row boundaries and stays on the right character.
  for (std::size_t i = 1; i <= 150; ++i) {
    this->key(KeyCode::ArrowLeft);
    this->expect_screen(std::string(kPrompt) + typed, kPrompt.size() + typed.size() - i);
    if (this->HasFailure()) return;
  }
  this->key(KeyCode::Home);
  this->expect_screen(std::string(kPrompt) + typed, kPrompt.size());
  // Erasing shrinks the line again, row by row; the rows it leaves are blank again.
  this->key(KeyCode::End);
  while (!typed.empty()) {
    this->key(KeyCode::Backspace, U'\b');
    typed.pop_back();
    this->expect_screen(std::string(kPrompt) + typed, kPrompt.size() + typed.size());
    if (this->HasFailure()) return;
  }
}

TYPED_TEST(InputLineOnScreen, ASubmittedLongLineStaysWholeAboveItsOutput) {
  const std::string typed(200, 'x');
  for (char c : typed) this->key(KeyCode::X, static_cast<char32_t>(c));
  ASSERT_EQ(this->editor.feed(press(KeyCode::Enter, U'\n')), Action::submit);
  // The shell shows the submitted line without a cursor, then prints the command's output.
  this->writer().show_input_line(std::string(kPrompt) + std::string(this->editor.submitted()),
                                 std::nullopt);
  this->writer().write("\nx: unknown command\n");
  this->writer().write(kPrompt);
  this->show();
  const std::string line = std::string(kPrompt) + typed;
  const std::size_t line_rows = (line.size() + this->columns() - 1) / this->columns();
  std::vector<std::string> above = {"output above the prompt"};
  for (std::size_t i = 0; i < line_rows; ++i)
    above.push_back(line.substr(i * this->columns(), this->columns()));
  above.push_back("x: unknown command");
  this->expect_rows(above, std::string(kPrompt), kPrompt.size());
}

// A full screen: the prompt is on the last row, so the growing line scrolls the output above it
// up, one row per row it needs. Erasing blanks the rows it leaves; nothing moves back down.
TYPED_TEST(InputLineOnScreen, OnAFullScreenTheLineScrollsTheOutputUpAndShrinksInPlace) {
  const std::size_t rows = this->rows();
  this->writer().clear();
  this->editor = LineEditor{};
  for (std::size_t i = 0; i + 1 < rows; ++i)
    this->writer().write("out " + std::to_string(i) + "\n");
  this->writer().write(kPrompt);
  this->show();
  // The output rows still on screen when the line has scrolled `scrolled` rows off the top.
  const auto output = [&](std::size_t scrolled) {
    std::vector<std::string> above;
    for (std::size_t i = scrolled; i + 1 < rows; ++i) above.push_back("out " + std::to_string(i));
    return above;
  };
  this->expect_rows(output(0), std::string(kPrompt), kPrompt.size());
  std::string typed;
  std::size_t scrolled = 0;
  for (std::size_t i = 0; i < 200; ++i) {
    const char c = static_cast<char>('a' + i % 26);
    this->key(KeyCode::A, static_cast<char32_t>(c));
    typed += c;
    const std::size_t cells = kPrompt.size() + typed.size() + 1;  // the cursor's cell after it
    scrolled = (cells + this->columns() - 1) / this->columns() - 1;
    this->expect_rows(output(scrolled), std::string(kPrompt) + typed,
                      kPrompt.size() + typed.size());
    if (this->HasFailure()) return;
  }
  ASSERT_GE(scrolled, 2u);
  while (!typed.empty()) {
    this->key(KeyCode::Backspace, U'\b');
    typed.pop_back();
    this->expect_rows(output(scrolled), std::string(kPrompt) + typed,
                      kPrompt.size() + typed.size());
    if (this->HasFailure()) return;
  }
  // The next output goes right below the line, into the blank rows it left.
  this->writer().show_input_line(std::string(kPrompt), std::nullopt);
  this->writer().write("\nafter");
  EXPECT_EQ(this->row_text(rows - 1 - scrolled), kPrompt.substr(0, kPrompt.size() - 1));
  EXPECT_EQ(this->row_text(rows - scrolled), "after");
  EXPECT_EQ(this->row_text(rows - 1), "");
}

// Ctrl+L (and the `clear` command) clears the screen; the input line, prompt first, is then
// drawn on the top row, however low it was.
TYPED_TEST(InputLineOnScreen, CtrlLPutsTheLineOnTheTopRow) {
  for (std::size_t i = 0; i < this->rows(); ++i) this->writer().write("filler\n");
  this->writer().write(kPrompt);
  type(this->editor, U"echo hi");
  this->show();
  ASSERT_EQ(this->writer().row(), this->rows() - 1);
  ASSERT_EQ(this->editor.feed(press(KeyCode::L, 0x0C)), Action::clear_screen);
  this->writer().clear();  // what the shell does for Action::clear_screen
  this->show();
  this->expect_rows({}, std::string(kPrompt) + "echo hi", kPrompt.size() + 7);
}
