// Executors (chapter 12): they own the top-level tasks and decide which one runs next.
// SimpleExecutor is the seed's first step: check every task, over and over. Executor is the real
// one: a ready queue of task slots filled by wakers, and `sti; hlt` when nothing is ready.
//
// Interrupt safety (one CPU): an interrupt handler may call Waker::wake() at any instruction of
// task code. wake() never resumes a coroutine; it sets the slot's "queued" flag and appends the
// slot to the ready queue. Everything that changes the queue runs with interrupts disabled
// (through InterruptControl), so an interrupt handler never finds the queue half-written; code
// that runs with interrupts off already (handlers) says so with wake_with_interrupts_off() and
// skips that. Spawning, polling and completing tasks happen in task context only.
#pragma once

#include <array>
#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string_view>

#include "lib/panic.h"
#include "task/task.h"

namespace ferrite::task {

namespace detail {
// One entry of an executor's task table: 32 bytes, so that a million tasks alive at once move
// as little memory as possible. The TaskContext part is what the task's coroutines see.
struct TaskSlot : TaskContext {
  std::uint32_t generation = 0;    // (in the context's tail padding)
  std::coroutine_handle<> root{};  // the top-level coroutine; null when no task lives here
  // While a task lives here: its link in the ready queue (Executor) or its woken mark
  // (SimpleExecutor); null when not queued, so it also is the "queued" flag (see
  // TaskTable::queue_end()). While the slot is free: the next free slot.
  std::atomic<TaskSlot*> link{nullptr};
};
static_assert(sizeof(TaskSlot) == 32);
}  // namespace detail

// Names one wait of one task: {task slot, wait stamp, executor}. Cheap to copy (24 bytes) and
// safe to call from an interrupt handler. The stamp changes every time the executor resumes the
// task, so a waker left behind by an earlier wait is a harmless no-op: a C++ coroutine cannot be
// "polled" again like a Rust future, so resuming it for the wrong event would be a bug.
// Rule for awaitables: once an await_suspend has handed out the task's Waker, it must suspend
// (if the event already happened, it wakes the task itself and suspends anyway).
class Waker {
 public:
  constexpr Waker() = default;  // wakes nothing
  constexpr Waker(TaskTable* owner, detail::TaskSlot* task, std::uint32_t stamp) noexcept
      : task_(task), stamp_(stamp), owner_(owner) {}

  // Marks the task ready. A task woken twice before it runs is queued once.
  inline void wake() const noexcept;

  // The same, for code that already runs with interrupts disabled: an interrupt handler, or a
  // section under an interrupt-disabling lock. It skips saving, clearing and restoring the
  // interrupt flag, which wake() must do because it may be called with interrupts on.
  inline void wake_with_interrupts_off() const noexcept;

  [[nodiscard]] constexpr bool wakes_nothing() const noexcept { return task_ == nullptr; }
  friend constexpr bool operator==(const Waker&, const Waker&) = default;

 private:
  // Pointers, not an index into the executor's table: waking goes from the Waker straight to the
  // slot it queues and to the executor's queue, without loading anything first.
  detail::TaskSlot* task_ = nullptr;
  std::uint32_t stamp_ = 0;
  TaskTable* owner_ = nullptr;
};

// The waker for the wait that `task` is about to begin: for awaitables, in await_suspend.
template <TaskPromise Promise>
[[nodiscard]] Waker waker_for(std::coroutine_handle<Promise> task) noexcept {
  const Promise& promise = task.promise();
  detail::TaskContext* context = promise.context();
  FERRITE_ASSERT(context != nullptr);  // the task is not running on an executor
  // Every TaskContext an executor hands out is a part of one of its slots. The executor comes
  // from the promise, not from the context: one memory load fewer between this task suspending
  // and another task waking it.
  return Waker{promise.owner(), static_cast<detail::TaskSlot*>(context),
               context->wait_stamp.load(std::memory_order_relaxed)};
}

// Names a spawned task for as long as it lives; a slot reused by a later task has a new
// generation.
struct TaskId {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  friend constexpr bool operator==(const TaskId&, const TaskId&) = default;
};

struct ExecutorStats {
  std::uint64_t spawned = 0;
  std::uint64_t completed = 0;
  std::uint64_t polls = 0;  // times a task was resumed
  [[nodiscard]] constexpr std::uint64_t live() const noexcept { return spawned - completed; }
};

// What the executor needs from the CPU. The kernel implements it with cli / sti / `sti; hlt` /
// pushfq; host tests with a fake that can deliver a simulated interrupt at any of these points.
class InterruptControl {
 public:
  // The idle protocol: disable, re-check the ready queue, then either enable again (work
  // appeared) or enable-and-halt in one step. On x86 `sti; hlt` is that step: STI delays
  // interrupt delivery until after the next instruction (Intel SDM Vol. 2B, "STI"), so an
  // interrupt that became pending after the check ends the HLT instead of being missed.
  virtual void disable_interrupts() noexcept = 0;
  virtual void enable_interrupts() noexcept = 0;
  virtual void enable_interrupts_and_halt() noexcept = 0;

  // A short critical section that may also run inside an interrupt handler, where interrupts
  // are already off: returns whether they were on, for restore_interrupts.
  [[nodiscard]] virtual bool save_and_disable_interrupts() noexcept = 0;
  virtual void restore_interrupts(bool were_enabled) noexcept = 0;

  // The ready queue went from empty to not empty (interrupts are off). An executor that runs on
  // a kernel thread blocks that thread instead of halting the CPU; this is where it is woken
  // (chapter 13). Halting executors need nothing here.
  virtual void task_became_ready() noexcept {}

 protected:
  ~InterruptControl() = default;
};

// The memory an executor works in, sized at compile time (no allocation after boot). The ready
// queue needs none of its own: it is linked through the slots, each of which is in it at most
// once, so it can never overflow.
template <std::size_t MaxTasks>
struct ExecutorStorage {
  static_assert(MaxTasks > 0 && MaxTasks <= (std::size_t{1} << 30), "unreasonable task count");
  std::array<detail::TaskSlot, MaxTasks> slots{};
};

// What both executors share: the task slots, spawning, waking and ending tasks.
class TaskTable {
 public:
  TaskTable(const TaskTable&) = delete;
  TaskTable& operator=(const TaskTable&) = delete;

  // Adopts a detached top-level task and marks it ready. Task context only (it is not for
  // interrupt handlers: creating the Task already allocated). On error the Task is destroyed.
  [[nodiscard]] std::expected<TaskId, TaskError> spawn(Task<void> task) noexcept;

  // Where Waker::wake() lands; safe in an interrupt handler.
  void wake(detail::TaskSlot& task, std::uint32_t stamp) noexcept {
    if (is_waiting(task, stamp)) mark_ready(task);
  }
  // Where Waker::wake_with_interrupts_off() lands.
  void wake_with_interrupts_off(detail::TaskSlot& task, std::uint32_t stamp) noexcept {
    if (is_waiting(task, stamp)) mark_ready_with_interrupts_off(task);
  }

  [[nodiscard]] bool is_live(TaskId id) const noexcept;
  [[nodiscard]] const ExecutorStats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return slots_.size(); }

 protected:
  // Without a ready queue (SimpleExecutor), wake() only sets the slot's flag.
  enum class ReadyQueue : bool { none, fifo };
  TaskTable(std::span<detail::TaskSlot> slots, ReadyQueue ready_queue,
            InterruptControl* interrupts) noexcept;
  ~TaskTable();  // destroys the frames of tasks that have not ended

  // Resumes `task` once and cleans up if it ended. In the header, so that the executor's loop
  // inlines it: from the ready queue to the coroutine there is no call but the resume itself.
  void poll(detail::TaskSlot& task) noexcept {
    if (!task.root) {  // it ended while still in the ready queue; the queue has let go of it now
      task.link.store(nullptr, std::memory_order_relaxed);
      release(task);
      return;
    }
    // New stamp first, then clear the link (the "queued" mark): a wake-up for the wait that just
    // ended, arriving in between, must neither be lost nor resume the task a second time later.
    std::atomic<std::uint32_t>& stamp = task.wait_stamp;
    stamp.store(stamp.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    task.link.store(nullptr, std::memory_order_release);
    ++stats_.polls;
    task.resume_point.resume();
    if (task.root.done()) complete(task);
  }
  [[nodiscard]] bool slot_is_woken(std::uint32_t slot) const noexcept {
    return slots_[slot].root && slots_[slot].link.load(std::memory_order_relaxed) != nullptr;
  }

  // What the last task in the ready queue links to: not null (null means "not queued"), and no
  // slot's address. Never dereferenced.
  static detail::TaskSlot* queue_end() noexcept {
    return reinterpret_cast<detail::TaskSlot*>(alignof(detail::TaskSlot));
  }

  // Takes the task at the head of the ready queue, if there is one. With interrupts disabled: a
  // handler appending to the queue must not find it half-emptied.
  detail::TaskSlot* take_ready() noexcept {
    if (interrupts_ == nullptr) return take_ready_with_interrupts_off();
    const bool were_enabled = interrupts_->save_and_disable_interrupts();
    detail::TaskSlot* task = take_ready_with_interrupts_off();
    interrupts_->restore_interrupts(were_enabled);
    return task;
  }
  // The task keeps its link (so it still counts as queued) until poll() clears it.
  detail::TaskSlot* take_ready_with_interrupts_off() noexcept {
    detail::TaskSlot* task = ready_head_.load(std::memory_order_relaxed);
    if (task == nullptr) return nullptr;
    detail::TaskSlot* next = task->link.load(std::memory_order_relaxed);
    ready_head_.store(next == queue_end() ? nullptr : next, std::memory_order_relaxed);
    return task;
  }

  std::span<detail::TaskSlot> slots_;
  const ReadyQueue ready_queue_;
  // The ready queue: slots linked through `link`, oldest first (`ready_tail_` is meaningful
  // only while `ready_head_` is not null). The executor takes from the head, wakers append at the
  // tail. Both ends live here, in the executor, so that waking a task while the queue is empty
  // (the common case: one task wakes another, then waits) stores straight into the executor.
  // Why: wake -> resume is a chain of dependent memory accesses, and its length, not the
  // instruction count, sets the cost of a wake-up (docs/ARCHITECTURE.md, "Measurements").
  std::atomic<detail::TaskSlot*> ready_head_{nullptr};
  std::atomic<detail::TaskSlot*> ready_tail_{nullptr};
  InterruptControl* interrupts_;
  // True while the executor waits for an interrupt (set and read with interrupts off): only then
  // must a wake-up tell the InterruptControl (task_became_ready), so the common wake path stays
  // a few stores and keeps being inlined.
  std::atomic<bool> idle_{false};

 private:
  // Whether `stamp` names the wait `task` is in now. A waker from a wait that is already over
  // (or from a task that has ended) wakes nothing.
  bool is_waiting(const detail::TaskSlot& task, std::uint32_t stamp) const noexcept {
    FERRITE_ASSERT(&task >= slots_.data() && &task < slots_.data() + slots_.size());
    return task.wait_stamp.load(std::memory_order_relaxed) == stamp;
  }

  // The test-and-set of the queued mark plus the append must not be split by an interrupt handler
  // doing the same, so code that may run with interrupts on does them with interrupts off.
  void mark_ready(detail::TaskSlot& task) noexcept {
    if (interrupts_ == nullptr) return mark_ready_with_interrupts_off(task);
    const bool were_enabled = interrupts_->save_and_disable_interrupts();
    mark_ready_with_interrupts_off(task);
    interrupts_->restore_interrupts(were_enabled);
  }
  void mark_ready_with_interrupts_off(detail::TaskSlot& task) noexcept {
    // Queued once, however often woken.
    if (task.link.load(std::memory_order_relaxed) != nullptr) return;
    task.link.store(queue_end(), std::memory_order_relaxed);  // the tail; or, for
    if (ready_queue_ == ReadyQueue::none) return;  // SimpleExecutor, the mark is all there is
    if (ready_head_.load(std::memory_order_relaxed) != nullptr) {
      ready_tail_.load(std::memory_order_relaxed)->link.store(&task, std::memory_order_relaxed);
      ready_tail_.store(&task, std::memory_order_relaxed);
    } else {
      ready_head_.store(&task, std::memory_order_relaxed);
      ready_tail_.store(&task, std::memory_order_relaxed);
      if (idle_.load(std::memory_order_relaxed)) wake_idle_executor();
    }
  }
  void complete(detail::TaskSlot& slot) noexcept;
  void release(detail::TaskSlot& slot) noexcept;
  // Out of line and marked cold: the rare path must not make the wake path too big to inline.
  [[gnu::cold, gnu::noinline]] void wake_idle_executor() noexcept {
    interrupts_->task_became_ready();
  }

  detail::TaskSlot* free_head_ = nullptr;  // free slots, linked through `link` (task context only)
  ExecutorStats stats_{};
};

// The seed's SimpleExecutor: no ready queue, no sleeping. Each round it looks at every task and
// resumes those that were woken; it stops when a whole round finds none. Shown for contrast.
class SimpleExecutor : public TaskTable {
 public:
  template <std::size_t N>
  explicit SimpleExecutor(ExecutorStorage<N>& storage) noexcept
      : TaskTable(storage.slots, ReadyQueue::none, nullptr) {}

  // Returns the number of tasks resumed.
  std::uint64_t run_until_idle() noexcept;
};

// The kernel's executor: resumes ready tasks in the order they became ready (fair: a task that
// yields goes behind everyone already waiting), and halts the CPU when none is ready.
class Executor : public TaskTable {
 public:
  // `interrupts` may be null where no interrupts exist (host tests, benchmarks): then nothing
  // can wake a task while the executor waits, so the run functions return when idle.
  template <std::size_t N>
  explicit Executor(ExecutorStorage<N>& storage, InterruptControl* interrupts = nullptr) noexcept
      : TaskTable(storage.slots, ReadyQueue::fifo, interrupts) {}

  // Resumes ready tasks until none is ready; returns the number of tasks resumed.
  std::uint64_t run_until_idle() noexcept;

  // Runs tasks, sleeping when none is ready, until `done()` is true (checked between tasks and
  // after every wake-up). Without InterruptControl it also returns when idle.
  template <std::predicate Done>
  void run_until(Done&& done) noexcept {
    while (!done()) {
      if (run_next()) continue;
      if (!sleep_until_interrupt()) return;
    }
  }

  // The kernel's main loop.
  [[noreturn]] void run() noexcept;

  [[nodiscard]] bool has_ready_tasks() const noexcept {
    return ready_head_.load(std::memory_order_relaxed) != nullptr;
  }

 private:
  // Resumes the task at the head of the ready queue, if there is one.
  bool run_next() noexcept {
    detail::TaskSlot* task = take_ready();
    if (task == nullptr) return false;
    poll(*task);
    return true;
  }
  bool sleep_until_interrupt() noexcept;
};

inline void Waker::wake() const noexcept {
  if (task_ != nullptr) owner_->wake(*task_, stamp_);
}
inline void Waker::wake_with_interrupts_off() const noexcept {
  if (task_ != nullptr) owner_->wake_with_interrupts_off(*task_, stamp_);
}

// `co_await yield_now();` lets every task that is ready run once before this one continues.
struct YieldNow {
  bool await_ready() const noexcept { return false; }
  template <TaskPromise Promise>
  void await_suspend(std::coroutine_handle<Promise> self) const noexcept {
    waker_for(self).wake();
  }
  void await_resume() const noexcept {}
};
[[nodiscard]] inline YieldNow yield_now() noexcept {
  return {};
}

}  // namespace ferrite::task
