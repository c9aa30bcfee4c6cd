// The host stand-ins of fake_kernel.h.
#include "fake_kernel.h"

#include <cstring>
#include <utility>
#include <vector>

#include "fs/initramfs.h"
#include "mm/address_space.h"
#include "mm/user_copy.h"
#include "proc/process.h"
#include "proc/process_groups.h"
#include "proc/signals.h"
#include "proc/spawn.h"
#include "sched/cpu_time.h"
#include "syscall/machine.h"

namespace ferrite::testing {

namespace {

struct Range {
  std::uint64_t start, end;
};
std::vector<Range>& user_ranges() {
  static std::vector<Range> ranges;
  return ranges;
}

// Whether [address, address + bytes) lies within one registered buffer.
bool is_user(std::uint64_t address, std::size_t bytes) {
  std::uint64_t end = 0;
  if (__builtin_add_overflow(address, bytes, &end)) return false;
  for (const Range& range : user_ranges()) {
    if (address >= range.start && end <= range.end) return true;
  }
  return false;
}

fs::Tree* the_tree = nullptr;

}  // namespace

void map_user(const void* host, std::size_t bytes) {
  const auto start = user_address(host);
  user_ranges().push_back({start, start + bytes});
}
void unmap_all_user() {
  user_ranges().clear();
}
void set_initramfs(fs::Tree* tree) {
  the_tree = tree;
}

std::vector<proc::Process*>& processes() {
  static std::vector<proc::Process*> list;
  return list;
}

FakeMachine& machine() {
  static FakeMachine state;
  return state;
}

FakeAddressSpace& address_space_calls() {
  static FakeAddressSpace state;
  return state;
}

std::optional<ExecCall>& last_exec() {
  static std::optional<ExecCall> call;
  return call;
}

std::optional<proc::WaitResult>& next_wait() {
  static std::optional<proc::WaitResult> result;
  return result;
}

std::function<void()>& during_exec() {
  static std::function<void()> hook;
  return hook;
}

}  // namespace ferrite::testing

namespace ferrite::fs {
Tree* initramfs() {
  return testing::the_tree;
}
}  // namespace ferrite::fs

namespace ferrite::mm {

std::expected<void, abi::Errno> copy_from_user(void* to, std::uint64_t from, std::size_t bytes) {
  if (!testing::is_user(from, bytes)) return std::unexpected(abi::Errno::efault);
  std::memcpy(to, reinterpret_cast<const void*>(from), bytes);
  return {};
}

std::expected<void, abi::Errno> copy_to_user(std::uint64_t to, const void* from,
                                             std::size_t bytes) {
  if (!testing::is_user(to, bytes)) return std::unexpected(abi::Errno::efault);
  std::memcpy(reinterpret_cast<void*>(to), from, bytes);
  return {};
}

std::expected<std::size_t, abi::Errno> copy_string_from_user(char* to, std::uint64_t from,
                                                             std::size_t capacity) {
  for (std::size_t i = 0; i < capacity; ++i) {
    if (!testing::is_user(from + i, 1)) return std::unexpected(abi::Errno::efault);
    to[i] = *reinterpret_cast<const char*>(from + i);
    if (to[i] == '\0') return i;
  }
  return std::unexpected(abi::Errno::enametoolong);
}

// The address space records what it was asked; it has no pages.
std::expected<void, abi::Errno> AddressSpace::map_anonymous(std::uint64_t start,
                                                            std::uint64_t bytes,
                                                            std::uint32_t protection,
                                                            bool replace) {
  if (start % 4096 != 0 || bytes % 4096 != 0) return std::unexpected(abi::Errno::einval);
  for (const auto& m : testing::address_space_calls().mapped) {
    if (!replace && start < m.start + m.bytes && m.start < start + bytes) {
      return std::unexpected(abi::Errno::eexist);
    }
  }
  testing::address_space_calls().mapped.push_back({start, bytes, protection, replace});
  return {};
}
std::expected<std::uint64_t, abi::Errno> AddressSpace::map_anywhere(std::uint64_t bytes,
                                                                    std::uint32_t protection) {
  const std::uint64_t at = testing::address_space_calls().anywhere;
  testing::address_space_calls().mapped.push_back({at, bytes, protection, false});
  return at;
}
std::expected<void, abi::Errno> AddressSpace::unmap(std::uint64_t start, std::uint64_t bytes) {
  testing::address_space_calls().unmapped.emplace_back(start, bytes);
  return {};
}
std::expected<void, abi::Errno> AddressSpace::protect(std::uint64_t, std::uint64_t, std::uint32_t) {
  return {};
}
std::expected<std::uint64_t, abi::Errno> AddressSpace::remap(std::uint64_t old_start,
                                                             std::uint64_t old_bytes,
                                                             std::uint64_t new_bytes,
                                                             RemapOptions options) {
  auto& calls = testing::address_space_calls();
  calls.remapped.push_back({old_start, old_bytes, new_bytes, options.may_move, options.fixed,
                            options.keep_old, options.new_start});
  return options.fixed ? options.new_start : old_start;
}
std::expected<void, abi::Errno> AddressSpace::write_initial(std::uint64_t at,
                                                            std::span<const std::byte> data) {
  testing::address_space_calls().written.emplace_back(at, data.size());
  return {};
}
std::uint64_t AddressSpace::brk(std::uint64_t requested) {
  auto& calls = testing::address_space_calls();
  if (requested != 0) calls.break_value = requested;
  return calls.break_value;
}

}  // namespace ferrite::mm

namespace ferrite::proc {
Process* current() {
  return nullptr;
}
void exit_current(std::int32_t wait_status) {
  throw testing::ExitCalled{wait_status};
}
// The process tree (procs branch): not modelled here; the calls fail with ENOSYS (a link fix
// made while merging procs into signals: its syscall/process.cpp calls these).
std::expected<Pid, abi::Errno> fork_current(std::uint64_t, std::uint64_t, bool, bool, bool) {
  return std::unexpected(abi::Errno::enosys);
}
std::expected<void, abi::Errno> exec_current(std::string_view path, std::span<const std::byte> file,
                                             const exec::StringList& argv,
                                             const exec::StringList& envp) {
  if (testing::during_exec()) testing::during_exec()();
  testing::ExecCall call{std::string(path),
                         std::string(reinterpret_cast<const char*>(file.data()), file.size()),
                         {},
                         {}};
  for (std::size_t i = 0; i < argv.size(); ++i) call.argv.emplace_back(argv[i]);
  for (std::size_t i = 0; i < envp.size(); ++i) call.envp.emplace_back(envp[i]);
  testing::last_exec() = std::move(call);
  return std::unexpected(abi::Errno::enosys);
}
// The real timer as the process layer keeps it, without a tick: tests expire it themselves.
time::IntervalTimer exchange_real_timer(Process& process, const time::IntervalTimer& timer,
                                        bool replace) {
  const time::IntervalTimer old = process.real_timer;
  if (replace) process.real_timer = timer;
  return old;
}
std::expected<WaitResult, abi::Errno> wait_child(Process&, Pid, WaitOptions) {
  if (auto& next = testing::next_wait(); next) return *std::exchange(next, std::nullopt);
  return std::unexpected(abi::Errno::echild);
}
// Chapter 15: the usage the process's counts hold, on a 1 GHz TSC (a tick is a nanosecond); the
// fake has no live threads to add.
ResourceUsage resource_usage(const Process& process, UsageOf who) {
  UsageCounts counts = who == UsageOf::children ? process.children : process.own;
  if (who == UsageOf::both) counts.add(process.children);
  return {sched::to_times(counts.cpu, time::TscScale::from_hz(1'000'000'000)),
          counts.minor_faults, counts.max_rss_frames * 4};
}
std::expected<void, abi::Errno> set_process_group(Process&, Pid, Pid) {
  return std::unexpected(abi::Errno::enosys);
}
std::expected<Pid, abi::Errno> new_session(Process&) { return std::unexpected(abi::Errno::enosys); }
// Chapter 15's signal layer, as the signal system calls reach it: a table of the fake
// processes the tests register (testing::processes()), sending by recording.
void signals_changed(Process&) {}
bool change_signal_action(Process& process, std::int32_t signal, const SignalAction& action) {
  return process.signals.set_action(signal, action);
}
void send_signal(Process& target, int signal, const SignalInfo& from) {
  (void)target.signals.send(signal, from);
}
std::size_t send_signal_to_group(Pid pgid, int signal, const SignalInfo& from) {
  std::size_t count = 0;
  for (Process* p : testing::processes()) {
    if ((p->pgid != 0 ? p->pgid : p->pid) != pgid) continue;
    (void)p->signals.send(signal, from);
    ++count;
  }
  return count;
}
void for_each_process(bool (*visit)(Process&, void*), void* context) {
  for (Process* p : testing::processes()) {
    if (!visit(*p, context)) return;
  }
}
Process* find_process(Pid pid) {
  for (Process* p : testing::processes()) {
    if (p->pid == pid) return p;
  }
  return nullptr;
}
Pid process_group_of(const Process& process) { return process.pgid != 0 ? process.pgid : process.pid; }
// The kernel's rule (proc/process_groups.h) over the registered processes.
bool process_group_orphaned(Pid pgid) {
  std::vector<GroupMember> members;
  for (const Process* p : testing::processes()) {
    members.push_back({p->pid, p->parent, process_group_of(*p), p->sid, !p->zombie, p->signals.stopped});
  }
  return group_orphaned(members, pgid);
}
void notify_parent_locked(Process&, std::int32_t, std::int32_t) {}
void wake_child_waiters_locked() {}
std::int64_t signal_return(Process&) { throw testing::ExitCalled{kSigSegv}; }
void wait_for_signal(Process& process, const std::uint64_t* mask) {
  if (mask != nullptr) process.signals.set_blocked(*mask);
}
}  // namespace ferrite::proc

namespace ferrite::syscall::machine {
std::uint64_t monotonic_ns() {
  return testing::machine().monotonic_ns;
}
std::uint64_t realtime_at_boot_ns() {
  return testing::machine().realtime_at_boot_ns;
}
bool sleep_until_ns(std::uint64_t deadline_ns) {
  testing::machine().slept_until_ns = deadline_ns;
  return !testing::machine().interrupt_sleeps;
}
void yield() {
  ++testing::machine().yields;
}
void set_fs_base(std::uint64_t base) {
  testing::machine().fs_base = base;
}
void random_bytes(std::span<std::byte> out) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::byte>(i * 7 + 1);
}
MemoryFigures memory() {
  return {128ull << 20, 100ull << 20};
}
std::uint32_t process_count() {
  return 1;
}
log::Level console_level() {
  return testing::machine().console_level;
}
void set_console_level(log::Level level) {
  testing::machine().console_level = level;
}
void power_off() {
  ++testing::machine().power_offs;
}
void restart() {
  ++testing::machine().restarts;
}
}  // namespace ferrite::syscall::machine
