// poll, ppoll, select and pselect6 (chapter 15): which of a set of descriptors are ready, waiting
// up to a timeout on the monotonic clock. The wait is a loop of short sleeps that looks at every
// file again (fs::poll_events) — simple and correct for pipes, files and the terminal alike, at
// the cost of up to kSliceNs of latency. A signal ends the wait with EINTR (which the way back to
// ring 3 may turn into a restart: proc/signal.h). ppoll and pselect6 block their signal mask
// for the duration of the call, as Linux does. The remaining time is not written back.
#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "abi/linux_types.h"
#include "proc/signals.h"
#include "syscall/handlers.h"
#include "syscall/machine.h"

namespace ferrite::syscall {

namespace {

using abi::Errno;
constexpr std::uint64_t kSliceNs = 10'000'000;
constexpr std::uint64_t kForever = ~std::uint64_t{0};
constexpr std::size_t kMaxPollFds = fs::FdTable::kMaxDescriptors;  // RLIMIT_NOFILE, as prlimit64 says
constexpr std::size_t kFdSetBits = 1024;                            // FD_SETSIZE

struct PollFd {
  std::int32_t fd;
  std::int16_t events;
  std::int16_t revents;
};
static_assert(sizeof(PollFd) == 8);

// Deadline of a timeout given as seconds + nanoseconds (timespec, or timeval scaled); EINVAL when
// negative or out of range.
std::expected<std::uint64_t, Errno> deadline_after(std::int64_t seconds, std::int64_t nanoseconds) {
  if (seconds < 0 || nanoseconds < 0 || nanoseconds >= 1'000'000'000) {
    return std::unexpected(Errno::einval);
  }
  std::uint64_t total = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(seconds), 1'000'000'000ULL, &total) ||
      __builtin_add_overflow(total, static_cast<std::uint64_t>(nanoseconds), &total) ||
      __builtin_add_overflow(total, machine::monotonic_ns(), &total)) {
    return kForever;
  }
  return total;
}

// Calls `scan` (the number of ready descriptors, or an error) until it finds some, the deadline
// passes, or a signal comes.
template <class Scan>
Result wait_ready(std::uint64_t deadline, Scan scan) {
  for (;;) {
    Result ready = scan();
    if (!ready || *ready > 0) return ready;
    const std::uint64_t now = machine::monotonic_ns();
    if (now >= deadline) return 0;
    const std::uint64_t until = deadline - now > kSliceNs ? now + kSliceNs : deadline;
    if (!machine::sleep_until_ns(until)) return std::unexpected(Errno::eintr);
  }
}

Result do_poll(proc::Process& process, std::uint64_t address, std::uint64_t count,
               std::uint64_t deadline) {
  if (count > kMaxPollFds) return std::unexpected(Errno::einval);
  std::array<PollFd, kMaxPollFds> fds{};
  if (count > 0) {
    if (!user_range_ok(address, count * sizeof(PollFd))) return std::unexpected(Errno::efault);
    if (auto copied = mm::copy_from_user(fds.data(), address, count * sizeof(PollFd)); !copied) {
      return std::unexpected(copied.error());
    }
  }
  Result ready = wait_ready(deadline, [&]() -> Result {
    std::int64_t found = 0;
    for (std::size_t i = 0; i < count; ++i) {
      PollFd& entry = fds[i];
      entry.revents = 0;
      if (entry.fd < 0) continue;  // ignored, as poll(2) says
      fs::OpenFile* file = process.files != nullptr ? process.files->get(entry.fd) : nullptr;
      // POLLERR, POLLHUP and POLLNVAL are reported whether asked for or not.
      const std::uint32_t events =
          file == nullptr
              ? fs::kPollNval
              : fs::poll_events(*file) & (static_cast<std::uint16_t>(entry.events) | fs::kPollErr |
                                          fs::kPollHup);
      entry.revents = static_cast<std::int16_t>(events);
      found += events != 0 ? 1 : 0;
    }
    return found;
  });
  if (!ready) return ready;
  if (count > 0) {
    if (auto copied = mm::copy_to_user(address, fds.data(), count * sizeof(PollFd)); !copied) {
      return std::unexpected(copied.error());
    }
  }
  return ready;
}

// One fd_set of select(2): nfds bits, rounded up to whole 64-bit words as Linux copies them.
struct FdSet {
  std::array<std::uint64_t, kFdSetBits / 64> words{};
  [[nodiscard]] bool has(std::size_t fd) const { return (words[fd / 64] >> (fd % 64) & 1) != 0; }
  void set(std::size_t fd) { words[fd / 64] |= std::uint64_t{1} << (fd % 64); }
};

Result do_select(proc::Process& process, std::uint64_t nfds, const std::uint64_t (&addresses)[3],
                 std::uint64_t deadline) {
  if (static_cast<std::int32_t>(nfds) < 0) return std::unexpected(Errno::einval);
  nfds = std::min<std::uint64_t>(nfds, kFdSetBits);
  const std::size_t bytes = (nfds + 63) / 64 * 8;
  FdSet asked[3];
  for (int s = 0; s < 3; ++s) {
    if (addresses[s] == 0 || bytes == 0) continue;
    if (!user_range_ok(addresses[s], bytes)) return std::unexpected(Errno::efault);
    if (auto copied = mm::copy_from_user(asked[s].words.data(), addresses[s], bytes); !copied) {
      return std::unexpected(copied.error());
    }
  }
  // A descriptor in any set that names nothing is EBADF, before any waiting.
  for (std::size_t fd = 0; fd < nfds; ++fd) {
    const bool wanted = asked[0].has(fd) || asked[1].has(fd) || asked[2].has(fd);
    if (wanted && (process.files == nullptr || process.files->get(static_cast<std::int64_t>(fd)) ==
                                                   nullptr)) {
      return std::unexpected(Errno::ebadf);
    }
  }
  FdSet found[3];
  Result ready = wait_ready(deadline, [&]() -> Result {
    std::int64_t count = 0;
    for (auto& set : found) set = FdSet{};
    for (std::size_t fd = 0; fd < nfds; ++fd) {
      fs::OpenFile* file = process.files->get(static_cast<std::int64_t>(fd));
      if (file == nullptr) continue;
      const std::uint32_t events = fs::poll_events(*file);
      // Linux's POLLIN_SET, POLLOUT_SET and POLLEX_SET.
      const bool hits[3] = {
          asked[0].has(fd) && (events & (fs::kPollIn | fs::kPollHup | fs::kPollErr)) != 0,
          asked[1].has(fd) && (events & (fs::kPollOut | fs::kPollErr)) != 0,
          asked[2].has(fd) && (events & fs::kPollPri) != 0};
      for (int s = 0; s < 3; ++s) {
        if (hits[s]) {
          found[s].set(fd);
          ++count;
        }
      }
    }
    return count;
  });
  if (!ready) return ready;
  for (int s = 0; s < 3; ++s) {
    if (addresses[s] == 0 || bytes == 0) continue;
    if (auto copied = mm::copy_to_user(addresses[s], found[s].words.data(), bytes); !copied) {
      return std::unexpected(copied.error());
    }
  }
  return ready;
}

// A struct timespec / timeval in user memory as a deadline; no pointer is forever.
std::expected<std::uint64_t, Errno> deadline_from(std::uint64_t address, bool microseconds) {
  if (address == 0) return kForever;
  const auto time = copy_in<abi::Timespec>(address);
  if (!time) return std::unexpected(time.error());
  if (microseconds) {
    if (time->tv_nsec < 0 || time->tv_nsec >= 1'000'000) return std::unexpected(Errno::einval);
    return deadline_after(time->tv_sec, time->tv_nsec * 1000);
  }
  return deadline_after(time->tv_sec, time->tv_nsec);
}

// ppoll's and pselect6's signal mask at `address` (0: none), sigsetsize `size`.
std::expected<std::optional<std::uint64_t>, Errno> mask_from(std::uint64_t address, std::uint64_t size) {
  if (address == 0) return std::nullopt;
  if (size != sizeof(std::uint64_t)) return std::unexpected(Errno::einval);
  const auto mask = copy_in<std::uint64_t>(address);
  if (!mask) return std::unexpected(mask.error());
  return *mask;
}

// Runs `call` with `mask` blocked (if there is one), and puts the old mask back — at once, unless
// a signal interrupted the call: then after its handler (the frame keeps the old mask), so
// the signal the call was waiting for is delivered under the mask the caller asked for.
template <class Call>
Result with_mask(proc::Process& process, const std::optional<std::uint64_t>& mask, Call call) {
  if (!mask) return call();
  process.signals.begin_temporary_mask(*mask);
  proc::signals_changed(process);
  Result result = call();
  const bool interrupted = !result && result.error() == Errno::eintr && process.signals.deliverable() != 0;
  process.signals.end_temporary_mask(interrupted);
  proc::signals_changed(process);
  return result;
}

}  // namespace

// poll(fds, nfds, timeout_ms): a negative timeout waits for ever.
Result sys_poll(proc::Process& process, const Arguments& a) {
  const auto timeout_ms = static_cast<std::int32_t>(a.arg[2]);
  const std::uint64_t deadline =
      timeout_ms < 0 ? kForever
                     : machine::monotonic_ns() + static_cast<std::uint64_t>(timeout_ms) * 1'000'000;
  return do_poll(process, a.arg[0], a.arg[1], deadline);
}

Result sys_ppoll(proc::Process& process, const Arguments& a) {
  const auto deadline = deadline_from(a.arg[2], false);
  if (!deadline) return std::unexpected(deadline.error());
  const auto mask = mask_from(a.arg[3], a.arg[4]);
  if (!mask) return std::unexpected(mask.error());
  return with_mask(process, *mask, [&] { return do_poll(process, a.arg[0], a.arg[1], *deadline); });
}

Result sys_select(proc::Process& process, const Arguments& a) {
  const auto deadline = deadline_from(a.arg[4], true);  // struct timeval: same layout, microseconds
  if (!deadline) return std::unexpected(deadline.error());
  return do_select(process, a.arg[0], {a.arg[1], a.arg[2], a.arg[3]}, *deadline);
}

// pselect6's sixth argument points at {const sigset_t* ss; size_t ss_len} (fs/select.c).
Result sys_pselect6(proc::Process& process, const Arguments& a) {
  const auto deadline = deadline_from(a.arg[4], false);
  if (!deadline) return std::unexpected(deadline.error());
  std::optional<std::uint64_t> mask;
  if (a.arg[5] != 0) {
    struct MaskArgument {
      std::uint64_t set, size;
    };
    const auto argument = copy_in<MaskArgument>(a.arg[5]);
    if (!argument) return std::unexpected(argument.error());
    const auto read = mask_from(argument->set, argument->size);
    if (!read) return std::unexpected(read.error());
    mask = *read;
  }
  return with_mask(process, mask, [&] {
    return do_select(process, a.arg[0], {a.arg[1], a.arg[2], a.arg[3]}, *deadline);
  });
}

}  // namespace ferrite::syscall
