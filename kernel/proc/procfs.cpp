// /proc: the Generator behind the tree's generated nodes (fs/generated.h), reading the process
// table, the frame allocator, the heap and the clock. See procfs.h.
//
// What is where:
//   /proc                  a generated directory: fixed children meminfo, uptime, mounts, self
//                          (nodes of the tree, made by mount()), then one directory per process
//                          (lookup, entry below)
//   /proc/<pid>            a PidNodes bundle: the directory and its files stat, status, cmdline
//                          and exe, made on the first lookup of that PID
//   /proc/self             a link whose target is the reader's PID, made when it is followed
// Files are formatted by proc_text.h's functions into the open file's own buffer (a snapshot).
//
// Lifetime: a bundle lives while its process does (a zombie too, as on Linux) or while one of
// its nodes is held (an open file, a current directory: Node::open_count). When the process
// table releases a PID, forget() frees its bundle at once (Linux's proc_flush_pid); a bundle
// still held then goes at the first lookup or listing of /proc after its last holder let go
// (sweep). The list of bundles has a lock; the
// node a lookup returns does not: one CPU's lookup of a process that is reaped at that moment
// could, before the caller holds the node, see it swept by the other CPU's next /proc lookup — a
// window ferrite's other lock-free tree paths have too (fs/tree.h, "No lock").
#include "proc/procfs.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <optional>
#include <utility>

#include "fs/file.h"
#include "fs/generated.h"
#include "fs/initramfs.h"
#include "fs/tree.h"
#include "lib/format.h"
#include "mm/heap.h"
#include "mm/memory.h"
#include "proc/proc_text.h"
#include "proc/process.h"
#include "proc/spawn.h"
#include "sched/thread.h"
#include "sync/spinlock.h"
#include "time/clock.h"

namespace ferrite::proc::procfs {

namespace {

// Which node of /proc a node is: the low byte of Node::generator_data; a PID's files keep the
// PID above it.
enum class FileId : std::uint8_t {
  root,
  meminfo,
  uptime,
  mounts,
  self,
  pid_directory,
  stat,
  status,
  cmdline,
  exe
};

std::uintptr_t data_of(FileId id, Pid pid = 0) {
  return (static_cast<std::uintptr_t>(pid) << 8) | static_cast<std::uintptr_t>(id);
}
FileId id_of(const fs::Node& node) {
  return static_cast<FileId>(node.generator_data & 0xff);
}
Pid pid_of(const fs::Node& node) {
  return static_cast<Pid>(node.generator_data >> 8);
}

// Inodes of the per-process nodes: far above those the tree hands out from 1 up, 8 per PID.
constexpr std::uint64_t kPidInodeBase = std::uint64_t{1} << 40;
std::uint64_t inode_of(Pid pid, FileId id) {
  return kPidInodeBase + static_cast<std::uint64_t>(pid) * 8 +
         (static_cast<std::uint64_t>(id) - static_cast<std::uint64_t>(FileId::pid_directory));
}

std::optional<Pid> parse_pid(std::string_view name) {
  if (name.empty() || name.size() > 9 || name.front() == '0') return std::nullopt;
  Pid pid = 0;
  for (const char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

// ---- What a process's files say: copied out of the process table in one go.

struct ProcessView {
  text::ProcessStat stat;
  char comm[kProcessNameLength] = {};
  ProgramRecord program;
};

// A process's CPU times and faults, and its reaped children's: the process layer's counts
// (proc::resource_usage, stamped at the ring boundary), in stat's clock ticks.
void usage_of(const Process& p, text::ProcessStat& stat) {
  const ClockTickTimes ticks = cpu_clock_ticks(p);
  stat.utime_ticks = ticks.utime;
  stat.stime_ticks = ticks.stime;
  stat.cutime_ticks = ticks.cutime;
  stat.cstime_ticks = ticks.cstime;
  stat.minor_faults = resource_usage(p, UsageOf::self).minor_faults;
  stat.children_minor_faults = resource_usage(p, UsageOf::children).minor_faults;
}

char state_of(const Process& p) {
  if (p.zombie) return 'Z';
  if (p.signals.stopped) return 'T';
  if (&p == current() || p.thread == nullptr) return 'R';
  const sched::State state = p.thread->state;
  return state == sched::State::ready || state == sched::State::running ? 'R' : 'S';
}

std::uint64_t signal_mask_of(const SignalState& signals, std::uint64_t handler, bool equal) {
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < kSignalCount; ++i) {
    if ((signals.actions[i].handler == handler) == equal) mask |= std::uint64_t{1} << i;
  }
  return mask;
}

// The address space's size: its regions, read without its lock (a figure for ps; a concurrent
// mmap may make it a page off, never out of the region array).
std::uint64_t virtual_size_of(const mm::AddressSpace* space) {
  if (space == nullptr) return 0;
  std::uint64_t bytes = 0;
  for (const mm::Region& region : space->regions()) bytes += region.end - region.start;
  return bytes;
}

std::optional<ProcessView> view_of(Pid pid) {
  ProcessView view;
  sync::InterruptGuard no_interrupts;  // the process table's rule (find_process)
  const Process* found = find_process(pid);
  if (found == nullptr) return std::nullopt;
  const Process& p = *found;
  std::memcpy(view.comm, p.name, kProcessNameLength);
  view.comm[kProcessNameLength - 1] = '\0';
  view.program = p.program;
  text::ProcessStat& s = view.stat;
  s.pid = p.pid;
  s.state = state_of(p);
  s.ppid = p.parent;
  s.pgrp = p.pgid;
  s.session = p.sid;
  // The console is the one terminal: a process of the session it belongs to has it as its
  // controlling terminal (/dev/console, 5:1) and sees its foreground group.
  if (const fs::TerminalPort* terminal = fs::terminal();
      terminal != nullptr && p.sid != 0 && terminal->jobs.session.load() == p.sid) {
    const fs::DeviceNumbers console = fs::numbers_of(fs::Device::console);
    s.tty_nr = text::encode_tty(console.major, console.minor);
    s.tpgid = terminal->jobs.foreground.load();
  }
  usage_of(p, s);
  s.vsize_bytes = virtual_size_of(p.address_space);
  s.rss_pages = p.address_space != nullptr ? p.address_space->frames_in_use() : 0;
  s.signals_pending = p.signals.pending;
  s.signals_blocked = p.signals.blocked;
  s.signals_ignored = signal_mask_of(p.signals, kSigIgn, true);
  s.signals_caught =
      signal_mask_of(p.signals, kSigIgn, false) & ~signal_mask_of(p.signals, kSigDfl, true);
  s.umask = p.umask;
  return view;
}

// ---- /proc/<pid>: one bundle of nodes per process looked at.

struct PidNodes {
  Pid pid = 0;
  char name[12] = {};
  fs::Node directory, stat, status, cmdline, exe;
  char exe_target[ProgramRecord::kExecutableBytes] = {};
  PidNodes* next = nullptr;

  [[nodiscard]] bool held() const {
    return directory.open_count + stat.open_count + status.open_count + cmdline.open_count +
               exe.open_count >
           0;
  }
};

class ProcFs final : public fs::Generator {
 public:
  void set_root(fs::Node* root) { root_ = root; }

  std::expected<void, abi::Errno> generate(const fs::Node& file, lib::ByteBuffer& out) override {
    text::BufferSink sink(out);
    switch (id_of(file)) {
      case FileId::meminfo:
        text::write_meminfo(sink, memory_figures());
        break;
      case FileId::uptime:
        // Idle time is not summed yet (the idle thread's CPU time, sched/, would say it).
        text::write_uptime(sink, time::now_ns(), 0);
        break;
      case FileId::mounts: {
        // The root is the initramfs, unpacked where Linux's rootfs is; read-only in ferrite.
        constexpr text::Mount kMounts[] = {
            {"rootfs", "/", "rootfs", "ro"},
            {"proc", "/proc", "proc", "ro,nosuid,nodev,noexec,relatime"},
            {"tmpfs", "/tmp", "tmpfs", "rw,relatime"},
        };
        text::write_mounts(sink, kMounts);
        break;
      }
      case FileId::stat:
      case FileId::status:
      case FileId::cmdline: {
        const auto view = view_of(pid_of(file));
        if (!view)
          return std::unexpected(abi::Errno::enoent);  // ended and reaped: ESRCH on Linux's read
        if (id_of(file) == FileId::cmdline) {
          sink.write(view->program.command_line_view());
          break;
        }
        text::ProcessStat stat = view->stat;
        stat.comm = std::string_view(view->comm);
        if (id_of(file) == FileId::stat) {
          text::write_stat(sink, stat);
        } else {
          text::write_status(sink, stat);
        }
        break;
      }
      default:
        return std::unexpected(abi::Errno::eisdir);
    }
    return sink.result();
  }

  std::expected<std::string_view, abi::Errno> link_target(fs::Node& link) override {
    if (id_of(link) == FileId::self) {
      const Process* self = current();
      if (self == nullptr) return std::unexpected(abi::Errno::enoent);  // a kernel thread
      PidNodes* nodes = find_or_make(self->pid);
      if (nodes == nullptr) return std::unexpected(abi::Errno::enomem);
      return std::string_view(nodes->name);  // the bundle lives while its process does
    }
    if (id_of(link) == FileId::exe) {
      const auto view = view_of(pid_of(link));
      if (!view) return std::unexpected(abi::Errno::enoent);
      const std::string_view path = view->program.executable_view();
      if (path.empty()) return std::unexpected(abi::Errno::enoent);  // Linux: a kernel thread's
      sync::SpinlockGuard guard(lock_);
      PidNodes* nodes = find_locked(pid_of(link));
      if (nodes == nullptr) return std::unexpected(abi::Errno::enoent);
      std::memcpy(nodes->exe_target, path.data(), path.size());
      return std::string_view(nodes->exe_target, path.size());
    }
    return std::unexpected(abi::Errno::einval);
  }

  std::expected<fs::Node*, abi::Errno> lookup(fs::Node& directory, std::string_view name) override {
    if (id_of(directory) != FileId::root) return std::unexpected(abi::Errno::enoent);
    const auto pid = parse_pid(name);
    if (!pid) return std::unexpected(abi::Errno::enoent);
    sweep();
    if (find_process(*pid) == nullptr) return std::unexpected(abi::Errno::enoent);
    PidNodes* nodes = find_or_make(*pid);
    if (nodes == nullptr) return std::unexpected(abi::Errno::enomem);
    return &nodes->directory;
  }

  std::optional<fs::GeneratedEntry> entry(const fs::Node& directory,
                                          std::uint64_t position) override {
    if (id_of(directory) != FileId::root) return std::nullopt;  // a PID's: fixed children only
    sweep();
    // The smallest live PID at or after `position`: a listing goes on in PID order across
    // calls however the table changed (Linux's next_tgid).
    std::array<ProcessInfo, kMaxProcesses> table;
    const std::size_t count = proc::snapshot(table);
    std::optional<Pid> next;
    for (std::size_t i = 0; i < count; ++i) {
      const Pid pid = table[i].pid;
      if (pid >= 0 && static_cast<std::uint64_t>(pid) >= position && (!next || pid < *next)) {
        next = pid;
      }
    }
    if (!next) return std::nullopt;
    fs::GeneratedEntry entry;
    entry.name_length = fmt::format_to_buffer(entry.name, "{}", *next);  // fits: a pid is an int
    entry.inode = inode_of(*next, FileId::pid_directory);
    entry.type = fs::NodeType::directory;
    entry.next_position = static_cast<std::uint64_t>(*next) + 1;
    return entry;
  }

 private:
  static text::MemoryFigures memory_figures() {
    const mm::FrameAllocator& frames = mm::frame_allocator();
    text::MemoryFigures m;
    m.total_bytes = frames.total_frames() * 4096;
    m.free_bytes = frames.free_frames() * 4096;
    if (const fs::Tree* tree = fs::initramfs(); tree != nullptr) {
      m.shmem_bytes = tree->tmpfs_budget().used;
    }
    const mm::HeapStats heap = mm::heap_stats();
    m.kernel_heap_bytes = heap.allocator.bytes_in_use + heap.large_bytes;
    return m;
  }

  PidNodes* find_locked(Pid pid) const {
    for (PidNodes* n = bundles_; n != nullptr; n = n->next) {
      if (n->pid == pid) return n;
    }
    return nullptr;
  }

  void make_node(fs::Node& node, fs::Node& parent, std::string_view name, fs::NodeType type,
                 std::uint32_t mode, FileId id, Pid pid) {
    node.name = name;
    node.type = type;
    node.mode = mode;
    node.parent = &parent;
    node.inode = inode_of(pid, id);
    node.generator = this;
    node.generator_data = data_of(id, pid);
  }

  // The bundle of `pid`, made if there is none; nullptr when the heap has no room for it (ENOMEM
  // for the caller). The heap is called outside the lock (it may map pages to grow); of two
  // bundles made at once for one PID, the first linked wins and the other is given back.
  PidNodes* find_or_make(Pid pid) {
    {
      sync::SpinlockGuard guard(lock_);
      if (PidNodes* found = find_locked(pid)) return found;
    }
    auto* n = new (std::nothrow) PidNodes;
    if (n == nullptr) return nullptr;
    n->pid = pid;
    const std::size_t length = fmt::format_to_buffer(n->name, "{}", pid);  // fits: a pid is an int
    make_node(n->directory, *root_, {n->name, length}, fs::NodeType::directory, 0555,
              FileId::pid_directory, pid);
    make_node(n->stat, n->directory, "stat", fs::NodeType::regular, 0444, FileId::stat, pid);
    make_node(n->status, n->directory, "status", fs::NodeType::regular, 0444, FileId::status, pid);
    make_node(n->cmdline, n->directory, "cmdline", fs::NodeType::regular, 0444, FileId::cmdline,
              pid);
    make_node(n->exe, n->directory, "exe", fs::NodeType::symlink, 0777, FileId::exe, pid);
    for (fs::Node* file : {&n->stat, &n->status, &n->cmdline, &n->exe}) {
      n->directory.children.push_back(file);
    }
    PidNodes* winner = nullptr;
    {
      sync::SpinlockGuard guard(lock_);
      winner = find_locked(pid);
      if (winner == nullptr) {
        n->next = bundles_;
        bundles_ = n;
        return n;
      }
    }
    delete n;
    return winner;
  }

  // Frees the bundles of processes that are gone (reaped) and that nobody holds: taken off the
  // list under the lock, given back to the heap after it.
  void sweep() {
    PidNodes* gone = nullptr;
    {
      sync::SpinlockGuard guard(lock_);
      for (PidNodes** link = &bundles_; *link != nullptr;) {
        PidNodes* n = *link;
        if (!n->held() && find_process(n->pid) == nullptr) {
          *link = n->next;
          n->next = gone;
          gone = n;
        } else {
          link = &n->next;
        }
      }
    }
    while (gone != nullptr) delete std::exchange(gone, gone->next);
  }

  friend void procfs::forget(std::int32_t pid);

  fs::Node* root_ = nullptr;
  PidNodes* bundles_ = nullptr;
  sync::Spinlock lock_;
};

constinit ProcFs the_procfs;

}  // namespace

void forget(std::int32_t pid) {
  PidNodes* gone = nullptr;
  {
    sync::SpinlockGuard guard(the_procfs.lock_);
    for (PidNodes** link = &the_procfs.bundles_; *link != nullptr; link = &(*link)->next) {
      if ((*link)->pid != pid) continue;
      if (!(*link)->held()) gone = std::exchange(*link, (*link)->next);
      break;
    }
  }
  delete gone;
}

void mount(fs::Tree& tree) {
  fs::Node* root = tree.add_generated(tree.root(), "proc", fs::NodeType::directory, 0555,
                                      the_procfs, data_of(FileId::root));
  the_procfs.set_root(root);
  tree.add_generated(root, "meminfo", fs::NodeType::regular, 0444, the_procfs,
                     data_of(FileId::meminfo));
  tree.add_generated(root, "uptime", fs::NodeType::regular, 0444, the_procfs,
                     data_of(FileId::uptime));
  tree.add_generated(root, "mounts", fs::NodeType::regular, 0444, the_procfs,
                     data_of(FileId::mounts));
  tree.add_generated(root, "self", fs::NodeType::symlink, 0777, the_procfs, data_of(FileId::self));
}

}  // namespace ferrite::proc::procfs
