// The shell's line editor: typing, cursor movement, erasing, history, Ctrl+C / Ctrl+L, limits.
#include <gtest/gtest.h>

#include <string>

#include "shell/line_editor.h"

namespace {

using ferrite::drivers::keyboard::KeyCode;
using ferrite::drivers::keyboard::KeyEvent;
using ferrite::shell::LineEditor;
using Action = LineEditor::Action;

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
