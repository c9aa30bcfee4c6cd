// The kernel's own memcpy/memmove/memset/memcmp (chapter 1: a freestanding binary has no libc).
// lib/runtime.cpp exports the C names as thin wrappers around these functions.
#pragma once

#include <cstddef>

namespace ferrite::lib {

// Copies n bytes from src to dst; the ranges must not overlap (memcpy). Returns dst.
void* copy_memory(void* dst, const void* src, std::size_t n);

// Copies n bytes from src to dst; the ranges may overlap (memmove). Returns dst.
void* move_memory(void* dst, const void* src, std::size_t n);

// Sets n bytes at dst to static_cast<unsigned char>(value) (memset). Returns dst.
void* set_memory(void* dst, int value, std::size_t n);

// Compares n bytes as unsigned chars (memcmp): negative, zero or positive like the first
// differing byte of a minus the one of b.
int compare_memory(const void* a, const void* b, std::size_t n);

}  // namespace ferrite::lib
