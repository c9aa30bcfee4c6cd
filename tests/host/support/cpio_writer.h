// Makes cpio newc archives in memory for the host tests (the format is in kernel/fs/cpio.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace ferrite::testing {

class CpioWriter {
 public:
  CpioWriter& add(std::string_view name, std::uint32_t mode, std::string_view data = {},
                  std::uint32_t rdev_major = 0, std::uint32_t rdev_minor = 0) {
    char header[111];
    std::snprintf(header, sizeof(header),
                  "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", next_inode_++,
                  mode, 0u, 0u, 1u, 0u, static_cast<unsigned>(data.size()), 0u, 0u, rdev_major,
                  rdev_minor, static_cast<unsigned>(name.size() + 1), 0u);
    bytes_.append(header, 110);
    bytes_.append(name);
    bytes_.push_back('\0');
    pad();
    bytes_.append(data);
    pad();
    return *this;
  }
  CpioWriter& directory(std::string_view name) { return add(name, 0040755); }
  CpioWriter& file(std::string_view name, std::string_view data) { return add(name, 0100644, data); }
  CpioWriter& symlink(std::string_view name, std::string_view target) {
    return add(name, 0120777, target);
  }
  CpioWriter& trailer() { return add("TRAILER!!!", 0); }

  std::vector<std::byte> bytes() const {
    std::vector<std::byte> out(bytes_.size());
    for (std::size_t i = 0; i < bytes_.size(); ++i) out[i] = static_cast<std::byte>(bytes_[i]);
    return out;
  }
  std::string& raw() { return bytes_; }

 private:
  void pad() {
    while (bytes_.size() % 4 != 0) bytes_.push_back('\0');
  }
  std::string bytes_;
  std::uint32_t next_inode_ = 1;
};

inline std::vector<std::byte> to_bytes(std::string_view text) {
  std::vector<std::byte> out(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) out[i] = static_cast<std::byte>(text[i]);
  return out;
}

}  // namespace ferrite::testing
