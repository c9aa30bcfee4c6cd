// The kernel's PipeWaiter (see fs/pipe.h): one wait queue for every pipe — a change to any pipe
// wakes every thread waiting on one, and each checks its own again. Simple, and correct for any
// number of pipes and of waiters (a poll on several pipes waits here too). It lives with the
// processes, not in fs/, because a broken pipe signals the writing process.
#include "proc/pipe_waiter.h"

#include "fs/pipe.h"
#include "proc/signal.h"
#include "proc/signals.h"
#include "sched/sync.h"
#include "sync/spinlock.h"

namespace ferrite::proc {

namespace {

class KernelPipeWaiter final : public fs::PipeWaiter {
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
    if (Process* writer = current(); writer != nullptr) {
      send_signal(*writer, kSigPipe, sent_by(writer->pid, false));
    }
  }

 private:
  sched::WaitQueue queue_;
};

constinit KernelPipeWaiter kernel_waiter;

}  // namespace

void init_pipe_waiter() { fs::set_pipe_waiter(&kernel_waiter); }

}  // namespace ferrite::proc
