// mm/user_copy.h on x86_64 (chapter 14): check that the range is user memory, then copy with the
// fault-tolerant instructions of user_copy.S. A range that reaches the kernel half is refused
// before any byte is touched — the page tables would allow the kernel to read it.
#include "mm/user_copy.h"

#include "mm/address_space.h"

extern "C" {
std::uint64_t user_copy_bytes(void* to, const void* from, std::size_t bytes);
std::int64_t user_copy_string(char* to, const char* from, std::size_t capacity);
}

namespace ferrite::mm {

namespace {

// [address, address + bytes) lies in the user half. Written so that it cannot overflow.
bool is_user_range(std::uint64_t address, std::size_t bytes) {
  return address <= kUserEnd && bytes <= kUserEnd - address;
}

}  // namespace

std::expected<void, abi::Errno> copy_from_user(void* to, std::uint64_t from, std::size_t bytes) {
  if (!is_user_range(from, bytes)) return std::unexpected(abi::Errno::efault);
  if (bytes == 0) return {};
  if (user_copy_bytes(to, reinterpret_cast<const void*>(from), bytes) != 0) {
    return std::unexpected(abi::Errno::efault);
  }
  return {};
}

std::expected<void, abi::Errno> copy_to_user(std::uint64_t to, const void* from,
                                             std::size_t bytes) {
  if (!is_user_range(to, bytes)) return std::unexpected(abi::Errno::efault);
  if (bytes == 0) return {};
  if (user_copy_bytes(reinterpret_cast<void*>(to), from, bytes) != 0) {
    return std::unexpected(abi::Errno::efault);
  }
  return {};
}

std::expected<std::size_t, abi::Errno> copy_string_from_user(char* to, std::uint64_t from,
                                                             std::size_t capacity) {
  if (capacity == 0) return std::unexpected(abi::Errno::enametoolong);
  if (from >= kUserEnd) return std::unexpected(abi::Errno::efault);
  // Never read past the user half, even if the string would run on.
  const std::size_t readable = kUserEnd - from < capacity ? kUserEnd - from : capacity;
  const std::int64_t length = user_copy_string(to, reinterpret_cast<const char*>(from), readable);
  if (length == -1) return std::unexpected(abi::Errno::efault);
  if (length < 0) {
    to[capacity - 1] = '\0';
    // Stopped by the end of the user half rather than by `capacity`: that is a bad pointer.
    return std::unexpected(readable < capacity ? abi::Errno::efault : abi::Errno::enametoolong);
  }
  return static_cast<std::size_t>(length);
}

}  // namespace ferrite::mm
