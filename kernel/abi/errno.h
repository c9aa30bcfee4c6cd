// Linux's error numbers, as a system call returns them negated in RAX (chapter 14). The values
// are Linux's own, from <asm-generic/errno-base.h> and <asm-generic/errno.h> (Debian's
// linux-libc-dev): a static binary built against musl or glibc understands exactly these.
#pragma once

#include <cstdint>
#include <string_view>

namespace ferrite::abi {

// Lowercase so the names cannot collide with the C library's E* macros in host builds.
enum class Errno : std::int32_t {
  eperm = 1, enoent = 2, esrch = 3, eintr = 4, eio = 5, enxio = 6, e2big = 7, enoexec = 8,
  ebadf = 9, echild = 10, eagain = 11, enomem = 12, eacces = 13, efault = 14, ebusy = 16,
  eexist = 17, exdev = 18, enodev = 19, enotdir = 20, eisdir = 21, einval = 22, enfile = 23,
  emfile = 24, enotty = 25, etxtbsy = 26, efbig = 27, enospc = 28, espipe = 29, erofs = 30, emlink = 31,
  epipe = 32, erange = 34, enametoolong = 36, enosys = 38, enotempty = 39, eloop = 40,
};

// What a system call returns for this error: -errno.
constexpr std::int64_t negated(Errno e) { return -static_cast<std::int64_t>(e); }

// The name a C programmer knows, for log messages ("ENOENT").
constexpr std::string_view name(Errno e) {
  constexpr std::string_view kNames[] = {
      "0",      "EPERM",   "ENOENT", "ESRCH",  "EINTR",  "EIO",     "ENXIO",  "E2BIG",
      "ENOEXEC", "EBADF",  "ECHILD", "EAGAIN", "ENOMEM", "EACCES",  "EFAULT", "ENOTBLK",
      "EBUSY",  "EEXIST",  "EXDEV",  "ENODEV", "ENOTDIR", "EISDIR", "EINVAL", "ENFILE",
      "EMFILE", "ENOTTY",  "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE",  "EROFS",  "EMLINK",
      "EPIPE",  "EDOM",    "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS",
      "ENOTEMPTY", "ELOOP"};
  const auto index = static_cast<std::uint32_t>(e);
  return index < sizeof(kNames) / sizeof(kNames[0]) ? kNames[index] : std::string_view("E?");
}

}  // namespace ferrite::abi
