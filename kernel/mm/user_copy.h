// The only way kernel code touches user memory (chapter 14). A user pointer is a plain number
// until one of these functions has checked that the whole range lies in the user half and copied
// it; a page that is not there (or not allowed) makes the copy fail with EFAULT instead of
// faulting the kernel. With SMAP on, these are the only places that open user memory (stac/clac).
//
// CONTRACT (session of 2026-11-29): the kernel implementation is in arch/x86_64 (a fault in the
// copy loop jumps to a fix-up through an exception table); host tests link a fake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>

#include "abi/errno.h"

namespace ferrite::mm {

// EFAULT when [from, from + bytes) is not all user memory that can be read.
[[nodiscard]] std::expected<void, abi::Errno> copy_from_user(void* to, std::uint64_t from,
                                                             std::size_t bytes);
// EFAULT when [to, to + bytes) is not all user memory that can be written.
[[nodiscard]] std::expected<void, abi::Errno> copy_to_user(std::uint64_t to, const void* from,
                                                           std::size_t bytes);
// Copies a NUL-terminated string of at most `capacity - 1` characters into `to` (NUL included)
// and returns its length; EFAULT for a bad pointer, ENAMETOOLONG when no NUL comes in time.
[[nodiscard]] std::expected<std::size_t, abi::Errno> copy_string_from_user(char* to,
                                                                           std::uint64_t from,
                                                                           std::size_t capacity);

}  // namespace ferrite::mm
