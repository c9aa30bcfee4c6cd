// The kernel side of the blocking primitives (sched/sync.h): the owner checks' report. The
// primitives themselves are sched/sync_policy.h, bound to the scheduler in sync.h.
#include "sched/sync.h"

#include <atomic>

#include "lib/log.h"

namespace ferrite::sched {

namespace {
constinit std::atomic<std::uint64_t> misuses{0};
}  // namespace

void KernelSyncEnv::report(std::string_view name, MutexMisuse misuse) {
  misuses.fetch_add(1, std::memory_order_relaxed);
  const Thread& self = current();
  log::error("mutex \"{}\": {} (thread {} \"{}\")", name, to_string(misuse), self.id, self.name_view());
}

std::uint64_t mutex_misuse_count() { return misuses.load(std::memory_order_relaxed); }

}  // namespace ferrite::sched
