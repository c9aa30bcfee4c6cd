// The scheduler's policy (chapter 13), as portable code: which thread runs next, when the running
// one must give way, and when sleepers wake. It knows nothing of stacks, registers or interrupts
// — sched/scheduler.cpp adds those — so the host tests drive it over a simulated clock and CPU.
//
// The policy: round robin within each priority, and a ready thread of a higher priority always
// runs before any of a lower one. A thread runs until it blocks, sleeps, yields, or its time slice
// is used up while another thread of its priority (or a higher one) is ready. Sleepers wait in a
// list sorted by deadline; the tick moves the expired ones to the back of their ready queue.
//
// One RunQueue per CPU. It has no lock of its own: its CPU uses it with interrupts off (the tick
// and wake-ups from interrupt handlers touch it too). Waking a thread of another CPU will need a
// lock per queue; today only CPU 0 schedules.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "lib/panic.h"

namespace ferrite::sched {

enum class Priority : std::uint8_t { high = 0, normal = 1 };
inline constexpr std::size_t kPriorityLevels = 2;

constexpr std::string_view to_string(Priority priority) {
  return priority == Priority::high ? "high" : "normal";
}

enum class State : std::uint8_t {
  ready,     // in a run queue
  running,   // on a CPU
  blocked,   // in a wait queue (mutex, semaphore, join, ...), or parked
  sleeping,  // in the sleep list until its deadline
  dead,      // exited; waits to be joined (or is freed at once if detached)
};

constexpr std::string_view to_string(State state) {
  switch (state) {
    case State::ready: return "ready";
    case State::running: return "running";
    case State::blocked: return "blocked";
    case State::sleeping: return "sleeping";
    case State::dead: return "dead";
  }
  return "?";
}

// The scheduler's part of a thread. A thread is in at most one list at a time (a run queue, the
// sleep list, or one wait queue), so one link serves them all.
struct SchedNode {
  SchedNode* next = nullptr;
  Priority priority = Priority::normal;
  State state = State::ready;
  std::uint64_t wake_at = 0;     // sleeping: the deadline (ns)
  std::uint64_t slice_used = 0;  // ns of its current time slice used before it was preempted
};

// A FIFO of nodes linked through SchedNode::next. Also the body of a wait queue.
class NodeList {
 public:
  constexpr NodeList() = default;
  NodeList(const NodeList&) = delete;
  NodeList& operator=(const NodeList&) = delete;

  [[nodiscard]] bool empty() const { return head_ == nullptr; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] SchedNode* front() const { return head_; }

  void push_back(SchedNode& node) {
    node.next = nullptr;
    (tail_ != nullptr ? tail_->next : head_) = &node;
    tail_ = &node;
    ++size_;
  }
  void push_front(SchedNode& node) {
    node.next = head_;
    head_ = &node;
    if (tail_ == nullptr) tail_ = &node;
    ++size_;
  }
  SchedNode* pop_front() {
    SchedNode* node = head_;
    if (node == nullptr) return nullptr;
    head_ = node->next;
    if (head_ == nullptr) tail_ = nullptr;
    node->next = nullptr;
    --size_;
    return node;
  }
  // Removes `node` if it is in this list; O(n).
  bool remove(SchedNode& node) {
    SchedNode* previous = nullptr;
    for (SchedNode* n = head_; n != nullptr; previous = n, n = n->next) {
      if (n != &node) continue;
      (previous != nullptr ? previous->next : head_) = n->next;
      if (tail_ == n) tail_ = previous;
      n->next = nullptr;
      --size_;
      return true;
    }
    return false;
  }
  // After the last node whose key is <= node's: equal keys keep their order.
  template <class Key>
  void insert_sorted(SchedNode& node, Key key) {
    SchedNode* previous = nullptr;
    SchedNode* n = head_;
    while (n != nullptr && key(*n) <= key(node)) previous = n, n = n->next;
    node.next = n;
    (previous != nullptr ? previous->next : head_) = &node;
    if (n == nullptr) tail_ = &node;
    ++size_;
  }

 private:
  SchedNode* head_ = nullptr;
  SchedNode* tail_ = nullptr;
  std::size_t size_ = 0;
};

class RunQueue {
 public:
  constexpr RunQueue() = default;
  RunQueue(const RunQueue&) = delete;
  RunQueue& operator=(const RunQueue&) = delete;

  void set_time_slice(std::uint64_t ns) { time_slice_ns_ = ns; }
  [[nodiscard]] std::uint64_t time_slice() const { return time_slice_ns_; }

  // To the back of its priority's queue, for a fresh time slice: a thread that was woken, that
  // yielded, or that used up its slice.
  void make_ready(SchedNode& node) {
    FERRITE_ASSERT(node.state != State::ready && node.state != State::dead);
    node.state = State::ready;
    node.slice_used = 0;
    ready_[level(node.priority)].push_back(node);
  }

  // A running thread that must make way before its slice is over (a higher priority woke) goes
  // back to the *front* of its queue and keeps what is left of its slice: being interrupted by
  // more urgent work must not cost it its turn. `used` is how much of the slice it had used.
  void preempted(SchedNode& node, std::uint64_t used) {
    if (used >= time_slice_ns_) return make_ready(node);
    FERRITE_ASSERT(node.state != State::ready && node.state != State::dead);
    node.state = State::ready;
    node.slice_used = used;
    ready_[level(node.priority)].push_front(node);
  }

  // The next thread to run: the oldest ready one of the highest priority; null if none.
  [[nodiscard]] SchedNode* pick_next() {
    for (NodeList& queue : ready_) {
      if (SchedNode* node = queue.pop_front()) return node;
    }
    return nullptr;
  }

  // Whether a thread of `priority` or higher is ready.
  [[nodiscard]] bool has_ready(Priority at_least = Priority::normal) const {
    // A constant trip count, which the compiler unrolls into one test per level (the tick asks
    // this on every interrupt).
    for (std::size_t i = 0; i < kPriorityLevels; ++i) {
      if (i > level(at_least)) return false;
      if (!ready_[i].empty()) return true;
    }
    return false;
  }
  [[nodiscard]] std::size_t ready_count() const {
    std::size_t count = 0;
    for (const NodeList& queue : ready_) count += queue.size();
    return count;
  }

  // The running thread `current` has used `ran_ns` of its slice (slice_used plus the time since
  // it last started running): must it give the CPU away?
  // Yes if a higher priority is ready, or its slice is used up and its own priority is ready
  // too. (A lower priority never preempts; an idle CPU has current == nullptr.)
  [[nodiscard]] bool should_preempt(const SchedNode* current, std::uint64_t ran_ns) const {
    if (current == nullptr) return has_ready();
    // Slice used up: anyone of its priority or higher (which includes the higher ones).
    if (ran_ns >= time_slice_ns_) return has_ready(current->priority);
    return current->priority != Priority::high && has_ready(Priority::high);
  }

  // Puts a thread to sleep until `deadline` (it is not running any more once the caller switches
  // away; the caller does that).
  void sleep_until(SchedNode& node, std::uint64_t deadline) {
    node.state = State::sleeping;
    node.wake_at = deadline;
    sleepers_.insert_sorted(node, [](const SchedNode& n) { return n.wake_at; });
  }

  // Moves every sleeper whose deadline is <= now to the ready queues, earliest first; returns how
  // many woke. Never one whose deadline is still ahead: no early wake-ups.
  std::size_t wake_expired(std::uint64_t now) {
    std::size_t woken = 0;
    while (SchedNode* node = sleepers_.front()) {
      if (node->wake_at > now) break;
      sleepers_.pop_front();
      make_ready(*node);
      ++woken;
    }
    return woken;
  }
  [[nodiscard]] std::optional<std::uint64_t> next_deadline() const {
    if (const SchedNode* node = sleepers_.front()) return node->wake_at;
    return std::nullopt;
  }
  [[nodiscard]] std::size_t sleeper_count() const { return sleepers_.size(); }

  // Takes a ready or sleeping thread out (for kill); false if it was in neither.
  bool remove(SchedNode& node) {
    if (node.state == State::ready) return ready_[level(node.priority)].remove(node);
    if (node.state == State::sleeping) return sleepers_.remove(node);
    return false;
  }

 private:
  static constexpr std::size_t level(Priority priority) { return static_cast<std::size_t>(priority); }

  std::array<NodeList, kPriorityLevels> ready_{};
  NodeList sleepers_{};
  std::uint64_t time_slice_ns_ = 10'000'000;
};

}  // namespace ferrite::sched
