// The kernel log as syslog(2) gives it to programs (chapter 14; busybox dmesg): the records of
// lib/log.h turned into Linux's text, "<level>[seconds.micros] text\n" per line, the prefix that
// Linux's printk puts before each line it hands to syslog(2) (record_print_text). Portable and
// host-tested; the log itself knows nothing of it, and sys_syslog (syslog.cpp) only adds the
// copying into user memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/format.h"
#include "lib/log.h"

namespace ferrite::syscall {

// Linux's console log levels for ferrite's four (KERN_ERR 3, KERN_WARNING 4, KERN_INFO 6,
// KERN_DEBUG 7: <linux/kern_levels.h>).
int syslog_level(log::Level level);

// Writes records, in order, as syslog text. A record that is not a continuation starts a new
// message, and a message starts a new line: a line the previous one left open is ended first.
// Continuation records (the rest of a long message) go on where their message stopped.
class SyslogText {
 public:
  void add(const log::Record& record, fmt::Sink& out);
  // Ends a line the last record left open (each message ends with a newline, as on Linux).
  void finish(fmt::Sink& out);

 private:
  bool line_open_ = false;
};

// syslog(2)'s READ_ALL: the log's records from sequence `from` up to those committed now, as
// text; when the text is longer than `limit` bytes, the oldest whole messages are left out so
// that the newest fit (Linux's syslog_print_all). Returns the bytes written to `out`: never more
// than `limit`, even if writers overwrite records between its two passes.
struct ReadAll {
  std::size_t bytes = 0;
  std::uint64_t end = 0;  // the first sequence number not read (where a READ_CLEAR clears to)
};
ReadAll read_all(const log::Ring& ring, std::uint64_t from, std::size_t limit, fmt::Sink& out);

// What SIZE_BUFFER answers: the text a full log gives, a line per slot with its prefix — the
// size busybox dmesg allocates for READ_ALL.
std::size_t syslog_buffer_size(const log::Ring& ring);

}  // namespace ferrite::syscall
