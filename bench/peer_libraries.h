// The allocators `make bench` compares ferrite's with, each loaded from its own shared object and
// checked to be the library it claims to be (used by bench_allocators and host.test_bench_peers).
//
// Why: Debian's libmimalloc also exports glibc's __libc_malloc, so a benchmark that linked
// mimalloc and called __libc_malloc measured mimalloc under glibc's name. Here nothing is
// reached by symbol interposition: each function is looked up through the handle of the library
// it belongs to (dlopen'ed with RTLD_LOCAL, or returned by dlopen if the program links it), and
// dladdr must then name that library as the one the function lives in. jemalloc has to be linked
// (its thread-local storage is initial-exec: a late dlopen fails with "cannot allocate memory
// in static TLS block"), which makes it the process's malloc; glibc's malloc is still glibc's.
#pragma once

#include <expected>
#include <span>
#include <string>
#include <string_view>

namespace ferrite::bench {

struct PeerLibrary {
  std::string_view name;       // as in the benchmark's names, e.g. "glibc"
  const char* file;            // the shared object, e.g. "libc.so.6"
  const char* allocate_name;   // its allocate and free functions
  const char* deallocate_name;
};

// glibc's malloc/free, mimalloc's mi_malloc/mi_free_size, jemalloc's mallocx/sdallocx.
std::span<const PeerLibrary> peer_libraries();

struct PeerFunctions {
  void* allocate;
  void* deallocate;
};

// Loads `peer.file` and looks up both functions through its handle; checks each with
// check_function_library(). The error says what was found instead.
std::expected<PeerFunctions, std::string> load_peer(const PeerLibrary& peer);

// Whether the code at `function` belongs to the shared object named `file` (compared by file
// name, without the directory), according to dladdr.
std::expected<void, std::string> check_function_library(const void* function,
                                                        std::string_view file);

}  // namespace ferrite::bench
