// A fixed-capacity lock-free ring for exactly one producer and one consumer (chapter 12): how the
// keyboard interrupt hands scancodes to the keyboard task without locks and without allocating.
//
// Each side owns one counter and only reads the other's. The producer writes the element, then
// publishes it with a release store of `tail_`; the consumer's acquire load of `tail_` therefore
// sees the element. Symmetrically, the consumer's release of `head_` tells the producer that a
// slot may be overwritten. The counters only grow (64 bits never wrap in practice); an element
// lives at `counter % Capacity`, so any capacity works and no slot is kept empty.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>

namespace ferrite::task {

template <typename T, std::size_t Capacity>
class SpscRing {
  static_assert(Capacity > 0, "a ring needs room for at least one element");
  static_assert(std::is_trivially_copyable_v<T>, "elements are copied in and out");

 public:
  constexpr SpscRing() = default;
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  static constexpr std::size_t capacity() noexcept { return Capacity; }

  // Producer only. False when the ring is full (the element is not stored).
  [[nodiscard]] bool try_push(const T& value) noexcept {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - producer_head_ == Capacity) {
      producer_head_ = head_.load(std::memory_order_acquire);  // refresh only when it looks full
      if (tail - producer_head_ == Capacity) return false;
    }
    slots_[tail % Capacity] = value;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. Empty optional when there is nothing to take.
  [[nodiscard]] std::optional<T> try_pop() noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == consumer_tail_) {
      consumer_tail_ = tail_.load(std::memory_order_acquire);  // refresh only when it looks empty
      if (head == consumer_tail_) return std::nullopt;
    }
    const T value = slots_[head % Capacity];
    head_.store(head + 1, std::memory_order_release);
    return value;
  }

  // Consumer only: whether try_pop would find nothing right now.
  [[nodiscard]] bool empty() const noexcept {
    return head_.load(std::memory_order_relaxed) == tail_.load(std::memory_order_acquire);
  }

  // Either side; exact only when the other side is not running.
  [[nodiscard]] std::size_t size() const noexcept {
    const std::uint64_t head = head_.load(std::memory_order_acquire);  // first: tail >= head
    return static_cast<std::size_t>(tail_.load(std::memory_order_acquire) - head);
  }

 private:
  // Producer and consumer data on separate cache lines, so the two CPUs (host stress test) do
  // not fight over one line on every operation.
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::uint64_t producer_head_ = 0;  // producer's last view of head_
  alignas(64) std::atomic<std::uint64_t> head_{0};
  std::uint64_t consumer_tail_ = 0;  // consumer's last view of tail_
  alignas(64) std::array<T, Capacity> slots_{};
};

}  // namespace ferrite::task
