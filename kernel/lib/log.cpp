// The kernel log's ring (the protocol and its memory-ordering argument are in log.h), its
// record writer, and the kernel's one global log.
#include "lib/log.h"

namespace ferrite::log {

namespace {

enum Phase : std::uint64_t { kEmpty = 0, kReserved = 1, kCommitted = 2 };
constexpr std::uint64_t encode(std::uint64_t sequence, Phase phase) { return sequence << 2 | phase; }
constexpr std::uint64_t sequence_of(std::uint64_t state) { return state >> 2; }
constexpr Phase phase_of(std::uint64_t state) { return static_cast<Phase>(state & 3); }

}  // namespace

std::string_view to_string(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "?";
}

std::optional<Level> level_from_string(std::string_view name) {
  for (Level level : {Level::debug, Level::info, Level::warn, Level::error}) {
    if (name == to_string(level)) return level;
  }
  return std::nullopt;
}

bool Ring::append(Level level, std::uint64_t timestamp_ns, std::string_view text, bool continuation,
                  bool console) {
  if (text.size() > kSlotText) text = text.substr(0, kSlotText);
  for (;;) {
    std::uint64_t sequence = head_.load(std::memory_order_acquire);
    Slot& target = slot(sequence);
    std::uint64_t state = target.state.load(std::memory_order_acquire);
    if (phase_of(state) != kEmpty && sequence_of(state) >= sequence) {
      // Claimed by a writer that has not moved head yet (step 2): move it for them.
      head_.compare_exchange_strong(sequence, sequence + 1, std::memory_order_acq_rel);
      continue;
    }
    if (phase_of(state) == kReserved) {  // step 3: its writer, a lap behind, is still copying
      lost_while_busy_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (!target.state.compare_exchange_strong(state, encode(sequence, kReserved),
                                              std::memory_order_acq_rel)) {
      continue;  // another writer took it (step 4)
    }
    // Step 5, on a copy: a failed CAS writes the current head into its first argument.
    std::uint64_t expected_head = sequence;
    head_.compare_exchange_strong(expected_head, sequence + 1, std::memory_order_acq_rel);

    std::atomic_thread_fence(std::memory_order_release);  // step 6
    target.timestamp_ns.store(timestamp_ns, std::memory_order_relaxed);
    target.meta.store(static_cast<std::uint64_t>(level) | std::uint64_t{continuation} << 8 |
                          std::uint64_t{console} << 9 | std::uint64_t{text.size()} << 16,
                      std::memory_order_relaxed);
    // Whole words, then the last few bytes one by one: the text may end anywhere in memory.
    std::size_t word = 0;
    for (; word * 8 + 8 <= text.size(); ++word) {
      std::uint64_t value;
      __builtin_memcpy(&value, text.data() + word * 8, 8);
      target.words[word].store(value, std::memory_order_relaxed);
    }
    if (word * 8 < text.size()) {
      std::uint64_t value = 0;
      for (std::size_t i = word * 8; i < text.size(); ++i) {
        value |= std::uint64_t{static_cast<unsigned char>(text[i])} << (i % 8 * 8);
      }
      target.words[word].store(value, std::memory_order_relaxed);
    }
    target.state.store(encode(sequence, kCommitted), std::memory_order_release);
    return true;
  }
}

Ring::ReadResult Ring::read(std::uint64_t sequence, Record& out) const {
  const Slot& source = slot(sequence);
  const std::uint64_t state = source.state.load(std::memory_order_acquire);
  if (phase_of(state) == kEmpty || sequence_of(state) < sequence) return ReadResult::not_yet;
  if (sequence_of(state) > sequence) return ReadResult::overwritten;
  if (phase_of(state) == kReserved) return ReadResult::in_flight;

  const std::uint64_t meta = source.meta.load(std::memory_order_relaxed);
  out.sequence = sequence;
  out.timestamp_ns = source.timestamp_ns.load(std::memory_order_relaxed);
  out.level = static_cast<Level>(meta & 0xFF);
  out.continuation = ((meta >> 8) & 1) != 0;
  out.console = ((meta >> 9) & 1) != 0;
  const std::size_t length = (meta >> 16) & 0xFFFF;
  out.length = static_cast<std::uint8_t>(length < kSlotText ? length : kSlotText);
  // Whole words: Record::text has room for all of them, and view() ends at `length`.
  for (std::size_t word = 0; word * 8 < out.length; ++word) {
    const std::uint64_t value = source.words[word].load(std::memory_order_relaxed);
    __builtin_memcpy(out.text + word * 8, &value, 8);
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  if (source.state.load(std::memory_order_relaxed) != state) return ReadResult::overwritten;
  return ReadResult::ok;
}

bool Reader::next(Record& out, bool skip_in_flight) {
  for (;;) {
    switch (ring_->read(next_, out)) {
      case Ring::ReadResult::ok:
        ++next_;
        return true;
      case Ring::ReadResult::not_yet:
        return false;
      case Ring::ReadResult::in_flight:
        if (!skip_in_flight) return false;
        ++dropped_;
        ++next_;
        break;
      case Ring::ReadResult::overwritten: {
        // Everything below oldest() is overwritten too: skip it all at once.
        const std::uint64_t oldest = ring_->oldest();
        const std::uint64_t resume = oldest > next_ + 1 ? oldest : next_ + 1;
        dropped_ += resume - next_;
        next_ = resume;
        break;
      }
    }
  }
}

void RecordWriter::write(std::string_view text) {
  while (!text.empty()) {
    if (used_ == kSlotText) {
      ring_.append(level_, timestamp_ns_, {buffer_, used_}, continuation_, console_);
      continuation_ = true;
      used_ = 0;
    }
    const std::size_t take = text.size() < kSlotText - used_ ? text.size() : kSlotText - used_;
    __builtin_memcpy(buffer_ + used_, text.data(), take);
    used_ += take;
    text.remove_prefix(take);
  }
}

void RecordWriter::finish() {
  if (used_ == 0) return;
  ring_.append(level_, timestamp_ns_, {buffer_, used_}, continuation_, console_);
  continuation_ = true;
  used_ = 0;
}

// --- The kernel's log.

namespace {
constexpr std::size_t kKernelLogSlots = 256;  // 256 x 152 bytes = 38 KiB
constinit std::array<Slot, kKernelLogSlots> kernel_slots{};
constinit Ring kernel_ring{kernel_slots};
constinit std::atomic<Clock> clock{nullptr};
constinit std::atomic<const Consumer*> consumer{nullptr};
}  // namespace

void write_timestamp(fmt::Sink& out, std::uint64_t timestamp_ns) {
  const std::uint64_t us = timestamp_ns / 1000;
  fmt::format_to(out, "[{:>5}.{:06}] ", us / 1'000'000, us % 1'000'000);
}

Ring& ring() { return kernel_ring; }

void set_clock(Clock source) { clock.store(source, std::memory_order_release); }

std::uint64_t now_ns() {
  const Clock source = clock.load(std::memory_order_acquire);
  return source != nullptr ? source() : 0;
}

void vmessage(Level level, std::string_view format, std::span<const fmt::detail::Argument> arguments) {
  {
    RecordWriter writer(ring(), level, now_ns());
    fmt::detail::vformat_to(writer, format, arguments);
    writer.write("\n");
  }
  drain();
}

void write(Level level, std::string_view text) {
  RecordWriter writer(kernel_ring, level, now_ns());
  writer.write(text);
}

void set_consumer(const Consumer* c) { consumer.store(c, std::memory_order_release); }

void drain() {
  if (const Consumer* c = consumer.load(std::memory_order_acquire)) c->drain();
}
void flush() {
  if (const Consumer* c = consumer.load(std::memory_order_acquire)) c->flush();
}
void emergency_flush() {
  if (const Consumer* c = consumer.load(std::memory_order_acquire)) c->emergency_flush();
}
void emergency_write(std::string_view text) {
  if (const Consumer* c = consumer.load(std::memory_order_acquire)) c->emergency_write(text);
}

}  // namespace ferrite::log
