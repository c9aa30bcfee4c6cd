// The kernel's PipeWaiter (see pipe.h): one wait queue for every pipe — a change to any pipe
// wakes every thread waiting on one, and each checks its own again. Simple, and correct for any
// number of pipes and of waiters (a poll on several pipes waits here too).
#include "fs/pipe_wait.h"

#include "fs/pipe.h"
#include "proc/signal.h"
#include "proc/signals.h"
#include "sched/sync.h"
#include "sync/spinlock.h"

namespace ferrite::fs {

namespace {

class KernelPipeWaiter final : public PipeWaiter {
 public:
  // One CPU: interrupts off is the whole lock (as in sched/sync.h).
  bool lock() override { return arch::save_and_disable_interrupts(); }
  void unlock(bool were_enabled) override { arch::restore_interrupts(were_enabled); }
  // A signal or a kill (Ctrl+C in `run`) ends the wait: EINTR, and the way back to ring 3
  // delivers the signal or ends the program.
  bool wait() override { return queue_.wait_interruptible_locked(); }
  void wake() override { queue_.wake_all(); }
  // pipe(7): a write with no reader left raises SIGPIPE (which ends the writer unless it is
  // caught or ignored), and the write is EPIPE. Its siginfo says SI_USER from the writer itself,
  // as Linux's send_sig(SIGPIPE, current, 0) does.
  void broken_pipe() override {
    if (proc::Process* writer = proc::current(); writer != nullptr) {
      proc::send_signal(*writer, proc::kSigPipe, proc::sent_by(writer->pid, false));
    }
  }

 private:
  sched::WaitQueue queue_;
};

constinit KernelPipeWaiter kernel_waiter;

}  // namespace

void init_pipes() { set_pipe_waiter(&kernel_waiter); }

void wake_pipe_waiters() { kernel_waiter.wake(); }

}  // namespace ferrite::fs
