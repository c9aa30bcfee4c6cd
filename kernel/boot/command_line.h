// The kernel command line: whitespace-separated words, each a `key=value` option or a bare
// flag, e.g. "layout=de allocator=linked_list heap=256K test=heap quiet".
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>

#include "lib/log.h"

namespace ferrite::boot {

// A view: the text must outlive it (BootInfo::command_line() does, BootInfo being a global).
// No quoting: a value cannot contain whitespace.
class CommandLine {
 public:
  constexpr CommandLine() = default;
  constexpr explicit CommandLine(std::string_view text) : text_(text) {}

  // The value of the last `key=value` word: later words override earlier ones (as on Linux),
  // so an option the user appends beats the bootloader's default. `key=` gives "".
  [[nodiscard]] std::optional<std::string_view> get(std::string_view key) const;
  // Whether the bare word `flag` appears. `quiet=1` is an option named quiet, not the flag.
  [[nodiscard]] bool has(std::string_view flag) const;

  std::string_view text() const { return text_; }

 private:
  // One pass over the words for both questions about `name`.
  struct Lookup {
    std::optional<std::string_view> value;  // of the last `name=value`
    bool flag = false;                      // the bare word `name` appears
  };
  Lookup lookup(std::string_view name) const;

  std::string_view text_;
};

// A byte count as written on command lines: decimal or 0x-hex digits, then an optional K, M or
// G (either case; powers of 1024). "256K" -> 262144. Empty, malformed or past 2^64: nullopt.
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text);

// The console's log level from `log=debug|info|warn|error`: info when the option is absent; the
// value itself as the error when it names no level (the caller says so and keeps info).
[[nodiscard]] std::expected<log::Level, std::string_view> log_level(const CommandLine& command_line);

}  // namespace ferrite::boot
