// /proc (chapter 15): the process layer's answers to the file tree's questions about generated
// nodes (fs/generated.h). The tree is the lower layer and never calls up into proc/; this file
// registers, at boot, a Generator for /proc that reads the process table, the frame allocator,
// the heap and the clock when a file is opened. See docs/chapters/15-processes.md, "/proc".
#pragma once

#include <cstdint>

namespace ferrite::fs {
class Tree;
}

namespace ferrite::proc::procfs {

// Adds /proc and its fixed files to `tree` (the initramfs tree, after it is built).
void mount(fs::Tree& tree);

// The process table released PID `pid` (reaped): its /proc/<pid> nodes go now, as Linux's
// release_task flushes them (proc_flush_pid), unless an open file or a current directory holds
// one — those go at the first /proc lookup after the last holder lets go. Allocates nothing;
// callable with interrupts off.
void forget(std::int32_t pid);

}  // namespace ferrite::proc::procfs
