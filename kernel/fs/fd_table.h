// A process's file descriptors (chapter 14): small integers naming OpenFiles, as Linux numbers
// them — open() takes the lowest free number, a number that names nothing is EBADF, and a full
// table is EMFILE. 64 descriptors (Linux's default RLIMIT_NOFILE is 1024; 64 is plenty for the
// programs of this chapter, and prlimit64 reports it). Portable and host-tested.
#pragma once

#include <array>
#include <cstddef>
#include <expected>

#include "abi/errno.h"
#include "fs/file.h"

namespace ferrite::fs {

class FdTable {
 public:
  static constexpr int kMaxDescriptors = 64;

  FdTable() = default;
  ~FdTable() { close_all(); }
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;

  // Puts `file` (whose reference the table now owns) at the lowest free number, or at least
  // `lowest` (F_DUPFD); EMFILE when none is free (the reference is then released).
  std::expected<int, abi::Errno> install(OpenFile* file, int lowest = 0);
  // Puts `file` at exactly `fd`, closing what was there (dup2); EBADF when out of range.
  std::expected<int, abi::Errno> install_at(int fd, OpenFile* file);
  // The file behind `fd`, or nullptr (EBADF) for a negative, too large or free number.
  [[nodiscard]] OpenFile* get(std::int64_t fd) const;
  std::expected<void, abi::Errno> close(std::int64_t fd);
  void close_all();

  // O_CLOEXEC / FD_CLOEXEC, kept per descriptor; close_on_exec_all() acts on it at execve.
  [[nodiscard]] bool close_on_exec(int fd) const {
    return close_on_exec_[static_cast<std::size_t>(fd)];
  }
  void set_close_on_exec(int fd, bool on) { close_on_exec_[static_cast<std::size_t>(fd)] = on; }

  [[nodiscard]] std::size_t open_count() const;

  // fork(2): a new table (new'd; the caller owns it, nullptr when memory is out) naming the same
  // OpenFiles — each gains a reference, so the two processes share positions and flags as Linux's
  // do — with the same close-on-exec flags.
  [[nodiscard]] FdTable* clone() const;
  // execve(2): closes every descriptor marked close-on-exec.
  void close_on_exec_all();

 private:
  std::array<OpenFile*, kMaxDescriptors> files_{};
  std::array<bool, kMaxDescriptors> close_on_exec_{};
};

}  // namespace ferrite::fs
