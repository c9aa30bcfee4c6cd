// Fast memory copy/move/set/compare without libc. Small sizes use overlapping 8-byte loads and
// stores, large ones the CPU's string instructions (`rep movsb`/`rep stosb`, or their 8-byte forms
// for whole words).
#include "lib/mem.h"

#include <bit>
#include <cstdint>

// GCC and clang recognise byte loops as memcpy/memset "idioms" and replace them with calls to
// memcpy/memset -- which, in the kernel, call back into these functions forever. The kernel build
// already disables this globally; the attribute keeps the host build honest too (otherwise the
// host tests would compare libc against itself).
#if defined(__clang__)
#define FERRITE_NO_LIBCALL_IDIOMS __attribute__((no_builtin))
#elif defined(__GNUC__)
#define FERRITE_NO_LIBCALL_IDIOMS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define FERRITE_NO_LIBCALL_IDIOMS
#endif

namespace ferrite::lib {
namespace {

using Word = std::uint64_t;
constexpr std::size_t kWordSize = sizeof(Word);

// `byte` in each of a word's 8 bytes: what filling memory with it stores a word at a time.
constexpr Word byte_in_every_lane(unsigned char byte) {
  return Word{byte} * 0x0101010101010101;
}

// From this size on, `rep movsb`/`rep stosb` beat the 8-byte loop below. CPUs with ERMSB
// ("Enhanced REP MOVSB/STOSB", CPUID.(EAX=7,ECX=0):EBX bit 9) move whole cache lines per step
// once started, but starting costs a few dozen cycles on CPUs without FSRM ("fast short rep
// mov") (Intel Optimization Reference Manual, "Enhanced REP MOVSB and STOSB operation"); the
// loop moves at most 8 bytes per store because the kernel may not touch SSE registers.
// The threshold is tuned for hardware, not for QEMU (docs/ARCHITECTURE.md, "Measurements").
constexpr std::size_t kRepStringThreshold = 256;

// Unaligned accesses are fine on x86; __builtin_memcpy with a constant size compiles to a single
// mov and, unlike a pointer cast, does not break C++ aliasing rules.
template <class T>
inline T load(const unsigned char* from) {
  T value;
  __builtin_memcpy(&value, from, sizeof(T));
  return value;
}

template <class T>
inline void store(unsigned char* to, T value) {
  __builtin_memcpy(to, &value, sizeof(T));
}

// n <= 32. Every source byte is loaded before the first store, so overlap does not matter and
// copy and move share this path. Head and tail pieces may overlap each other; that avoids a
// loop and a byte-by-byte tail.
FERRITE_NO_LIBCALL_IDIOMS inline void copy_at_most_32(unsigned char* dst, const unsigned char* src,
                                                      std::size_t n) {
  if (n > 16) {
    const Word head0 = load<Word>(src);
    const Word head1 = load<Word>(src + 8);
    const Word tail0 = load<Word>(src + n - 16);
    const Word tail1 = load<Word>(src + n - 8);
    store(dst, head0);
    store(dst + 8, head1);
    store(dst + n - 16, tail0);
    store(dst + n - 8, tail1);
  } else if (n >= 8) {
    const Word head = load<Word>(src);
    const Word tail = load<Word>(src + n - 8);
    store(dst, head);
    store(dst + n - 8, tail);
  } else if (n >= 4) {
    const std::uint32_t head = load<std::uint32_t>(src);
    const std::uint32_t tail = load<std::uint32_t>(src + n - 4);
    store(dst, head);
    store(dst + n - 4, tail);
  } else if (n >= 2) {
    const std::uint16_t head = load<std::uint16_t>(src);
    const std::uint16_t tail = load<std::uint16_t>(src + n - 2);
    store(dst, head);
    store(dst + n - 2, tail);
  } else if (n == 1) {
    *dst = *src;
  }
}

// n >= 8, copying upwards. Also correct for overlapping ranges when dst < src: a store only
// clobbers source bytes that were already read. The last word is read first for the same reason.
FERRITE_NO_LIBCALL_IDIOMS void copy_words_forward(unsigned char* dst, const unsigned char* src,
                                                  std::size_t n) {
  const Word tail = load<Word>(src + n - kWordSize);
  for (std::size_t offset = 0; offset + kWordSize < n; offset += kWordSize) {
    store(dst + offset, load<Word>(src + offset));
  }
  store(dst + n - kWordSize, tail);
}

// n >= 8, copying downwards: the mirror image, correct when dst > src overlap.
FERRITE_NO_LIBCALL_IDIOMS void copy_words_backward(unsigned char* dst, const unsigned char* src,
                                                   std::size_t n) {
  const Word head = load<Word>(src);
  for (std::size_t remaining = n; remaining > kWordSize;) {
    remaining -= kWordSize;
    store(dst + remaining, load<Word>(src + remaining));
  }
  store(dst, head);
}

// Buffers that start on an 8-byte boundary and are a multiple of 8 bytes long (whole pages, above
// all) go 8 bytes per step, `rep movsq`/`rep stosq`, as Linux's clear_page_rep does. For aligned
// buffers hardware runs both forms equally fast; under QEMU's TCG each step costs about what a
// loop iteration does, so a page takes 512 steps instead of 4096. (GCC already expands a memset or
// memcpy of a constant, aligned size inline into the 8-byte form; this is for sizes known only at
// run time.) Unaligned buffers keep the byte form, which hardware handles best
// (docs/ARCHITECTURE.md, "rep movsb threshold").
// Whether every address and length in `bits` (OR-ed together) is a multiple of 8.
inline bool whole_words(std::uintptr_t bits) {
  return bits % kWordSize == 0;
}
inline std::uintptr_t bits_of(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

// The string instructions count rcx down from n, moving forwards because the System V ABI
// guarantees DF = 0 at every function boundary (AMD64 psABI 3.2.1); interrupt entry must `cld`.
// Only the ascending direction gets the fast-string microcode (Intel SDM Vol. 3A 8.2.4), which
// is why overlapping moves with dst > src use copy_words_backward instead of `std; rep movsb`.
inline void copy_forward_large(unsigned char* dst, const unsigned char* src, std::size_t n) {
#if defined(__x86_64__)
  if (whole_words(bits_of(dst) | bits_of(src) | n)) {
    std::size_t words = n / kWordSize;
    asm volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
  } else {
    asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
  }
#else
  copy_words_forward(dst, src, n);
#endif
}

FERRITE_NO_LIBCALL_IDIOMS inline void fill_large(unsigned char* dst, unsigned char byte,
                                                 std::size_t n) {
#if defined(__x86_64__)
  if (whole_words(bits_of(dst) | n)) {
    std::size_t words = n / kWordSize;
    const Word pattern = byte_in_every_lane(byte);
    asm volatile("rep stosq" : "+D"(dst), "+c"(words) : "a"(pattern) : "memory");
  } else {
    asm volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(byte) : "memory");
  }
#else
  const Word pattern = byte_in_every_lane(byte);
  for (std::size_t offset = 0; offset + kWordSize <= n; offset += kWordSize) {
    store(dst + offset, pattern);
  }
  store(dst + n - kWordSize, pattern);
#endif
}

// Byte-swaps little-endian words so that the byte at the lowest address becomes the most
// significant: then plain integer order is memcmp order. a != b.
inline int compare_differing_words(Word a, Word b) {
  if constexpr (std::endian::native == std::endian::little) {
    a = __builtin_bswap64(a);
    b = __builtin_bswap64(b);
  }
  return a < b ? -1 : 1;
}

}  // namespace

FERRITE_NO_LIBCALL_IDIOMS void* copy_memory(void* dst, const void* src, std::size_t n) {
  auto* to = static_cast<unsigned char*>(dst);
  const auto* from = static_cast<const unsigned char*>(src);
  if (n <= 32) {
    copy_at_most_32(to, from, n);
  } else if (n < kRepStringThreshold) {
    copy_words_forward(to, from, n);
  } else {
    copy_forward_large(to, from, n);
  }
  return dst;
}

FERRITE_NO_LIBCALL_IDIOMS void* move_memory(void* dst, const void* src, std::size_t n) {
  auto* to = static_cast<unsigned char*>(dst);
  const auto* from = static_cast<const unsigned char*>(src);
  if (n <= 32) {
    copy_at_most_32(to, from, n);
    return dst;
  }
  // Unsigned distance trick: dst - src >= n exactly when dst is below src (the subtraction wraps
  // to a huge value) or dst starts at/after the end of the source. Then copying upwards never
  // overwrites a source byte before it is read.
  const auto distance =
      reinterpret_cast<std::uintptr_t>(to) - reinterpret_cast<std::uintptr_t>(from);
  if (distance == 0) return dst;
  if (distance >= n) {
    if (n < kRepStringThreshold) {
      copy_words_forward(to, from, n);
    } else {
      copy_forward_large(to, from, n);
    }
  } else {
    copy_words_backward(to, from, n);
  }
  return dst;
}

FERRITE_NO_LIBCALL_IDIOMS void* set_memory(void* dst, int value, std::size_t n) {
  auto* to = static_cast<unsigned char*>(dst);
  const auto byte = static_cast<unsigned char>(value);
  if (n >= kRepStringThreshold) {
    fill_large(to, byte, n);
    return dst;
  }
  // Same overlapping head/tail idea as copy_at_most_32, with the byte repeated in every lane.
  const Word pattern = byte_in_every_lane(byte);
  if (n >= kWordSize) {
    for (std::size_t offset = 0; offset + kWordSize < n; offset += kWordSize) {
      store(to + offset, pattern);
    }
    store(to + n - kWordSize, pattern);
  } else if (n >= 4) {
    store(to, static_cast<std::uint32_t>(pattern));
    store(to + n - 4, static_cast<std::uint32_t>(pattern));
  } else if (n >= 2) {
    store(to, static_cast<std::uint16_t>(pattern));
    store(to + n - 2, static_cast<std::uint16_t>(pattern));
  } else if (n == 1) {
    *to = byte;
  }
  return dst;
}

// `repe cmpsb` exists but is slow on every modern x86 (microcoded, one byte per step), so this
// compares a word at a time and looks at bytes only once a word differs.
FERRITE_NO_LIBCALL_IDIOMS int compare_memory(const void* a, const void* b, std::size_t n) {
  const auto* left = static_cast<const unsigned char*>(a);
  const auto* right = static_cast<const unsigned char*>(b);
  if (n < kWordSize) {
    for (std::size_t i = 0; i < n; ++i) {
      if (left[i] != right[i]) return left[i] < right[i] ? -1 : 1;
    }
    return 0;
  }
  for (std::size_t offset = 0; offset + kWordSize < n; offset += kWordSize) {
    const Word x = load<Word>(left + offset);
    const Word y = load<Word>(right + offset);
    if (x != y) return compare_differing_words(x, y);
  }
  // The last word may overlap bytes already found equal, so its first difference is still the
  // first difference overall.
  const Word x = load<Word>(left + n - kWordSize);
  const Word y = load<Word>(right + n - kWordSize);
  return x == y ? 0 : compare_differing_words(x, y);
}

}  // namespace ferrite::lib
