// The run-time half of lib/format.h: padding, integer conversion, and the formatting loop that
// every format_to call shares (the templates only erase argument types and forward here).
#include "lib/format.h"

namespace ferrite::fmt {
namespace {

// Writes count copies of c in a few calls instead of count calls.
void write_repeated(Sink& sink, char c, std::size_t count) {
  constexpr std::size_t kChunk = 32;
  char chunk[kChunk];
  for (char& slot : chunk) slot = c;
  while (count > 0) {
    const std::size_t piece = count < kChunk ? count : kChunk;
    sink.write({chunk, piece});
    count -= piece;
  }
}

struct Padding {
  std::size_t before;
  std::size_t after;
};

Padding padding_for(std::size_t length, const FormatSpec& spec, Align default_align) {
  const std::size_t total = spec.width > length ? spec.width - length : 0;
  switch (spec.align == Align::automatic ? default_align : spec.align) {
    case Align::right:
      return {total, 0};
    case Align::center:
      return {total / 2, total - total / 2};  // the odd one goes right, as in std::format
    default:
      return {0, total};
  }
}

// Collects the pieces of one format_to call (literal runs, fill, digits) so the target sink --
// a console behind a lock, a serial port -- usually sees a single write per call.
class StagingSink final : public Sink {
 public:
  explicit StagingSink(Sink& target) : target_(target) {}

  void write(std::string_view text) override {
    if (text.empty()) return;
    if (size_ + text.size() > kCapacity) {
      flush();
      if (text.size() > kCapacity) {
        target_.write(text);
        return;
      }
    }
    __builtin_memcpy(data_ + size_, text.data(), text.size());
    size_ += text.size();
  }

  void flush() {
    if (size_ == 0) return;
    target_.write({data_, size_});
    size_ = 0;
  }

 private:
  static constexpr std::size_t kCapacity = 256;
  Sink& target_;
  char data_[kCapacity];
  std::size_t size_ = 0;
};

}  // namespace

void write_padded(Sink& sink, std::string_view text, const FormatSpec& spec, Align default_align) {
  const Padding padding = padding_for(text.size(), spec, default_align);
  if (padding.before > 0) write_repeated(sink, spec.fill, padding.before);
  if (!text.empty()) sink.write(text);
  if (padding.after > 0) write_repeated(sink, spec.fill, padding.after);
}

void format_integer(Sink& sink, std::uint64_t magnitude, bool negative, const FormatSpec& spec) {
  if (spec.type == 'c') {
    const char c = (negative || magnitude > 0xFF) ? '?' : static_cast<char>(magnitude);
    write_padded(sink, {&c, 1}, spec, Align::left);
    return;
  }

  unsigned base = 10;
  const char* digits = "0123456789abcdef";
  std::string_view prefix;
  switch (spec.type) {
    case 'x':
      base = 16;
      prefix = "0x";
      break;
    case 'X':
      base = 16;
      digits = "0123456789ABCDEF";
      prefix = "0X";
      break;
    case 'b':
      base = 2;
      prefix = "0b";
      break;
    case 'B':
      base = 2;
      prefix = "0B";
      break;
    case 'o':
      base = 8;
      prefix = magnitude == 0 ? "" : "0";  // std::format: the octal form of zero is just "0"
      break;
    default:
      break;
  }
  if (!spec.alternate) prefix = {};

  // Built right to left: 64 binary digits, then at most two prefix characters and a sign.
  char text[64 + 2 + 1];
  char* const end = text + sizeof(text);
  char* first = end;
  do {
    *--first = digits[magnitude % base];
    magnitude /= base;
  } while (magnitude != 0);
  const std::string_view number(first, static_cast<std::size_t>(end - first));

  for (std::size_t i = prefix.size(); i > 0; --i) *--first = prefix[i - 1];
  if (negative) {
    *--first = '-';
  } else if (spec.sign == Sign::always) {
    *--first = '+';
  } else if (spec.sign == Sign::space) {
    *--first = ' ';
  }
  const std::string_view sign_and_prefix(first, static_cast<std::size_t>(number.data() - first));

  const std::size_t length = sign_and_prefix.size() + number.size();
  if (spec.zero_pad && spec.align == Align::automatic) {
    // Zeros go between "-0x" and the digits: {:08x} of -255 is "-00000ff".
    sink.write(sign_and_prefix);
    if (spec.width > length) write_repeated(sink, '0', spec.width - length);
    sink.write(number);
  } else {
    write_padded(sink, {first, length}, spec, Align::right);
  }
}

void format_pointer(Sink& sink, std::uintptr_t address, const FormatSpec& spec) {
  FormatSpec as_hex = spec;
  as_hex.type = 'x';
  as_hex.alternate = true;
  format_integer(sink, address, false, as_hex);
}

// `spec` is the empty one (check_spec allows no other).
void Formatter<Thousandths>::format(Sink& sink, const Thousandths& number, const FormatSpec& spec) {
  format_integer(sink, number.value / 1000, false, spec);
  auto fraction = static_cast<unsigned>(number.value % 1000);
  char decimals[] = ".000";
  for (std::size_t i = 3; i > 0; --i, fraction /= 10) {
    decimals[i] = static_cast<char>('0' + fraction % 10);
  }
  sink.write({decimals, 4});
}

BufferSink::BufferSink(std::span<char> buffer) : buffer_(buffer) {
  if (!buffer_.empty()) buffer_[0] = '\0';
}

void BufferSink::write(std::string_view text) {
  wanted_ += text.size();
  if (buffer_.empty() || text.empty()) return;
  const std::size_t room = buffer_.size() - 1 - stored_;  // one byte stays for the NUL
  const std::size_t piece = text.size() < room ? text.size() : room;
  __builtin_memcpy(buffer_.data() + stored_, text.data(), piece);
  stored_ += piece;
  buffer_[stored_] = '\0';
}

namespace detail {

void vformat_direct(Sink& sink, std::string_view format, std::span<const Argument> arguments) {
  // The format string was checked at compile time, so walk_format finds no error here; the
  // index check only guards against a caller that bypassed FormatString.
  static_cast<void>(walk_format(
      format, [&sink](std::string_view text) { sink.write(text); },
      [&sink, arguments](std::size_t index, const FormatSpec& spec) {
        if (index < arguments.size()) {
          arguments[index].format(sink, arguments[index].value, spec);
        }
        return FormatError::none;
      }));
}

void vformat_to(Sink& sink, std::string_view format, std::span<const Argument> arguments) {
  if (sink.small_writes_are_cheap()) return vformat_direct(sink, format, arguments);
  StagingSink staging(sink);
  vformat_direct(staging, format, arguments);
  staging.flush();
}

}  // namespace detail
}  // namespace ferrite::fmt
