// The kernel log (issue 9): every part of the kernel — interrupt handlers, the NMI handler, panic,
// arch/, mm/ — appends records here, and the consoles (screen, serial) read them. Appending never
// blocks and never takes a lock, so a handler that logs can never wait for the code it
// interrupted. Each record has a sequence number, a timestamp and a level.
//
// The ring: N fixed-size slots (N a power of two), each holding up to kSlotText bytes of one
// record; a longer message continues in the following records (flag `continuation`). Record
// number `s` lives in slot s mod N. Each slot has a state word (s << 2 | phase), where phase is
// empty (never written), reserved (a writer is filling it) or committed.
//
// Writing record s (append):
//   1. read head (the next free sequence number) and the state of slot head mod N;
//   2. if the slot is already claimed for head (another writer won the race but has not moved
//      head yet), help move head with a CAS and start over;
//   3. if the slot is still reserved for head - N (a writer a full lap behind is still copying),
//      the ring is a lap of unfinished records: drop the NEW record, count it (lost_while_busy)
//      and return. This never waits, and is the only case where the newest record is the one lost;
//   4. claim the slot: CAS state from what step 1 read to (head, reserved). The CAS fails if any
//      other writer claimed it meanwhile (sequence numbers in a slot only grow, so no ABA);
//   5. move head from s to s + 1 (a CAS that may already have been done by a helper, step 2);
//   6. release fence, then fill the slot's words with relaxed atomic stores, then store
//      (s, committed) with release.
// Every number below head has been claimed (step 4 precedes step 5), so record s is overwritten
// exactly when head > s + N: a full ring overwrites the oldest record, and a reader learns how
// many it missed from the gap in sequence numbers (exact: every number belongs to one record).
//
// Reading record s (read): load the slot's state with acquire. If it is (s, committed), copy
// the words (relaxed loads), then an acquire fence, then load the state again: if it still is
// (s, committed), the copy is whole. Why: a writer that reuses the slot changes the state (step
// 4) before its release fence and its stores (step 6). If the copy saw any of those stores, the
// writer's release fence synchronises with the reader's acquire fence, so the state change
// happens-before the second load, which therefore sees it (H.-J. Boehm, "Can Seqlocks Get Along
// With Programming Language Memory Models?", 2012). A state beyond s means overwritten; (s,
// reserved) means in flight; anything older means not written yet.
// The data words are atomics so this is also race-free by the C++ memory model, not only in
// practice. Readers never write to the ring: any number of them may read it, each with its own
// position (the console's, and `dmesg`'s).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

#include "lib/format.h"

namespace ferrite::log {

// In increasing importance. The console shows records at or above its level (`log=` on the
// kernel command line); the log keeps them all.
enum class Level : std::uint8_t { debug, info, warn, error };
std::string_view to_string(Level level);
// "debug", "info", "warn" or "error" -> Level.
std::optional<Level> level_from_string(std::string_view name);

inline constexpr std::size_t kSlotText = 128;  // bytes of text per record

// One record as a reader sees it (a copy).
struct Record {
  std::uint64_t sequence = 0;
  std::uint64_t timestamp_ns = 0;
  Level level = Level::info;
  bool continuation = false;  // the text continues the previous record's (a long message)
  // Console output (print, println) that waited in the log because the console was busy: part
  // of what the user asked for, so the console never leaves it out (console/flood_guard.h).
  bool console = false;
  std::uint8_t length = 0;
  char text[kSlotText] = {};
  std::string_view view() const { return {text, length}; }
};

// A record's time as dmesg shows it, Linux's way: "[    1.234567] " (seconds, then microseconds).
// The kernel shell's dmesg and syslog(2) (busybox dmesg) both write it.
void write_timestamp(fmt::Sink& out, std::uint64_t timestamp_ns);

// One slot of the ring (see the protocol above). Only Ring touches its members.
struct Slot {
  static constexpr std::size_t kWords = kSlotText / 8;
  std::atomic<std::uint64_t> state{0};
  std::atomic<std::uint64_t> timestamp_ns{0};
  std::atomic<std::uint64_t> meta{0};  // level | continuation << 8 | console << 9 | length << 16
  std::array<std::atomic<std::uint64_t>, kWords> words{};
};

class Ring {
 public:
  enum class ReadResult : std::uint8_t {
    ok,           // `out` holds the record
    not_yet,      // nobody has written this number yet
    in_flight,    // a writer is filling it
    overwritten,  // gone: the ring went a full lap past it
  };

  // `slots.size()` must be a power of two; the slots must start zeroed (constinit storage).
  constexpr explicit Ring(std::span<Slot> slots) : slots_(slots), mask_(slots.size() - 1) {}

  // Appends one record of at most kSlotText bytes (longer text is cut: use Writer to split).
  // Lock-free and wait-free except for retries caused by other writers' progress. Returns false
  // if the record was dropped (step 3 above).
  bool append(Level level, std::uint64_t timestamp_ns, std::string_view text,
              bool continuation = false, bool console = false);

  ReadResult read(std::uint64_t sequence, Record& out) const;

  // The number the next record will get: records [0, head) have been claimed.
  std::uint64_t head() const { return head_.load(std::memory_order_acquire); }
  // The oldest number that may still be readable.
  std::uint64_t oldest() const {
    const std::uint64_t h = head();
    return h > slots_.size() ? h - slots_.size() : 0;
  }
  std::size_t capacity() const { return slots_.size(); }
  // Records dropped at append because their slot was still being written a lap earlier.
  std::uint64_t lost_while_busy() const { return lost_while_busy_.load(std::memory_order_relaxed); }

 private:
  Slot& slot(std::uint64_t sequence) const { return slots_[sequence & mask_]; }

  std::span<Slot> slots_;
  std::uint64_t mask_;
  std::atomic<std::uint64_t> head_{0};
  std::atomic<std::uint64_t> lost_while_busy_{0};
};

// A reader's position in the ring. Records that were overwritten before it got to them are
// skipped and counted (dropped()), so records read + dropped = records appended, exactly.
class Reader {
 public:
  constexpr explicit Reader(const Ring& ring, std::uint64_t start = 0) : ring_(&ring), next_(start) {}

  // The next record, or false if none is ready. With `skip_in_flight`, a record a writer is still
  // filling is counted as dropped and passed (the panic path: that writer will never finish).
  bool next(Record& out, bool skip_in_flight = false);
  // Whether a record may be waiting (cheap: no copy).
  bool pending() const { return next_ < ring_->head(); }
  std::uint64_t position() const { return next_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  const Ring* ring_;
  std::uint64_t next_;
  std::uint64_t dropped_ = 0;
};

// A fmt::Sink that appends what is written to it as records of one level, splitting at
// kSlotText bytes into continuation records. Call finish() (or let the destructor) append the
// last part. Needs no heap and little stack (one slot's text).
class RecordWriter final : public fmt::Sink {
 public:
  // `console`: the records are console output (Record::console).
  RecordWriter(Ring& ring, Level level, std::uint64_t timestamp_ns, bool console = false)
      : ring_(ring), level_(level), timestamp_ns_(timestamp_ns), console_(console) {}
  ~RecordWriter() { finish(); }
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  void write(std::string_view text) override;
  bool small_writes_are_cheap() const override { return true; }  // copied into buffer_
  void finish();

 private:
  Ring& ring_;
  Level level_;
  std::uint64_t timestamp_ns_;
  bool console_;
  bool continuation_ = false;
  std::size_t used_ = 0;
  char buffer_[kSlotText];
};

// --- The kernel's log: one global ring, a clock for its timestamps, and the console hooks.

Ring& ring();

// The timestamp source: nanoseconds since boot (0 until one is set). The PIT sets it today;
// chapter 13 will set a TSC clock instead, without touching the log.
using Clock = std::uint64_t (*)();
void set_clock(Clock clock);
std::uint64_t now_ns();

// Appends `text` (any length, newlines as given) at `level`; does not drain.
void write(Level level, std::string_view text);

void drain();

// message() without the template: formats `arguments` into records of `level`, adds the newline
// and drains. Out of line, so that a call site is only its arguments and a call (under QEMU's
// TCG every instruction a boot runs once is translated once: ~1 us each).
void vmessage(Level level, std::string_view format, std::span<const fmt::detail::Argument> arguments);

// Appends one message (a line: the newline is added) and lets the console show it if it can
// without waiting (in task context; an interrupt handler's message waits in the ring).
template <class... Args>
void message(Level level, fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
  const std::array<fmt::detail::Argument, sizeof...(Args)> arguments{
      fmt::detail::Argument{&args, &fmt::detail::format_erased<Args>}...};
  vmessage(level, format.text(), arguments);
}
template <class... Args>
void debug(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
  message<Args...>(Level::debug, format, args...);
}
template <class... Args>
void info(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
  message<Args...>(Level::info, format, args...);
}
template <class... Args>
void warn(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
  message<Args...>(Level::warn, format, args...);
}
template <class... Args>
void error(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
  message<Args...>(Level::error, format, args...);
}

// Who reads the log: the console registers itself here at boot (console::init_early), so lib,
// arch and mm reach the screen and serial port through these calls and never include the
// console's headers: the lower layers write, the console reads.
// Until a consumer is set they do nothing (records wait in the ring).
struct Consumer {
  void (*drain)();                              // task context: show new records if the console is free
  void (*flush)();                              // show everything now (before QEMU exits)
  void (*emergency_flush)();                    // panic: no locks, UART polled, screen written directly
  void (*emergency_write)(std::string_view);    // nested panic: one line, UART only, no state
};
void set_consumer(const Consumer* consumer);
void drain();
void flush();
void emergency_flush();
void emergency_write(std::string_view text);

}  // namespace ferrite::log
