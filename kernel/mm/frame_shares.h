// Who else owns a frame (chapter 15, copy-on-write fork): one small counter per physical frame
// that says how many address spaces *besides one* map it. 0 — the common case, and what every
// frame starts with — means a single owner, so frames that were never shared need no
// bookkeeping at all; fork adds one per page it shares, and a space that lets go of a frame
// either drops one of the others' shares or, when it was the last owner, gets to free it.
// Portable (host-tested): counters are updated with GCC's __atomic builtins, because two
// spaces that share a frame are changed under two different locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ferrite::mm {

class FrameShares {
 public:
  using Count = std::uint16_t;
  static constexpr Count kMaxExtraOwners = 0xFFFF;

  constexpr FrameShares() = default;
  // `counts[i]` belongs to frame number i (physical address >> 12); all zero.
  explicit constexpr FrameShares(std::span<Count> counts) : counts_(counts) {}

  [[nodiscard]] bool covers(std::uint64_t frame_number) const {
    return frame_number < counts_.size();
  }
  // One more owner. False (nothing changed) for a frame outside the table or one shared the
  // maximum number of times: the caller copies the page instead of sharing it.
  [[nodiscard]] bool share(std::uint64_t frame_number) {
    if (!covers(frame_number)) return false;
    Count count = __atomic_load_n(&counts_[frame_number], __ATOMIC_RELAXED);
    while (count != kMaxExtraOwners) {
      if (__atomic_compare_exchange_n(&counts_[frame_number], &count, Count(count + 1), false,
                                      __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        return true;
      }
    }
    return false;
  }
  // One owner lets go. True: it was the last one and must free the frame; false: others keep it.
  [[nodiscard]] bool release(std::uint64_t frame_number) {
    if (!covers(frame_number)) return true;
    Count count = __atomic_load_n(&counts_[frame_number], __ATOMIC_ACQUIRE);
    while (count != 0) {
      if (__atomic_compare_exchange_n(&counts_[frame_number], &count, Count(count - 1), false,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        return false;
      }
    }
    return true;
  }
  // Whether anybody else maps the frame (a write fault copies the page when so).
  [[nodiscard]] bool is_shared(std::uint64_t frame_number) const {
    return covers(frame_number) && __atomic_load_n(&counts_[frame_number], __ATOMIC_ACQUIRE) != 0;
  }
  [[nodiscard]] Count extra_owners(std::uint64_t frame_number) const {
    return covers(frame_number) ? __atomic_load_n(&counts_[frame_number], __ATOMIC_RELAXED) : 0;
  }

 private:
  std::span<Count> counts_{};
};

}  // namespace ferrite::mm
