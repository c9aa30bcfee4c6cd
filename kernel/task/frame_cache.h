// Where coroutine frames come from (chapter 12): the heap, through a small cache of recently
// freed frames so that spawning a short task rarely reaches the general allocator.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace ferrite::task {

// A free list per frame size (rounded up to 16 bytes). Every coroutine call allocates a frame and
// frees it when the coroutine ends; most frames have one of a handful of sizes, so a freed frame
// is very likely to fit the next one. Sized delete tells us the size, so no header is needed.
//
// Cached frames are heap allocations the heap counts as live: the shell's `mem` gives them back
// first (trim), so that what it reports is what is in use, and a command that ran once (its
// frame's size class now cached) does not look like a leak.
//
// Not thread-safe: the kernel creates and destroys coroutines only in task context (never in an
// interrupt handler) on one CPU; the host gives each thread its own cache.
class FrameCache {
 public:
  static constexpr std::size_t granule = 16;
  static constexpr std::size_t largest_cached_frame = 512;  // bigger frames go straight to the heap
#if FERRITE_HOST
  // In the kernel a miss is a fixed-size block pop or push; on the host it is glibc's malloc,
  // far dearer (docs/ARCHITECTURE.md, "Measurements"). So the host cache is big enough for a
  // burst of a million tasks; a thread gives its frames back when it ends.
  static constexpr std::size_t max_cached_bytes = 128 * 1024 * 1024;
#else
  static constexpr std::size_t max_cached_bytes = 16 * 1024;  // the kernel heap is small
#endif

  constexpr FrameCache() = default;
  FrameCache(const FrameCache&) = delete;
  FrameCache& operator=(const FrameCache&) = delete;
#if FERRITE_HOST
  ~FrameCache() {
    trim();
  }  // a host thread that ends gives its frames back
#endif

  [[nodiscard]] void* allocate(std::size_t size) noexcept {
    if (size > largest_cached_frame) return heap_allocate(size);
    const std::size_t size_class = class_of(size);
    if (FreeFrame* frame = free_[size_class]) {
      unpoison(frame, size_of_class(size_class));
      free_[size_class] = frame->next;
      cached_bytes_ -= size_of_class(size_class);
      return frame;
    }
    return heap_allocate(size_of_class(size_class));
  }

  void release(void* frame, std::size_t size) noexcept {
    if (size > largest_cached_frame) return heap_release(frame, size);
    const std::size_t size_class = class_of(size);
    const std::size_t bytes = size_of_class(size_class);
    if (cached_bytes_ + bytes > max_cached_bytes) return heap_release(frame, bytes);
    free_[size_class] = ::new (frame) FreeFrame{free_[size_class]};
    cached_bytes_ += bytes;
    poison(frame, bytes);  // under ASan a cached frame is still "freed memory"
  }

  struct Trimmed {
    std::size_t frames = 0;
    std::size_t bytes = 0;
  };
  // Gives every cached frame back to the heap (on the host, when a thread and its cache end; in
  // the kernel, before `mem` counts the heap) and says how many and how large they were.
  Trimmed trim() noexcept {
    Trimmed trimmed;
    for (std::size_t size_class = 0; size_class < free_.size(); ++size_class) {
      while (FreeFrame* frame = free_[size_class]) {
        unpoison(frame, size_of_class(size_class));
        free_[size_class] = frame->next;
        heap_release(frame, size_of_class(size_class));
        ++trimmed.frames;
        trimmed.bytes += size_of_class(size_class);
      }
    }
    cached_bytes_ = 0;
    return trimmed;
  }

 private:
  struct FreeFrame {
    FreeFrame* next;
  };
  static constexpr std::size_t class_count = largest_cached_frame / granule;

  static constexpr std::size_t class_of(std::size_t size) noexcept {
    return size == 0 ? 0 : (size - 1) / granule;
  }
  static constexpr std::size_t size_of_class(std::size_t size_class) noexcept {
    return (size_class + 1) * granule;
  }
  // `std::nothrow_t{}` rather than the `std::nothrow` object: the kernel need not define it.
  static void* heap_allocate(std::size_t size) noexcept {
    return ::operator new (size, std::nothrow_t{});
  }
  static void heap_release(void* frame, std::size_t size) noexcept {
    ::operator delete(frame, size);
  }

  static void poison([[maybe_unused]] void* frame, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__SANITIZE_ADDRESS__)
    ASAN_POISON_MEMORY_REGION(frame, bytes);
#endif
  }
  static void unpoison([[maybe_unused]] void* frame, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__SANITIZE_ADDRESS__)
    ASAN_UNPOISON_MEMORY_REGION(frame, bytes);
#endif
  }

  std::array<FreeFrame*, class_count> free_{};
  std::size_t cached_bytes_ = 0;
};

namespace detail {
#if FERRITE_HOST
inline thread_local constinit FrameCache frame_cache;
#else
inline constinit FrameCache frame_cache;
#endif
}  // namespace detail

#if FERRITE_HOST
// Host tests only: lets a test make coroutine frame allocation fail (the out-of-memory path).
namespace testing {
// How many more coroutine frames can be allocated; negative means "never fail".
inline thread_local constinit std::int64_t coroutine_frames_before_failure = -1;

// For its lifetime, the first `successes` coroutine frames are allocated and every later one fails.
class FailCoroutineFramesAfter {
 public:
  explicit FailCoroutineFramesAfter(std::int64_t successes) noexcept {
    coroutine_frames_before_failure = successes;
  }
  ~FailCoroutineFramesAfter() { coroutine_frames_before_failure = -1; }
  FailCoroutineFramesAfter(const FailCoroutineFramesAfter&) = delete;
  FailCoroutineFramesAfter& operator=(const FailCoroutineFramesAfter&) = delete;
};
}  // namespace testing
#endif

// Returns nullptr when the heap is exhausted; the promise turns that into a failed Task.
[[nodiscard]] inline void* allocate_coroutine_frame(std::size_t size) noexcept {
#if FERRITE_HOST
  if (testing::coroutine_frames_before_failure == 0) return nullptr;
  if (testing::coroutine_frames_before_failure > 0) --testing::coroutine_frames_before_failure;
#endif
  return detail::frame_cache.allocate(size);
}

inline void release_coroutine_frame(void* frame, std::size_t size) noexcept {
  detail::frame_cache.release(frame, size);
}

// This thread's (the kernel: the executor's) cached frames back to the heap; only from task
// context, like every other use of the cache.
inline FrameCache::Trimmed trim_coroutine_frame_cache() noexcept {
  return detail::frame_cache.trim();
}

}  // namespace ferrite::task
