// Reading a cpio "newc" archive, the format of Linux's initramfs (chapter 14). The same file boots
// Linux and ferrite. Format: Linux Documentation/driver-api/early-userspace/buffer-format.rst and
// the cpio(5) manual ("New ASCII Format"):
//
//   header   110 ASCII bytes: magic "070701" (or "070702", the same with a checksum), then 13
//            fields of 8 hex digits: ino mode uid gid nlink mtime filesize devmajor devminor
//            rdevmajor rdevminor namesize check
//   name     namesize bytes including its NUL, then zero padding so header+name is 4-aligned
//   data     filesize bytes (a symlink's data is its target), then padding to a multiple of 4
//
// The archive ends with an entry named "TRAILER!!!". Linux also accepts several archives one
// after another with NUL padding between them, and so do we. Everything read from the archive is
// checked against its size first: a damaged archive gives an Error with the offset, never a read
// past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string_view>

namespace ferrite::fs::cpio {

inline constexpr std::size_t kHeaderSize = 110;
inline constexpr std::string_view kTrailerName = "TRAILER!!!";

// File types in the mode field (the st_mode bits of Linux's <sys/stat.h>).
enum class FileType : std::uint8_t { regular, directory, symlink, char_device, block_device, fifo, socket, unknown };

FileType file_type(std::uint32_t mode);

struct Entry {
  std::string_view name;             // as stored: no leading "/", may start with "./"
  std::uint32_t mode = 0;            // type and permission bits
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t mtime = 0;
  std::uint32_t rdev_major = 0;      // for device nodes: Linux's numbers, e.g. 5,1 for /dev/console
  std::uint32_t rdev_minor = 0;
  std::span<const std::byte> data;   // file contents, or a symlink's target
  std::size_t offset = 0;            // where the header starts in the archive (for messages)

  FileType type() const { return file_type(mode); }
  std::uint32_t permissions() const { return mode & 07777; }
};

enum class Error : std::uint8_t {
  truncated_header,     // fewer than 110 bytes where a header must be
  bad_magic,            // not "070701"/"070702" (a gzip-compressed archive is reported apart)
  compressed,           // starts with a gzip/xz/zstd signature: ferrite reads only plain newc
  bad_number,           // a header field is not 8 hex digits
  name_past_end,        // namesize runs past the archive
  name_not_terminated,  // the name's last byte is not NUL, the name is empty, or a NUL is inside
  data_past_end,        // filesize runs past the archive
  missing_trailer,      // the archive ends without "TRAILER!!!"
};

std::string_view to_string(Error error);

struct Failure {
  Error error;
  std::size_t offset;  // byte offset in the archive where the damaged entry starts
};

// Walks the entries one by one: `while (auto e = reader.next()) { if (!*e) break; ... }`.
// next() returns an entry, std::nullopt after the trailer of the last archive, or a Failure.
// After a failure the reader stays failed (every later call returns the same failure).
class Reader {
 public:
  explicit Reader(std::span<const std::byte> archive) : archive_(archive) {}

  std::expected<std::optional<Entry>, Failure> next();

 private:
  std::span<const std::byte> archive_;
  std::size_t position_ = 0;
  std::optional<Failure> failed_;
  bool seen_trailer_ = false;
};

// Checks the whole archive once: the number of entries (trailers not counted), or the first
// failure. The kernel calls it at boot so that a damaged initramfs is reported before any use.
std::expected<std::size_t, Failure> validate(std::span<const std::byte> archive);

}  // namespace ferrite::fs::cpio
