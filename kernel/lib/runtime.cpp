// The freestanding C and C++ runtime the compiler expects (chapter 1): the mem* functions it may
// call for copies and initialisation, the C++ ABI hooks for virtual functions and static
// objects, and what the few std headers we use call on errors (they would throw; we panic).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "lib/mem.h"
#include "lib/panic.h"

extern "C" {

void* memcpy(void* dst, const void* src, std::size_t n) { return ferrite::lib::copy_memory(dst, src, n); }
void* memmove(void* dst, const void* src, std::size_t n) { return ferrite::lib::move_memory(dst, src, n); }
void* memset(void* dst, int value, std::size_t n) { return ferrite::lib::set_memory(dst, value, n); }
int memcmp(const void* a, const void* b, std::size_t n) { return ferrite::lib::compare_memory(a, b, n); }

std::size_t strlen(const char* s) {
  std::size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

void* memchr(const void* s, int c, std::size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(s);
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes[i] == static_cast<unsigned char>(c)) return const_cast<unsigned char*>(bytes + i);
  }
  return nullptr;
}

// A pure virtual function was called (through a half-constructed or destroyed object).
void __cxa_pure_virtual() { ferrite::panic("pure virtual function called"); }

// Destructors of global objects are registered here; the kernel never exits, so they never run.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
void* __dso_handle = nullptr;

[[noreturn]] void abort() { ferrite::panic("abort() called"); }

// libstdc++ asks glibc whether the process is single-threaded to skip atomic reference counts
// (std::shared_ptr). Interrupt handlers make the kernel "multi-threaded": keep them atomic.
char __libc_single_threaded = 0;

}  // extern "C"

// libstdc++ calls these where it would throw (e.g. std::expected::value() on an error).
namespace std {
const nothrow_t nothrow{};

// std::shared_ptr's control block can answer "which deleter?" only with RTTI; we have none.
bool _Sp_make_shared_tag::_S_eq(const type_info&) noexcept { return false; }

[[noreturn]] void __throw_bad_alloc() { ferrite::panic("std::bad_alloc"); }
[[noreturn]] void __throw_bad_array_new_length() { ferrite::panic("std::bad_array_new_length"); }
[[noreturn]] void __throw_length_error(const char* what) { ferrite::panic(what); }
[[noreturn]] void __throw_logic_error(const char* what) { ferrite::panic(what); }
[[noreturn]] void __throw_out_of_range(const char* what) { ferrite::panic(what); }
[[noreturn]] void __throw_out_of_range_fmt(const char* what, ...) { ferrite::panic(what); }
[[noreturn]] void __throw_invalid_argument(const char* what) { ferrite::panic(what); }
[[noreturn]] void __throw_bad_function_call() { ferrite::panic("std::bad_function_call"); }
}  // namespace std

namespace ferrite::lib {

// Global constructors, in the order the linker collected them (kernel/linker.ld).
extern "C" void (*__init_array_start[])();
extern "C" void (*__init_array_end[])();

void run_global_constructors() {
  for (auto* constructor = __init_array_start; constructor != __init_array_end; ++constructor) {
    (*constructor)();
  }
}

}  // namespace ferrite::lib
