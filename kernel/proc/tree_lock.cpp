// The kernel's TreeLock (see fs/tree.h): a sched::Mutex that its owner may take again. Nesting
// is how fs/ uses it (drop() inside close's section, lookup inside a system call's), and one
// owner check decides it: only the owner itself can have set the owner to itself. It sleeps, so
// it lives with the processes; a lock taken before the scheduler runs (boot) is no lock at all.
#include "proc/tree_lock.h"

#include <cstdint>

#include "fs/tree.h"
#include "sched/scheduler.h"
#include "sched/sync.h"

namespace ferrite::proc {

namespace {

class KernelTreeLock final : public fs::TreeLock {
 public:
  void lock() override {
    if (!sched::running()) return;
    if (!mutex_.held_by_current()) mutex_.lock();
    ++depth_;
  }
  void unlock() override {
    if (!sched::running() || depth_ == 0) return;
    if (--depth_ == 0) mutex_.unlock();
  }

 private:
  sched::Mutex mutex_{"tree"};
  std::uint32_t depth_ = 0;  // the owner's nested sections; 0 when free
};

constinit KernelTreeLock kernel_tree_lock;

}  // namespace

void init_tree_lock() { fs::set_tree_lock(&kernel_tree_lock); }

}  // namespace ferrite::proc
