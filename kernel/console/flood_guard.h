// How much of a flood of log messages the console shows (issue 9). Showing a message costs far
// more than logging it (a 700-byte NMI report is a dozen lines of scrolling: on a 1280x800
// framebuffer each line redraws up to 8000 glyphs), so an interrupt source that logs faster than
// the console can show — an NMI storm, a stuck interrupt line — would keep the console, and with
// it the shell that drains it, busy for as long as the storm lasts: typed keys pile up and are
// dropped. The guard is a token bucket of time: the console may spend a tenth of the CPU showing
// log messages, with a burst of 200 ms (a boot's messages, a dmesg). A message is shown whole if
// it starts while there is credit, and the time it took is charged; the console passes over the
// messages that start without credit and says how many it left out. They stay in the log
// (`dmesg`) until the ring wraps. Time, not bytes, because the cost of a line differs a
// thousandfold between a serial port, VGA text and a framebuffer under an emulator. Console
// output (print, println: the shell's answers and prompt) is never left out: it goes straight to
// the console when the console is free, and when it must wait in the log it is marked
// (log::Record::console) and shown whatever the guard says.
// Portable: host-tested in tests/host/log_test.cpp.
#pragma once

#include <cstdint>

namespace ferrite::console {

class FloodGuard {
 public:
  static constexpr std::uint64_t kShare = 10;                    // 1/kShare of the CPU
  static constexpr std::uint64_t kBurstNs = 200'000'000;         // of showing, at once
  static constexpr std::int64_t kFull = static_cast<std::int64_t>(kBurstNs * kShare);

  // Whether to show a message that starts at `now_ns`; a refusal is counted. A clock that reads
  // 0 (not running yet, early boot) shows everything: nothing can flood before interrupts are on.
  bool admit(std::uint64_t now_ns) {
    if (has_credit(now_ns)) return true;
    ++left_out_;
    return false;
  }

  // The same, without counting a refusal (for the console's own note about the ones left out).
  bool has_credit(std::uint64_t now_ns) {
    if (now_ns == 0) return true;
    if (now_ns > last_ns_) {
      const std::uint64_t earned = now_ns - last_ns_;
      const std::uint64_t room = static_cast<std::uint64_t>(kFull - credit_ns_);  // >= 0
      credit_ns_ = earned >= room ? kFull : credit_ns_ + static_cast<std::int64_t>(earned);
      last_ns_ = now_ns;
    }
    return credit_ns_ > 0;
  }

  // Showing an admitted message took `spent_ns`. The credit may go below zero: a slow message
  // that started with a little credit left is paid for by the silence after it.
  void charge(std::uint64_t spent_ns) {
    const std::uint64_t cost = spent_ns < kBurstNs ? spent_ns * kShare : kBurstNs * kShare;
    credit_ns_ = credit_ns_ - static_cast<std::int64_t>(cost) < -kFull
                     ? -kFull
                     : credit_ns_ - static_cast<std::int64_t>(cost);
  }

  // Messages left out since the last call (the console reports them, then they start over).
  std::uint64_t take_left_out() {
    const std::uint64_t count = left_out_;
    left_out_ = 0;
    return count;
  }
  [[nodiscard]] std::uint64_t left_out() const { return left_out_; }

 private:
  std::int64_t credit_ns_ = kFull;  // full at boot; below zero while a slow message is paid off
  std::uint64_t last_ns_ = 0;
  std::uint64_t left_out_ = 0;
};

}  // namespace ferrite::console
