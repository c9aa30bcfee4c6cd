// Host tests of the VT100 parser and terminal (kernel/console/vt100.h) over a plain cell grid.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "console/vt100.h"

namespace {

using namespace ferrite::console;

// A cell grid with the interface the terminal draws on (as VgaTextScreen and FramebufferScreen).
struct Grid {
  std::size_t rows_ = 5, columns_ = 10;
  std::vector<ScreenChar> cells = std::vector<ScreenChar>(rows_ * columns_, ScreenChar{' ', 0x07});
  std::size_t rows() const { return rows_; }
  std::size_t columns() const { return columns_; }
  void put(std::size_t r, std::size_t c, ScreenChar ch) {
    ASSERT_LT(r, rows_);
    ASSERT_LT(c, columns_);
    cells[r * columns_ + c] = ch;
  }
  ScreenChar get(std::size_t r, std::size_t c) const { return cells[r * columns_ + c]; }
  void scroll_up(ScreenChar blank) {
    for (std::size_t r = 1; r < rows_; ++r)
      for (std::size_t c = 0; c < columns_; ++c) cells[(r - 1) * columns_ + c] = cells[r * columns_ + c];
    for (std::size_t c = 0; c < columns_; ++c) cells[(rows_ - 1) * columns_ + c] = blank;
  }
  std::string row(std::size_t r) const {
    std::string s;
    for (std::size_t c = 0; c < columns_; ++c) s += static_cast<char>(get(r, c).character);
    return s;
  }
};

struct TerminalTest : ::testing::Test {
  Grid grid;
  Terminal<Grid> terminal{grid};
  void type(std::string_view text) { terminal.write_all(text); }
};

TEST_F(TerminalTest, PrintsWrapsAndScrolls) {
  type("hello\nworld");
  EXPECT_EQ(grid.row(0), "hello     ");
  EXPECT_EQ(grid.row(1), "world     ");
  EXPECT_EQ(terminal.row(), 1u);
  EXPECT_EQ(terminal.column(), 5u);
  type("\r\n0123456789abc");  // fills row 2, wraps to row 3
  EXPECT_EQ(grid.row(2), "0123456789");
  EXPECT_EQ(grid.row(3), "abc       ");
  type("\n\n\nlast");  // two line feeds past the bottom: scrolls twice
  EXPECT_EQ(grid.row(0), "0123456789");
  EXPECT_EQ(grid.row(1), "abc       ");
  EXPECT_EQ(grid.row(4), "last      ");
}

TEST_F(TerminalTest, MovesTheCursorAndErases) {
  type("aaaaaaaaaa\r\nbbbbbbbbbb\r\ncccccccccc");
  type("\x1b[2;4H");  // row 2, column 4 (1-based)
  EXPECT_EQ(terminal.row(), 1u);
  EXPECT_EQ(terminal.column(), 3u);
  type("X\x1b[K");  // erase to the end of the line
  EXPECT_EQ(grid.row(1), "bbbX      ");
  type("\x1b[1;5H\x1b[1K");  // erase from the start of the line to the cursor
  EXPECT_EQ(grid.row(0), "     aaaaa");
  type("\x1b[3;1H\x1b[2K");
  EXPECT_EQ(grid.row(2), "          ");
  type("\x1b[H\x1b[2B\x1b[3Cz\x1b[Ay\x1b[10Dx");
  EXPECT_EQ(grid.row(2), "   z      ");
  EXPECT_EQ(grid.row(1), "xbbXy     ");
  type("\x1b[99;99Hq");  // clamped to the last cell
  EXPECT_EQ(grid.row(4)[9], 'q');
  type("\x1b[2J");
  for (std::size_t r = 0; r < grid.rows(); ++r) EXPECT_EQ(grid.row(r), "          ");
}

TEST_F(TerminalTest, EraseInDisplayBelowAndAbove) {
  for (int i = 0; i < 5; ++i) type(i == 4 ? "eeeeeeeeee" : "dddddddddd\r\n");
  type("\x1b[3;5H\x1b[J");
  EXPECT_EQ(grid.row(1), "dddddddddd");
  EXPECT_EQ(grid.row(2), "dddd      ");
  EXPECT_EQ(grid.row(3), "          ");
  type("\x1b[2;3H\x1b[1J");
  EXPECT_EQ(grid.row(0), "          ");
  EXPECT_EQ(grid.row(1), "   ddddddd");
}

TEST_F(TerminalTest, ColoursFollowSgr) {
  type("\x1b[31mr\x1b[1;44mB\x1b[7mv\x1b[0mn\x1b[92mg\x1b[39;49m.");
  EXPECT_EQ(grid.get(0, 0).color, ColorCode(Color::red, Color::black).value());
  EXPECT_EQ(grid.get(0, 1).color, ColorCode(Color::light_red, Color::blue).value());
  EXPECT_EQ(grid.get(0, 2).color, ColorCode(Color::blue, Color::light_red).value());  // reversed
  EXPECT_EQ(grid.get(0, 3).color, kDefaultColor.value());
  EXPECT_EQ(grid.get(0, 4).color, ColorCode(Color::light_green, Color::black).value());
  EXPECT_EQ(grid.get(0, 5).color, kDefaultColor.value());
}

TEST_F(TerminalTest, UnknownAndPrivateSequencesLeaveNoGarbage) {
  type("a\x1b[?25lb\x1b[38;5;196mc\x1b(Bd\x1b[5;5;5;5;5;5;5;5;5;5;5xe\x1b[999999999Af");
  EXPECT_EQ(grid.row(0), "abcdef    ");
  type("\x1b" "7\x1b[3;3HZ\x1b" "8!");
  EXPECT_EQ(grid.row(0), "abcdef!   ");
  EXPECT_EQ(grid.row(2), "  Z       ");
}

TEST_F(TerminalTest, BackspaceAndTab) {
  type("abc\b\bX\tY");
  EXPECT_EQ(grid.row(0), "aXc     Y ");
  type("\t\t\tZ");  // a tab stops at the last column
  EXPECT_EQ(grid.row(0)[9], 'Z');
}

TEST(Vt100Parser, RandomBytesNeverLeaveTheScreen) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    Grid grid;
    grid.rows_ = 1 + rng() % 30;
    grid.columns_ = 1 + rng() % 100;
    grid.cells.assign(grid.rows_ * grid.columns_, ScreenChar{' ', 7});
    Terminal<Grid> terminal(grid);
    for (int i = 0; i < 5000; ++i) {
      constexpr std::string_view kInteresting = "\x1b[;0123456789HJKmABCDGdf?\n\r\b\t";
      const std::uint8_t b = rng() % 4 == 0 ? kInteresting[rng() % kInteresting.size()]
                                            : static_cast<std::uint8_t>(rng());
      terminal.write(b);
      ASSERT_LT(terminal.row(), grid.rows_);
      ASSERT_LE(terminal.column(), grid.columns_);
    }
  }
}

// CSI 6 n: the cursor position report a line editor asks for; the answer waits in the
// terminal for the tty to queue as input (chapter 15).
TEST_F(TerminalTest, AnswersCursorPositionAndStatusReports) {
  EXPECT_EQ(terminal.pending_reply(), "");
  type("ab\r\ncd\x1b[6n");
  EXPECT_EQ(terminal.pending_reply(), "\x1b[2;3R");  // row 2, column 3, 1-based
  EXPECT_EQ(grid.row(1), "cd        ");               // nothing drawn for it
  type("\x1b[5n");
  EXPECT_EQ(terminal.pending_reply(), "\x1b[2;3R\x1b[0n");
  terminal.clear_reply();
  type("\x1b[5;10H\x1b[6n");
  EXPECT_EQ(terminal.pending_reply(), "\x1b[5;10R");
  terminal.clear_reply();
  type("\x1b[5;1H0123456789\x1b[6n");  // a full row: the cursor is on its last cell
  EXPECT_EQ(terminal.pending_reply(), "\x1b[5;10R");
  terminal.clear_reply();
  type("\x1b[?6n\x1b[7n");  // private and unknown reports: no answer
  EXPECT_EQ(terminal.pending_reply(), "");
}

}  // namespace
