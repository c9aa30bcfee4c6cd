// syslog(2) (klogctl in the C libraries): the kernel log's text, and the handler that copies it
// into user memory. See syslog.h for the text; the actions are Linux's do_syslog.
#include "syscall/syslog.h"

#include <algorithm>
#include <atomic>

#include "abi/linux_types.h"
#include "syscall/handlers.h"
#include "syscall/machine.h"

namespace ferrite::syscall {

namespace {

constexpr std::size_t kPrefixBound = 32;  // "<7>[99999.999999] " is 18 bytes; later times longer

// A sink that only counts (the first pass of read_all).
struct CountingSink final : fmt::Sink {
  std::size_t bytes = 0;
  void write(std::string_view text) override { bytes += text.size(); }
  bool small_writes_are_cheap() const override { return true; }
};

// A sink that passes on at most `limit` bytes and counts them.
struct LimitedSink final : fmt::Sink {
  LimitedSink(fmt::Sink& out, std::size_t limit) : out(out), left(limit) {}
  fmt::Sink& out;
  std::size_t left;
  std::size_t bytes = 0;
  void write(std::string_view text) override {
    text = text.substr(0, std::min(text.size(), left));
    if (text.empty()) return;
    out.write(text);
    left -= text.size();
    bytes += text.size();
  }
  bool small_writes_are_cheap() const override { return out.small_writes_are_cheap(); }
};

}  // namespace

int syslog_level(log::Level level) {
  switch (level) {
    case log::Level::debug:
      return 7;
    case log::Level::info:
      return 6;
    case log::Level::warn:
      return 4;
    case log::Level::error:
      return 3;
  }
  return 6;
}

void SyslogText::add(const log::Record& record, fmt::Sink& out) {
  if (!record.continuation) finish(out);
  std::string_view text = record.view();
  while (!text.empty()) {
    if (!line_open_) {
      fmt::format_to(out, "<{}>", syslog_level(record.level));
      log::write_timestamp(out, record.timestamp_ns);
      line_open_ = true;
    }
    const std::size_t end = text.find('\n');
    const std::size_t take = end == std::string_view::npos ? text.size() : end + 1;
    out.write(text.substr(0, take));
    if (end != std::string_view::npos) line_open_ = false;
    text.remove_prefix(take);
  }
}

void SyslogText::finish(fmt::Sink& out) {
  if (!line_open_) return;
  out.write("\n");
  line_open_ = false;
}

ReadAll read_all(const log::Ring& ring, std::uint64_t from, std::size_t limit, fmt::Sink& out) {
  // Pass 1: the length of everything from `from` to the records committed now.
  std::uint64_t end = ring.head();
  log::Record record;
  CountingSink total;
  {
    SyslogText text;
    log::Reader reader(ring, from);
    while (reader.next(record) && record.sequence < end) text.add(record, total);
    end = std::min(end, reader.position());  // a record still being written ends the read
    text.finish(total);
  }
  // Pass 2: skip whole messages until the rest fits, then write the rest.
  LimitedSink limited(out, limit);
  CountingSink skipped;
  SyslogText skipped_text, text;
  bool writing = total.bytes <= limit;
  log::Reader reader(ring, from);
  while (reader.position() < end && reader.next(record) && record.sequence < end) {
    if (!writing && !record.continuation) {
      skipped_text.finish(skipped);
      writing = total.bytes - std::min(total.bytes, skipped.bytes) <= limit;
    }
    if (writing) {
      text.add(record, limited);
    } else {
      skipped_text.add(record, skipped);
    }
  }
  text.finish(limited);
  return {limited.bytes, end};
}

std::size_t syslog_buffer_size(const log::Ring& ring) {
  return ring.capacity() * (log::kSlotText + kPrefixBound);
}

// --- The system call.

namespace {

using abi::Errno;

// Where READ_ALL starts: CLEAR and READ_CLEAR move it past what the log holds now (Linux's
// clear_seq). The log itself is untouched: the kernel shell's dmesg still shows everything.
constinit std::atomic<std::uint64_t> clear_position{0};

// Linux's console_loglevel N shows the messages of levels below N; ferrite's console shows the
// records at or above a level of its own. Below 4 even errors would be hidden on Linux: ferrite
// has no level above error, so 1-4 all show errors only.
log::Level console_level_for(std::int32_t linux_level) {
  if (linux_level > 7) return log::Level::debug;
  if (linux_level > 6) return log::Level::info;
  if (linux_level > 4) return log::Level::warn;
  return log::Level::error;
}
constexpr std::int32_t kMinimumConsoleLevel = 1;  // Linux's minimum_console_loglevel
// The level CONSOLE_OFF put aside for CONSOLE_ON, or -1 (LOGLEVEL_DEFAULT: none).
constinit std::atomic<std::int32_t> saved_console_level{-1};

// Text for a user buffer, copied out a chunk at a time through mm/user_copy.h.
class UserSink final : public fmt::Sink {
 public:
  explicit UserSink(std::uint64_t address) : address_(address) {}
  void write(std::string_view text) override {
    while (!text.empty()) {
      const std::size_t take = std::min(text.size(), sizeof(chunk_) - used_);
      std::copy_n(text.data(), take, chunk_ + used_);
      used_ += take;
      text.remove_prefix(take);
      if (used_ == sizeof(chunk_)) flush();
    }
  }
  bool small_writes_are_cheap() const override { return true; }
  // Copies what is buffered; false once any copy failed (a bad pointer: EFAULT).
  bool flush() {
    if (used_ > 0 && ok_) ok_ = mm::copy_to_user(address_, chunk_, used_).has_value();
    address_ += used_;
    used_ = 0;
    return ok_;
  }

 private:
  std::uint64_t address_;
  std::size_t used_ = 0;
  bool ok_ = true;
  char chunk_[256];
};

}  // namespace

// syslog(action, buffer, length), in do_syslog's order of checks. Every process is root, so
// nothing is refused for want of CAP_SYSLOG. CONSOLE_OFF, _ON and _LEVEL (busybox dmesg -n) set
// the console's level, the one `log=` sets at boot. READ and SIZE_UNREAD (a destructive read that
// waits for new records, for klogd) are not here: EINVAL, as for an action Linux does not know.
Result sys_syslog(proc::Process&, const Arguments& a) {
  const auto action = static_cast<std::int32_t>(a.arg[0]);
  const std::uint64_t buffer = a.arg[1];
  const auto length = static_cast<std::int32_t>(a.arg[2]);  // an int in the prototype
  const log::Ring& ring = log::ring();
  switch (action) {
    case abi::kSyslogClose:
    case abi::kSyslogOpen:
      return 0;
    case abi::kSyslogReadAll:
    case abi::kSyslogReadClear: {
      if (buffer == 0 || length < 0) return std::unexpected(Errno::einval);
      if (length == 0) return 0;
      if (!user_range_ok(buffer, static_cast<std::uint64_t>(length))) {
        return std::unexpected(Errno::efault);
      }
      UserSink sink(buffer);
      const std::uint64_t from =
          std::max(ring.oldest(), clear_position.load(std::memory_order_relaxed));
      const ReadAll read = read_all(ring, from, static_cast<std::size_t>(length), sink);
      if (!sink.flush()) return std::unexpected(Errno::efault);
      if (action == abi::kSyslogReadClear) {
        clear_position.store(read.end, std::memory_order_relaxed);
      }
      return static_cast<std::int64_t>(read.bytes);
    }
    case abi::kSyslogClear:
      clear_position.store(ring.head(), std::memory_order_relaxed);
      return 0;
    case abi::kSyslogConsoleOff: {
      std::int32_t none = -1;
      (void)saved_console_level.compare_exchange_strong(
          none, static_cast<std::int32_t>(machine::console_level()), std::memory_order_relaxed);
      machine::set_console_level(console_level_for(kMinimumConsoleLevel));
      return 0;
    }
    case abi::kSyslogConsoleOn: {
      const std::int32_t saved = saved_console_level.exchange(-1, std::memory_order_relaxed);
      if (saved >= 0) machine::set_console_level(static_cast<log::Level>(saved));
      return 0;
    }
    case abi::kSyslogConsoleLevel:
      if (length < 1 || length > 8) return std::unexpected(Errno::einval);
      machine::set_console_level(console_level_for(length));
      saved_console_level.store(-1, std::memory_order_relaxed);  // turns the console back on
      return 0;
    case abi::kSyslogSizeBuffer:
      return static_cast<std::int64_t>(syslog_buffer_size(ring));
    default:
      return std::unexpected(Errno::einval);
  }
}

}  // namespace ferrite::syscall
