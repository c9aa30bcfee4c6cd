// "#!" scripts (chapter 14), as Linux's binfmt_script reads them: a file whose first two bytes
// are "#!" names its interpreter on that line, with at most one argument (everything after the
// name, spaces inside kept), and execve runs the interpreter with the script's path as an
// argument. Only the first 256 bytes are looked at (BINPRM_BUF_SIZE); a name cut off there is
// refused (ENOEXEC), as Linux has since 5.0. Pure and header-only: the kernel and host tests
// share it.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ferrite::exec {

inline constexpr std::size_t kInterpreterLineBytes = 256;  // BINPRM_BUF_SIZE
// A script's interpreter may be a script, this many deep; then ELOOP (Linux allows 5 rounds of
// binary handlers, the ELF one included).
inline constexpr int kMaxInterpreterDepth = 4;

struct InterpreterLine {
  std::string_view interpreter;  // empty: "#!" but no name (ENOEXEC)
  std::string_view argument;     // empty: none
};

// The "#!" line at the start of `file` (views into it), or nothing if the file is no script.
constexpr std::optional<InterpreterLine> interpreter_line(std::string_view file) {
  if (!file.starts_with("#!")) return std::nullopt;
  constexpr auto space_or_tab = [](char c) { return c == ' ' || c == '\t'; };
  const std::string_view head = file.substr(0, kInterpreterLineBytes);
  std::string_view line = head.substr(2);
  line = line.substr(0, line.find('\n'));
  line = line.substr(0, line.find('\0'));  // the kernel reads it as a C string
  std::size_t start = 0;
  while (start < line.size() && space_or_tab(line[start])) ++start;
  std::size_t name_end = start;
  while (name_end < line.size() && !space_or_tab(line[name_end])) ++name_end;
  // 256 bytes and no end of line: the name must have ended inside them.
  const bool whole = head.size() < kInterpreterLineBytes ||
                     head.find('\n') != std::string_view::npos || name_end < line.size() ||
                     line.size() < head.size() - 2;
  if (!whole) return InterpreterLine{};
  std::size_t end = line.size();
  while (end > name_end && space_or_tab(line[end - 1])) --end;
  std::size_t argument = name_end;
  while (argument < end && space_or_tab(line[argument])) ++argument;
  return InterpreterLine{line.substr(start, name_end - start),
                         line.substr(argument, end - argument)};
}

}  // namespace ferrite::exec
