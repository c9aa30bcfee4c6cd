// The descriptor table (see fd_table.h).
#include "fs/fd_table.h"

#include <new>

namespace ferrite::fs {

std::expected<int, abi::Errno> FdTable::install(OpenFile* file, int lowest) {
  if (lowest < 0 || lowest >= kMaxDescriptors) {
    release(file);
    return std::unexpected(abi::Errno::einval);
  }
  for (int fd = lowest; fd < kMaxDescriptors; ++fd) {
    if (files_[static_cast<std::size_t>(fd)] == nullptr) {
      files_[static_cast<std::size_t>(fd)] = file;
      close_on_exec_[static_cast<std::size_t>(fd)] = false;
      return fd;
    }
  }
  release(file);
  return std::unexpected(abi::Errno::emfile);
}

std::expected<int, abi::Errno> FdTable::install_at(int fd, OpenFile* file) {
  if (fd < 0 || fd >= kMaxDescriptors) {
    release(file);
    return std::unexpected(abi::Errno::ebadf);
  }
  OpenFile*& slot = files_[static_cast<std::size_t>(fd)];
  release(slot);
  slot = file;
  close_on_exec_[static_cast<std::size_t>(fd)] = false;
  return fd;
}

OpenFile* FdTable::get(std::int64_t fd) const {
  if (fd < 0 || fd >= kMaxDescriptors) return nullptr;
  return files_[static_cast<std::size_t>(fd)];
}

std::expected<void, abi::Errno> FdTable::close(std::int64_t fd) {
  OpenFile* file = get(fd);
  if (file == nullptr) return std::unexpected(abi::Errno::ebadf);
  files_[static_cast<std::size_t>(fd)] = nullptr;
  release(file);
  return {};
}

void FdTable::close_all() {
  for (OpenFile*& file : files_) {
    release(file);
    file = nullptr;
  }
}

FdTable* FdTable::clone() const {
  auto* copy = new (std::nothrow) FdTable;
  if (copy == nullptr) return nullptr;
  for (std::size_t fd = 0; fd < files_.size(); ++fd) {
    copy->files_[fd] = retain(files_[fd]);
    copy->close_on_exec_[fd] = close_on_exec_[fd];
  }
  return copy;
}

void FdTable::close_on_exec_all() {
  for (std::size_t fd = 0; fd < files_.size(); ++fd) {
    if (close_on_exec_[fd]) {
      release(files_[fd]);
      files_[fd] = nullptr;
      close_on_exec_[fd] = false;
    }
  }
}

std::size_t FdTable::open_count() const {
  std::size_t count = 0;
  for (const OpenFile* file : files_) count += file != nullptr ? 1 : 0;
  return count;
}

}  // namespace ferrite::fs
