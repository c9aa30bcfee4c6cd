// The kernel's side of pipes (fs/pipe.h): blocking through the scheduler, SIGPIPE to a writer
// with no reader left.
#pragma once

namespace ferrite::proc {

// Makes pipe reads and writes block (proc::init(), before any program runs).
void init_pipe_waiter();

}  // namespace ferrite::proc
