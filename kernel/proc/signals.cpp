// Sending signals (see signals.h): pending bits, the thread's mark, the interruptible wait.
#include "proc/signals.h"

#include "sched/scheduler.h"
#include "sched/sync.h"
#include "sync/spinlock.h"

namespace ferrite::proc {

void update_signal_mark_locked(Process& process) {
  if (process.thread == nullptr) return;
  process.thread->signal_pending = process.signals.deliverable() != 0;
}

void send_signal(Process& target, int signal) {
  if (!valid_signal(signal)) return;
  sync::InterruptGuard no_interrupts;
  if (target.exiting || target.thread == nullptr) return;
  if (!target.signals.post(signal)) return;
  update_signal_mark_locked(target);
  if (target.thread->signal_pending) sched::interrupt_wait_locked<sched::KernelSyncEnv>(*target.thread);
}

Pid process_group_of(const Process& process) {
  return process.pid;  // procs' pgid replaces this at the merge
}

std::size_t send_signal_to_group(Pid pgid, int signal) {
  struct Context {
    Pid pgid;
    int signal;
    std::size_t count;
  } context{pgid, signal, 0};
  for_each_process(
      [](Process& process, void* raw) {
        auto& c = *static_cast<Context*>(raw);
        if (process_group_of(process) != c.pgid) return true;
        send_signal(process, c.signal);
        ++c.count;
        return true;
      },
      &context);
  return context.count;
}

bool signal_pending() {
  if (!sched::running()) return false;
  sched::Thread& self = sched::current();
  return self.owner != nullptr && self.signal_pending;
}

}  // namespace ferrite::proc
