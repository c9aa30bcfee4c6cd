// Task<T>: the kernel's unit of asynchronous work (chapter 12, "Async/Await"). A Task is a lazy
// C++20 coroutine: calling a Task function allocates its frame and stops before the first
// statement; the frame runs when an executor spawns it or when another task `co_await`s it.
//
// What the seed does with `Future::poll` and `Context`, we do with coroutines:
//  - `co_await child()` starts the child at once (symmetric transfer: no stack growth) and resumes
//    the parent with the child's result when the child ends.
//  - A task that must wait (for a key, a tick, another task) suspends inside an awaitable that
//    hands the task's Waker (executor.h) to whoever will produce the event. Waking only marks the
//    task ready; the executor resumes it later, never inside an interrupt handler.
#pragma once

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "lib/panic.h"
#include "task/frame_cache.h"

namespace ferrite::task {

class TaskTable;

// Why a Task could not run: awaiting it gave no value (Task::checked()), or spawning it failed
// (TaskTable::spawn, executor.h).
enum class TaskError : std::uint8_t {
  frame_allocation_failed,
  empty_task,
  task_table_full,  // spawning only
};

constexpr std::string_view to_string(TaskError error) {
  switch (error) {
    case TaskError::frame_allocation_failed:
      return "out of memory: the task's coroutine frame could not be allocated";
    case TaskError::empty_task:
      return "the task is empty (moved from, or already spawned)";
    case TaskError::task_table_full:
      return "the executor's task table is full";
  }
  return "unknown task error";
}

namespace detail {

// The part of an executor's task slot that the task's coroutines see. Every coroutine in a chain
// of `co_await`s points at its top-level task's context (and, in its promise, at the executor).
struct TaskContext {
  // The innermost coroutine of the chain: the one the executor resumes when the task is woken.
  std::coroutine_handle<> resume_point{};
  // Bumped by the executor each time it resumes the task (see Waker in executor.h).
  std::atomic<std::uint32_t> wait_stamp{0};
};

// What all Task promises share: frame allocation, the task context and the continuation.
class PromiseBase {
 public:
  // Frames come from the kernel heap. Returning nullptr (never throwing) makes the compiler call
  // get_return_object_on_allocation_failure() instead of running the coroutine.
  static void* operator new(std::size_t size) noexcept { return allocate_coroutine_frame(size); }
  static void operator delete(void* frame, std::size_t size) noexcept {
    release_coroutine_frame(frame, size);
  }

  std::suspend_always initial_suspend() const noexcept { return {}; }  // lazy

  // Ending a coroutine returns control to whoever awaited it (symmetric transfer), or to the
  // executor for a top-level task.
  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <std::derived_from<PromiseBase> Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> ending) const noexcept {
      PromiseBase& promise = ending.promise();
      if (!promise.continuation_) return std::noop_coroutine();
      if (promise.context_ != nullptr) promise.context_->resume_point = promise.continuation_;
      return promise.continuation_;
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() const noexcept { return {}; }

  // With -fno-exceptions nothing can be thrown, but the promise must still say what happens.
  [[noreturn]] void unhandled_exception() const noexcept {
    panic("an exception escaped a task (impossible when built with -fno-exceptions)");
  }

  // The top-level task this coroutine belongs to; null until it is spawned or awaited. Awaitables
  // reach the task's Waker through it (waker_for, executor.h).
  [[nodiscard]] TaskContext* context() const noexcept { return context_; }

  // The executor that runs the task; kept next to the context so that waker_for reads it from
  // the coroutine's own frame (see waker_for, executor.h).
  [[nodiscard]] TaskTable* owner() const noexcept { return owner_; }

  // The executor `owner` adopts a top-level task.
  void set_context(TaskContext& context, TaskTable& owner) noexcept {
    context_ = &context;
    owner_ = &owner;
  }

  // Called when `parent` awaits this (not yet started) coroutine, `self`.
  void start_as_child(PromiseBase& parent_promise, std::coroutine_handle<> parent,
                      std::coroutine_handle<> self) noexcept {
    FERRITE_ASSERT(!continuation_);  // a Task is awaited once
    continuation_ = parent;
    context_ = parent_promise.context_;
    owner_ = parent_promise.owner_;
    if (context_ != nullptr) context_->resume_point = self;
  }

 private:
  TaskContext* context_ = nullptr;
  TaskTable* owner_ = nullptr;
  std::coroutine_handle<> continuation_{};
};

template <typename T>
class ValuePromise : public PromiseBase {
 public:
  template <typename U>
  requires std::convertible_to<U&&, T>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    result_.emplace(std::forward<U>(value));
  }
  T take_result() noexcept(std::is_nothrow_move_constructible_v<T>) {
    FERRITE_ASSERT(result_.has_value());
    return std::move(*result_);
  }

 private:
  std::optional<T> result_;
};

template <>
class ValuePromise<void> : public PromiseBase {
 public:
  void return_void() const noexcept {}
  void take_result() const noexcept {}
};

}  // namespace detail

// The promises of Task coroutines; awaitables use it to reach the task's Waker.
template <typename Promise>
concept TaskPromise = std::derived_from<Promise, detail::PromiseBase>;

template <typename T = void>
class [[nodiscard]] Task {
  static_assert(!std::is_reference_v<T>, "a Task returns values; return a pointer instead");

 public:
  class promise_type : public detail::ValuePromise<T> {
   public:
    Task get_return_object() noexcept {
      return Task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    // The heap was exhausted: the caller gets a Task in the "failed" state; no frame exists.
    static Task get_return_object_on_allocation_failure() noexcept {
      Task failed;
      failed.allocation_failed_ = true;
      return failed;
    }
  };
  using Handle = std::coroutine_handle<promise_type>;

  constexpr Task() = default;  // empty
  Task(Task&& other) noexcept
      : handle_(std::exchange(other.handle_, {})),
        allocation_failed_(std::exchange(other.allocation_failed_, false)) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
      allocation_failed_ = std::exchange(other.allocation_failed_, false);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { destroy(); }

  // True when the coroutine could not be created for lack of memory.
  [[nodiscard]] bool allocation_failed() const noexcept { return allocation_failed_; }
  // True when the Task owns a coroutine frame (not failed, not moved from or spawned).
  [[nodiscard]] bool has_frame() const noexcept { return static_cast<bool>(handle_); }
  [[nodiscard]] std::optional<TaskError> error() const noexcept {
    if (allocation_failed_) return TaskError::frame_allocation_failed;
    if (!handle_) return TaskError::empty_task;
    return std::nullopt;
  }

  // `T value = co_await child();` Runs the child to completion and gives its result. Awaiting a
  // Task that has no frame panics with the reason (use checked() to handle it instead).
  auto operator co_await() && noexcept { return Awaiter<false>{handle_, error()}; }

  // `std::expected<T, TaskError> r = co_await child().checked();` The same, but a Task without a
  // frame (out of memory) gives an error instead of a panic.
  auto checked() && noexcept { return Awaiter<true>{handle_, error()}; }

  // The executor takes ownership of the frame.
  [[nodiscard]] Handle release() noexcept { return std::exchange(handle_, {}); }

 private:
  explicit Task(Handle handle) noexcept : handle_(handle) {}

  void destroy() noexcept {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

  template <bool Checked>
  struct Awaiter {
    Handle child;
    std::optional<TaskError> error;

    // Without a frame there is nothing to run: skip the suspension, report in await_resume.
    bool await_ready() const noexcept { return error.has_value(); }

    template <TaskPromise ParentPromise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<ParentPromise> parent) noexcept {
      child.promise().start_as_child(parent.promise(), parent, child);
      return child;
    }

    auto await_resume() noexcept {
      if constexpr (Checked) {
        using Result = std::expected<T, TaskError>;
        if (error) return Result{std::unexpect, *error};
        if constexpr (std::is_void_v<T>) {
          return Result{};
        } else {
          return Result{child.promise().take_result()};
        }
      } else {
        if (error) panic(to_string(*error));
        return child.promise().take_result();
      }
    }
  };

  Handle handle_{};
  bool allocation_failed_ = false;
};

}  // namespace ferrite::task
