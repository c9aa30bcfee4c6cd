// Type-safe formatting for print/println/panic: a small std::format (which needs the hosted
// library) whose format strings are checked at compile time against the argument types.
//
//   fmt::format_to(sink, "frame {:#x} of {:>8}", address, name);
//
// Replacement fields are `{}` or `{:spec}`, taken in order; spec is a subset of std::format's:
//   [[fill]align][sign][#][0][width][type]
//   align: < left, > right, ^ center      sign: + always, - only negative (default), space
//   #: 0x / 0X / 0b / 0B / 0 prefixes     0: pad with zeros between sign/prefix and digits
//   type: d x X b B o c (integers), s (strings, bool), c (char), p (pointers)
// `{{` and `}}` print one brace. Widths count bytes. No floating point (the kernel has no SSE).
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace ferrite::fmt {

// Where formatted text goes: the console, the serial port, a buffer. Formatting hands over runs
// of text, never one character per call, so a sink that takes a lock per write stays cheap.
struct Sink {
  virtual void write(std::string_view text) = 0;
  // Whether many small writes cost it no more than one (a buffer, a log record, the console while
  // held): format_to then hands the pieces over as they come instead of collecting them first.
  virtual bool small_writes_are_cheap() const { return false; }

 protected:
  ~Sink() = default;
};

enum class Align : std::uint8_t { automatic, left, right, center };
enum class Sign : std::uint8_t { only_negative, always, space };

// The parsed part after ':' in a replacement field.
struct FormatSpec {
  char fill = ' ';
  Align align = Align::automatic;  // automatic: numbers go right, text goes left
  Sign sign = Sign::only_negative;
  bool alternate = false;  // '#'
  bool zero_pad = false;   // '0'; ignored when an explicit align is given, as in std::format
  std::uint16_t width = 0;
  char type = '\0';  // '\0' when the spec names no type
};

// A field wider than this is almost certainly a typo; rejecting it keeps padding bounded.
inline constexpr std::size_t kMaxWidth = 255;

enum class FormatError : std::uint8_t {
  none,
  unmatched_open_brace,
  unmatched_close_brace,
  too_few_arguments,
  too_many_arguments,
  argument_index_not_supported,
  invalid_spec,
  width_too_large,
  precision_not_supported,
  unknown_type,
  type_not_for_argument,
  sign_not_for_argument,
  alternate_not_for_argument,
  zero_pad_not_for_argument,
};

constexpr std::string_view to_string(FormatError error) {
  switch (error) {
    case FormatError::none:
      return "no error";
    case FormatError::unmatched_open_brace:
      return "'{' without a matching '}' (write '{{' for a literal brace)";
    case FormatError::unmatched_close_brace:
      return "'}' without a matching '{' (write '}}' for a literal brace)";
    case FormatError::too_few_arguments:
      return "more replacement fields than arguments";
    case FormatError::too_many_arguments:
      return "more arguments than replacement fields";
    case FormatError::argument_index_not_supported:
      return "argument indices like {0} are not supported; fields take arguments in order";
    case FormatError::invalid_spec:
      return "format spec is not [[fill]align][sign][#][0][width][type]";
    case FormatError::width_too_large:
      return "field width is larger than kMaxWidth";
    case FormatError::precision_not_supported:
      return "precision ('.') is not supported";
    case FormatError::unknown_type:
      return "unknown presentation type (known: b B c d o p s x X)";
    case FormatError::type_not_for_argument:
      return "presentation type does not fit the argument's type";
    case FormatError::sign_not_for_argument:
      return "a sign ('+', '-', ' ') only fits numbers";
    case FormatError::alternate_not_for_argument:
      return "'#' only fits numbers";
    case FormatError::zero_pad_not_for_argument:
      return "'0' padding only fits numbers and pointers";
  }
  return "unknown format error";
}

// Small string helpers written as loops: string_view::find and substr would pull in memchr and
// an out_of_range throw, neither of which the kernel has.
constexpr bool contains(std::string_view set, char c) {
  for (const char member : set) {
    if (member == c) return true;
  }
  return false;
}

constexpr std::size_t find_from(std::string_view text, char c, std::size_t from) {
  for (std::size_t i = from; i < text.size(); ++i) {
    if (text[i] == c) return i;
  }
  return text.size();
}

// [begin, end) of text; callers keep begin <= end <= text.size().
constexpr std::string_view slice(std::string_view text, std::size_t begin, std::size_t end) {
  return {text.data() + begin, end - begin};
}

// Parses the text between ':' and '}' into `spec` (a default FormatSpec on entry). Used at
// compile time (checking) and at run time (formatting), so both always agree. Filling the
// caller's spec in place spares the run time a copy of the whole result.
constexpr FormatError parse_spec(std::string_view text, FormatSpec& spec) {
  const auto align_of = [](char c) {
    switch (c) {
      case '<':
        return Align::left;
      case '>':
        return Align::right;
      case '^':
        return Align::center;
      default:
        return Align::automatic;
    }
  };
  std::size_t pos = 0;
  const auto at = [&](std::size_t i) { return i < text.size() ? text[i] : '\0'; };

  if (text.size() >= 2 && align_of(text[1]) != Align::automatic) {
    if (text[0] == '{' || text[0] == '}') return FormatError::invalid_spec;
    spec.fill = text[0];
    spec.align = align_of(text[1]);
    pos = 2;
  } else if (align_of(at(0)) != Align::automatic) {
    spec.align = align_of(text[0]);
    pos = 1;
  }
  if (at(pos) == '+' || at(pos) == '-' || at(pos) == ' ') {
    spec.sign = at(pos) == '+' ? Sign::always : at(pos) == ' ' ? Sign::space : Sign::only_negative;
    ++pos;
  }
  if (at(pos) == '#') {
    spec.alternate = true;
    ++pos;
  }
  if (at(pos) == '0') {
    spec.zero_pad = true;
    ++pos;
    if (at(pos) == '0') return FormatError::invalid_spec;  // "00" is not a width
  }
  std::size_t width = 0;
  while (at(pos) >= '0' && at(pos) <= '9') {
    width = width * 10 + static_cast<std::size_t>(at(pos) - '0');
    if (width > kMaxWidth) return FormatError::width_too_large;
    ++pos;
  }
  spec.width = static_cast<std::uint16_t>(width);
  if (at(pos) == '.') return FormatError::precision_not_supported;
  if (pos < text.size()) {
    const char type = text[pos];
    if ((type >= 'a' && type <= 'z') || (type >= 'A' && type <= 'Z')) {
      if (!contains("bBcdopsxX", type)) {
        return FormatError::unknown_type;
      }
      spec.type = type;
      ++pos;
    }
  }
  if (pos != text.size()) return FormatError::invalid_spec;
  return FormatError::none;
}

// Walks a format string, handing literal runs to on_text (escapes `{{`/`}}` included as one
// brace at the end of a run) and each replacement field to on_field(index, spec), which returns
// a FormatError to stop. Shared by the compile-time check and the run-time formatter.
template <class OnText, class OnField>
constexpr FormatError walk_format(std::string_view format, OnText&& on_text, OnField&& on_field) {
  std::size_t run_start = 0;
  std::size_t field_index = 0;
  std::size_t pos = 0;
  while (pos < format.size()) {
    const char c = format[pos];
    if (c != '{' && c != '}') {
      ++pos;
      continue;
    }
    if (pos + 1 < format.size() && format[pos + 1] == c) {
      on_text(slice(format, run_start, pos + 1));
      pos += 2;
      run_start = pos;
      continue;
    }
    if (c == '}') return FormatError::unmatched_close_brace;
    if (pos > run_start) on_text(slice(format, run_start, pos));
    const std::size_t close = find_from(format, '}', pos + 1);
    if (close == format.size()) return FormatError::unmatched_open_brace;
    const std::string_view field = slice(format, pos + 1, close);
    FormatSpec spec;
    if (!field.empty()) {
      if (field[0] >= '0' && field[0] <= '9') return FormatError::argument_index_not_supported;
      if (field[0] != ':') return FormatError::invalid_spec;
      if (const FormatError error = parse_spec(slice(field, 1, field.size()), spec);
          error != FormatError::none) {
        return error;
      }
    }
    if (const FormatError error = on_field(field_index, spec); error != FormatError::none) {
      return error;
    }
    ++field_index;
    pos = close + 1;
    run_start = pos;
  }
  if (run_start < format.size()) on_text(slice(format, run_start, format.size()));
  return FormatError::none;
}

// ---------------------------------------------------------------------------------------------
// Building blocks for Formatter specializations (the built-in ones use them too).

// Writes text padded to spec.width with spec.fill; `automatic` alignment means default_align.
void write_padded(Sink& sink, std::string_view text, const FormatSpec& spec,
                  Align default_align = Align::left);

// Writes an integer given as magnitude and sign, honouring every integer spec (base, prefix,
// sign, zero padding, 'c'). 'c' with a value outside 0..255 prints '?'.
void format_integer(Sink& sink, std::uint64_t magnitude, bool negative, const FormatSpec& spec);

// Writes an address as 0x... in lowercase hex ('0' padding goes after the 0x).
void format_pointer(Sink& sink, std::uintptr_t address, const FormatSpec& spec);

// Spec checks of the built-in types; a user Formatter may reuse them.
constexpr FormatError check_integer_spec(const FormatSpec& spec) {
  switch (spec.type) {
    case '\0':
    case 'd':
    case 'x':
    case 'X':
    case 'b':
    case 'B':
    case 'o':
      return FormatError::none;
    case 'c':
      if (spec.sign != Sign::only_negative) return FormatError::sign_not_for_argument;
      if (spec.alternate) return FormatError::alternate_not_for_argument;
      if (spec.zero_pad) return FormatError::zero_pad_not_for_argument;
      return FormatError::none;
    default:
      return FormatError::type_not_for_argument;
  }
}

// Text-like presentation: no sign, no '#', no '0'.
constexpr FormatError check_text_spec(const FormatSpec& spec, std::string_view allowed_types) {
  if (spec.type != '\0' && !contains(allowed_types, spec.type)) {
    return FormatError::type_not_for_argument;
  }
  if (spec.sign != Sign::only_negative) return FormatError::sign_not_for_argument;
  if (spec.alternate) return FormatError::alternate_not_for_argument;
  if (spec.zero_pad) return FormatError::zero_pad_not_for_argument;
  return FormatError::none;
}

constexpr FormatError check_pointer_spec(const FormatSpec& spec) {
  if (spec.type != '\0' && spec.type != 'p') return FormatError::type_not_for_argument;
  if (spec.sign != Sign::only_negative) return FormatError::sign_not_for_argument;
  if (spec.alternate) return FormatError::alternate_not_for_argument;
  return FormatError::none;
}

constexpr bool is_integer_presentation(char type) {
  return type != '\0' && contains("dxXbBo", type);
}

// Length of a NUL-terminated string, looking at most at limit bytes. A plain loop: the kernel
// has no strlen.
constexpr std::size_t bounded_length(const char* text, std::size_t limit) {
  std::size_t length = 0;
  while (length < limit && text[length] != '\0') ++length;
  return length;
}

// ---------------------------------------------------------------------------------------------
// Formatter<T>: how a T is printed. Specialize it for your own types (addresses, enums, ...):
//
//   template <> struct ferrite::fmt::Formatter<PhysAddr> {
//     // optional: reject specs at compile time; without it every valid spec is accepted
//     static constexpr FormatError check_spec(const FormatSpec& spec);
//     static void format(Sink& sink, const PhysAddr& value, const FormatSpec& spec);
//   };
//
// There is deliberately no generic fallback: an enum or struct without a Formatter is a
// compile error, not a silently printed number.
template <class T>
struct Formatter;

template <class T>
concept Formattable = requires(Sink& sink, const T& value, const FormatSpec& spec) {
  Formatter<T>::format(sink, value, spec);
};

namespace detail {
template <class T>
concept PlainInteger =
    std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
    !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> && !std::same_as<T, char16_t> &&
    !std::same_as<T, char32_t> && sizeof(T) <= sizeof(std::uint64_t);

inline void format_text(Sink& sink, std::string_view text, const FormatSpec& spec) {
  write_padded(sink, text, spec, Align::left);
}

inline void format_c_string(Sink& sink, const char* text, const FormatSpec& spec) {
  if (spec.type == 'p') {
    format_pointer(sink, reinterpret_cast<std::uintptr_t>(text), spec);
  } else if (text == nullptr) {
    format_text(sink, "(null)", spec);
  } else {
    format_text(sink, std::string_view(text, bounded_length(text, SIZE_MAX)), spec);
  }
}
}  // namespace detail

template <detail::PlainInteger T>
struct Formatter<T> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    return check_integer_spec(spec);
  }
  static void format(Sink& sink, const T& value, const FormatSpec& spec) {
    if constexpr (std::is_signed_v<T>) {
      // Negating in unsigned arithmetic keeps INT64_MIN exact (-INT64_MIN overflows int64_t).
      const auto bits = static_cast<std::uint64_t>(value);
      format_integer(sink, value < 0 ? 0 - bits : bits, value < 0, spec);
    } else {
      format_integer(sink, value, false, spec);
    }
  }
};

template <>
struct Formatter<bool> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    if (is_integer_presentation(spec.type)) return check_integer_spec(spec);
    return check_text_spec(spec, "s");
  }
  static void format(Sink& sink, const bool& value, const FormatSpec& spec) {
    if (is_integer_presentation(spec.type)) {
      format_integer(sink, value ? 1 : 0, false, spec);
    } else {
      detail::format_text(sink, value ? "true" : "false", spec);
    }
  }
};

template <>
struct Formatter<char> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    if (is_integer_presentation(spec.type)) return check_integer_spec(spec);
    return check_text_spec(spec, "c");
  }
  static void format(Sink& sink, const char& value, const FormatSpec& spec) {
    if (is_integer_presentation(spec.type)) {
      // As in std::format (P2909): a char shown as a number is its unsigned code unit.
      format_integer(sink, static_cast<unsigned char>(value), false, spec);
    } else {
      detail::format_text(sink, std::string_view(&value, 1), spec);
    }
  }
};

template <>
struct Formatter<std::string_view> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    return check_text_spec(spec, "s");
  }
  static void format(Sink& sink, const std::string_view& value, const FormatSpec& spec) {
    detail::format_text(sink, value, spec);
  }
};

// C strings; a null pointer prints "(null)". `{:p}` prints the address instead.
template <>
struct Formatter<const char*> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    return spec.type == 'p' ? check_pointer_spec(spec) : check_text_spec(spec, "s");
  }
  static void format(Sink& sink, const char* const& value, const FormatSpec& spec) {
    detail::format_c_string(sink, value, spec);
  }
};

template <>
struct Formatter<char*> : Formatter<const char*> {};

// String literals and char arrays: the text ends at the first NUL or at the array's end.
template <std::size_t N>
struct Formatter<char[N]> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    return check_text_spec(spec, "s");
  }
  static void format(Sink& sink, const char (&value)[N], const FormatSpec& spec) {
    detail::format_text(sink, std::string_view(value, bounded_length(value, N)), spec);
  }
};

// Every other pointer prints its address, like std::format's `{:p}`.
template <class T>
struct Formatter<T*> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    return check_pointer_spec(spec);
  }
  static void format(Sink& sink, T* const& value, const FormatSpec& spec) {
    format_pointer(sink, reinterpret_cast<std::uintptr_t>(value), spec);
  }
};

template <>
struct Formatter<std::nullptr_t> {
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    return check_pointer_spec(spec);
  }
  static void format(Sink& sink, const std::nullptr_t&, const FormatSpec& spec) {
    format_pointer(sink, 0, spec);
  }
};

// A count of thousandths printed with three decimals: Thousandths{2'400'123} is "2400.123"
// (kHz as MHz, microseconds as ms) without floating point or a pair of arguments at each call.
struct Thousandths {
  std::uint64_t value;
};

template <>
struct Formatter<Thousandths> {
  // Printed as is: no width, fill, sign or presentation type.
  static constexpr FormatError check_spec(const FormatSpec& spec) {
    if (spec.width != 0 || spec.align != Align::automatic) return FormatError::invalid_spec;
    return check_text_spec(spec, "");
  }
  static void format(Sink& sink, const Thousandths& number, const FormatSpec& spec);
};

// ---------------------------------------------------------------------------------------------
// Format strings checked at compile time.

namespace detail {
using SpecCheck = FormatError (*)(const FormatSpec&);

template <class T>
constexpr FormatError check_spec_for(const FormatSpec& spec) {
  if constexpr (requires { Formatter<T>::check_spec(spec); }) {
    return Formatter<T>::check_spec(spec);
  } else {
    return FormatError::none;
  }
}

constexpr FormatError check_format(std::string_view format, std::span<const SpecCheck> checks) {
  std::size_t fields = 0;
  const FormatError error = walk_format(
      format, [](std::string_view) {},
      [&](std::size_t index, const FormatSpec& spec) {
        ++fields;
        if (index >= checks.size()) return FormatError::too_few_arguments;
        return checks[index](spec);
      });
  if (error != FormatError::none) return error;
  return fields < checks.size() ? FormatError::too_many_arguments : FormatError::none;
}

// Deliberately not constexpr: reaching one of these while a format string is checked at compile
// time stops the build, and the compiler's message names the function, which names the mistake.
inline void format_string_has_unmatched_open_brace() {}
inline void format_string_has_unmatched_close_brace() {}
inline void format_string_has_more_fields_than_arguments() {}
inline void format_string_has_fewer_fields_than_arguments() {}
inline void format_string_uses_argument_indices_which_are_not_supported() {}
inline void format_spec_is_malformed() {}
inline void format_spec_width_is_too_large() {}
inline void format_spec_precision_is_not_supported() {}
inline void format_spec_type_is_unknown() {}
inline void format_spec_type_does_not_fit_the_argument() {}
inline void format_spec_sign_does_not_fit_the_argument() {}
inline void format_spec_alternate_form_does_not_fit_the_argument() {}
inline void format_spec_zero_padding_does_not_fit_the_argument() {}

constexpr void report_at_compile_time(FormatError error) {
  switch (error) {
    case FormatError::none:
      return;
    case FormatError::unmatched_open_brace:
      return format_string_has_unmatched_open_brace();
    case FormatError::unmatched_close_brace:
      return format_string_has_unmatched_close_brace();
    case FormatError::too_few_arguments:
      return format_string_has_more_fields_than_arguments();
    case FormatError::too_many_arguments:
      return format_string_has_fewer_fields_than_arguments();
    case FormatError::argument_index_not_supported:
      return format_string_uses_argument_indices_which_are_not_supported();
    case FormatError::invalid_spec:
      return format_spec_is_malformed();
    case FormatError::width_too_large:
      return format_spec_width_is_too_large();
    case FormatError::precision_not_supported:
      return format_spec_precision_is_not_supported();
    case FormatError::unknown_type:
      return format_spec_type_is_unknown();
    case FormatError::type_not_for_argument:
      return format_spec_type_does_not_fit_the_argument();
    case FormatError::sign_not_for_argument:
      return format_spec_sign_does_not_fit_the_argument();
    case FormatError::alternate_not_for_argument:
      return format_spec_alternate_form_does_not_fit_the_argument();
    case FormatError::zero_pad_not_for_argument:
      return format_spec_zero_padding_does_not_fit_the_argument();
  }
}
}  // namespace detail

// What is wrong with `format` for arguments of types Args (FormatError::none if nothing).
template <class... Args>
constexpr FormatError check_format(std::string_view format) {
  const std::array<detail::SpecCheck, sizeof...(Args)> checks{&detail::check_spec_for<Args>...};
  return detail::check_format(format, checks);
}

template <class... Args>
constexpr bool is_valid_format(std::string_view format) {
  return check_format<Args...>(format) == FormatError::none;
}

// A format string for arguments of types Args. Only constructible from a constant (a string
// literal), and the construction fails to compile when the string does not fit the arguments.
template <class... Args>
class FormatString {
  static_assert((Formattable<Args> && ...),
                "ferrite::fmt: an argument type has no Formatter; enums and your own types need "
                "a Formatter<T> specialization (see lib/format.h)");

 public:
  template <class Text>
  requires std::convertible_to<const Text&, std::string_view>
  consteval FormatString(const Text& text) : text_(text) {  // NOLINT: implicit on purpose
    detail::report_at_compile_time(check_format<Args...>(text_));
  }

  constexpr std::string_view text() const { return text_; }

 private:
  std::string_view text_;
};

// The parameter type for functions that forward to format_to (print, println, panic): the
// arguments are deduced from the values only, then the string is checked against them.
template <class... Args>
using FormatStringFor = FormatString<std::type_identity_t<Args>...>;

namespace detail {
// One argument with its type erased, so the formatting loop is compiled once, not per call site.
struct Argument {
  const void* value;
  void (*format)(Sink&, const void*, const FormatSpec&);
};

template <class T>
void format_erased(Sink& sink, const void* value, const FormatSpec& spec) {
  Formatter<T>::format(sink, *static_cast<const T*>(value), spec);
}

// Collects small writes into one larger write to the target sink (unless they are cheap for it).
void vformat_to(Sink& sink, std::string_view format, std::span<const Argument> arguments);
// Passes every piece straight to the sink (for sinks that are buffers already).
void vformat_direct(Sink& sink, std::string_view format, std::span<const Argument> arguments);
}  // namespace detail

template <class... Args>
void format_to(Sink& sink, FormatStringFor<Args...> format, const Args&... args) {
  const std::array<detail::Argument, sizeof...(Args)> arguments{
      detail::Argument{&args, &detail::format_erased<Args>}...};
  detail::vformat_to(sink, format.text(), arguments);
}

// A sink over a fixed buffer, for tests and for panic messages (no heap needed). Like snprintf it
// keeps the text NUL-terminated (when the buffer is not empty) and drops what does not fit.
class BufferSink final : public Sink {
 public:
  explicit BufferSink(std::span<char> buffer);
  void write(std::string_view text) override;
  bool small_writes_are_cheap() const override { return true; }

  std::string_view view() const { return {buffer_.data(), stored_}; }
  bool truncated() const { return stored_ < wanted_; }
  // Everything ever written, stored or not: the buffer size that would have been needed minus 1.
  std::size_t wanted_size() const { return wanted_; }

 private:
  std::span<char> buffer_;
  std::size_t stored_ = 0;
  std::size_t wanted_ = 0;
};

// Formats into out like snprintf: truncates, NUL-terminates when out is not empty, and returns
// the length the whole text would have had.
template <class... Args>
std::size_t format_to_buffer(std::span<char> out, FormatStringFor<Args...> format,
                             const Args&... args) {
  BufferSink sink(out);
  const std::array<detail::Argument, sizeof...(Args)> arguments{
      detail::Argument{&args, &detail::format_erased<Args>}...};
  detail::vformat_direct(sink, format.text(), arguments);
  return sink.wanted_size();
}

}  // namespace ferrite::fmt
