// The memory system calls (chapter 14): brk, mmap, munmap, mprotect, mremap. The argument checks
// are Linux's (mm/mmap.c, mm/mprotect.c, mm/mremap.c); the address space itself
// (mm/address_space.h) keeps the regions and gives pages frames on first touch.
#include <algorithm>

#include "abi/linux_types.h"
#include "syscall/handlers.h"

namespace ferrite::syscall {

namespace {

using abi::Errno;
constexpr std::uint64_t kPage = 4096;

constexpr bool page_aligned(std::uint64_t value) {
  return value % kPage == 0;
}

// Rounds a length up to whole pages; false if that overflows (Linux: ENOMEM).
constexpr bool page_round_up(std::uint64_t bytes, std::uint64_t& rounded) {
  if (__builtin_add_overflow(bytes, kPage - 1, &rounded)) return false;
  rounded &= ~(kPage - 1);
  return true;
}

std::expected<mm::AddressSpace*, Errno> space_of(proc::Process& process) {
  if (process.address_space == nullptr) return std::unexpected(Errno::enomem);
  return process.address_space;
}

// A private mapping of a file: the tree is read-only and in memory, so the mapping is an
// anonymous one with the file's bytes copied in — what MAP_PRIVATE promises, without sharing
// pages with the page cache (there is none).
std::expected<void, Errno> fill_from_file(mm::AddressSpace& space, std::uint64_t at,
                                          std::uint64_t bytes, const fs::Node& node,
                                          std::uint64_t offset) {
  if (offset >= node.data.size()) return {};  // past the end: all zeros (Linux: SIGBUS on touch)
  const std::uint64_t length = std::min(bytes, node.data.size() - offset);
  return space.write_initial(at, node.data.subspan(offset, length));
}

}  // namespace

// brk(addr): returns the new break, or the old one when it cannot move (that is how glibc and
// musl learn it failed: brk never returns an error number).
Result sys_brk(proc::Process& process, const Arguments& a) {
  const auto space = space_of(process);
  if (!space) return 0;
  return static_cast<std::int64_t>((*space)->brk(a.arg[0]));
}

Result sys_mmap(proc::Process& process, const Arguments& a) {
  const std::uint64_t hint = a.arg[0], length = a.arg[1], protection = a.arg[2], flags = a.arg[3],
                      offset = a.arg[5];
  const auto fd = static_cast<std::int32_t>(a.arg[4]);
  if (length == 0 || !page_aligned(offset)) return std::unexpected(Errno::einval);
  if ((protection & ~abi::kProtMask) != 0) return std::unexpected(Errno::einval);
  const std::uint64_t type = flags & abi::kMapTypeMask;
  if (type != abi::kMapPrivate && type != abi::kMapShared) return std::unexpected(Errno::einval);
  std::uint64_t bytes = 0;
  if (!page_round_up(length, bytes)) return std::unexpected(Errno::enomem);
  const auto space = space_of(process);
  if (!space) return std::unexpected(space.error());

  const fs::Node* node = nullptr;
  if ((flags & abi::kMapAnonymous) == 0) {
    const auto file = file_of(process, static_cast<std::uint64_t>(fd));
    if (!file) return std::unexpected(file.error());
    // A /proc file has no bytes to map, only what its open generated (Linux: ENODEV, no mmap).
    if ((*file)->kind != fs::FileKind::regular || (*file)->node->generator != nullptr) {
      return std::unexpected(Errno::enodev);
    }
    if (!(*file)->readable()) return std::unexpected(Errno::eacces);
    // A shared writable mapping would have to write back to the read-only archive.
    if (type == abi::kMapShared && (protection & mm::kProtWrite) != 0)
      return std::unexpected(Errno::eacces);
    node = (*file)->node;
  }
  // Shared anonymous memory needs a second process to share it with (fork, chapter 15): until
  // then it is indistinguishable from private memory.
  const auto permissions = static_cast<std::uint32_t>(protection);
  std::uint64_t at = 0;
  if ((flags & (abi::kMapFixed | abi::kMapFixedNoreplace)) != 0) {
    if (!page_aligned(hint)) return std::unexpected(Errno::einval);
    if (!user_range_ok(hint, bytes) || hint < mm::kUserBase) return std::unexpected(Errno::enomem);
    const bool replace = (flags & abi::kMapFixedNoreplace) == 0;
    if (auto mapped = (*space)->map_anonymous(hint, bytes, permissions, replace); !mapped) {
      return std::unexpected(mapped.error());
    }
    at = hint;
  } else {
    // A hint is taken where it is free, as Linux does; anywhere else otherwise.
    bool placed = false;
    if (hint != 0 && page_aligned(hint) && hint >= mm::kUserBase && user_range_ok(hint, bytes)) {
      placed = (*space)->map_anonymous(hint, bytes, permissions, false).has_value();
      at = hint;
    }
    if (!placed) {
      const auto found = (*space)->map_anywhere(bytes, permissions);
      if (!found) return std::unexpected(found.error());
      at = *found;
    }
  }
  if (node != nullptr) {
    if (auto filled = fill_from_file(**space, at, bytes, *node, offset); !filled) {
      (void)(*space)->unmap(at, bytes);
      return std::unexpected(filled.error());
    }
  }
  return static_cast<std::int64_t>(at);
}

Result sys_munmap(proc::Process& process, const Arguments& a) {
  const std::uint64_t start = a.arg[0];
  std::uint64_t bytes = 0;
  if (!page_aligned(start) || a.arg[1] == 0 || !page_round_up(a.arg[1], bytes)) {
    return std::unexpected(Errno::einval);
  }
  if (!user_range_ok(start, bytes)) return std::unexpected(Errno::einval);
  const auto space = space_of(process);
  if (!space) return std::unexpected(space.error());
  if (auto unmapped = (*space)->unmap(start, bytes); !unmapped)
    return std::unexpected(unmapped.error());
  return 0;
}

Result sys_mprotect(proc::Process& process, const Arguments& a) {
  const std::uint64_t start = a.arg[0], protection = a.arg[2];
  std::uint64_t bytes = 0;
  if (!page_aligned(start) || (protection & ~abi::kProtMask) != 0)
    return std::unexpected(Errno::einval);
  if (!page_round_up(a.arg[1], bytes)) return std::unexpected(Errno::enomem);
  if (bytes == 0) return 0;
  if (!user_range_ok(start, bytes)) return std::unexpected(Errno::enomem);
  const auto space = space_of(process);
  if (!space) return std::unexpected(space.error());
  if (auto changed = (*space)->protect(start, bytes, static_cast<std::uint32_t>(protection));
      !changed) {
    return std::unexpected(changed.error());
  }
  return 0;
}

// mremap(old_address, old_size, new_size, flags, new_address): what glibc's and musl's realloc
// call for a block they mmap'd, so that a growing buffer moves by its page-table entries instead
// of by a copy of its bytes. The flags are checked here, as Linux checks them before it looks at
// the mapping; sizes are rounded up to pages (one that wraps is EINVAL, as Linux's PAGE_ALIGN
// wrapping to 0 is); the rest is AddressSpace::remap's.
Result sys_mremap(proc::Process& process, const Arguments& a) {
  const std::uint64_t old_address = a.arg[0], old_size = a.arg[1], new_size = a.arg[2],
                      flags = a.arg[3], new_address = a.arg[4];
  if ((flags & ~(abi::kMremapMaymove | abi::kMremapFixed | abi::kMremapDontunmap)) != 0)
    return std::unexpected(Errno::einval);
  const bool may_move = (flags & abi::kMremapMaymove) != 0;
  const bool fixed = (flags & abi::kMremapFixed) != 0;
  const bool dont_unmap = (flags & abi::kMremapDontunmap) != 0;
  if (fixed && !may_move) return std::unexpected(Errno::einval);
  // MREMAP_DONTUNMAP is always a move, and never a resize.
  if (dont_unmap && (!may_move || old_size != new_size)) return std::unexpected(Errno::einval);
  if (!page_aligned(old_address)) return std::unexpected(Errno::einval);
  std::uint64_t old_bytes = 0, new_bytes = 0;
  if (!page_round_up(old_size, old_bytes) || !page_round_up(new_size, new_bytes) || new_bytes == 0)
    return std::unexpected(Errno::einval);
  if (fixed && !page_aligned(new_address)) return std::unexpected(Errno::einval);
  const auto space = space_of(process);
  if (!space) return std::unexpected(space.error());
  const auto moved = (*space)->remap(old_address, old_bytes, new_bytes,
                                     {.may_move = may_move,
                                      .fixed = fixed,
                                      .keep_old = dont_unmap,
                                      .new_start = fixed ? new_address : 0});
  if (!moved) return std::unexpected(moved.error());
  return static_cast<std::int64_t>(*moved);
}

}  // namespace ferrite::syscall
