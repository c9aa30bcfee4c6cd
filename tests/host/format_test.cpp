// Host tests of lib/format: every spec and built-in type, padding, escapes, truncation, a user
// Formatter, compile-time rejection (through check_format) and the formatted panic.
#include "lib/format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "lib/panic.h"
#include "support/mutator.h"

namespace fmt = ferrite::fmt;
using fmt::FormatError;

// ---- A user type and an enum with their own Formatters: the documented extension point.
namespace {
struct PhysAddr {
  std::uint64_t value;
};

enum class Color : std::uint8_t { red, green };

enum class Unformatted { a, b };
}  // namespace

namespace ferrite::fmt {
// "phys:0x1000"; the spec's width, fill and '0' are passed on to the number.
template <>
struct Formatter<PhysAddr> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    if (spec.type != '\0') return FormatError::type_not_for_argument;
    if (spec.sign != Sign::only_negative) return FormatError::sign_not_for_argument;
    return FormatError::none;
  }
  static void format(Sink& sink, const PhysAddr& address, const FormatSpec& spec) {
    sink.write("phys:");
    FormatSpec hex = spec;
    hex.type = 'x';
    hex.alternate = true;
    Formatter<std::uint64_t>::format(sink, address.value, hex);
  }
};

// No check_spec: any valid spec is accepted; width and alignment work through write_padded.
template <>
struct Formatter<Color> {
  static void format(Sink& sink, const Color& color, const FormatSpec& spec) {
    write_padded(sink, color == Color::red ? "red" : "green", spec);
  }
};
}  // namespace ferrite::fmt

namespace {

class StringSink final : public fmt::Sink {
 public:
  void write(std::string_view text) override {
    text_.append(text);
    ++writes_;
  }
  const std::string& text() const { return text_; }
  int writes() const { return writes_; }

 private:
  std::string text_;
  int writes_ = 0;
};

// Formats through both entry points (staged format_to and direct format_to_buffer), checks they
// agree, and returns the text.
template <class... Args>
std::string formatted(fmt::FormatStringFor<Args...> format, const Args&... args) {
  StringSink sink;
  fmt::format_to(sink, format, args...);
  std::vector<char> buffer(sink.text().size() + 1, 'Z');
  const std::size_t length = fmt::format_to_buffer(buffer, format, args...);
  EXPECT_EQ(length, sink.text().size());
  EXPECT_EQ(std::string(buffer.data(), std::min(length, buffer.size() - 1)), sink.text());
  EXPECT_EQ(buffer[sink.text().size()], '\0');
  return sink.text();
}

TEST(Format, LiteralTextAndEscapes) {
  EXPECT_EQ(formatted(""), "");
  EXPECT_EQ(formatted("Hello World!"), "Hello World!");
  EXPECT_EQ(formatted("{{}}"), "{}");
  EXPECT_EQ(formatted("a{{b}}c{}d", 1), "a{b}c1d");
  EXPECT_EQ(formatted("{}{}{}", 1, 2, 3), "123");
  EXPECT_EQ(formatted("{{{}}}", 7), "{7}");
}

TEST(Format, EveryIntegerType) {
  EXPECT_EQ(formatted("{}", static_cast<signed char>(-128)), "-128");
  EXPECT_EQ(formatted("{}", static_cast<unsigned char>(255)), "255");
  EXPECT_EQ(formatted("{}", std::int8_t{-5}), "-5");
  EXPECT_EQ(formatted("{}", std::uint8_t{200}), "200");
  EXPECT_EQ(formatted("{}", static_cast<short>(SHRT_MIN)), "-32768");
  EXPECT_EQ(formatted("{}", static_cast<unsigned short>(USHRT_MAX)), "65535");
  EXPECT_EQ(formatted("{}", INT_MIN), "-2147483648");
  EXPECT_EQ(formatted("{}", UINT_MAX), "4294967295");
  EXPECT_EQ(formatted("{}", LONG_MIN), "-9223372036854775808");
  EXPECT_EQ(formatted("{}", ULONG_MAX), "18446744073709551615");
  EXPECT_EQ(formatted("{}", LLONG_MAX), "9223372036854775807");
  EXPECT_EQ(formatted("{}", INT64_MIN), "-9223372036854775808");
  EXPECT_EQ(formatted("{:x}", INT64_MIN), "-8000000000000000");
  EXPECT_EQ(formatted("{}", UINT64_MAX), "18446744073709551615");
  EXPECT_EQ(formatted("{}", 0), "0");
  EXPECT_EQ(formatted("{}", std::size_t{4096}), "4096");
}

TEST(Format, IntegerPresentations) {
  EXPECT_EQ(formatted("{:d}", 255), "255");
  EXPECT_EQ(formatted("{:x}", 255), "ff");
  EXPECT_EQ(formatted("{:X}", 255), "FF");
  EXPECT_EQ(formatted("{:#x}", 255), "0xff");
  EXPECT_EQ(formatted("{:#X}", 255), "0XFF");
  EXPECT_EQ(formatted("{:b}", 5), "101");
  EXPECT_EQ(formatted("{:#b}", 5), "0b101");
  EXPECT_EQ(formatted("{:#B}", 5), "0B101");
  EXPECT_EQ(formatted("{:o}", 8), "10");
  EXPECT_EQ(formatted("{:#o}", 8), "010");
  EXPECT_EQ(formatted("{:#o}", 0), "0");
  EXPECT_EQ(formatted("{:#x}", 0), "0x0");
  EXPECT_EQ(formatted("{:#d}", 12), "12");
  EXPECT_EQ(formatted("{:b}", UINT64_MAX), std::string(64, '1'));
  EXPECT_EQ(formatted("{:#x}", -255), "-0xff");
}

TEST(Format, IntegerAsCharacter) {
  EXPECT_EQ(formatted("{:c}", 65), "A");
  EXPECT_EQ(formatted("{:c}", std::uint8_t{0x7A}), "z");
  EXPECT_EQ(formatted("{:3c}", 66), "B  ");
  // Values that are no byte get a visible placeholder instead of a silently cut one.
  EXPECT_EQ(formatted("{:c}", 0x141), "?");
  EXPECT_EQ(formatted("{:c}", -1), "?");
}

TEST(Format, Signs) {
  EXPECT_EQ(formatted("{:+d}", 5), "+5");
  EXPECT_EQ(formatted("{:+d}", -5), "-5");
  EXPECT_EQ(formatted("{:+}", 0), "+0");
  EXPECT_EQ(formatted("{:-}", 5), "5");
  EXPECT_EQ(formatted("{: }", 5), " 5");
  EXPECT_EQ(formatted("{: }", -5), "-5");
  EXPECT_EQ(formatted("{:+}", 7u), "+7");
}

TEST(Format, ZeroPadding) {
  EXPECT_EQ(formatted("{:08x}", 0xbeef), "0000beef");
  EXPECT_EQ(formatted("{:#010x}", 0xbeef), "0x0000beef");
  EXPECT_EQ(formatted("{:08x}", -255), "-00000ff");
  EXPECT_EQ(formatted("{:+06d}", 42), "+00042");
  EXPECT_EQ(formatted("{:03}", 12345), "12345");  // never cuts
  // An explicit alignment wins over '0', as in std::format.
  EXPECT_EQ(formatted("{:<05}", 42), "42   ");
}

TEST(Format, WidthFillAndAlignment) {
  EXPECT_EQ(formatted("{:10}", 42), "        42");    // numbers default to the right
  EXPECT_EQ(formatted("{:10}", "ab"), "ab        ");  // text defaults to the left
  EXPECT_EQ(formatted("{:>10}", "ab"), "        ab");
  EXPECT_EQ(formatted("{:<10}", 42), "42        ");
  EXPECT_EQ(formatted("{:^10}", 42), "    42    ");
  EXPECT_EQ(formatted("{:^5}", "ab"), " ab  ");  // the odd fill goes right
  EXPECT_EQ(formatted("{:*^10}", "mid"), "***mid****");
  EXPECT_EQ(formatted("{:->6}", -3), "-----3");
  EXPECT_EQ(formatted("{::<4}", 1), "1:::");
  EXPECT_EQ(formatted("{:2}", "longer"), "longer");  // width is a minimum
  EXPECT_EQ(formatted("{:255}", 1), std::string(254, ' ') + "1");
  EXPECT_EQ(formatted("[{:>40}]", "x"), "[" + std::string(39, ' ') + "x]");
}

TEST(Format, Bool) {
  EXPECT_EQ(formatted("{} {}", true, false), "true false");
  EXPECT_EQ(formatted("{:s}", true), "true");
  EXPECT_EQ(formatted("{:>6}", false), " false");
  EXPECT_EQ(formatted("{:d}{:#x}", true, false), "10x0");
}

TEST(Format, Char) {
  EXPECT_EQ(formatted("{}", 'A'), "A");
  EXPECT_EQ(formatted("{:c}", 'A'), "A");
  EXPECT_EQ(formatted("{:^5}", 'x'), "  x  ");
  EXPECT_EQ(formatted("{:d}", 'A'), "65");
  EXPECT_EQ(formatted("{:#x}", '\xff'), "0xff");  // the unsigned code unit, signed char or not
  EXPECT_EQ(formatted("{:08b}", '\x05'), "00000101");
}

TEST(Format, Strings) {
  const char* c_string = "kernel";
  char mutable_string[] = "heap";
  char* mutable_pointer = mutable_string;
  const char* null_string = nullptr;
  const char not_terminated[3] = {'a', 'b', 'c'};
  const char early_nul[6] = "ab\0cd";
  EXPECT_EQ(formatted("{}", c_string), "kernel");
  EXPECT_EQ(formatted("{:s}", c_string), "kernel");
  EXPECT_EQ(formatted("{}", mutable_pointer), "heap");
  EXPECT_EQ(formatted("{}", mutable_string), "heap");
  EXPECT_EQ(formatted("{}", null_string), "(null)");
  EXPECT_EQ(formatted("{:>8}", null_string), "  (null)");
  EXPECT_EQ(formatted("{}", not_terminated), "abc");  // stops at the array's end
  EXPECT_EQ(formatted("{}", early_nul), "ab");        // or at the first NUL
  EXPECT_EQ(formatted("{}", std::string_view("a\0b", 3)), std::string("a\0b", 3));
  EXPECT_EQ(formatted("{:<6}|", std::string_view("sv")), "sv    |");
  EXPECT_EQ(formatted("{} {}", "literal", std::string_view()), "literal ");
  EXPECT_EQ(formatted("{:p}", c_string),
            formatted("{}", static_cast<const void*>(c_string)));  // the address, on request
}

TEST(Format, Pointers) {
  int object = 0;
  const auto address = reinterpret_cast<std::uintptr_t>(&object);
  char expected[32];
  std::snprintf(expected, sizeof expected, "0x%lx", static_cast<unsigned long>(address));
  EXPECT_EQ(formatted("{}", &object), expected);
  EXPECT_EQ(formatted("{:p}", static_cast<void*>(&object)), expected);
  EXPECT_EQ(formatted("{}", static_cast<const volatile int*>(&object)), expected);
  EXPECT_EQ(formatted("{}", nullptr), "0x0");
  EXPECT_EQ(formatted("{}", static_cast<void*>(nullptr)), "0x0");
  EXPECT_EQ(formatted("{:018p}", reinterpret_cast<void*>(0xb8000)), "0x00000000000b8000");
  EXPECT_EQ(formatted("{:>10}", reinterpret_cast<void*>(0x1000)), "    0x1000");
  void (*function)() = [] {};
  EXPECT_EQ(formatted("{}", function).substr(0, 2), "0x");
}

TEST(Format, UserFormatters) {
  EXPECT_EQ(formatted("{}", PhysAddr{0x1000}), "phys:0x1000");
  EXPECT_EQ(formatted("{:018}", PhysAddr{0xb8000}), "phys:0x00000000000b8000");
  EXPECT_EQ(formatted("[{}] [{:>6}] [{:*<7}]", Color::red, Color::green, Color::red),
            "[red] [ green] [red****]");
  static_assert(fmt::Formattable<PhysAddr>);
  static_assert(fmt::is_valid_format<PhysAddr>("{:>20}"));
  static_assert(fmt::check_format<PhysAddr>("{:s}") == FormatError::type_not_for_argument);
  static_assert(fmt::check_format<PhysAddr>("{:+}") == FormatError::sign_not_for_argument);
  static_assert(fmt::is_valid_format<Color>("{:x}"));  // no check_spec: every valid spec
}

// The kernel's fixed-point numbers (MHz from kHz, ms from us) print as the pair of fields
// "{}.{:03}" they replace.
TEST(Format, Thousandths) {
  EXPECT_EQ(formatted("{} MHz", fmt::Thousandths{2'400'123}), "2400.123 MHz");
  EXPECT_EQ(formatted("{}", fmt::Thousandths{1'000}), "1.000");
  EXPECT_EQ(formatted("{}", fmt::Thousandths{7}), "0.007");
  EXPECT_EQ(formatted("{}", fmt::Thousandths{0}), "0.000");
  EXPECT_EQ(formatted("{}", fmt::Thousandths{UINT64_MAX}), "18446744073709551.615");
  static_assert(fmt::check_format<fmt::Thousandths>("{:8}") == FormatError::invalid_spec);
  static_assert(fmt::check_format<fmt::Thousandths>("{:x}") == FormatError::type_not_for_argument);
  static_assert(fmt::check_format<fmt::Thousandths>("{:+}") == FormatError::sign_not_for_argument);
}

TEST(Format, EnumsNeedAFormatter) {
  static_assert(!fmt::Formattable<Unformatted>);
  static_assert(fmt::Formattable<Color>);
  static_assert(!fmt::Formattable<std::string>);
  static_assert(!fmt::Formattable<unsigned __int128>);
}

// Every spec from the documented grammar is accepted for the type it is meant for...
static_assert(fmt::is_valid_format<int, int, int, int, int, int, int, int>(
    "{} {:x} {:X} {:#x} {:b} {:#b} {:o} {:d}"));
static_assert(fmt::is_valid_format<int, void*, int, int, int, int, int, int>(
    "{:c} {:p} {:08x} {:>10} {:<10} {:^10} {:*^10} {:+d}"));
static_assert(fmt::is_valid_format<const char*, std::string_view, bool, char>("{:s}{:s}{:s}{:c}"));

// ...and every kind of mistake is rejected with its own error.
static_assert(fmt::check_format<int>("{") == FormatError::unmatched_open_brace);
static_assert(fmt::check_format<int>("{:x") == FormatError::unmatched_open_brace);
static_assert(fmt::check_format<int>("{}}") == FormatError::unmatched_close_brace);
static_assert(fmt::check_format<>("}") == FormatError::unmatched_close_brace);
static_assert(fmt::check_format<int>("{} {}") == FormatError::too_few_arguments);
static_assert(fmt::check_format<int, int>("{}") == FormatError::too_many_arguments);
static_assert(fmt::check_format<int>("no fields") == FormatError::too_many_arguments);
static_assert(fmt::check_format<int>("{0}") == FormatError::argument_index_not_supported);
static_assert(fmt::check_format<int>("{x}") == FormatError::invalid_spec);
static_assert(fmt::check_format<int>("{:{}}") == FormatError::invalid_spec);
static_assert(fmt::check_format<int>("{:10L}") == FormatError::unknown_type);
static_assert(fmt::check_format<int>("{:x5}") == FormatError::invalid_spec);
static_assert(fmt::check_format<int>("{:00}") == FormatError::invalid_spec);
static_assert(fmt::check_format<int>("{:256}") == FormatError::width_too_large);
static_assert(fmt::check_format<int>("{:99999999999999999999}") == FormatError::width_too_large);
static_assert(fmt::check_format<int>("{:.3}") == FormatError::precision_not_supported);
static_assert(fmt::check_format<int>("{:f}") == FormatError::unknown_type);
static_assert(fmt::check_format<std::string_view>("{:x}") == FormatError::type_not_for_argument);
static_assert(fmt::check_format<const char*>("{:d}") == FormatError::type_not_for_argument);
static_assert(fmt::check_format<int>("{:s}") == FormatError::type_not_for_argument);
static_assert(fmt::check_format<int>("{:p}") == FormatError::type_not_for_argument);
static_assert(fmt::check_format<void*>("{:x}") == FormatError::type_not_for_argument);
static_assert(fmt::check_format<bool>("{:c}") == FormatError::type_not_for_argument);
static_assert(fmt::check_format<char[3]>("{:+}") == FormatError::sign_not_for_argument);
static_assert(fmt::check_format<int>("{:+c}") == FormatError::sign_not_for_argument);
static_assert(fmt::check_format<void*>("{:+}") == FormatError::sign_not_for_argument);
static_assert(fmt::check_format<std::string_view>("{:#}") ==
              FormatError::alternate_not_for_argument);
static_assert(fmt::check_format<char>("{:#c}") == FormatError::alternate_not_for_argument);
static_assert(fmt::check_format<bool>("{:05}") == FormatError::zero_pad_not_for_argument);
static_assert(fmt::check_format<int>("{:{<5}") == FormatError::invalid_spec);

TEST(Format, ErrorsHaveDistinctMessages) {
  std::vector<std::string_view> messages;
  for (int e = 0; e <= static_cast<int>(FormatError::zero_pad_not_for_argument); ++e) {
    const std::string_view message = fmt::to_string(static_cast<FormatError>(e));
    EXPECT_FALSE(message.empty());
    for (std::string_view other : messages) EXPECT_NE(message, other);
    messages.push_back(message);
  }
}

TEST(Format, ParseSpecFillsEveryField) {
  fmt::FormatSpec spec;
  ASSERT_EQ(fmt::parse_spec("*^+#012X", spec), FormatError::none);
  EXPECT_EQ(spec.fill, '*');
  EXPECT_EQ(spec.align, fmt::Align::center);
  EXPECT_EQ(spec.sign, fmt::Sign::always);
  EXPECT_TRUE(spec.alternate);
  EXPECT_TRUE(spec.zero_pad);
  EXPECT_EQ(spec.width, 12);
  EXPECT_EQ(spec.type, 'X');
}

TEST(Format, BufferTruncatesLikeSnprintf) {
  char buffer[8];
  EXPECT_EQ(fmt::format_to_buffer(buffer, "{}-{}", 12345, "abcdef"), 12u);
  EXPECT_STREQ(buffer, "12345-a");

  char exact[13];
  EXPECT_EQ(fmt::format_to_buffer(exact, "{}-{}", 12345, "abcdef"), 12u);
  EXPECT_STREQ(exact, "12345-abcdef");

  char one[1] = {'Z'};
  EXPECT_EQ(fmt::format_to_buffer(one, "{}", 42), 2u);
  EXPECT_EQ(one[0], '\0');

  char untouched = 'Z';
  EXPECT_EQ(fmt::format_to_buffer(std::span<char>(&untouched, 0), "{:>10}", 1), 10u);
  EXPECT_EQ(untouched, 'Z');
}

TEST(Format, BufferSinkReportsTruncation) {
  char buffer[6];
  fmt::BufferSink sink(buffer);
  EXPECT_EQ(sink.view(), "");
  EXPECT_FALSE(sink.truncated());
  sink.write("abc");
  EXPECT_EQ(sink.view(), "abc");
  EXPECT_FALSE(sink.truncated());
  sink.write("defg");
  EXPECT_EQ(sink.view(), "abcde");
  EXPECT_TRUE(sink.truncated());
  EXPECT_EQ(sink.wanted_size(), 7u);
  EXPECT_EQ(buffer[5], '\0');
}

// The console takes a lock per write: one format_to call should reach it as one write.
TEST(Format, SinkGetsRunsNotCharacters) {
  StringSink sink;
  fmt::format_to(sink, "{:>20} | {:#018x} | {:*^30} | {{}} {}\n", "name", 0xdeadbeefULL, "mid",
                 true);
  EXPECT_EQ(sink.writes(), 1);
  EXPECT_EQ(sink.text(), std::string(16, ' ') + "name | 0x00000000deadbeef | " +
                             std::string(13, '*') + "mid" + std::string(14, '*') + " | {} true\n");

  // Longer output is still complete and still written in large pieces.
  const std::string long_text(1000, 'x');
  StringSink long_sink;
  fmt::format_to(long_sink, "<{}>{:>200}", std::string_view(long_text), 1);
  EXPECT_EQ(long_sink.text(), "<" + long_text + ">" + std::string(199, ' ') + "1");
  EXPECT_LE(long_sink.writes(), 6);
}

// A sink for which small writes are cheap (a buffer, a log record) gets the pieces as they come:
// no staging copy in between, and the same text.
TEST(Format, CheapSinkGetsPiecesDirectly) {
  class CheapSink final : public fmt::Sink {
   public:
    void write(std::string_view text) override { pieces.emplace_back(text); }
    bool small_writes_are_cheap() const override { return true; }
    std::vector<std::string> pieces;
  } sink;
  fmt::format_to(sink, "a {} b {:#x}", 1, 255);
  EXPECT_EQ(sink.pieces, (std::vector<std::string>{"a ", "1", " b ", "0xff"}));
}

// ---- The formatted panic (lib/panic.h). The panics sit in helpers so that their line numbers
// are known exactly.

[[noreturn]] void panic_with_formatted_message() {
  ferrite::panic("frame {:#x} mapped twice by {}", 0x1000, "kernel");
}
constexpr int kFormattedPanicLine = __LINE__ - 2;

[[noreturn]] void panic_with_plain_message() {
  ferrite::panic("plain message");
}
constexpr int kPlainPanicLine = __LINE__ - 2;

TEST(FormatDeathTest, FormattedPanicPrintsMessageFileAndLine) {
  EXPECT_DEATH(panic_with_formatted_message(),
               "KERNEL PANIC at .*format_test.cpp:" + std::to_string(kFormattedPanicLine) +
                   ": frame 0x1000 mapped twice by kernel\n");
}

TEST(FormatDeathTest, LongPanicMessageEndsWithEllipsis) {
  const std::string long_text(400, 'y');
  EXPECT_DEATH(ferrite::panic("start {} end", std::string_view(long_text)),
               ": start y{246}\\.\\.\\.\n");
}

TEST(FormatDeathTest, PlainPanicAndAssertStillWork) {
  EXPECT_DEATH(panic_with_plain_message(),
               "format_test.cpp:" + std::to_string(kPlainPanicLine) + ": plain message");
  // Without arguments the unformatted overload is chosen: braces are printed as written.
  EXPECT_DEATH(ferrite::panic("literal {} braces"), ": literal \\{\\} braces");
  const std::string_view runtime_message = "from a string_view";
  EXPECT_DEATH(ferrite::panic(runtime_message), ": from a string_view");
  const int value = 3;
  EXPECT_DEATH(FERRITE_ASSERT(value == 4), "assertion failed: value == 4");
}

// --- Mutation fuzzing of the format-string walker and the spec parser (format strings are
// literals checked at compile time, but the same constexpr code runs at run time). ---

std::vector<std::byte> format_bytes(std::string_view text) {
  const auto bytes = std::as_bytes(std::span(text.data(), text.size()));
  return {bytes.begin(), bytes.end()};
}

// The literal text a well-formed format string prints, fields left out, and its field count.
std::pair<std::string, std::size_t> literal_text(std::string_view format) {
  std::string text;
  std::size_t fields = 0;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if ((format[i] == '{' || format[i] == '}') && i + 1 < format.size() &&
        format[i + 1] == format[i]) {
      text += format[i++];
    } else if (format[i] == '{') {
      i = format.find('}', i);
      ++fields;
    } else {
      text += format[i];
    }
  }
  return {text, fields};
}

TEST(FormatFuzz, MutatedFormatStringsWalkConsistently) {
  const std::string_view samples[] = {"frame {:#x} of {:>8}", "{{literal}} {:*^12} {:+05d}",
                                      "{:#010b}|{:<3s}|{:p}|{}", "a {{ b }} c {:c}"};
  ferrite::testing::fuzz("FormatFuzz", 20261130, 50000, [&](auto& mutator, std::uint64_t) {
    const auto bytes = mutator.mutate(format_bytes(samples[mutator.below(std::size(samples))]));
    const std::string storage(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const std::string_view format = storage;
    std::string text;
    std::size_t fields = 0;
    const FormatError error = fmt::walk_format(
        format,
        [&](std::string_view run) {
          EXPECT_TRUE(run.data() >= format.data() &&
                      run.data() + run.size() <= format.data() + format.size())
              << "a text run outside the format string";
          text += run;
        },
        [&](std::size_t index, const fmt::FormatSpec& spec) {
          EXPECT_EQ(index, fields++);
          EXPECT_LE(spec.width, fmt::kMaxWidth);
          return FormatError::none;
        });
    EXPECT_NE(fmt::to_string(error), "unknown format error");
    if (error != FormatError::none) return;
    const auto [expected_text, expected_fields] = literal_text(format);
    EXPECT_EQ(text, expected_text) << "'" << format << "'";
    EXPECT_EQ(fields, expected_fields) << "'" << format << "'";
  });
}

}  // namespace
