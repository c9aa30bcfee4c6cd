// The benchmark's peers are the libraries they are named after (bench/peer_libraries.h): each
// loads, its allocate and free functions live in that very shared object, and they work.
#include "peer_libraries.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

using ferrite::bench::check_function_library;
using ferrite::bench::load_peer;
using ferrite::bench::peer_libraries;

TEST(BenchPeers, EachPeerComesFromItsOwnLibrary) {
  ASSERT_EQ(peer_libraries().size(), 3u);
  for (const auto& peer : peer_libraries()) {
    auto functions = load_peer(peer);
    ASSERT_TRUE(functions.has_value()) << peer.name << ": " << functions.error();
    EXPECT_TRUE(check_function_library(functions->allocate, peer.file).has_value()) << peer.name;
    EXPECT_TRUE(check_function_library(functions->deallocate, peer.file).has_value())
        << peer.name;
  }
}

TEST(BenchPeers, EachPeerAllocatesAndFrees) {
  for (const auto& peer : peer_libraries()) {
    auto functions = load_peer(peer);
    ASSERT_TRUE(functions.has_value()) << peer.name << ": " << functions.error();
    void* block = nullptr;
    if (peer.name == "glibc") {
      block = reinterpret_cast<void* (*)(std::size_t)>(functions->allocate)(40);
      ASSERT_NE(block, nullptr);
      reinterpret_cast<void (*)(void*)>(functions->deallocate)(block);
    } else if (peer.name == "mimalloc") {
      block = reinterpret_cast<void* (*)(std::size_t)>(functions->allocate)(40);
      ASSERT_NE(block, nullptr);
      reinterpret_cast<void (*)(void*, std::size_t)>(functions->deallocate)(block, 40);
    } else {
      ASSERT_EQ(peer.name, "jemalloc");
      block = reinterpret_cast<void* (*)(std::size_t, int)>(functions->allocate)(40, 0);
      ASSERT_NE(block, nullptr);
      reinterpret_cast<void (*)(void*, std::size_t, int)>(functions->deallocate)(block, 40, 0);
    }
  }
}

// The check itself: a function from one library is refused under another library's name, and
// the message says where it was found.
TEST(BenchPeers, AFunctionFromAnotherLibraryIsRefused) {
  void* mimalloc = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(mimalloc, nullptr) << dlerror();
  // Debian's mimalloc exports glibc's internal name too: the trap the old benchmark fell into.
  void* impostor = dlsym(mimalloc, "__libc_malloc");
  ASSERT_NE(impostor, nullptr);
  auto checked = check_function_library(impostor, "libc.so.6");
  ASSERT_FALSE(checked.has_value());
  EXPECT_NE(checked.error().find("libmimalloc.so.2"), std::string::npos) << checked.error();
  EXPECT_FALSE(check_function_library(nullptr, "libc.so.6").has_value());
}

}  // namespace
