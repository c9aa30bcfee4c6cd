// Recording a process's program for /proc: see program.h.
#include "proc/program.h"

#include "fs/initramfs.h"
#include "fs/tree.h"
#include "proc/proc_text.h"

namespace ferrite::proc {

void ProgramRecord::record(std::string_view path, std::span<const std::string_view> argv,
                           fs::Node* cwd) {
  command_line_length =
      static_cast<std::uint16_t>(text::join_arguments(argv, {command_line, kCommandLineBytes}));
  // The file as d_path(7) would name it: absolute, its links followed (/bin/sh is a link to
  // busybox). Looked up again here, once, so that a later chdir does not change the answer.
  executable_length = 0;
  const fs::Tree* tree = fs::initramfs();
  if (tree == nullptr) return;
  const fs::TreeGuard guard;  // the node found must not go before path_of names it
  const auto node = tree->lookup(path, cwd);
  if (!node) return;
  const auto length = tree->path_of(*node, {executable, kExecutableBytes});
  if (length) executable_length = static_cast<std::uint16_t>(*length);
}

}  // namespace ferrite::proc
