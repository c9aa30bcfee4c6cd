// Allocator benchmark (chapter 11): the same traces through ferrite's designs, through
// blog_os's fixed-size block design (blog_os_fixed_block.h) and through the allocators people
// know (glibc malloc, mimalloc, jemalloc), in one run, so ratios are fair.
//
// Names are <allocator>/<trace>; each reports the time per trace and `time_per_op`, the time
// per allocate or deallocate call (CPU time, so other load on the machine counts less). Run: `make bench`, or directly:
//   build/bench/bench_allocators --benchmark_filter='/random$'
//
// Instructions per operation (callgrind counts are exact and repeatable; perf has no hardware
// counters on these machines): `--replay=<name>` runs one trace once to warm up and once more
// inside measured_replay(), and prints the operation count. Count only that second pass:
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//     --toggle-collect='*measured_replay*' build/bench/bench_allocators --replay=fixed_block/random
// and divide Collected by operations (tools/bench_instructions.py does this for every entry:
// `make bench` runs it). `--list` prints the entries.
//
// The three libraries are not linked: each is dlopen'ed and its functions looked up through its
// own handle, and the program stops at start-up unless dladdr places every one of them in the
// library it is named after (peer_libraries.h says why). Our allocators, and the blog_os peer,
// are called directly through their classes, from their own translation units, as a kernel heap
// built for one design would; they run over a pre-faulted region.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <new>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blog_os_fixed_block.h"
#include "mm/allocators/bump.h"
#include "mm/allocators/fixed_block.h"
#include "mm/allocators/linked_list.h"
#include "mm/allocators/tlsf.h"
#include "peer_libraries.h"

namespace {

using namespace ferrite::mm;

constexpr std::size_t kHeapSize = 100 * 1024;  // the seed's HEAP_SIZE: many_boxes iterations
constexpr std::size_t kRandomOperations = 1'000'000;
constexpr std::size_t kRandomMaxLive = 1000;
constexpr std::size_t kRandomAlign = 16;  // what operator new promises

// ---------------------------------------------------------------------------------------------
// The allocators, behind one shape: allocate(size, align) / deallocate(pointer, size, align).

// The peers' functions, loaded and checked by load_peers() before anything runs.
struct {
  void* (*malloc)(std::size_t);
  void (*free)(void*);
  void* (*mi_malloc)(std::size_t);
  void (*mi_free_size)(void*, std::size_t);
  void* (*mallocx)(std::size_t, int);
  void (*sdallocx)(void*, std::size_t, int);
} peer;

struct Glibc {
  static constexpr std::string_view kName = "glibc";
  void* allocate(std::size_t size, std::size_t) { return peer.malloc(size); }
  void deallocate(void* pointer, std::size_t, std::size_t) { peer.free(pointer); }
};

struct Mimalloc {
  static constexpr std::string_view kName = "mimalloc";
  void* allocate(std::size_t size, std::size_t) { return peer.mi_malloc(size); }
  void deallocate(void* pointer, std::size_t size, std::size_t) { peer.mi_free_size(pointer, size); }
};

struct Jemalloc {
  static constexpr std::string_view kName = "jemalloc";
  void* allocate(std::size_t size, std::size_t) { return peer.mallocx(size, 0); }
  void deallocate(void* pointer, std::size_t size, std::size_t) { peer.sdallocx(pointer, size, 0); }
};

// Loads every peer library and checks where its functions live; exits on any mismatch.
void load_peers(bool verbose) {
  for (const ferrite::bench::PeerLibrary& library : ferrite::bench::peer_libraries()) {
    auto functions = ferrite::bench::load_peer(library);
    if (!functions) {
      std::fprintf(stderr, "bench_allocators: peer %.*s is not %s: %s\n",
                   static_cast<int>(library.name.size()), library.name.data(), library.file,
                   functions.error().c_str());
      std::exit(2);
    }
    if (verbose) {
      std::printf("peer %.*s: %s and %s from %s (checked with dladdr)\n",
                  static_cast<int>(library.name.size()), library.name.data(),
                  library.allocate_name, library.deallocate_name, library.file);
    }
    if (library.name == Glibc::kName) {
      peer.malloc = reinterpret_cast<decltype(peer.malloc)>(functions->allocate);
      peer.free = reinterpret_cast<decltype(peer.free)>(functions->deallocate);
    } else if (library.name == Mimalloc::kName) {
      peer.mi_malloc = reinterpret_cast<decltype(peer.mi_malloc)>(functions->allocate);
      peer.mi_free_size = reinterpret_cast<decltype(peer.mi_free_size)>(functions->deallocate);
    } else if (library.name == Jemalloc::kName) {
      peer.mallocx = reinterpret_cast<decltype(peer.mallocx)>(functions->allocate);
      peer.sdallocx = reinterpret_cast<decltype(peer.sdallocx)>(functions->deallocate);
    }
  }
}

// One region for all of ferrite's allocators, touched once so page faults are not measured.
std::span<std::byte> ferrite_region() {
  constexpr std::size_t kBytes = 64 << 20;
  static std::byte* region = [] {
    auto* bytes = static_cast<std::byte*>(::operator new (kBytes, std::align_val_t{4096}));
    std::memset(bytes, 0, kBytes);
    return bytes;
  }();
  return {region, kBytes};
}

template <class Design, const char* Name>
struct Ferrite {
  static constexpr std::string_view kName = Name;
  Ferrite() { design.init(ferrite_region()); }
  void* allocate(std::size_t size, std::size_t align) { return design.allocate(size, align); }
  void deallocate(void* pointer, std::size_t size, std::size_t align) {
    design.deallocate(pointer, size, align);
  }
  Design design;
};

constexpr char kBump[] = "bump";
constexpr char kLinkedList[] = "linked_list";
constexpr char kFixedBlock[] = "fixed_block";
constexpr char kTlsf[] = "tlsf";
constexpr char kBlogOs[] = "blog_os_fixed_block";
using Bump = Ferrite<BumpAllocator, kBump>;
using LinkedList = Ferrite<LinkedListAllocator, kLinkedList>;
using FixedBlock = Ferrite<FixedBlockAllocator, kFixedBlock>;
using Tlsf = Ferrite<TlsfAllocator, kTlsf>;
using BlogOs = Ferrite<ferrite::bench::BlogOsFixedSizeBlock, kBlogOs>;

// ---------------------------------------------------------------------------------------------
// The traces. Each returns how many allocator calls it made, and frees all it allocates.

[[noreturn]] void out_of_memory(std::string_view allocator) {
  std::fprintf(stderr, "%.*s: out of memory\n", static_cast<int>(allocator.size()),
               allocator.data());
  std::abort();
}

// The seed's many_boxes: one 8-byte box at a time.
template <class A>
std::size_t many_boxes(A& allocator) {
  for (std::uint64_t i = 0; i < kHeapSize; ++i) {
    auto* box = static_cast<std::uint64_t*>(allocator.allocate(8, 8));
    if (box == nullptr) out_of_memory(A::kName);
    *box = i;
    benchmark::DoNotOptimize(*box);
    allocator.deallocate(box, 8, 8);
  }
  return 2 * kHeapSize;
}

// The seed's many_boxes_long_lived: the same, while one box lives throughout.
template <class A>
std::size_t many_boxes_long_lived(A& allocator) {
  auto* long_lived = static_cast<std::uint64_t*>(allocator.allocate(8, 8));
  if (long_lived == nullptr) out_of_memory(A::kName);
  *long_lived = 1;
  std::size_t operations = many_boxes(allocator);
  benchmark::DoNotOptimize(*long_lived);
  allocator.deallocate(long_lived, 8, 8);
  return operations + 2;
}

// The seed's large_vec: push 1000 u64 into a vector that doubles (from 4, as Rust's Vec does)
// by allocate, copy, free.
template <class A>
std::size_t large_vec(A& allocator) {
  constexpr std::size_t n = 1000;
  std::uint64_t* data = nullptr;
  std::size_t capacity = 0;
  std::size_t operations = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i == capacity) {
      std::size_t new_capacity = capacity == 0 ? 4 : capacity * 2;
      auto* new_data = static_cast<std::uint64_t*>(allocator.allocate(new_capacity * 8, 8));
      if (new_data == nullptr) out_of_memory(A::kName);
      if (data != nullptr) {
        std::memcpy(new_data, data, i * 8);
        allocator.deallocate(data, capacity * 8, 8);
        ++operations;
      }
      ++operations;
      data = new_data;
      capacity = new_capacity;
    }
    data[i] = i;
  }
  benchmark::DoNotOptimize(data[n - 1]);
  allocator.deallocate(data, capacity * 8, 8);
  return operations + 1;
}

// The random trace: generated once, so the random number generator is not timed.
struct RandomOp {
  std::uint32_t slot;  // which of the kRandomMaxLive live pointers
  std::uint32_t size;  // 8..4096, log-uniform
  bool is_free;
};

const std::vector<RandomOp>& random_trace() {
  static const std::vector<RandomOp> trace = [] {
    std::vector<RandomOp> ops;
    ops.reserve(kRandomOperations + kRandomMaxLive);
    std::mt19937_64 random(42);
    std::uniform_real_distribution<double> log_size(std::log(8.0), std::log(4096.0));
    std::vector<std::uint32_t> live;
    std::vector<std::uint32_t> sizes(kRandomMaxLive);
    std::vector<std::uint32_t> unused;
    for (std::uint32_t slot = kRandomMaxLive; slot-- > 0;) unused.push_back(slot);
    for (std::size_t i = 0; i < kRandomOperations; ++i) {
      bool allocate = live.size() < kRandomMaxLive && (live.empty() || random() % 2 == 0);
      if (allocate) {
        std::uint32_t slot = unused.back();
        unused.pop_back();
        sizes[slot] = static_cast<std::uint32_t>(std::lround(std::exp(log_size(random))));
        ops.push_back({slot, sizes[slot], false});
        live.push_back(slot);
      } else {
        std::size_t index = random() % live.size();
        std::uint32_t slot = live[index];
        live[index] = live.back();
        live.pop_back();
        ops.push_back({slot, sizes[slot], true});
        unused.push_back(slot);
      }
    }
    for (std::uint32_t slot : live) ops.push_back({slot, sizes[slot], true});  // end empty
    return ops;
  }();
  return trace;
}

template <class A>
std::size_t random_ops(A& allocator) {
  static void* slots[kRandomMaxLive];
  const std::vector<RandomOp>& trace = random_trace();
  for (const RandomOp& op : trace) {
    if (op.is_free) {
      allocator.deallocate(slots[op.slot], op.size, kRandomAlign);
    } else {
      void* pointer = allocator.allocate(op.size, kRandomAlign);
      if (pointer == nullptr) out_of_memory(A::kName);
      *static_cast<std::uint32_t*>(pointer) = op.slot;  // touch it, as a user would
      slots[op.slot] = pointer;
    }
  }
  return trace.size();
}

// ---------------------------------------------------------------------------------------------
// Registration: every allocator with every trace it can run.

struct Entry {
  std::string name;
  std::function<void(benchmark::State&)> benchmark;
  std::function<void()> replay;  // --replay: warm-up pass, then measured_replay()
};

std::vector<Entry>& entries() {
  static std::vector<Entry> all;
  return all;
}

std::size_t (*volatile measured_target)(void*) = nullptr;
void* volatile measured_allocator = nullptr;

// The only code callgrind counts in --replay mode (--toggle-collect=*measured_replay*).
[[gnu::noinline]] std::size_t measured_replay() {
  return measured_target(measured_allocator);
}

template <class A, std::size_t (*Trace)(A&)>
void add(std::string_view trace_name) {
  std::string name = std::string(A::kName) + "/" + std::string(trace_name);
  entries().push_back(
      {name,
       [](benchmark::State& state) {
         A allocator;
         std::size_t operations = 0;
         for (auto _ : state) operations = Trace(allocator);
         // Seconds per allocator call (shown as e.g. "2.2ns"; in the JSON as 2.2e-09).
         state.counters["time_per_op"] = benchmark::Counter(
             static_cast<double>(operations),
             benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
       },
       [] {
         static A allocator;
         Trace(allocator);  // warm-up: caches, free lists, the pages of the heap
         measured_allocator = &allocator;
         measured_target = [](void* allocator) { return Trace(*static_cast<A*>(allocator)); };
         std::printf("operations: %zu\n", measured_replay());
       }});
}

template <class A>
void add_all(bool with_random) {
  add<A, many_boxes<A>>("many_boxes");
  add<A, many_boxes_long_lived<A>>("many_boxes_long_lived");
  add<A, large_vec<A>>("large_vec");
  if (with_random) add<A, random_ops<A>>("random");
}

void register_everything() {
  add_all<FixedBlock>(true);
  add_all<Tlsf>(true);
  add_all<LinkedList>(true);
  // The bump allocator reuses nothing while any block lives: the random trace (never empty
  // until its end) would need hundreds of MiB. It runs the seed's traces only.
  add_all<Bump>(false);
  add_all<BlogOs>(true);
  add_all<Glibc>(true);
  add_all<Mimalloc>(true);
  add_all<Jemalloc>(true);
}

}  // namespace

int main(int argc, char** argv) {
  register_everything();
  constexpr std::string_view kReplay = "--replay=";
  if (argc == 2 && std::string_view(argv[1]) == "--list") {
    for (const Entry& entry : entries()) std::printf("%s\n", entry.name.c_str());
    return 0;
  }
  const bool replay = argc == 2 && std::string_view(argv[1]).starts_with(kReplay);
  load_peers(/*verbose=*/!replay);
  if (replay) {
    std::string_view wanted = std::string_view(argv[1]).substr(kReplay.size());
    for (Entry& entry : entries()) {
      if (entry.name == wanted) {
        entry.replay();
        return 0;
      }
    }
    std::fprintf(stderr, "no benchmark named %.*s\n", static_cast<int>(wanted.size()),
                 wanted.data());
    return 1;
  }
  for (Entry& entry : entries()) {
    benchmark::RegisterBenchmark(entry.name.c_str(), entry.benchmark)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
