// Loading and checking the benchmark's peer allocators (see peer_libraries.h).
#include "peer_libraries.h"

#include <dlfcn.h>

#include <array>
#include <utility>

namespace ferrite::bench {

std::span<const PeerLibrary> peer_libraries() {
  static constexpr std::array<PeerLibrary, 3> kPeers = {{
      {"glibc", "libc.so.6", "malloc", "free"},
      {"mimalloc", "libmimalloc.so.2", "mi_malloc", "mi_free_size"},
      // Debian builds jemalloc without a symbol prefix: its own API has plain names.
      {"jemalloc", "libjemalloc.so.2", "mallocx", "sdallocx"},
  }};
  return kPeers;
}

std::expected<void, std::string> check_function_library(const void* function,
                                                        std::string_view file) {
  Dl_info info{};
  if (function == nullptr || dladdr(function, &info) == 0 || info.dli_fname == nullptr) {
    return std::unexpected("dladdr knows no shared object at that address");
  }
  std::string_view path = info.dli_fname;
  std::string_view found = path.substr(path.find_last_of('/') + 1);  // npos + 1 == 0
  if (found != file) {
    std::string symbol = info.dli_sname != nullptr ? info.dli_sname : "?";
    return std::unexpected(std::string("expected in ") + std::string(file) + ", found " +
                           symbol + " in " + std::string(path));
  }
  return {};
}

std::expected<PeerFunctions, std::string> load_peer(const PeerLibrary& peer) {
  // RTLD_LOCAL: the library's malloc does not become the process's. glibc is loaded already;
  // dlopen only returns its handle.
  void* handle = dlopen(peer.file, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return std::unexpected(std::string("dlopen: ") + dlerror());
  PeerFunctions functions{dlsym(handle, peer.allocate_name), dlsym(handle, peer.deallocate_name)};
  for (auto [function, symbol] : {std::pair{functions.allocate, peer.allocate_name},
                                  std::pair{functions.deallocate, peer.deallocate_name}}) {
    if (function == nullptr) {
      return std::unexpected(std::string(peer.file) + " has no " + symbol);
    }
    if (auto checked = check_function_library(function, peer.file); !checked) {
      return std::unexpected(std::string(symbol) + ": " + checked.error());
    }
  }
  return functions;  // the handle stays open for the life of the process
}

}  // namespace ferrite::bench
