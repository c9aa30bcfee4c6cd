// The process's own system calls (chapter 14): exit, its IDs, the FS base for thread-local
// storage, the calls libc start-up makes (set_tid_address, set_robust_list), signal dispositions
// and masks (recorded here; delivering signals is chapter 15) and resource limits.
#include <algorithm>
#include <array>
#include <new>
#include <optional>

#include "abi/linux_types.h"
#include "exec/script.h"
#include "fs/fd_table.h"
#include "fs/file.h"
#include "proc/signal.h"
#include "proc/spawn.h"
#include "sched/cpu_time.h"
#include "sync/spinlock.h"
#include "syscall/handlers.h"
#include "syscall/machine.h"

namespace ferrite::syscall {

namespace {

using abi::Errno;
}  // namespace

// exit and exit_group: one thread per process, so both end the process. The status is the
// low 8 bits, in wait()'s encoding (code << 8).
Result sys_exit(proc::Process&, const Arguments& a) {
  proc::exit_current(proc::exit_wait_status(static_cast<std::int32_t>(a.arg[0])));
}

Result sys_getpid(proc::Process& process, const Arguments&) {
  return process.pid;
}
Result sys_getppid(proc::Process& process, const Arguments&) {
  return process.parent;
}
Result sys_gettid(proc::Process& process, const Arguments&) {
  return process.pid;
}  // one thread
Result sys_getuid(proc::Process&, const Arguments&) {
  return 0;
}  // root, and the same for gid

// getgroups(size, list): root's supplementary groups, as a root login has them: just 0. Size 0
// asks only for the count; a list too small for it is EINVAL.
Result sys_getgroups(proc::Process&, const Arguments& a) {
  const auto size = static_cast<std::int32_t>(a.arg[0]);
  if (size == 0) return 1;
  if (size < 1) return std::unexpected(Errno::einval);
  if (auto copied = copy_out<std::uint32_t>(a.arg[1], 0); !copied)
    return std::unexpected(copied.error());
  return 1;
}

// umask(mask): sets the process's file-mode creation mask (the 0777 bits of it) and returns the
// old one, as Linux.
Result sys_umask(proc::Process& process, const Arguments& a) {
  const std::uint32_t old = process.umask;
  process.umask = static_cast<std::uint32_t>(a.arg[0]) & 0777;
  return old;
}

// getpgid(pid) / getsid(pid): 0 is the caller.
Result sys_getpgid(proc::Process& process, const Arguments& a) {
  const auto pid = static_cast<std::int32_t>(a.arg[0]);
  const proc::Process* target = pid == 0 ? &process : proc::find_process(pid);
  if (target == nullptr) return std::unexpected(Errno::esrch);
  return target->pgid;
}
Result sys_getpgrp(proc::Process& process, const Arguments&) { return process.pgid; }
Result sys_getsid(proc::Process& process, const Arguments& a) {
  const auto pid = static_cast<std::int32_t>(a.arg[0]);
  const proc::Process* target = pid == 0 ? &process : proc::find_process(pid);
  if (target == nullptr) return std::unexpected(Errno::esrch);
  return target->sid;
}
Result sys_setpgid(proc::Process& process, const Arguments& a) {
  if (auto set = proc::set_process_group(process, static_cast<std::int32_t>(a.arg[0]),
                                         static_cast<std::int32_t>(a.arg[1]));
      !set)
    return std::unexpected(set.error());
  return 0;
}
Result sys_setsid(proc::Process& process, const Arguments&) {
  const auto sid = proc::new_session(process);
  if (!sid) return std::unexpected(sid.error());
  return *sid;
}

// ---- Chapter 15: fork, exec, wait --------------------------------------------------------------

namespace {
// clone(2) flags (<linux/sched.h>) that fork-like use needs.
constexpr std::uint64_t kCloneVm = 0x100, kCloneFs = 0x200, kCloneFiles = 0x400,
                        kCloneSighand = 0x800, kCloneVfork = 0x4000, kCloneThread = 0x10000,
                        kCloneParentSettid = 0x100000, kCloneChildCleartid = 0x200000,
                        kCloneChildSettid = 0x1000000, kCloneSettls = 0x80000;
constexpr std::uint64_t kSigchld = 17;
// wait options (<linux/wait.h>).
constexpr std::uint64_t kWnohang = 1, kWexited = 4, kWnowait = 0x01000000, kWstopped = 2,
                        kWcontinued = 8, kWall = 0x40000000, kWclone = 0x80000000,
                        kWnothread = 0x20000000;
// waitid's idtype.
constexpr std::uint64_t kPAll = 0, kPPid = 1, kPPgid = 2;

Result fork_result(const std::expected<proc::Pid, Errno>& pid) {
  if (!pid) return std::unexpected(pid.error());
  return *pid;
}
}  // namespace

Result sys_fork(proc::Process&, const Arguments&) {
  return fork_result(proc::fork_current(0, 0, false, false, false));
}

// vfork: the child runs in the parent's memory, on the parent's stack, while the parent sleeps
// until the child execs or exits (CLONE_VM | CLONE_VFORK). Nothing is copied: the cheapest way
// to start a program, which is why shells and posix_spawn use it.
Result sys_vfork(proc::Process&, const Arguments&) {
  return fork_result(proc::fork_current(0, 0, false, true, true));
}

// clone(flags, stack, parent_tid, child_tid, tls): the fork-like uses — glibc's fork
// (CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD) and posix_spawn/vfork
// (CLONE_VM|CLONE_VFORK|SIGCHLD, with a stack). CLONE_VM shares the parent's address space, as
// vfork does; CLONE_VFORK makes the parent wait for the child's exec or exit (without CLONE_VM:
// a copy-on-write copy, the parent still waits). Threads (CLONE_THREAD, CLONE_VM without
// CLONE_VFORK) are not supported: EINVAL.
Result sys_clone(proc::Process& process, const Arguments& a) {
  const std::uint64_t flags = a.arg[0], stack = a.arg[1], parent_tid = a.arg[2],
                      child_tid = a.arg[3];
  if ((flags & (kCloneThread | kCloneSighand | kCloneSettls)) != 0) return std::unexpected(Errno::einval);
  if ((flags & kCloneVm) != 0 && (flags & kCloneVfork) == 0) return std::unexpected(Errno::einval);
  if ((flags & 0xFF) != kSigchld && (flags & 0xFF) != 0) return std::unexpected(Errno::einval);
  (void)kCloneFs;
  (void)kCloneFiles;
  const auto pid = proc::fork_current(stack, (flags & kCloneChildSettid) != 0 ? child_tid : 0,
                                      (flags & kCloneChildCleartid) != 0,
                                      (flags & kCloneVfork) != 0, (flags & kCloneVm) != 0);
  if (pid && (flags & kCloneParentSettid) != 0) {
    (void)copy_out(parent_tid, static_cast<std::int32_t>(*pid));
  }
  (void)process;
  return fork_result(pid);
}

namespace {
// The files an execve reads as program and interpreters: held (an unlink meanwhile must not free
// them) and closed to writers (ETXTBSY, as Linux's deny_write_access) until it is done with their
// bytes — execve sleeps on its way (copying arguments, mapping the new image), and another
// process's rm, cp or truncate meanwhile freed the bytes it was reading: a kernel page fault.
class PinnedImages {
 public:
  PinnedImages() = default;
  PinnedImages(const PinnedImages&) = delete;
  PinnedImages& operator=(const PinnedImages&) = delete;
  ~PinnedImages() {
    for (std::size_t i = 0; i < count_; ++i) fs::allow_write_access(nodes_[i]);
  }
  std::expected<void, Errno> pin(fs::Node* node) {
    if (count_ == nodes_.size()) return std::unexpected(Errno::eloop);
    if (auto denied = fs::deny_write_access(node); !denied) return denied;
    nodes_[count_++] = node;
    return {};
  }

 private:
  std::array<fs::Node*, exec::kMaxInterpreterDepth + 1> nodes_{};  // the program, its interpreters
  std::size_t count_ = 0;
};

// argv/envp of an execve, copied in, in pieces: the strings in blocks of 64 KiB (a string that
// does not fit what is left gets a new block, its own size if it is longer: at most 128 KiB), and
// their views in blocks of 4096. Linux's limits (exec/initial_stack.h: 2 MiB of strings and
// pointers, 128 KiB a string) are checked as each string arrives, so an argv past them fails
// with E2BIG before it has taken much memory, and no allocation is larger than 128 KiB.
class ExecArguments {
 public:
  ExecArguments() = default;
  ExecArguments(const ExecArguments&) = delete;
  ExecArguments& operator=(const ExecArguments&) = delete;
  ~ExecArguments() {
    // Sized deletes: the kernel has no other kind (mm/heap.cpp).
    for (std::size_t i = 0; i < text_block_count_; ++i)
      ::operator delete(text_blocks_[i].bytes, text_blocks_[i].size);
    for (std::size_t i = 0; i < view_block_count_; ++i)
      ::operator delete(view_blocks_[i], kViewBlockBytes);
  }

  // Reads the NULL-terminated array at `address` (NULL: empty).
  std::expected<exec::StringList, Errno> read_vector(std::uint64_t address) {
    const std::size_t first = view_count_;
    for (std::size_t i = 0; address != 0; ++i) {
      const auto pointer = copy_in<std::uint64_t>(address + 8 * i);
      if (!pointer) return std::unexpected(pointer.error());
      if (*pointer == 0) break;
      const auto text = copy_string(*pointer);
      if (!text) return std::unexpected(text.error());
      if (!add_view(*text)) return std::unexpected(Errno::enomem);
    }
    return list_of(first, view_count_, {});
  }

  // A script's argv (binfmt_script): [interpreter, argument if any, the script's path,
  // argv[1]...] — the script's own argv[0] is dropped. argv[1]... are not copied again: the new
  // list's pieces are the (at most three) new strings, then `argv`'s pieces without its first.
  std::expected<exec::StringList, Errno> script_vector(const exec::InterpreterLine& line,
                                                       std::string_view script,
                                                       const exec::StringList& argv) {
    if (scripts_ == kMaxScripts) return std::unexpected(Errno::eloop);
    std::string_view* prefix = script_prefixes_[scripts_++];
    std::size_t count = 0;
    for (std::string_view text : {line.interpreter, line.argument}) {
      if (text.empty() && count == 1) continue;  // no argument
      char* copy = room(text.size() + 1);
      if (copy == nullptr) return std::unexpected(Errno::enomem);
      std::copy_n(text.data(), text.size(), copy);
      copy[text.size()] = '\0';
      prefix[count++] = std::string_view(copy, text.size());
    }
    prefix[count++] = script;
    return list_of(0, 0, {prefix, count}, &argv);
  }

 private:
  static constexpr std::size_t kBlockBytes = 64 * 1024;
  static constexpr std::size_t kViewsPerBlock = 4096;
  static constexpr std::size_t kViewBlockBytes = kViewsPerBlock * sizeof(std::string_view);
  // Strings of just over half a block leave almost half of each block empty: twice the bytes.
  static constexpr std::size_t kMaxTextBlocks = 2 * exec::kMaxArgBytes / kBlockBytes + 8;
  static constexpr std::size_t kMaxViewBlocks =
      exec::kMaxArgBytes / exec::argument_cost(0) / kViewsPerBlock + 2;
  static constexpr int kMaxScripts = exec::kMaxInterpreterDepth;
  static constexpr std::size_t kMaxLists = 2 + kMaxScripts;
  static constexpr std::size_t kMaxPieces = kMaxLists * (kMaxViewBlocks + 2) + kMaxScripts;

  struct TextBlock {
    char* bytes = nullptr;
    std::size_t size = 0;
    std::size_t used = 0;
  };

  // `bytes` in the current text block, or in a new one (at least kBlockBytes); nullptr when
  // memory is out.
  char* room(std::size_t bytes) {
    if (text_block_count_ == 0 || text_blocks_[text_block_count_ - 1].size -
                                          text_blocks_[text_block_count_ - 1].used < bytes) {
      if (text_block_count_ == kMaxTextBlocks) return nullptr;
      const std::size_t size = bytes > kBlockBytes ? bytes : kBlockBytes;
      auto* block = static_cast<char*>(::operator new(size, std::nothrow));
      if (block == nullptr) return nullptr;
      text_blocks_[text_block_count_++] = {block, size, 0};
    }
    TextBlock& block = text_blocks_[text_block_count_ - 1];
    char* at = block.bytes + block.used;
    block.used += bytes;
    return at;
  }

  // One user string into the text blocks: E2BIG past 128 KiB (its NUL included) or past what is
  // left of the 2 MiB, EFAULT for a bad pointer.
  std::expected<std::string_view, Errno> copy_string(std::uint64_t address) {
    if (budget_ < exec::argument_cost(0)) return std::unexpected(Errno::e2big);
    std::size_t most = budget_ - 8;  // the string and its NUL, its pointer kept back
    if (most > exec::kMaxArgStringLength) most = exec::kMaxArgStringLength;
    // Into what is left of the current block if it fits there; else into a block of its own.
    if (text_block_count_ > 0) {
      TextBlock& block = text_blocks_[text_block_count_ - 1];
      const std::size_t left = block.size - block.used;
      if (left > 1) {
        const auto length =
            mm::copy_string_from_user(block.bytes + block.used, address, left < most ? left : most);
        if (length) return take(block, *length);
        if (length.error() != Errno::enametoolong) return std::unexpected(length.error());
        if (left >= most) return std::unexpected(Errno::e2big);
      }
    }
    if (room(most) == nullptr) return std::unexpected(Errno::enomem);
    TextBlock& block = text_blocks_[text_block_count_ - 1];
    block.used -= most;  // room() took the most it may need; keep only what the string uses
    const auto length = mm::copy_string_from_user(block.bytes + block.used, address, most);
    if (!length) {
      return std::unexpected(length.error() == Errno::enametoolong ? Errno::e2big
                                                                   : length.error());
    }
    return take(block, *length);
  }
  std::string_view take(TextBlock& block, std::size_t length) {
    const std::string_view text(block.bytes + block.used, length);
    block.used += length + 1;
    budget_ -= exec::argument_cost(length);
    return text;
  }

  bool add_view(std::string_view text) {
    if (view_count_ == view_block_count_ * kViewsPerBlock) {
      if (view_block_count_ == kMaxViewBlocks) return false;
      auto* block = static_cast<std::string_view*>(::operator new(kViewBlockBytes, std::nothrow));
      if (block == nullptr) return false;
      view_blocks_[view_block_count_++] = block;
    }
    new (&view_blocks_[view_count_ / kViewsPerBlock][view_count_ % kViewsPerBlock])
        std::string_view(text);
    ++view_count_;
    return true;
  }

  // The list of views [first, end), after `prefix`, then `rest`'s strings but its first.
  exec::StringList list_of(std::size_t first, std::size_t end,
                           std::span<const std::string_view> prefix,
                           const exec::StringList* rest = nullptr) {
    std::span<const std::string_view>* start = pieces_ + piece_count_;
    if (!prefix.empty()) pieces_[piece_count_++] = prefix;
    while (first < end) {
      const std::size_t in_block = first % kViewsPerBlock;
      std::size_t count = kViewsPerBlock - in_block;
      if (count > end - first) count = end - first;
      pieces_[piece_count_++] = {view_blocks_[first / kViewsPerBlock] + in_block, count};
      first += count;
    }
    if (rest != nullptr) {
      bool skipped = false;
      for (std::span<const std::string_view> piece : rest->pieces()) {
        if (!skipped && !piece.empty()) {
          piece = piece.subspan(1);
          skipped = true;
        }
        if (!piece.empty()) pieces_[piece_count_++] = piece;
      }
    }
    return exec::StringList({start, pieces_ + piece_count_});
  }

  std::size_t budget_ = exec::kMaxArgBytes;  // what argv and envp may still use
  TextBlock text_blocks_[kMaxTextBlocks];
  std::size_t text_block_count_ = 0;
  std::string_view* view_blocks_[kMaxViewBlocks] = {};
  std::size_t view_block_count_ = 0;
  std::size_t view_count_ = 0;
  std::string_view script_prefixes_[kMaxScripts][3];
  int scripts_ = 0;
  std::span<const std::string_view> pieces_[kMaxPieces];
  std::size_t piece_count_ = 0;
};

// The file execve may run: a regular file with an execute bit (even root needs one: Linux's
// do_open_execat and MAY_EXEC), checked before its format.
std::expected<void, Errno> executable(const fs::Node& node) {
  if (node.type != fs::NodeType::regular) return std::unexpected(Errno::eacces);
  if ((node.mode & 0111) == 0) return std::unexpected(Errno::eacces);
  return {};
}

std::string_view text_of(const fs::Node& node) {
  return {reinterpret_cast<const char*>(node.data.data()), node.data.size()};
}
}  // namespace

// execve(path, argv, envp). A "#!" script runs its interpreter (exec/script.h), which must be
// an executable file too (ENOENT if missing, EACCES without an execute bit); the program keeps
// the script's path as its name, as on Linux.
Result sys_execve(proc::Process& process, const Arguments& a) {
  UserPath path;
  const auto name = path.read(a.arg[0]);
  if (!name) return std::unexpected(name.error());
  if (name->empty()) return std::unexpected(Errno::enoent);
  PinnedImages pinned;
  // The lookup and the pin, one step under the tree lock (fs/tree.h): an rm between them would
  // free the node found.
  std::optional<fs::TreeGuard> guard(std::in_place);
  const auto node = resolve(process, abi::kAtFdcwd, *name, fs::FollowLast::yes);
  if (!node) return std::unexpected(node.error());
  // Permission before format, as Linux: a file with an execute bit that is not an ELF (nor a
  // script) is ENOEXEC later.
  if (auto ok = executable(**node); !ok) return std::unexpected(ok.error());
  if (auto ok = pinned.pin(*node); !ok) return std::unexpected(ok.error());
  guard.reset();
  auto* arguments = new (std::nothrow) ExecArguments;
  if (arguments == nullptr) return std::unexpected(Errno::enomem);
  const auto run = [&]() -> Result {
    auto argv = arguments->read_vector(a.arg[1]);
    if (!argv) return std::unexpected(argv.error());
    const auto envp = arguments->read_vector(a.arg[2]);
    if (!envp) return std::unexpected(envp.error());
    const fs::Node* image = *node;
    std::string_view file_name = *name;  // what the interpreter is given: the script's path
    for (int depth = 0;; ++depth) {
      const auto line = exec::interpreter_line(text_of(*image));
      if (!line) break;
      if (depth == exec::kMaxInterpreterDepth) return std::unexpected(Errno::eloop);
      if (line->interpreter.empty()) return std::unexpected(Errno::enoexec);
      argv = arguments->script_vector(*line, file_name, *argv);
      if (!argv) return std::unexpected(argv.error());
      file_name = (*argv)[0];  // the interpreter, copied: the next round's script
      const fs::TreeGuard interpreter_guard;  // as above: the lookup and the pin
      const auto interpreter = resolve(process, abi::kAtFdcwd, file_name, fs::FollowLast::yes);
      if (!interpreter) return std::unexpected(interpreter.error());
      if (auto ok = executable(**interpreter); !ok) return std::unexpected(ok.error());
      if (auto ok = pinned.pin(*interpreter); !ok) return std::unexpected(ok.error());
      image = *interpreter;
    }
    if (auto done = proc::exec_current(*name, image->data, *argv, *envp); !done) {
      return std::unexpected(done.error());
    }
    return 0;
  };
  Result result = run();
  delete arguments;
  return result;
}

namespace {
Result finish_wait(const std::expected<proc::WaitResult, Errno>& waited, std::uint64_t status_address) {
  if (!waited) return std::unexpected(waited.error());
  if (waited->pid != 0 && status_address != 0) {
    if (auto copied = copy_out(status_address, waited->status); !copied)
      return std::unexpected(copied.error());
  }
  return waited->pid;
}
}  // namespace

// ---- Chapter 15: CPU time ----------------------------------------------------------------------

namespace {
abi::Timeval to_timeval(std::uint64_t ns) {
  const sched::SecondsAndMicros time = sched::to_seconds_and_micros(ns);
  return {time.seconds, time.micros};
}

// struct rusage from what the process layer counts: times, minor faults, peak resident set. The
// rest (block I/O, IPC messages, swaps) ferrite does not have: 0, as on Linux.
abi::Rusage to_rusage(const proc::ResourceUsage& usage) {
  abi::Rusage out{};
  out.ru_utime = to_timeval(usage.cpu.user_ns);
  out.ru_stime = to_timeval(usage.cpu.system_ns);
  out.ru_maxrss = static_cast<std::int64_t>(usage.max_rss_kib);
  out.ru_minflt = static_cast<std::int64_t>(usage.minor_faults);
  return out;
}

// wait4's and waitid's rusage: written only when a child was reported, after the wait, as
// Linux does (a bad pointer then is EFAULT, and the child is reaped all the same).
std::expected<void, Errno> write_child_usage(const std::expected<proc::WaitResult, Errno>& waited,
                                             std::uint64_t address) {
  if (!waited || waited->pid == 0 || address == 0) return {};
  return copy_out(address, to_rusage(waited->usage));
}
}  // namespace

// times(buf): the process's and its reaped children's user and system time in clock ticks
// (USER_HZ), and the clock ticks since boot as the result (Linux: since boot less 5 minutes, an
// arbitrary start either way). `buf` may be NULL.
Result sys_times(proc::Process& process, const Arguments& a) {
  if (a.arg[0] != 0) {
    const proc::ClockTickTimes t = proc::cpu_clock_ticks(process);
    const abi::Tms tms{static_cast<std::int64_t>(t.utime), static_cast<std::int64_t>(t.stime),
                       static_cast<std::int64_t>(t.cutime), static_cast<std::int64_t>(t.cstime)};
    if (auto copied = copy_out(a.arg[0], tms); !copied) return std::unexpected(copied.error());
  }
  return static_cast<std::int64_t>(sched::to_clock_ticks(machine::monotonic_ns()));
}

// getrusage(who, usage): RUSAGE_SELF, RUSAGE_CHILDREN or RUSAGE_THREAD; any other `who`
// (RUSAGE_BOTH too, which only wait4 uses inside Linux) is EINVAL.
Result sys_getrusage(proc::Process& process, const Arguments& a) {
  proc::UsageOf who = proc::UsageOf::self;
  switch (static_cast<std::int32_t>(a.arg[0])) {
    case abi::kRusageSelf: who = proc::UsageOf::self; break;
    case abi::kRusageChildren: who = proc::UsageOf::children; break;
    case abi::kRusageThread: who = proc::UsageOf::thread; break;
    default: return std::unexpected(Errno::einval);
  }
  if (auto copied = copy_out(a.arg[1], to_rusage(proc::resource_usage(process, who))); !copied)
    return std::unexpected(copied.error());
  return 0;
}

// wait4(pid, status, options, rusage): rusage is the reported child's, its reaped children's
// included (Linux's RUSAGE_BOTH).
Result sys_wait4(proc::Process& process, const Arguments& a) {
  const std::uint64_t options = a.arg[2];
  if ((options & ~(kWnohang | kWstopped | kWcontinued | kWall | kWclone | kWnothread)) != 0)
    return std::unexpected(Errno::einval);
  // WUNTRACED (= WSTOPPED) and WCONTINUED add the job-control reports to the ended children.
  const proc::WaitOptions wanted{.no_hang = (options & kWnohang) != 0,
                                 .stopped = (options & kWstopped) != 0,
                                 .continued = (options & kWcontinued) != 0};
  const auto waited = proc::wait_child(process, static_cast<std::int32_t>(a.arg[0]), wanted);
  Result result = finish_wait(waited, a.arg[1]);
  if (!result) return result;
  if (auto written = write_child_usage(waited, a.arg[3]); !written)
    return std::unexpected(written.error());
  return result;
}

// waitid(idtype, id, infop, options, rusage): WEXITED, WSTOPPED, WCONTINUED as asked; WNOWAIT
// leaves what it reports to be reported again. infop's si_code says which (CLD_EXITED...
// CLD_STOPPED, CLD_CONTINUED); rusage is wait4's.
Result sys_waitid(proc::Process& process, const Arguments& a) {
  const std::uint64_t idtype = a.arg[0], options = a.arg[3];
  if ((options & (kWexited | kWstopped | kWcontinued)) == 0) return std::unexpected(Errno::einval);
  proc::Pid pid = -1;
  if (idtype == kPPid) {
    pid = static_cast<std::int32_t>(a.arg[1]);
    if (pid <= 0) return std::unexpected(Errno::einval);
  } else if (idtype == kPPgid) {
    pid = a.arg[1] == 0 ? 0 : -static_cast<std::int32_t>(a.arg[1]);
  } else if (idtype != kPAll) {
    return std::unexpected(Errno::einval);
  }
  const proc::WaitOptions wanted{.no_hang = (options & kWnohang) != 0,
                                 .consume = (options & kWnowait) == 0,
                                 .exited = (options & kWexited) != 0,
                                 .stopped = (options & kWstopped) != 0,
                                 .continued = (options & kWcontinued) != 0};
  const auto waited = proc::wait_child(process, pid, wanted);
  if (!waited) return std::unexpected(waited.error());
  if (auto written = write_child_usage(waited, a.arg[4]); !written)
    return std::unexpected(written.error());
  if (a.arg[2] != 0) {
    // The siginfo_t SIGCHLD would carry for this child (proc/signal.h); all zero for WNOHANG
    // with none ended.
    arch::SigInfo info{};
    if (waited->pid != 0)
      info = proc::linux_siginfo(proc::kSigChld, proc::child_ended(waited->pid, waited->status));
    if (auto copied = copy_out(a.arg[2], info); !copied) return std::unexpected(copied.error());
  }
  return 0;
}

// The descriptor table's share of fork and exec: the files branch's FdTable hooks.
bool clone_files(const proc::Process& parent, proc::Process& child) {
  child.files = parent.files != nullptr ? parent.files->clone() : new (std::nothrow) fs::FdTable;
  if (child.files == nullptr) return false;
  fs::hold(child.cwd);  // the parent's current directory, which the child starts in
  return true;
}

void close_on_exec_files(proc::Process& process) {
  if (process.files != nullptr) process.files->close_on_exec_all();
}

// arch_prctl: musl and glibc point %fs at the thread's TLS block with ARCH_SET_FS before any
// thread-local variable (errno!) is touched. The base is kept in the process, so the context
// switch restores it, and loaded into IA32_FS_BASE now.
Result sys_arch_prctl(proc::Process& process, const Arguments& a) {
  switch (a.arg[0]) {
    case abi::kArchSetFs:
      // Linux refuses a base outside the user half with EPERM (do_arch_prctl_64).
      if (a.arg[1] >= mm::kUserEnd) return std::unexpected(Errno::eperm);
      process.fs_base = a.arg[1];
      machine::set_fs_base(a.arg[1]);
      return 0;
    case abi::kArchGetFs:
      if (auto copied = copy_out(a.arg[1], process.fs_base); !copied)
        return std::unexpected(copied.error());
      return 0;
    default:
      return std::unexpected(Errno::einval);  // GS belongs to the kernel (swapgs)
  }
}

// set_tid_address: where to clear the thread ID and futex-wake at exit (for pthread_join).
// Recorded; returns the caller's thread ID.
Result sys_set_tid_address(proc::Process& process, const Arguments& a) {
  process.clear_child_tid = a.arg[0];
  return process.pid;
}

// set_robust_list: the list of robust futexes to release at exit. With one thread per process
// nobody could be waiting on them; the length must still be sizeof(struct robust_list_head).
Result sys_set_robust_list(proc::Process&, const Arguments& a) {
  constexpr std::uint64_t kRobustListHeadBytes = 24;
  if (a.arg[1] != kRobustListHeadBytes) return std::unexpected(Errno::einval);
  return 0;
}

// prlimit64(pid, resource, new, old): the limits ferrite really has — the 8 MiB stack and the
// 64-descriptor table — and "unlimited" for the rest. New limits are accepted and not enforced.
Result sys_prlimit64(proc::Process& process, const Arguments& a) {
  const auto pid = static_cast<std::int32_t>(a.arg[0]);
  const std::uint64_t resource = a.arg[1], new_limit = a.arg[2], old_limit = a.arg[3];
  if (pid != 0 && pid != process.pid) return std::unexpected(Errno::esrch);
  if (resource >= abi::kRlimitCount) return std::unexpected(Errno::einval);
  if (new_limit != 0) {
    const auto read = copy_in<abi::Rlimit64>(new_limit);
    if (!read) return std::unexpected(read.error());
    if (read->rlim_cur > read->rlim_max) return std::unexpected(Errno::einval);
  }
  if (old_limit != 0) {
    abi::Rlimit64 limit{abi::kRlimInfinity, abi::kRlimInfinity};
    if (resource == abi::kRlimitStack) limit.rlim_cur = mm::kUserStackBytes;
    if (resource == abi::kRlimitNofile)
      limit = {fs::FdTable::kMaxDescriptors, fs::FdTable::kMaxDescriptors};
    if (auto copied = copy_out(old_limit, limit); !copied) return std::unexpected(copied.error());
  }
  return 0;
}

}  // namespace ferrite::syscall
