// Threads and tasks meet (chapter 13): `co_await task::thread_exit(thread)` suspends a task until
// a kernel thread has ended, then joins it and gives its exit value — without blocking the
// executor's thread, which keeps running the other tasks meanwhile. (The other direction needs
// nothing new: a thread waits for a task with a sched::Semaphore that the task `up()`s, which is
// safe from any context.)
#pragma once

#include <coroutine>
#include <cstdint>

#include "sched/scheduler.h"
#include "sync/spinlock.h"
#include "task/executor.h"

namespace ferrite::task {

class [[nodiscard]] ThreadExit {
 public:
  explicit ThreadExit(sched::Thread& thread) noexcept : thread_(thread) {}
  ThreadExit(const ThreadExit&) = delete;
  ThreadExit& operator=(const ThreadExit&) = delete;
  // Abandoned while it waits (`unless_cancelled` gave up on it): the thread must not call back
  // into a dead object when it ends.
  ~ThreadExit() {
    sync::InterruptGuard no_interrupts;
    if (thread_.exit_notify_context == this) {
      thread_.exit_notify = nullptr;
      thread_.exit_notify_context = nullptr;
    }
  }

  bool await_ready() const noexcept {
    sync::InterruptGuard no_interrupts;
    return thread_.state == sched::State::dead;
  }

  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> self) noexcept {
    sync::InterruptGuard no_interrupts;  // the thread cannot end between the check and the hook
    if (thread_.state == sched::State::dead) return false;
    waker_ = waker_for(self);
    thread_.exit_notify_context = this;
    thread_.exit_notify = [](void* context) {
      static_cast<ThreadExit*>(context)->waker_.wake_with_interrupts_off();
    };
    return true;
  }

  // The thread has ended: join() returns at once and frees it.
  std::int64_t await_resume() noexcept { return sched::join(thread_); }

 private:
  sched::Thread& thread_;
  Waker waker_{};
};

[[nodiscard]] inline ThreadExit thread_exit(sched::Thread& thread) noexcept {
  return ThreadExit(thread);
}

}  // namespace ferrite::task
