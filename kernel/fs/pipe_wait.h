// The kernel's side of pipes (fs/pipe.h): blocking through the scheduler.
#pragma once

namespace ferrite::fs {

// Makes pipe reads and writes block (boot, before any program runs).
void init_pipes();
// Wakes every thread blocked on a pipe or in poll, to look again.
void wake_pipe_waiters();

}  // namespace ferrite::fs
