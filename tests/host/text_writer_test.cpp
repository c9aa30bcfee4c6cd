// The console writer (chapter 3) over a plain array standing in for the VGA text buffer:
// top-down writing as a terminal, wrapping, scrolling only at the bottom, colours, non-printable
// bytes, UTF-8 letters, the shell's input line, and the framebuffer screen's glyph drawing.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "console/framebuffer_screen.h"
#include "console/text_writer.h"
#include "platform/pc/vga_text.h"

namespace {

using namespace ferrite::console;
using ferrite::pc::VgaTextScreen;

class TextWriterTest : public ::testing::Test {
 protected:
  std::array<ScreenChar, VgaTextScreen::kCells> cells{};
  std::array<ScreenChar, VgaTextScreen::kCells> shadow{};
  TextWriter<VgaTextScreen> writer{VgaTextScreen(cells.data(), shadow.data())};

  std::string row_text(std::size_t row) {
    std::string text;
    for (std::size_t column = 0; column < VgaTextScreen::kColumns; ++column) {
      text += static_cast<char>(cells[row * VgaTextScreen::kColumns + column].character);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
    return text;
  }
  static constexpr std::size_t kBottom = VgaTextScreen::kRows - 1;
};

TEST_F(TextWriterTest, WritesFromTheTopRowDownAsATerminal) {
  writer.write("first\nsecond");
  EXPECT_EQ(row_text(0), "first");
  EXPECT_EQ(row_text(1), "second");
  EXPECT_EQ(row_text(2), "");
  EXPECT_EQ(writer.row(), 1u);
  EXPECT_EQ(writer.column(), 6u);
}

// A write on a cleared screen goes to row 0, and nothing scrolls until a newline on the last
// row: the first 25 lines are stored once each, the 26th scrolls the screen up by one.
TEST_F(TextWriterTest, ACleanScreenFillsFromTheTopAndOnlyTheLastNewlineScrolls) {
  writer.write("junk\njunk");
  writer.clear();
  EXPECT_EQ(writer.row(), 0u);
  writer.write("line 0");
  EXPECT_EQ(row_text(0), "line 0");
  EXPECT_EQ(row_text(1), "");
  for (std::size_t i = 1; i < VgaTextScreen::kRows; ++i)
    writer.write("\nline " + std::to_string(i));
  EXPECT_EQ(writer.row(), kBottom);
  for (std::size_t row = 0; row < VgaTextScreen::kRows; ++row) {  // 25 lines: no scroll yet
    EXPECT_EQ(row_text(row), "line " + std::to_string(row)) << "row " << row;
  }
  writer.write("\nline 25");  // the 26th line
  EXPECT_EQ(writer.row(), kBottom);
  for (std::size_t row = 0; row < VgaTextScreen::kRows; ++row) {  // one scroll
    EXPECT_EQ(row_text(row), "line " + std::to_string(row + 1)) << "row " << row;
  }
}

TEST_F(TextWriterTest, WrapsAFullRow) {
  writer.write(std::string(VgaTextScreen::kColumns + 3, 'x'));
  EXPECT_EQ(row_text(0), std::string(VgaTextScreen::kColumns, 'x'));
  EXPECT_EQ(row_text(1), "xxx");
}

TEST_F(TextWriterTest, ScrollingDropsTheTopRow) {
  for (int i = 0; i < 30; ++i) writer.write("line " + std::to_string(i) + "\n");
  EXPECT_EQ(row_text(0), "line 6");
  EXPECT_EQ(row_text(kBottom - 1), "line 29");
  EXPECT_EQ(row_text(kBottom), "");
}

// The VT100 terminal hands its cursor back: the writer goes on from any row, and a column past
// the end makes the next character start a new row.
TEST_F(TextWriterTest, ContinuesWhereSomeoneElseLeftTheCursor) {
  writer.clear();
  writer.write("kernel");
  writer.continue_at(9, 4);
  writer.write("k\nnext");
  EXPECT_EQ(row_text(0), "kernel");
  EXPECT_EQ(row_text(9), "    k");
  EXPECT_EQ(row_text(10), "next");
  writer.continue_at(12, VgaTextScreen::kColumns);
  writer.write("w");
  EXPECT_EQ(row_text(13), "w");
  writer.continue_at(99, 0);  // clamped to the last row
  EXPECT_EQ(writer.row(), kBottom);
}

TEST_F(TextWriterTest, UsesTheCurrentColour) {
  const ColorCode green(Color::light_green, Color::blue, true);
  writer.set_color(green);
  writer.write("g");
  const ScreenChar cell = cells[0];
  EXPECT_EQ(cell.character, 'g');
  EXPECT_EQ(cell.color, green.value());
  EXPECT_EQ(ColorCode::from_byte(cell.color).foreground(), Color::light_green);
  EXPECT_EQ(ColorCode::from_byte(cell.color).background(), Color::blue);
  EXPECT_TRUE(ColorCode::from_byte(cell.color).blink());
}

TEST_F(TextWriterTest, UnprintableBytesBecomeBlocks) {
  writer.write(std::string("a\x01\x7f\xff" "b", 5));
  const std::size_t base = 0;
  EXPECT_EQ(cells[base + 0].character, 'a');
  EXPECT_EQ(cells[base + 1].character, 0xFE);
  EXPECT_EQ(cells[base + 2].character, 0xFE);
  EXPECT_EQ(cells[base + 3].character, 0xFE);
  EXPECT_EQ(cells[base + 4].character, 'b');
}

TEST_F(TextWriterTest, Utf8LettersMapToCodePage437) {
  writer.write("\xC3\xA4\xC3\x9F\xE2\x82\xAC!");  // ä ß € !
  const std::size_t base = 0;
  EXPECT_EQ(cells[base + 0].character, 0x84);  // ä
  EXPECT_EQ(cells[base + 1].character, 0xE1);  // ß
  EXPECT_EQ(cells[base + 2].character, 0xFE);  // € is not in code page 437
  EXPECT_EQ(cells[base + 3].character, '!');
}

TEST_F(TextWriterTest, TruncatedUtf8DoesNotSwallowText) {
  writer.write("\xC3z");
  const std::size_t base = 0;
  EXPECT_EQ(cells[base + 0].character, 0xFE);
  EXPECT_EQ(cells[base + 1].character, 'z');
}

TEST_F(TextWriterTest, ShowInputLineRedrawsThePromptsRowWithAnInvertedCursor) {
  writer.write("above\n> old text that is longer");
  writer.show_input_line("> new", 3);
  EXPECT_EQ(row_text(0), "above");
  EXPECT_EQ(row_text(1), "> new");
  EXPECT_EQ(row_text(2), "");
  EXPECT_EQ(writer.row(), 1u);
  EXPECT_EQ(writer.column(), 5u);
  const std::size_t base = 1 * VgaTextScreen::kColumns;
  EXPECT_EQ(cells[base + 3].color, ColorCode(Color::black, Color::light_gray).value());
  EXPECT_EQ(cells[base + 2].color, kDefaultColor.value());
  writer.show_input_line("> new", 5);  // cursor after the text: a highlighted blank
  EXPECT_EQ(cells[base + 5].character, ' ');
  EXPECT_EQ(cells[base + 5].color, ColorCode(Color::black, Color::light_gray).value());
  EXPECT_EQ(cells[base + 3].color, kDefaultColor.value());
}

TEST_F(TextWriterTest, AnInputLineOfExactlyOneRowPutsTheCursorOnTheNextRow) {
  writer.write("above\n");
  const std::string full(VgaTextScreen::kColumns, 'x');
  writer.show_input_line(full, full.size());
  EXPECT_EQ(row_text(0), "above");
  EXPECT_EQ(row_text(1), full);
  EXPECT_EQ(row_text(2), "");
  EXPECT_EQ(cells[2 * VgaTextScreen::kColumns].color,
            ColorCode(Color::black, Color::light_gray).value());
  EXPECT_EQ(writer.row(), 2u);
  EXPECT_EQ(writer.column(), 0u);
  writer.show_input_line(full, std::nullopt);  // no cursor: the line fits its one row
  EXPECT_EQ(row_text(0), "above");
  EXPECT_EQ(row_text(1), full);
  EXPECT_EQ(cells[2 * VgaTextScreen::kColumns],  // the row it left: blank, cursor gone
            (ScreenChar{' ', kDefaultColor.value()}));
  writer.write("\nok");  // output goes below it, with no blank row between
  EXPECT_EQ(row_text(1), full);
  EXPECT_EQ(row_text(2), "ok");
}

// On a full screen the input line grows past the bottom: the output above it scrolls up. When
// it shrinks, the rows it left are blanked and nothing moves back down (as readline does).
TEST_F(TextWriterTest, AnInputLineAtTheBottomScrollsTheOutputUpAndShrinksInPlace) {
  for (std::size_t i = 0; i < kBottom; ++i) writer.write("line " + std::to_string(i) + "\n");
  writer.write("> ");
  ASSERT_EQ(writer.row(), kBottom);
  const std::string long_line = "> " + std::string(VgaTextScreen::kColumns + 20, 'x');
  writer.show_input_line(long_line, long_line.size());
  EXPECT_EQ(row_text(0), "line 1");  // one row scrolled off the top
  EXPECT_EQ(row_text(kBottom - 2), "line 23");
  EXPECT_EQ(row_text(kBottom - 1), long_line.substr(0, VgaTextScreen::kColumns));
  EXPECT_EQ(row_text(kBottom), long_line.substr(VgaTextScreen::kColumns));
  writer.show_input_line("> x", 3);
  EXPECT_EQ(row_text(0), "line 1");  // nothing came back down
  EXPECT_EQ(row_text(kBottom - 2), "line 23");
  EXPECT_EQ(row_text(kBottom - 1), "> x");
  EXPECT_EQ(row_text(kBottom), "");
  EXPECT_EQ(writer.row(), kBottom - 1);
  writer.show_input_line(long_line, long_line.size());  // grows into the blank row: no scroll
  EXPECT_EQ(row_text(0), "line 1");
  EXPECT_EQ(row_text(kBottom), long_line.substr(VgaTextScreen::kColumns));
  writer.show_input_line("> x", std::nullopt);
  writer.write("\nok");
  EXPECT_EQ(row_text(kBottom - 1), "> x");
  EXPECT_EQ(row_text(kBottom), "ok");
}

TEST_F(TextWriterTest, AnInputLineTallerThanTheScreenShowsTheRowsAroundTheCursor) {
  writer.write("output\n");
  std::string line;
  for (std::size_t row = 0; row < VgaTextScreen::kRows + 5; ++row) {
    line += std::string(VgaTextScreen::kColumns, static_cast<char>('A' + row));
  }
  writer.show_input_line(line, 3);  // cursor in the first row: the first 25 rows
  EXPECT_EQ(row_text(0), std::string(VgaTextScreen::kColumns, 'A'));
  EXPECT_EQ(row_text(kBottom), std::string(VgaTextScreen::kColumns, 'Y'));
  writer.show_input_line(line, line.size() - 1);  // cursor in the last row: the last 25
  EXPECT_EQ(row_text(0), std::string(VgaTextScreen::kColumns, 'F'));
  EXPECT_EQ(row_text(kBottom),
            std::string(VgaTextScreen::kColumns, 'A' + VgaTextScreen::kRows + 4));
  writer.show_input_line("short", 5);  // back to one row, at the top: blank rows below
  EXPECT_EQ(row_text(0), "short");
  for (std::size_t row = 1; row < VgaTextScreen::kRows; ++row) EXPECT_EQ(row_text(row), "") << row;
  EXPECT_EQ(writer.row(), 0u);
}

TEST_F(TextWriterTest, ClearReachesEveryCellWhateverTheFirmwareLeft) {
  cells.fill(ScreenChar{'G', 0x4F});
  cells[7] = ScreenChar{0, 0};
  writer.clear();
  for (const ScreenChar& cell : cells) EXPECT_EQ(cell, (ScreenChar{' ', kDefaultColor.value()}));
}

// The VGA screen keeps a copy of the cells and stores to the card only what changes, four cells
// (one 64-bit store) at a time when it scrolls. To see which cells were stored, put marks into
// the card behind the writer's back: a stored cell loses its mark, an untouched one keeps it.
TEST_F(TextWriterTest, ScrollingStoresOnlyTheCellsThatChange) {
  writer.clear();
  writer.write(std::string(kBottom, '\n') + "x");  // on the last row: the next newline scrolls
  const ScreenChar mark{'#', 0x4F};
  cells[0] = mark;                                        // blank before and after the scroll
  cells[(kBottom - 1) * VgaTextScreen::kColumns] = mark;  // receives the "x"
  cells[kBottom * VgaTextScreen::kColumns + 1] = mark;    // blank, in the group the "x" leaves
  cells[kBottom * VgaTextScreen::kColumns + 4] = mark;    // blank, in a group that stays blank
  writer.write("\n");
  EXPECT_EQ(cells[0], mark);
  EXPECT_EQ(cells[(kBottom - 1) * VgaTextScreen::kColumns].character, 'x');
  EXPECT_EQ(cells[kBottom * VgaTextScreen::kColumns].character, ' ');  // the "x" moved away
  EXPECT_EQ(cells[kBottom * VgaTextScreen::kColumns + 1].character, ' ');  // stored with its group
  EXPECT_EQ(cells[kBottom * VgaTextScreen::kColumns + 4], mark);
  // The writer's view comes from its copy, not from the card.
  EXPECT_EQ(writer.screen().get(0, 0).character, ' ');
}

TEST(FramebufferScreenTest, DrawsGlyphPixelsInTheRightColours) {
  constexpr std::uint32_t width = 64, height = 32, pitch = width * 4;
  std::vector<std::uint8_t> pixels(pitch * height, 0xAB);
  std::vector<ScreenChar> shadow(FramebufferScreen::kMaxCells);
  const PixelFormat bgrx{4, 16, 8, 0};
  TextWriter<FramebufferScreen> writer(
      FramebufferScreen(pixels.data(), width, height, pitch, bgrx, shadow.data()));
  EXPECT_EQ(writer.screen().columns(), 8u);
  EXPECT_EQ(writer.screen().rows(), 2u);
  writer.set_color(ColorCode(Color::white, Color::black));
  writer.write("\n\u2588");  // on the last row, a full block (code page 437 0xDB): all foreground
  writer.write("\n");        // scrolls the block up to row 0
  auto pixel = [&](std::uint32_t x, std::uint32_t y) {
    return *reinterpret_cast<std::uint32_t*>(&pixels[y * pitch + x * 4]);
  };
  EXPECT_EQ(writer.screen().get(0, 0).character, 0xDB);
  EXPECT_EQ(pixel(0, 0), 0xFFFFFFu);
  EXPECT_EQ(pixel(7, 15), 0xFFFFFFu);
  EXPECT_EQ(pixel(0, 16), 0x000000u);  // the blank new bottom row
}

TEST(FramebufferScreenTest, ScrollingRedrawsOnlyTheCellsThatChange) {
  constexpr std::uint32_t width = 64, height = 48, pitch = width * 4;  // 8 x 3 cells
  std::vector<std::uint8_t> pixels(pitch * height, 0);
  std::vector<ScreenChar> shadow(FramebufferScreen::kMaxCells);
  const PixelFormat bgrx{4, 16, 8, 0};
  TextWriter<FramebufferScreen> writer(
      FramebufferScreen(pixels.data(), width, height, pitch, bgrx, shadow.data()));
  writer.set_color(ColorCode(Color::white, Color::blue));
  writer.clear();
  writer.write("\n\n\u2588");  // a full block at row 2 (the last), column 0
  auto pixel = [&](std::uint32_t x, std::uint32_t y) -> std::uint32_t& {
    return *reinterpret_cast<std::uint32_t*>(&pixels[y * pitch + x * 4]);
  };
  constexpr std::uint32_t kMark = 0x123456;
  pixel(0, 0) = kMark;   // row 0, column 0: blank before and after the scroll
  pixel(0, 16) = kMark;  // row 1, column 0: receives the block
  pixel(8, 32) = kMark;  // row 2, column 1: blank before and after
  writer.write("\n");
  EXPECT_EQ(pixel(0, 0), kMark);
  EXPECT_EQ(pixel(0, 16), 0xFFFFFFu);
  EXPECT_EQ(pixel(0, 32), 0x0000AAu);  // the block moved away: blue background
  EXPECT_EQ(pixel(8, 32), kMark);
  EXPECT_EQ(writer.screen().get(1, 0).character, 0xDB);
}

}  // namespace
