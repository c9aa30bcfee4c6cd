// cpio newc reader: see cpio.h for the format.
#include "fs/cpio.h"

namespace ferrite::fs::cpio {

namespace {

constexpr std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// Field i (0 = ino ... 12 = check) of the header at `header`, 8 hex digits.
std::optional<std::uint32_t> field(std::span<const std::byte> header, std::size_t index) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const char c = static_cast<char>(header[6 + index * 8 + i]);
    std::uint32_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<std::uint32_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    value = value << 4 | digit;
  }
  return value;
}

bool starts_with(std::span<const std::byte> bytes, std::string_view prefix) {
  if (bytes.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (static_cast<char>(bytes[i]) != prefix[i]) return false;
  }
  return true;
}

// True if the bytes there (as many as there are, up to 6) begin "070701" or "070702".
bool magic_prefix_matches(std::span<const std::byte> bytes) {
  const std::size_t n = bytes.size() < 6 ? bytes.size() : 6;
  return starts_with(bytes.first(n), std::string_view("070701").substr(0, n)) ||
         starts_with(bytes.first(n), std::string_view("070702").substr(0, n));
}

enum Field : std::size_t {
  kIno, kMode, kUid, kGid, kNlink, kMtime, kFileSize, kDevMajor, kDevMinor, kRdevMajor,
  kRdevMinor, kNameSize, kCheck, kFieldCount
};

}  // namespace

FileType file_type(std::uint32_t mode) {
  switch (mode & 0170000) {
    case 0100000:
      return FileType::regular;
    case 0040000:
      return FileType::directory;
    case 0120000:
      return FileType::symlink;
    case 0020000:
      return FileType::char_device;
    case 0060000:
      return FileType::block_device;
    case 0010000:
      return FileType::fifo;
    case 0140000:
      return FileType::socket;
    default:
      return FileType::unknown;
  }
}

std::string_view to_string(Error error) {
  switch (error) {
    case Error::truncated_header:
      return "archive ends inside an entry header";
    case Error::bad_magic:
      return "not a cpio newc header (magic is not 070701)";
    case Error::compressed:
      return "compressed archive; ferrite reads only an uncompressed cpio newc archive";
    case Error::bad_number:
      return "header field is not 8 hex digits";
    case Error::name_past_end:
      return "file name runs past the end of the archive";
    case Error::name_not_terminated:
      return "file name is empty, not NUL-terminated, or has a NUL inside";
    case Error::data_past_end:
      return "file data runs past the end of the archive";
    case Error::missing_trailer:
      return "archive ends without its TRAILER!!! entry";
  }
  return "unknown cpio error";
}

std::expected<std::optional<Entry>, Failure> Reader::next() {
  if (failed_) return std::unexpected(*failed_);
  const auto fail = [this](Error error, std::size_t offset) {
    failed_ = Failure{error, offset};
    return std::unexpected(*failed_);
  };

  for (;;) {
    // Between archives Linux allows NUL padding, 4 bytes at a time.
    while (seen_trailer_ && archive_.size() - position_ >= 4 &&
           archive_[position_] == std::byte{0} && archive_[position_ + 1] == std::byte{0} &&
           archive_[position_ + 2] == std::byte{0} && archive_[position_ + 3] == std::byte{0}) {
      position_ += 4;
    }
    if (position_ >= archive_.size()) {
      if (seen_trailer_) return std::optional<Entry>{};
      return fail(Error::missing_trailer, position_);
    }
    // Only NUL bytes (fewer than 4) left after a trailer: also a clean end.
    if (seen_trailer_) {
      bool only_nul = true;
      for (std::size_t i = position_; i < archive_.size(); ++i) only_nul &= archive_[i] == std::byte{0};
      if (only_nul) return std::optional<Entry>{};
    }

    const std::size_t start = position_;
    const std::span<const std::byte> rest = archive_.subspan(start);
    if (starts_with(rest, "\x1f\x8b") || starts_with(rest, "\xfd" "7zXZ") ||
        starts_with(rest, "\x28\xb5\x2f\xfd")) {
      return fail(Error::compressed, start);
    }
    if (!magic_prefix_matches(rest)) return fail(Error::bad_magic, start);
    if (rest.size() < kHeaderSize) return fail(Error::truncated_header, start);

    std::uint32_t fields[kFieldCount];
    for (std::size_t i = 0; i < kFieldCount; ++i) {
      const auto value = field(rest, i);
      if (!value) return fail(Error::bad_number, start);
      fields[i] = *value;
    }

    const std::size_t name_size = fields[kNameSize];
    if (name_size > rest.size() - kHeaderSize) return fail(Error::name_past_end, start);
    const std::span<const std::byte> name_bytes = rest.subspan(kHeaderSize, name_size);
    if (name_size < 2 || name_bytes[name_size - 1] != std::byte{0}) {
      return fail(Error::name_not_terminated, start);
    }
    const std::string_view name(reinterpret_cast<const char*>(name_bytes.data()), name_size - 1);
    // The name is a C string (cpio(5); Linux's unpacker reads it with strcmp): a NUL before its
    // end would give a file no path can reach, or hide the trailer ("TRAILER!!!\0\0").
    for (const char c : name) {
      if (c == '\0') return fail(Error::name_not_terminated, start);
    }

    const std::size_t data_start = align4(kHeaderSize + name_size);
    const std::size_t file_size = fields[kFileSize];
    if (data_start > rest.size() || file_size > rest.size() - data_start) {
      return fail(Error::data_past_end, start);
    }
    // The padding after the data may be missing at the very end of the archive; tolerate it.
    const std::size_t end = data_start + file_size;
    position_ = start + (align4(end) <= rest.size() ? align4(end) : rest.size());

    if (name == kTrailerName) {
      seen_trailer_ = true;
      continue;
    }
    seen_trailer_ = false;

    Entry entry;
    entry.name = name;
    entry.mode = fields[kMode];
    entry.uid = fields[kUid];
    entry.gid = fields[kGid];
    entry.mtime = fields[kMtime];
    entry.rdev_major = fields[kRdevMajor];
    entry.rdev_minor = fields[kRdevMinor];
    entry.data = rest.subspan(data_start, file_size);
    entry.offset = start;
    return std::optional<Entry>{entry};
  }
}

std::expected<std::size_t, Failure> validate(std::span<const std::byte> archive) {
  Reader reader(archive);
  std::size_t count = 0;
  for (;;) {
    auto entry = reader.next();
    if (!entry) return std::unexpected(entry.error());
    if (!*entry) return count;
    ++count;
  }
}

}  // namespace ferrite::fs::cpio
