// Checking the heap's command-line options against the machine (see heap_config.h).
#include "mm/heap_config.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "boot/command_line.h"
#include "mm/address.h"
#include "mm/page.h"

namespace ferrite::mm {
namespace {

// A size the way a user would write it: "64 MiB", "100 KiB" (values here are page multiples).
struct Size {
  std::uint64_t bytes;
};

void write(fmt::Sink& out, Size size) {
  if (size.bytes != 0 && size.bytes % (1024 * 1024) == 0) {
    fmt::format_to(out, "{} MiB", size.bytes >> 20);
  } else {
    fmt::format_to(out, "{} KiB", size.bytes >> 10);
  }
}

// "heap: heap=<text> <problem>; using <size>\n"
void report(fmt::Sink& out, std::string_view option, std::string_view text, std::string_view problem,
            std::optional<Size> bound, std::uint64_t used) {
  fmt::format_to(out, "heap: {}={} {}", option, text, problem);
  if (bound) write(out, *bound);
  fmt::format_to(out, "; using ");
  write(out, Size{used});
  fmt::format_to(out, "\n");
}

// The value `text` gave for `option`, held within [low, high] (page multiples, low <= high), or
// `fallback` (also within them) when it is not a size. Every change is reported.
std::uint64_t checked_size(std::string_view option, std::string_view text, std::uint64_t fallback,
                           std::uint64_t low, std::string_view low_reason, std::uint64_t high,
                           std::string_view high_reason, fmt::Sink& out) {
  const std::optional<std::uint64_t> size = boot::parse_size(text);
  if (!size) {
    report(out, option, text, "is not a size", std::nullopt, fallback);
    return fallback;
  }
  if (*size < low) {
    report(out, option, text, low_reason, Size{low}, low);
    return low;
  }
  if (*size > high) {
    report(out, option, text, high_reason, Size{high}, high);
    return high;
  }
  return align_up(*size, kPageBytes);  // *size <= high, a page multiple: cannot overflow
}

}  // namespace

HeapConfig heap_config_from(const boot::CommandLine& command_line, std::uint64_t free_memory_bytes,
                            fmt::Sink& messages) {
  HeapConfig config;
  if (auto name = command_line.get("allocator")) {
    if (auto kind = allocator_kind_from_name(*name)) {
      config.kind = *kind;
    } else {
      fmt::format_to(messages, "heap: unknown allocator \"{}\"; using {}\n", *name, to_string(config.kind));
    }
  }
  // On a machine too small for the minimums they still win: a heap that cannot start the
  // kernel's tasks is no fallback, and mapping fails with a clear panic if the memory is not there.
  const std::uint64_t free_bytes = align_down(free_memory_bytes, kPageBytes);
  const std::uint64_t initial_high = std::max<std::uint64_t>(align_down(free_bytes / 2, kPageBytes),
                                                             HeapConfig::kMinInitialBytes);
  // Defaults are within the bounds by construction: only a given value needs checking.
  config.initial_bytes = std::min<std::uint64_t>(HeapConfig::kDefaultInitialBytes, initial_high);
  if (auto text = command_line.get("heap")) {
    config.initial_bytes = checked_size(
        "heap", *text, config.initial_bytes, HeapConfig::kMinInitialBytes,
        "is below the minimum of ", initial_high, "is more than half the free memory: ", messages);
  }

  const std::uint64_t max_low = std::max<std::uint64_t>(config.initial_bytes, HeapConfig::kMinMaxBytes);
  const std::uint64_t max_high = std::max(free_bytes, max_low);
  config.max_bytes = std::clamp<std::uint64_t>(HeapConfig::kDefaultMaxBytes, max_low, max_high);
  if (auto text = command_line.get("heap_max")) {
    config.max_bytes =
        checked_size("heap_max", *text, config.max_bytes, max_low,
                     max_low == config.initial_bytes ? "is below the initial heap of "
                                                     : "is below the minimum of ",
                     max_high, "is more than the free memory: ", messages);
  }
  if (command_line.has("heap_debug")) config.debug = DebugChecks::on;
  return config;
}

}  // namespace ferrite::mm
