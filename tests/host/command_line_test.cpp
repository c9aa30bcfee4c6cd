// Host tests for the kernel command line (kernel/boot/command_line.h): options, flags, sizes.
#include "boot/command_line.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>

#include "mm/heap_config.h"
#include "support/mutator.h"

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

// parse_size against its definition (command_line.h) worked out in 128-bit arithmetic.
std::optional<std::uint64_t> size_by_definition(std::string_view text) {
  unsigned base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  unsigned shift = 0;
  if (!text.empty()) {
    const char last = text.back();
    shift = (last == 'K' || last == 'k')   ? 10
            : (last == 'M' || last == 'm') ? 20
            : (last == 'G' || last == 'g') ? 30
                                           : 0;
    if (shift != 0) text.remove_suffix(1);
  }
  if (text.empty()) return std::nullopt;
  unsigned __int128 value = 0;
  for (const char c : text) {
    const std::string_view digits = "0123456789abcdef";
    const char lower = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
    const std::size_t digit = digits.find(lower);
    if (digit == std::string_view::npos || digit >= base) return std::nullopt;
    value = value * base + digit;
    if (value > std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
  }
  value <<= shift;
  if (value > std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
  return static_cast<std::uint64_t>(value);
}

std::string text_of(const std::vector<std::byte>& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
std::vector<std::byte> bytes_of(std::string_view text) {
  const auto bytes = std::as_bytes(std::span(text.data(), text.size()));
  return {bytes.begin(), bytes.end()};
}

TEST(ParseSizeFuzz, MutatedSizesFollowTheDefinition) {
  const std::vector<std::string> samples = {
      "256K", "0x1000M",    "18446744073709551615", "17179869183G", "0xFFFFFFFFFFFFFFFF",
      "16m",  "0X3fffffffG"};
  std::size_t parsed = 0;
  const std::uint64_t runs =
      ferrite::testing::fuzz("ParseSizeFuzz", 20261130, 50000, [&](auto& mutator, std::uint64_t) {
        const std::string text =
            text_of(mutator.mutate(bytes_of(samples[mutator.below(samples.size())]), 2));
        const auto size = parse_size(text);
        EXPECT_EQ(size, size_by_definition(text)) << "'" << text << "'";
        parsed += size.has_value();
      });
  if (runs == 50000) {
    EXPECT_GT(parsed, 5000u);
  }
}

// CommandLine::get/has against their definition: split at whitespace, the last `key=value`.
TEST(CommandLineFuzz, MutatedCommandLinesFollowTheDefinition) {
  const std::string valid =
      "layout=de heap=256K quiet heap= log=debug\tquiet=1 layout==x test=heap";
  const std::string keys[] = {"layout", "heap", "quiet", "log", "test", "=", "l", "heap="};
  ferrite::testing::fuzz("CommandLineFuzz", 20261130, 20000, [&](auto& mutator, std::uint64_t) {
    const std::string text = text_of(mutator.mutate(bytes_of(valid)));
    const CommandLine line(text);
    for (const std::string& key : keys) {
      std::optional<std::string> value;
      bool flag = false;
      std::string word;
      for (std::size_t i = 0; i <= text.size(); ++i) {
        const bool space = i == text.size() || text[i] == ' ' || text[i] == '\t' ||
                           text[i] == '\n' || text[i] == '\r';
        if (!space) {
          word += text[i];
          continue;
        }
        if (word == key) flag = true;
        if (word.size() > key.size() && word.compare(0, key.size(), key) == 0 &&
            word[key.size()] == '=') {
          value = word.substr(key.size() + 1);
        }
        word.clear();
      }
      const auto got = line.get(key);
      EXPECT_EQ(got.has_value(), value.has_value()) << "'" << text << "' key " << key;
      if (got && value) {
        EXPECT_EQ(std::string(*got), *value) << "'" << text << "' key " << key;
        // A view into the command line itself.
        EXPECT_TRUE(got->data() >= text.data() &&
                    got->data() + got->size() <= text.data() + text.size());
      }
      EXPECT_EQ(line.has(key), flag) << "'" << text << "' key " << key;
    }
  });
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

// ---- Heap options checked against the machine (mm/heap_config.h; issue 9, bug 10) -----------

constexpr std::uint64_t MiB = 1024 * 1024;

struct Checked {
  mm::HeapConfig config;
  std::string messages;
};

Checked check_heap(std::string_view text, std::uint64_t free_bytes = 256 * MiB) {
  char buffer[1024];
  fmt::BufferSink messages(buffer);
  const mm::HeapConfig config = mm::heap_config_from(CommandLine(text), free_bytes, messages);
  return {config, std::string(messages.view())};
}

TEST(HeapConfig, DefaultsWithoutOptionsAndNoMessage) {
  const Checked checked = check_heap("quiet");
  EXPECT_EQ(checked.config.initial_bytes, 100u * 1024);
  EXPECT_EQ(checked.config.max_bytes, 64 * MiB);
  EXPECT_EQ(checked.config.kind, mm::AllocatorKind::fixed_block);
  EXPECT_EQ(checked.messages, "");
}

TEST(HeapConfig, GoodValuesAreTakenAndRoundedToPages) {
  const Checked checked = check_heap("heap=100001 heap_max=32M allocator=tlsf heap_debug");
  EXPECT_EQ(checked.config.initial_bytes, 102400u);
  EXPECT_EQ(checked.config.max_bytes, 32 * MiB);
  EXPECT_EQ(checked.config.kind, mm::AllocatorKind::tlsf);
  EXPECT_EQ(checked.config.debug, mm::DebugChecks::on);
  EXPECT_EQ(checked.messages, "");
}

TEST(HeapConfig, HugeInitialSizeIsCutToHalfTheFreeMemory) {
  // Was: an assertion in align_up (2^64 - 1 rounded up overflows).
  const Checked checked = check_heap("heap=18446744073709551615");
  EXPECT_EQ(checked.config.initial_bytes, 128 * MiB);
  EXPECT_EQ(checked.config.max_bytes, 128 * MiB);
  EXPECT_EQ(checked.messages,
            "heap: heap=18446744073709551615 is more than half the free memory: 128 MiB; using 128 MiB\n");
}

TEST(HeapConfig, InitialSizeBeyondTheMachineIsCut) {
  // Was: "no physical frame left for a new page table" on a 256 MiB machine.
  const Checked checked = check_heap("heap=1G", 250 * MiB);
  EXPECT_EQ(checked.config.initial_bytes, 125 * MiB);
  EXPECT_GE(checked.config.max_bytes, checked.config.initial_bytes);
  EXPECT_NE(checked.messages.find("heap=1G is more than half the free memory"), std::string::npos);
}

TEST(HeapConfig, TooSmallValuesAreRaisedToWhatTheKernelNeeds) {
  // Was: boots, then cannot start the shell.
  const Checked checked = check_heap("heap=4K heap_max=4K");
  EXPECT_EQ(checked.config.initial_bytes, 64u * 1024);
  EXPECT_EQ(checked.config.max_bytes, 1 * MiB);
  EXPECT_EQ(checked.messages,
            "heap: heap=4K is below the minimum of 64 KiB; using 64 KiB\n"
            "heap: heap_max=4K is below the minimum of 1 MiB; using 1 MiB\n");
}

TEST(HeapConfig, MaximumBelowTheInitialSizeSaysWhatItUses) {
  // Was: "bad size heap_max=8M; using 64 MiB", then 100 MiB were used.
  const Checked checked = check_heap("heap=100M heap_max=8M");
  EXPECT_EQ(checked.config.initial_bytes, 100 * MiB);
  EXPECT_EQ(checked.config.max_bytes, 100 * MiB);
  EXPECT_EQ(checked.messages, "heap: heap_max=8M is below the initial heap of 100 MiB; using 100 MiB\n");
}

TEST(HeapConfig, MaximumBeyondTheMachineIsCut) {
  // Was: taken as is.
  const Checked checked = check_heap("heap_max=999999G");
  EXPECT_EQ(checked.config.max_bytes, 256 * MiB);
  EXPECT_EQ(checked.messages, "heap: heap_max=999999G is more than the free memory: 256 MiB; using 256 MiB\n");
}

TEST(HeapConfig, MalformedValuesKeepTheDefaults) {
  const Checked checked = check_heap("heap=lots heap_max= allocator=buddy");
  EXPECT_EQ(checked.config.initial_bytes, 100u * 1024);
  EXPECT_EQ(checked.config.max_bytes, 64 * MiB);
  EXPECT_EQ(checked.messages,
            "heap: unknown allocator \"buddy\"; using fixed_block\n"
            "heap: heap=lots is not a size; using 100 KiB\n"
            "heap: heap_max= is not a size; using 64 MiB\n");
}

TEST(HeapConfig, DefaultMaximumFitsASmallMachineSilently) {
  const Checked checked = check_heap("", 6 * MiB);
  EXPECT_EQ(checked.config.max_bytes, 6 * MiB);
  EXPECT_EQ(checked.messages, "");
}

TEST(HeapConfig, AnyValuesGiveAConsistentConfig) {
  std::mt19937_64 random(9);
  const char* suffixes[] = {"", "K", "M", "G"};
  for (int i = 0; i < 20000; ++i) {
    const std::uint64_t free_bytes = random() % (8192 * MiB);
    const std::string text = "heap=" + std::to_string(random() >> (random() % 64)) + suffixes[random() % 4] +
                             " heap_max=" + std::to_string(random() >> (random() % 64)) + suffixes[random() % 4];
    SCOPED_TRACE(text + " free " + std::to_string(free_bytes));
    const Checked checked = check_heap(text, free_bytes);
    const mm::HeapConfig& config = checked.config;
    EXPECT_EQ(config.initial_bytes % 4096, 0u);
    EXPECT_EQ(config.max_bytes % 4096, 0u);
    EXPECT_GE(config.initial_bytes, mm::HeapConfig::kMinInitialBytes);
    EXPECT_GE(config.max_bytes, mm::HeapConfig::kMinMaxBytes);
    EXPECT_LE(config.initial_bytes, config.max_bytes);
    EXPECT_LE(config.initial_bytes, std::max<std::uint64_t>(free_bytes / 2, mm::HeapConfig::kMinInitialBytes));
    EXPECT_LE(config.max_bytes, std::max<std::uint64_t>(free_bytes, mm::HeapConfig::kMinMaxBytes));
  }
}

}  // namespace
}  // namespace ferrite::boot
