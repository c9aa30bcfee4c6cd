// The kernel's PipeWaiter (see pipe.h): one wait queue for every pipe — a change to any pipe
// wakes every thread waiting on one, and each checks its own again. Simple, and correct for any
// number of pipes and of waiters (a poll on several pipes waits here too).
#include "fs/pipe_wait.h"

#include "fs/pipe.h"
#include "sched/sync.h"
#include "sync/spinlock.h"

namespace ferrite::fs {

namespace {

class KernelPipeWaiter final : public PipeWaiter {
 public:
  // One CPU: interrupts off is the whole lock (as in sched/sync.h).
  bool lock() override { return arch::save_and_disable_interrupts(); }
  void unlock(bool were_enabled) override { arch::restore_interrupts(were_enabled); }
  // A program asked to end (Ctrl+C in `run`, `kill`) stops waiting, as the terminal's readers
  // do (tty/console.cpp): EINTR, and the way back to ring 3 ends it.
  bool wait() override {
    if (sched::current().kill_requested) return false;
    queue_.wait_locked();
    return !sched::current().kill_requested;
  }
  void wake() override { queue_.wake_all(); }

 private:
  sched::WaitQueue queue_;
};

constinit KernelPipeWaiter kernel_waiter;

}  // namespace

void init_pipes() { set_pipe_waiter(&kernel_waiter); }

void wake_pipe_waiters() { kernel_waiter.wake(); }

}  // namespace ferrite::fs
