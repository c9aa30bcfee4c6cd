// What does ferrite's executor cost on top of the language (chapter 12)? In one run:
//  (a) the floor: a bare C++20 coroutine created, resumed and destroyed (one at a time, and a
//      million alive at once); and a bare resume,
//  (b) spawn + run to completion of 1,000,000 trivial tasks on our Executor,
//  (c) ping-pong between two tasks through wakers (one hop = wake, suspend, resume), and the
//      same between two bare coroutines with no executor (the floor of a hop through memory),
//  (d) Boost.Asio's io_context doing the same work: post + run, and co_spawn of coroutines.
// Per-task / per-hop times are in the counters (`per_task`, `per_hop`), bare loops in `Time`.
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include "task/executor.h"

namespace {

using namespace ferrite::task;

constexpr std::int64_t million = 1'000'000;

void set_per_item(benchmark::State& state, const char* name, std::int64_t items_per_iteration) {
  state.counters[name] =
      benchmark::Counter(static_cast<double>(items_per_iteration * state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// ---------------------------------------------------------------------------------------------
// (a) The floor: the smallest coroutine type there is, with the default operator new.

struct BareCoroutine {
  struct promise_type {
    BareCoroutine get_return_object() {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() {}
  };
  std::coroutine_handle<promise_type> handle;
};

BareCoroutine bare_trivial(int* counter) {
  ++*counter;
  co_return;
}

BareCoroutine bare_forever(int* counter) {
  for (;;) {
    ++*counter;
    co_await std::suspend_always{};
  }
}

void bare_coroutine_create_resume_destroy(benchmark::State& state) {
  int counter = 0;
  for (auto _ : state) {
    BareCoroutine coroutine = bare_trivial(&counter);
    coroutine.handle.resume();
    coroutine.handle.destroy();
  }
  benchmark::DoNotOptimize(counter);
}
BENCHMARK(bare_coroutine_create_resume_destroy)->Name("bare_coroutine/create_resume_destroy");

void bare_coroutine_resume(benchmark::State& state) {
  int counter = 0;
  BareCoroutine coroutine = bare_forever(&counter);
  for (auto _ : state) coroutine.handle.resume();
  coroutine.handle.destroy();
  benchmark::DoNotOptimize(counter);
}
BENCHMARK(bare_coroutine_resume)->Name("bare_coroutine/resume");

// The floor for spawning a million tasks before running any: a million bare coroutines alive at
// once (their frames no longer fit in any cache), then each resumed and destroyed.
void bare_coroutine_million_alive(benchmark::State& state) {
  std::vector<BareCoroutine> coroutines;
  coroutines.reserve(million);
  int counter = 0;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < million; ++i) coroutines.push_back(bare_trivial(&counter));
    for (BareCoroutine& coroutine : coroutines) {
      coroutine.handle.resume();
      coroutine.handle.destroy();
    }
    coroutines.clear();
  }
  if (counter != million * state.iterations()) state.SkipWithError("coroutines lost");
  set_per_item(state, "per_task", million);
}
BENCHMARK(bare_coroutine_million_alive)
    ->Name("bare_coroutine/create_1M_then_resume_destroy")
    ->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------------
// (b) Spawn + run to completion on ferrite's Executor.

Task<> trivial_task(int* counter) {
  ++*counter;
  co_return;
}

using MillionTaskStorage = ExecutorStorage<million>;

// `batch` tasks are spawned, then run; repeated until a million have run.
void executor_spawn_run(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  auto storage = std::make_unique<MillionTaskStorage>();
  Executor executor{*storage};
  int counter = 0;
  for (auto _ : state) {
    for (std::int64_t done = 0; done < million; done += batch) {
      for (std::int64_t i = 0; i < batch; ++i) {
        if (!executor.spawn(trivial_task(&counter))) state.SkipWithError("spawn failed");
      }
      executor.run_until_idle();
    }
  }
  if (counter != million * state.iterations()) state.SkipWithError("tasks lost");
  set_per_item(state, "per_task", million);
}
BENCHMARK(executor_spawn_run)
    ->Name("ferrite_executor/spawn_run_1M/batch")
    ->Arg(million)
    ->Arg(1000)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------------
// (c) Wake-to-resume.

// A ball passed between two tasks; the receiver waits for it with its Waker.
class Baton {
 public:
  void pass() {
    has_ball_ = true;
    std::exchange(waiting_, Waker{}).wake();
  }
  struct Receive {
    Baton& baton;
    bool await_ready() const noexcept { return baton.has_ball_; }
    template <TaskPromise Promise>
    void await_suspend(std::coroutine_handle<Promise> self) noexcept {
      baton.waiting_ = waker_for(self);
    }
    void await_resume() const noexcept { baton.has_ball_ = false; }
  };
  Receive receive() { return Receive{*this}; }

 private:
  bool has_ball_ = false;
  Waker waiting_{};
};

Task<> ping(Baton& mine, Baton& theirs, std::int64_t rounds) {
  for (std::int64_t i = 0; i < rounds; ++i) {
    theirs.pass();
    co_await mine.receive();
  }
}

Task<> pong(Baton& mine, Baton& theirs, std::int64_t rounds) {
  for (std::int64_t i = 0; i < rounds; ++i) {
    co_await mine.receive();
    theirs.pass();
  }
}

void executor_ping_pong(benchmark::State& state) {
  constexpr std::int64_t rounds = million / 2;  // two hops per round
  ExecutorStorage<2> storage;
  Executor executor{storage};
  Baton ping_baton;
  Baton pong_baton;
  for (auto _ : state) {
    if (!executor.spawn(ping(ping_baton, pong_baton, rounds)) ||
        !executor.spawn(pong(pong_baton, ping_baton, rounds))) {
      state.SkipWithError("spawn failed");
    }
    executor.run_until_idle();
  }
  if (executor.stats().live() != 0) state.SkipWithError("ping-pong did not finish");
  set_per_item(state, "per_hop", 2 * rounds);
}
BENCHMARK(executor_ping_pong)
    ->Name("ferrite_executor/ping_pong_1M_hops")
    ->Unit(benchmark::kMillisecond);

// Diagnostic (no target): the floor of a wake-to-resume hop through memory, without an
// executor. Two bare coroutines pass a ball as ping/pong do; a waiting one leaves its handle in
// the baton, and passing stores that handle as the one "ready" coroutine, which a two-line loop
// resumes. No queue, no stamps, no task slots: what is left is the chain of dependent memory
// accesses that any wake-up through memory has (ready handle -> frame -> baton -> handle).
struct BareBaton {
  bool has_ball = false;
  std::coroutine_handle<> waiting{};
};
struct BareHop {
  std::coroutine_handle<> ready{};  // the one coroutine to resume next
  void pass(BareBaton& baton) {
    baton.has_ball = true;
    ready = std::exchange(baton.waiting, {});
  }
  struct Receive {
    BareBaton& baton;
    bool await_ready() const noexcept { return baton.has_ball; }
    void await_suspend(std::coroutine_handle<> self) const noexcept { baton.waiting = self; }
    void await_resume() const noexcept { baton.has_ball = false; }
  };
};

BareCoroutine bare_ping(BareHop& hop, BareBaton& mine, BareBaton& theirs, std::int64_t rounds) {
  for (std::int64_t i = 0; i < rounds; ++i) {
    hop.pass(theirs);
    co_await BareHop::Receive{mine};
  }
}

BareCoroutine bare_pong(BareHop& hop, BareBaton& mine, BareBaton& theirs, std::int64_t rounds) {
  for (std::int64_t i = 0; i < rounds; ++i) {
    co_await BareHop::Receive{mine};
    hop.pass(theirs);
  }
}

void bare_coroutine_ping_pong(benchmark::State& state) {
  constexpr std::int64_t rounds = million / 2;
  BareHop hop;
  BareBaton ping_baton;
  BareBaton pong_baton;
  for (auto _ : state) {
    BareCoroutine ping_coroutine = bare_ping(hop, ping_baton, pong_baton, rounds);
    BareCoroutine pong_coroutine = bare_pong(hop, pong_baton, ping_baton, rounds);
    pong_coroutine.handle.resume();  // waits for the ball
    hop.ready = ping_coroutine.handle;
    while (std::coroutine_handle<> next = std::exchange(hop.ready, {})) next.resume();
    if (!ping_coroutine.handle.done() || !pong_coroutine.handle.done()) {
      state.SkipWithError("bare ping-pong did not finish");
    }
    ping_coroutine.handle.destroy();
    pong_coroutine.handle.destroy();
  }
  set_per_item(state, "per_hop", 2 * rounds);
}
BENCHMARK(bare_coroutine_ping_pong)
    ->Name("bare_coroutine/ping_pong_1M_hops")
    ->Unit(benchmark::kMillisecond);

Task<> yield_many(std::int64_t times) {
  for (std::int64_t i = 0; i < times; ++i) co_await yield_now();
}

void executor_yield(benchmark::State& state) {
  ExecutorStorage<1> storage;
  Executor executor{storage};
  for (auto _ : state) {
    if (!executor.spawn(yield_many(million))) state.SkipWithError("spawn failed");
    executor.run_until_idle();
  }
  set_per_item(state, "per_hop", million);
}
BENCHMARK(executor_yield)->Name("ferrite_executor/yield_now_1M")->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------------
// (d) Boost.Asio: the same million units of work on an io_context.

void asio_post_run(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  boost::asio::io_context context;
  int counter = 0;
  for (auto _ : state) {
    for (std::int64_t done = 0; done < million; done += batch) {
      for (std::int64_t i = 0; i < batch; ++i)
        boost::asio::post(context, [&counter] { ++counter; });
      context.run();
      context.restart();
    }
  }
  if (counter != million * state.iterations()) state.SkipWithError("handlers lost");
  set_per_item(state, "per_task", million);
}
BENCHMARK(asio_post_run)
    ->Name("asio/post_run_1M/batch")
    ->Arg(million)
    ->Arg(1000)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);

boost::asio::awaitable<void> asio_trivial(int* counter) {
  ++*counter;
  co_return;
}

void asio_co_spawn_run(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  boost::asio::io_context context;
  int counter = 0;
  for (auto _ : state) {
    for (std::int64_t done = 0; done < million; done += batch) {
      for (std::int64_t i = 0; i < batch; ++i) {
        boost::asio::co_spawn(context, asio_trivial(&counter), boost::asio::detached);
      }
      context.run();
      context.restart();
    }
  }
  if (counter != million * state.iterations()) state.SkipWithError("coroutines lost");
  set_per_item(state, "per_task", million);
}
BENCHMARK(asio_co_spawn_run)
    ->Name("asio/co_spawn_run_1M/batch")
    ->Arg(million)
    ->Arg(1000)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
