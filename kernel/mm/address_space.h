// A user address space (chapter 14): the lower half of its own level-4 table, the kernel half
// shared with every other address space. User memory is described by regions (what may be
// there, with which permissions); pages are given frames on first touch (demand paging), and
// every frame and page table of the lower half goes back to the frame allocator when the address
// space is destroyed.
//
// CONTRACT (session of 2026-11-29): this header is the interface the process, exec and syscall
// layers program against. Its implementation lives in mm/address_space.cpp; the bookkeeping of
// regions is portable (mm/region_map.h) and host-tested.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>

#include "abi/errno.h"

namespace ferrite::mm {

// The lowest and one-past-highest user address (the canonical lower half, minus the last page,
// as Linux keeps it: TASK_SIZE = 0x7FFFFFFFF000).
inline constexpr std::uint64_t kUserBase = 0x10000;
inline constexpr std::uint64_t kUserEnd = 0x0000'7FFF'FFFF'F000;
// The initial stack: its top is kUserStackTop, and up to kUserStackBytes below it are a
// demand-zero region (the loader declares it; 8 MiB like Linux's default RLIMIT_STACK).
inline constexpr std::uint64_t kUserStackTop = kUserEnd;
inline constexpr std::uint64_t kUserStackBytes = 8ull << 20;

// Region permissions, the bits of mmap's PROT_* (PROT_READ 1, PROT_WRITE 2, PROT_EXEC 4).
enum Protection : std::uint32_t { kProtNone = 0, kProtRead = 1, kProtWrite = 2, kProtExec = 4 };

// What a page fault asked for.
enum class FaultAccess : std::uint8_t { read, write, execute };

class AddressSpace;

// A new, empty user address space (kernel half shared), or nullptr when no frame is left.
AddressSpace* create_address_space();
// Gives back every frame and page table of the lower half, then the object. Must not be active.
void destroy_address_space(AddressSpace* space);
// Loads `space` into CR3 (nullptr: the kernel's own tables, lower half empty).
void activate(AddressSpace* space);
// The active user address space, or nullptr.
AddressSpace* active_address_space();

class AddressSpace {
 public:
  // Declares [start, start + bytes) as demand-zero memory with `protection` (page-aligned;
  // EINVAL when misaligned or outside the user range, EEXIST when it overlaps unless `replace`,
  // which unmaps what was there first — MAP_FIXED).
  [[nodiscard]] std::expected<void, abi::Errno> map_anonymous(std::uint64_t start,
                                                              std::uint64_t bytes,
                                                              std::uint32_t protection,
                                                              bool replace = false);
  // Finds a free gap of `bytes` in the mmap area (top-down below the stack, like Linux) and maps
  // it as map_anonymous would. ENOMEM when there is none.
  [[nodiscard]] std::expected<std::uint64_t, abi::Errno> map_anywhere(std::uint64_t bytes,
                                                                      std::uint32_t protection);
  // Removes any mapping in the range (pages and regions; frames freed). Unmapped parts are fine.
  [[nodiscard]] std::expected<void, abi::Errno> unmap(std::uint64_t start, std::uint64_t bytes);
  // Changes the permission of every page in the range (ENOMEM if part of it is not mapped).
  [[nodiscard]] std::expected<void, abi::Errno> protect(std::uint64_t start, std::uint64_t bytes,
                                                        std::uint32_t protection);
  // Writes `data` at user address `at`, allocating pages as needed, ignoring the region's write
  // permission (the loader fills read-only text this way). The space need not be active.
  [[nodiscard]] std::expected<void, abi::Errno> write_initial(std::uint64_t at,
                                                              std::span<const std::byte> data);

  // The program break (brk): set_break_base once after loading; brk(0) returns the current end.
  void set_break_base(std::uint64_t base);
  std::uint64_t brk(std::uint64_t requested);

  // The page-fault handler's question: is this a demand-zero page of a region that allows the
  // access? If so, the page is mapped now and the faulting instruction can be retried (true);
  // false means a real fault (the process gets SIGSEGV).
  [[nodiscard]] bool handle_fault(std::uint64_t address, FaultAccess access);

  // Frames this address space holds now (user pages and lower-half page tables).
  [[nodiscard]] std::uint64_t frames_in_use() const;
};

}  // namespace ferrite::mm
