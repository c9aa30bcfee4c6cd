// Splitting the kernel command line into words and options; parsing sizes like "256K".
#include "boot/command_line.h"

#include <limits>

namespace ferrite::boot {
namespace {

constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Removes and returns the first word of `rest` ("" once only whitespace is left).
std::string_view take_word(std::string_view& rest) {
  std::size_t start = 0;
  while (start < rest.size() && is_space(rest[start])) ++start;
  std::size_t end = start;
  while (end < rest.size() && !is_space(rest[end])) ++end;
  const std::string_view word = rest.substr(start, end - start);
  rest.remove_prefix(end);
  return word;
}

std::optional<std::uint64_t> digit_value(char c, std::uint64_t base) {
  std::uint64_t value = base;  // "not a digit" unless matched below
  if (c >= '0' && c <= '9') value = static_cast<std::uint64_t>(c - '0');
  if (c >= 'a' && c <= 'f') value = static_cast<std::uint64_t>(c - 'a') + 10;
  if (c >= 'A' && c <= 'F') value = static_cast<std::uint64_t>(c - 'A') + 10;
  if (value >= base) return std::nullopt;
  return value;
}

}  // namespace

CommandLine::Lookup CommandLine::lookup(std::string_view name) const {
  Lookup found;
  if (name.empty()) return found;
  std::string_view rest = text_;
  for (;;) {
    const std::string_view word = take_word(rest);
    if (word.empty()) break;
    if (!word.starts_with(name)) continue;
    if (word.size() == name.size()) {
      found.flag = true;
    } else if (word[name.size()] == '=') {
      found.value = word.substr(name.size() + 1);
    }
  }
  return found;
}

std::optional<std::string_view> CommandLine::get(std::string_view key) const {
  return lookup(key).value;
}

bool CommandLine::has(std::string_view flag) const {
  return lookup(flag).flag;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  unsigned shift = 0;
  // K, M and G are not hex digits, so the suffix is unambiguous in both bases.
  if (!text.empty()) {
    switch (text.back()) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      default:
        break;
    }
    if (shift != 0) text.remove_suffix(1);
  }
  if (text.empty()) return std::nullopt;

  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t value = 0;
  for (const char c : text) {
    const std::optional<std::uint64_t> digit = digit_value(c, base);
    if (!digit || value > (max - *digit) / base) return std::nullopt;
    value = value * base + *digit;
  }
  if (value > (max >> shift)) return std::nullopt;
  return value << shift;
}

std::expected<log::Level, std::string_view> log_level(const CommandLine& command_line) {
  const std::optional<std::string_view> value = command_line.get("log");
  if (!value) return log::Level::info;
  if (const std::optional<log::Level> level = log::level_from_string(*value)) return *level;
  return std::unexpected(*value);
}

}  // namespace ferrite::boot
