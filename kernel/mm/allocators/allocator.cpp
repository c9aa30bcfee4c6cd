// Support shared by the allocator designs: the panic message for a bad free, formatted on the
// stack (the heap is what just broke).
#include "mm/allocators/allocator.h"

#include "lib/format.h"
#include "lib/panic.h"

namespace ferrite::mm::allocator_detail {

void panic_bad_free(std::string_view allocator, std::string_view problem, const void* pointer,
                    std::size_t size, std::size_t align, std::source_location where) {
  char message[192];
  std::size_t length = fmt::format_to_buffer(message, "{}: {} (pointer {}, size {}, align {})",
                                             allocator, problem, pointer, size, align);
  panic_at(where,
           std::string_view(message, length < sizeof(message) ? length : sizeof(message) - 1));
}

}  // namespace ferrite::mm::allocator_detail
