// The task table and the two executors (chapter 12). See executor.h for the interrupt rules.
#include "task/executor.h"

#include <utility>

#include "lib/panic.h"

namespace ferrite::task {

TaskTable::TaskTable(std::span<detail::TaskSlot> slots, ReadyQueue ready_queue,
                     InterruptControl* interrupts) noexcept
    : slots_(slots), ready_queue_(ready_queue), interrupts_(interrupts) {
  FERRITE_ASSERT(!slots.empty());
  // Build the free list so that slot 0 is handed out first. (The storage may have served an
  // earlier executor: every slot starts over as free.)
  for (std::size_t slot = slots.size(); slot-- > 0;) {
    detail::TaskSlot& task = slots_[slot];
    task.resume_point = {};
    task.root = {};
    release(task);
  }
}

TaskTable::~TaskTable() {
  for (detail::TaskSlot& slot : slots_) {
    if (slot.root) std::exchange(slot.root, {}).destroy();
  }
}

std::expected<TaskId, TaskError> TaskTable::spawn(Task<void> task) noexcept {
  if (task.allocation_failed()) return std::unexpected(TaskError::frame_allocation_failed);
  if (!task.has_frame()) return std::unexpected(TaskError::empty_task);
  if (free_head_ == nullptr) return std::unexpected(TaskError::task_table_full);

  detail::TaskSlot& slot = *free_head_;
  free_head_ = slot.link.load(std::memory_order_relaxed);
  slot.link.store(nullptr, std::memory_order_relaxed);  // not queued

  const Task<void>::Handle root = task.release();
  root.promise().set_context(slot, *this);
  slot.root = root;
  slot.resume_point = root;
  ++stats_.spawned;
  mark_ready(slot);
  return TaskId{static_cast<std::uint32_t>(&slot - slots_.data()), slot.generation};
}

void TaskTable::complete(detail::TaskSlot& slot) noexcept {
  std::atomic<std::uint32_t>& stamp = slot.wait_stamp;
  stamp.store(stamp.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  ++slot.generation;
  ++stats_.completed;
  std::exchange(slot.root, {}).destroy();  // a null root: no task lives here any more
  if (ready_queue_ == ReadyQueue::none) slot.link.store(nullptr, std::memory_order_relaxed);
  // Still queued (woken after its last suspension): poll() releases it when the queue does.
  if (slot.link.load(std::memory_order_acquire) == nullptr) release(slot);
}

void TaskTable::release(detail::TaskSlot& slot) noexcept {
  slot.link.store(free_head_, std::memory_order_relaxed);
  free_head_ = &slot;
}

bool TaskTable::is_live(TaskId id) const noexcept {
  return id.slot < slots_.size() && slots_[id.slot].root &&
         slots_[id.slot].generation == id.generation;
}

std::uint64_t SimpleExecutor::run_until_idle() noexcept {
  std::uint64_t resumed = 0;
  bool found_work = true;
  while (found_work) {
    found_work = false;
    for (std::uint32_t slot = 0; slot < slots_.size(); ++slot) {
      if (!slot_is_woken(slot)) continue;
      found_work = true;
      ++resumed;
      poll(slots_[slot]);
    }
  }
  return resumed;
}

std::uint64_t Executor::run_until_idle() noexcept {
  const std::uint64_t polls_before = stats().polls;
  if (interrupts_ == nullptr) {  // no interrupts to keep out (host): decide that once, not per task
    while (detail::TaskSlot* task = take_ready_with_interrupts_off()) poll(*task);
  } else {
    while (detail::TaskSlot* task = take_ready()) poll(*task);
  }
  return stats().polls - polls_before;
}

bool Executor::sleep_until_interrupt() noexcept {
  if (interrupts_ == nullptr) return false;  // nothing could ever wake us
  interrupts_->disable_interrupts();
  if (has_ready_tasks()) {
    interrupts_->enable_interrupts();  // an interrupt woke a task just before we disabled them
  } else {
    idle_.store(true, std::memory_order_relaxed);  // from here a wake-up must wake us
    interrupts_->enable_interrupts_and_halt();  // the next interrupt ends the halt
    idle_.store(false, std::memory_order_relaxed);
  }
  return true;
}

void Executor::run() noexcept {
  run_until([] { return false; });
  panic("Executor::run: idle with no interrupts to wait for");
}

}  // namespace ferrite::task
