// Host stand-in for the kernel's panic: print like the kernel does, then abort, so that
// GoogleTest death tests (EXPECT_DEATH) can check the message.
#include <cstdio>
#include <cstdlib>

#include "lib/panic.h"

namespace ferrite {

void panic_at(std::source_location where, std::string_view message) {
  std::fprintf(stderr, "KERNEL PANIC at %s:%u: %.*s\n", where.file_name(),
               static_cast<unsigned>(where.line()), static_cast<int>(message.size()),
               message.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace ferrite
