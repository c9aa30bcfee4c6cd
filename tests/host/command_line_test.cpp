// Host tests for the kernel command line (kernel/boot/command_line.h): options, flags, sizes.
#include "boot/command_line.h"

#include <gtest/gtest.h>

#include <limits>

namespace ferrite::boot {
namespace {

constexpr std::string_view example = "layout=de allocator=linked_list heap=256K test=heap quiet";

TEST(CommandLine, FindsEachOption) {
  const CommandLine options(example);
  EXPECT_EQ(options.get("layout"), "de");
  EXPECT_EQ(options.get("allocator"), "linked_list");
  EXPECT_EQ(options.get("heap"), "256K");
  EXPECT_EQ(options.get("test"), "heap");
  EXPECT_EQ(options.text(), example);
}

TEST(CommandLine, MissingOptionIsNullopt) {
  const CommandLine options(example);
  EXPECT_EQ(options.get("serial"), std::nullopt);
  EXPECT_EQ(options.get(""), std::nullopt);
}

TEST(CommandLine, KeysMatchWholeNamesOnly) {
  const CommandLine options("heapsize=1M alloc=bump");
  EXPECT_EQ(options.get("heap"), std::nullopt);
  EXPECT_EQ(options.get("heapsiz"), std::nullopt);
  EXPECT_EQ(options.get("allocator"), std::nullopt);
  EXPECT_EQ(options.get("alloc"), "bump");
  EXPECT_EQ(options.get("Alloc"), std::nullopt) << "keys are case-sensitive";
}

TEST(CommandLine, LaterOptionOverridesEarlier) {
  const CommandLine options("layout=us quiet layout=de");
  EXPECT_EQ(options.get("layout"), "de");
}

TEST(CommandLine, EmptyValueIsAnEmptyString) {
  const CommandLine options("test= quiet");
  const auto value = options.get("test");
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(*value, "");
}

TEST(CommandLine, ValueMayContainEquals) {
  const CommandLine options("root=UUID=1234-abcd");
  EXPECT_EQ(options.get("root"), "UUID=1234-abcd");
}

TEST(CommandLine, FlagsAreBareWords) {
  const CommandLine options(example);
  EXPECT_TRUE(options.has("quiet"));
  EXPECT_FALSE(options.has("heap")) << "heap=256K is an option, not the flag heap";
  EXPECT_FALSE(options.has("quie"));
  EXPECT_FALSE(options.has("verbose"));
  EXPECT_FALSE(options.has(""));
  EXPECT_EQ(options.get("quiet"), std::nullopt) << "a flag has no value";
}

TEST(CommandLine, AnyWhitespaceSeparatesWords) {
  const CommandLine options("  \tquiet\n\nheap=1M\r\n  layout=uk   ");
  EXPECT_TRUE(options.has("quiet"));
  EXPECT_EQ(options.get("heap"), "1M");
  EXPECT_EQ(options.get("layout"), "uk");
}

TEST(CommandLine, EmptyCommandLineHasNothing) {
  for (const CommandLine options : {CommandLine{}, CommandLine(""), CommandLine("   ")}) {
    EXPECT_FALSE(options.has("quiet"));
    EXPECT_EQ(options.get("heap"), std::nullopt);
  }
}

TEST(CommandLine, LoneEqualsSignIsNotAnOption) {
  const CommandLine options("= =x");
  EXPECT_EQ(options.get(""), std::nullopt);
  EXPECT_TRUE(options.has("=x"));
}

TEST(ParseSize, PlainNumbers) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("007"), 7u);
  EXPECT_EQ(parse_size("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
}

TEST(ParseSize, SuffixesArePowersOf1024InEitherCase) {
  EXPECT_EQ(parse_size("256K"), 256u * 1024);
  EXPECT_EQ(parse_size("256k"), 256u * 1024);
  EXPECT_EQ(parse_size("16M"), 16u * 1024 * 1024);
  EXPECT_EQ(parse_size("16m"), 16u * 1024 * 1024);
  EXPECT_EQ(parse_size("2G"), 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_size("3g"), 3ull * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_size("0K"), 0u);
}

TEST(ParseSize, Hexadecimal) {
  EXPECT_EQ(parse_size("0x1000"), 0x1000u);
  EXPECT_EQ(parse_size("0XfF"), 0xFFu);
  EXPECT_EQ(parse_size("0x10K"), 0x10u * 1024);
  EXPECT_EQ(parse_size("0xFFFFFFFFFFFFFFFF"), std::numeric_limits<std::uint64_t>::max());
}

TEST(ParseSize, MalformedIsNullopt) {
  for (const std::string_view text : {"", "K", "M", "0x", "0xK", "12Q", "-1", "+1", "1.5M", " 12",
                                      "12 ", "12KB", "1KK", "0x1g0", "abc", "0b101", "1_000"}) {
    EXPECT_EQ(parse_size(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(ParseSize, OverflowIsNullopt) {
  EXPECT_EQ(parse_size("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_size("99999999999999999999999"), std::nullopt);
  EXPECT_EQ(parse_size("0x10000000000000000"), std::nullopt);
  EXPECT_EQ(parse_size("17179869183G"), 17179869183ull << 30);
  EXPECT_EQ(parse_size("17179869184G"), std::nullopt) << "2^34 GiB is 2^64 bytes";
  EXPECT_EQ(parse_size("18014398509481984K"), std::nullopt) << "2^54 KiB is 2^64 bytes";
}

TEST(ParseSize, WorksOnCommandLineValues) {
  const CommandLine options(example);
  const auto heap = options.get("heap");
  ASSERT_TRUE(heap.has_value());
  EXPECT_EQ(parse_size(*heap), 256u * 1024);
  EXPECT_EQ(parse_size(*options.get("layout")), std::nullopt);
}

TEST(LogLevel, AbsentMeansInfo) {
  EXPECT_EQ(log_level(CommandLine("")), log::Level::info);
  EXPECT_EQ(log_level(CommandLine("layout=de quiet")), log::Level::info);
}

TEST(LogLevel, NamesEachLevel) {
  EXPECT_EQ(log_level(CommandLine("log=debug")), log::Level::debug);
  EXPECT_EQ(log_level(CommandLine("log=info")), log::Level::info);
  EXPECT_EQ(log_level(CommandLine("heap=1M log=warn layout=de")), log::Level::warn);
  EXPECT_EQ(log_level(CommandLine("log=error")), log::Level::error);
  EXPECT_EQ(log_level(CommandLine("log=debug log=warn")), log::Level::warn) << "the last one wins";
}

TEST(LogLevel, UnknownValueIsReturnedAsTheError) {
  for (const std::string_view text : {"log=loud", "log=", "log=WARN", "log=warning", "log=info2"}) {
    const auto level = log_level(CommandLine(text));
    ASSERT_FALSE(level.has_value()) << text;
    EXPECT_EQ(level.error(), text.substr(4)) << text;
  }
  EXPECT_EQ(log_level(CommandLine("log")), log::Level::info) << "a bare flag is not the option";
}

}  // namespace
}  // namespace ferrite::boot
