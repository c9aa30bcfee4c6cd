// Deterministic mutation fuzzing for the host tests of the parsers (cpio, ELF, boot info, ACPI):
// start from a valid input, damage it the ways real corruption and hostile files do, and check
// the parser's contract on every result. Seeds are fixed, so a failure reproduces: the failing
// iteration and its seed are printed, by GoogleTest for a failed check and by a sanitizer death
// callback for an ASan/UBSan report (which ends the program before GoogleTest can say anything).
// FERRITE_FUZZ_ITERATION=N in the environment runs only iteration N.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#if __has_include(<sanitizer/common_interface_defs.h>)
#include <sanitizer/common_interface_defs.h>
#define FERRITE_FUZZ_HAS_DEATH_CALLBACK 1
#endif

namespace ferrite::testing {

using FuzzBytes = std::vector<std::byte>;

// Applies seeded mutations to a copy of a valid input.
class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : random_(seed) {}

  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : random_() % n; }
  bool chance(unsigned one_in) { return below(one_in) == 0; }

  // One to `max_steps` mutations of `valid`.
  FuzzBytes mutate(std::span<const std::byte> valid, unsigned max_steps = 4) {
    FuzzBytes bytes(valid.begin(), valid.end());
    const unsigned steps = 1 + static_cast<unsigned>(below(max_steps));
    for (unsigned i = 0; i < steps; ++i) mutate_once(bytes);
    return bytes;
  }

  void mutate_once(FuzzBytes& bytes) {
    if (bytes.empty()) {
      bytes.push_back(static_cast<std::byte>(random_()));
      return;
    }
    switch (below(9)) {
      case 0:  // one bit
        bytes[below(bytes.size())] ^= static_cast<std::byte>(1u << below(8));
        break;
      case 1: {  // one byte to a boundary value
        constexpr std::uint8_t kValues[] = {0x00, 0xFF, 0x7F, 0x80, 0x01, 0x20};
        bytes[below(bytes.size())] = static_cast<std::byte>(kValues[below(std::size(kValues))]);
        break;
      }
      case 2:  // one byte to anything
        bytes[below(bytes.size())] = static_cast<std::byte>(random_());
        break;
      case 3:
      case 4: {  // an aligned integer field to an extreme, or to a length that reaches the end
        const std::size_t width = std::size_t{1} << (1 + below(3));  // 2, 4 or 8
        if (bytes.size() < width) break;
        const std::size_t at = below((bytes.size() - width) / width + 1) * width;
        write_le(bytes, at, width, interesting_value(bytes, at, width));
        break;
      }
      case 5:  // cut short
        bytes.resize(below(bytes.size()));
        break;
      case 6: {  // a chunk repeated in place (a table entry or a tag twice)
        const std::size_t from = below(bytes.size());
        const std::size_t length = 1 + below(std::min<std::size_t>(bytes.size() - from, 64));
        const FuzzBytes chunk(bytes.begin() + static_cast<long>(from),
                              bytes.begin() + static_cast<long>(from + length));
        bytes.insert(bytes.begin() + static_cast<long>(from), chunk.begin(), chunk.end());
        break;
      }
      case 7: {  // a chunk copied over another place (splicing one entry into another)
        const std::size_t from = below(bytes.size());
        const std::size_t to = below(bytes.size());
        const std::size_t length =
            1 + below(std::min<std::size_t>({bytes.size() - from, bytes.size() - to, 64}));
        std::memmove(bytes.data() + to, bytes.data() + from, length);
        break;
      }
      default: {  // a chunk removed
        const std::size_t from = below(bytes.size());
        const std::size_t length = 1 + below(std::min<std::size_t>(bytes.size() - from, 64));
        bytes.erase(bytes.begin() + static_cast<long>(from),
                    bytes.begin() + static_cast<long>(from + length));
        break;
      }
    }
  }

  // Little-endian store of the low `width` bytes of `value`.
  static void write_le(FuzzBytes& bytes, std::size_t at, std::size_t width, std::uint64_t value) {
    for (std::size_t i = 0; i < width && at + i < bytes.size(); ++i) {
      bytes[at + i] = static_cast<std::byte>(value >> (8 * i));
    }
  }
  static std::uint64_t read_le(const FuzzBytes& bytes, std::size_t at, std::size_t width) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width && at + i < bytes.size(); ++i) {
      value |= std::uint64_t{std::to_integer<std::uint8_t>(bytes[at + i])} << (8 * i);
    }
    return value;
  }

  // The values that break length and offset arithmetic for a `width`-byte field at `at`.
  static std::vector<std::uint64_t> interesting_values(const FuzzBytes& bytes, std::size_t at,
                                                       std::size_t width) {
    const std::uint64_t max =
        width == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * width)) - 1;
    const std::uint64_t old = read_le(bytes, at, width);
    return {0,
            1,
            max,
            max - 1,
            max >> 1,        // 0x7F..FF
            (max >> 1) + 1,  // 0x80..00
            old + 1,
            old - 1,
            bytes.size(),           // a length of exactly the whole input
            bytes.size() - at,      // ... of exactly what is left from here
            bytes.size() - at + 1,  // one past the end
            bytes.size() + 4096};
  }

 private:
  std::uint64_t interesting_value(const FuzzBytes& bytes, std::size_t at, std::size_t width) {
    const auto values = interesting_values(bytes, at, width);
    return values[below(values.size())];
  }

  std::mt19937_64 random_;
};

// Which case is running, for the failure messages.
struct FuzzCase {
  const char* name = "";
  std::uint64_t seed = 0;
  std::uint64_t iteration = 0;
};

inline FuzzCase& current_fuzz_case() {
  static FuzzCase running;
  return running;
}

inline std::string describe(const FuzzCase& c) {
  return std::string(c.name) + " seed " + std::to_string(c.seed) + " iteration " +
         std::to_string(c.iteration) +
         " (rerun with FERRITE_FUZZ_ITERATION=" + std::to_string(c.iteration) + ")";
}

inline void install_fuzz_death_callback() {
#ifdef FERRITE_FUZZ_HAS_DEATH_CALLBACK
  static bool installed = false;
  if (installed) return;
  installed = true;
  __sanitizer_set_death_callback([] {
    std::fprintf(stderr, "fuzz: sanitizer report in %s\n", describe(current_fuzz_case()).c_str());
  });
#endif
}

// Runs `body(mutator, iteration)` `iterations` times, each with its own Mutator seeded from
// `seed` and the iteration number, so any one of them reruns alone. Stops at the first
// iteration with a failed check, naming it. Returns how many iterations ran.
template <class Body>
std::uint64_t fuzz(const char* name, std::uint64_t seed, std::uint64_t iterations, Body&& body) {
  if (::testing::Test::HasFailure()) return 0;  // an earlier failure would stop the first case
  install_fuzz_death_callback();
  std::uint64_t first = 0;
  std::uint64_t last = iterations;
  if (const char* only = std::getenv("FERRITE_FUZZ_ITERATION")) {
    first = std::strtoull(only, nullptr, 10);
    last = first + 1;
  }
  std::uint64_t ran = 0;
  for (std::uint64_t i = first; i < last; ++i, ++ran) {
    current_fuzz_case() = {name, seed, i};
    SCOPED_TRACE(describe(current_fuzz_case()));
    Mutator mutator(seed * 0x9E3779B97F4A7C15ull + i);
    body(mutator, i);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "first failing case: " << describe(current_fuzz_case());
      break;
    }
  }
  current_fuzz_case() = {};
  return ran;
}

// After fuzz(): prints how many of its `runs` cases the code under test took, and on a full run
// (`full_run` cases, not one replayed with FERRITE_FUZZ_ITERATION) expects more than `at_least`.
// The contract is checked on what was taken: mutations all refused at the first check would
// test little more than that check.
inline void report_accepted(const char* what, std::size_t accepted, std::uint64_t runs,
                            std::uint64_t full_run, std::size_t at_least) {
  std::printf("[ fuzz ] %s: %zu of %llu accepted\n", what, accepted,
              static_cast<unsigned long long>(runs));
  if (runs == full_run) {
    EXPECT_GT(accepted, at_least) << what;
  }
}

// Calls `check(bytes)` for every single systematic mutation of `valid`: each aligned 2/4/8-byte
// field set to each interesting value, each byte to 0x00/0xFF/0x7F/0x80, and each truncation.
// Stops at the first failure, naming the mutation.
template <class Check>
void for_each_systematic_mutation(const char* name, std::span<const std::byte> valid,
                                  Check&& check) {
  if (::testing::Test::HasFailure()) return;  // an earlier failure would stop the first case
  install_fuzz_death_callback();
  const FuzzBytes original(valid.begin(), valid.end());
  std::uint64_t count = 0;
  const auto run = [&](const FuzzBytes& bytes, const std::string& what) {
    current_fuzz_case() = {name, 0, count++};
    SCOPED_TRACE(std::string(name) + ": " + what);
    check(bytes);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "first failing mutation: " << what;
      return false;
    }
    return true;
  };
  for (std::size_t width : {2u, 4u, 8u}) {
    for (std::size_t at = 0; at + width <= original.size(); at += width) {
      for (std::uint64_t value : Mutator::interesting_values(original, at, width)) {
        FuzzBytes bytes = original;
        Mutator::write_le(bytes, at, width, value);
        char what[96];
        std::snprintf(what, sizeof what, "u%zu at offset %zu = %#llx", 8 * width, at,
                      static_cast<unsigned long long>(value));
        if (!run(bytes, what)) return;
      }
    }
  }
  for (std::size_t at = 0; at < original.size(); ++at) {
    for (std::uint8_t value : {0x00, 0xFF, 0x7F, 0x80}) {
      FuzzBytes bytes = original;
      bytes[at] = static_cast<std::byte>(value);
      if (!run(bytes, "byte " + std::to_string(at) + " = " + std::to_string(value))) return;
    }
  }
  for (std::size_t length = 0; length < original.size(); ++length) {
    if (!run(FuzzBytes(original.begin(), original.begin() + static_cast<long>(length)),
             "cut to " + std::to_string(length) + " bytes")) {
      return;
    }
  }
  current_fuzz_case() = {};
}

}  // namespace ferrite::testing
