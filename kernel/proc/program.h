// What /proc/<pid>/cmdline and /proc/<pid>/exe show (proc/procfs.cpp): the arguments a process's
// program was started with and the absolute path of its file. execve (and the kernel's spawn)
// record them, fork copies them with the rest of the process. Linux keeps the arguments where
// execve put them, in the process's own memory (mm->arg_start..arg_end), and reads them from
// there; ferrite keeps a copy, cut at kCommandLineBytes, so that reading it never touches another
// process's address space.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ferrite::fs {
struct Node;
}

namespace ferrite::proc {

struct ProgramRecord {
  static constexpr std::size_t kCommandLineBytes = 128;
  static constexpr std::size_t kExecutableBytes = 256;

  char command_line[kCommandLineBytes] = {};  // argv, each argument followed by a NUL
  std::uint16_t command_line_length = 0;
  char executable[kExecutableBytes] = {};  // the program file's absolute path, links followed
  std::uint16_t executable_length = 0;

  // Records `argv` and the file `path` names (relative to `cwd`). For a "#!" script, `path` is
  // the script's (what execve was given); Linux's exe would name the interpreter.
  void record(std::string_view path, std::span<const std::string_view> argv, fs::Node* cwd);

  [[nodiscard]] std::string_view command_line_view() const {
    return {command_line, command_line_length};
  }
  [[nodiscard]] std::string_view executable_view() const { return {executable, executable_length}; }
};

}  // namespace ferrite::proc
