// Reading one field out of the bytes of a boot-information block (Multiboot2 tags, the PVH start
// info), the one way both parsers do it.
#pragma once

#include <cstddef>
#include <span>

#include "lib/panic.h"

namespace ferrite::boot {

// The T at `offset` in `bytes`. Both protocols store little-endian values, as x86 does; blocks
// are not aligned for T, hence the copy. The parsers check lengths before they load, so an
// offset past the end is a parser bug, not bad input: it panics.
template <typename T>
T load(std::span<const std::byte> bytes, std::size_t offset) {
  FERRITE_ASSERT(offset <= bytes.size() && sizeof(T) <= bytes.size() - offset);
  T value;
  __builtin_memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

}  // namespace ferrite::boot
