// A user address space (chapter 14): the lower half of its own level-4 table, the kernel half
// shared with every other address space. User memory is described by regions (what may be
// there, with which permissions); pages are given frames on first touch (demand paging), and
// every frame and page table of the lower half goes back to the frame allocator when the address
// space is destroyed.
//
// CONTRACT (session of 2026-11-29): this header is the interface the process, exec and syscall
// layers program against. Its implementation lives in mm/address_space.cpp; the bookkeeping of
// regions is portable (mm/region_map.h) and host-tested.
//
// Threads and locks (chapter 14 session): each space has a mutex (lock 1 in mm/memory.h's list)
// that every public method below takes for its whole run, so a space's regions, lower-half page
// tables and frame count change one caller at a time — the process's own threads (chapter 15),
// its page faults, and kernel code working on it from another thread (the loader, wait4's
// destroy). Page-table work inside takes frames from the frame allocator, which locks itself.
// Because the mutex may sleep, every method needs thread context: the page-fault handler may
// call handle_fault (it runs on the faulting thread's stack, with interrupts on or off), an
// interrupt or NMI handler never calls any of them. And nobody may touch user memory while
// holding a space's mutex: a fault there (copy_from_user on a page not yet there) calls
// handle_fault, which takes the same mutex — copy first, then lock (the user-copy helpers hold
// no lock). Pages are 4 KiB, never global; a PROT_NONE page keeps its frame in a not-present
// entry, so translate() shows nothing there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>

#include "abi/errno.h"
#include "mm/mapper.h"
#include "mm/page.h"
#include "mm/range_set.h"
#include "mm/region_map.h"
#include "sched/sync.h"

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

// Where mmap without an address looks for room: top-down from here, below the stack's 8 MiB and
// a gap (Linux's mmap_base, mm/util.c, keeps at least 128 MiB between the stack top and the mmap
// area, so the stack can grow to its limit without running into a mapping).
inline constexpr std::uint64_t kMmapTop = kUserStackTop - (128ull << 20);
static_assert(kMmapTop <= kUserStackTop - kUserStackBytes);

// How many regions one address space may have (Linux's vm.max_map_count is 65530; ferrite's
// programs need a few dozen). Each costs 24 bytes in the AddressSpace object.
inline constexpr std::size_t kMaxRegions = 256;
// How many separate ranges an address space's extents (everything it ever mapped, below) keep
// apart before neighbours are merged: a program's image, heap, mmap area and stack, with room.
inline constexpr std::size_t kMaxExtents = 16;

// What a page fault asked for.
enum class FaultAccess : std::uint8_t { read, write, execute };

class AddressSpace;

// A new, empty user address space (kernel half shared), or nullptr when no frame is left.
AddressSpace* create_address_space();
// Gives back every frame and page table of the lower half, then the object. Must not be active.
void destroy_address_space(AddressSpace* space);
// Chapter 15, fork: a new space with the same regions and pages as `parent`, copy-on-write —
// every page is shared (frame owner counts, mm/frame_shares.h), writable ones become read-only
// in both until a write fault copies them. nullptr when memory ran out (nothing leaks).
AddressSpace* clone_address_space(AddressSpace& parent);
// The heap bytes of fork's frame owner counts (one per frame of usable memory), which the first
// fork makes and every later one uses; 0 before the first fork.
std::size_t frame_shares_bytes();
// Chapter 15, vfork (CLONE_VM): the space gets one more user — a child that runs in its parent's
// memory — and is returned. Every user gives its share back with release_address_space.
AddressSpace* share_address_space(AddressSpace& space);
// One user fewer; the last one destroys the space (so, as for destroy: it must not be active
// then). A vfork child's exit or execve thus leaves its parent's space whole.
void release_address_space(AddressSpace* space);
// Loads `space` into CR3 (nullptr: the kernel's own tables, lower half empty).
void activate(AddressSpace* space);
// The active user address space, or nullptr.
AddressSpace* active_address_space();

class AddressSpace {
 public:
  // An object with no page tables behind it. The kernel makes its spaces with
  // create_address_space; this constructor stays because code written against the first
  // contract may build one (host tests that fake the methods below do).
  AddressSpace() : level4_table_(*Frame4KiB::starting_at(PhysAddr(0))), frames_in_use_(0) {}
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;

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
  // mremap (chapter 14): the mapping at [old_start, old_start + old_bytes) becomes `new_bytes`
  // long (both rounded up to pages), where it is if it can and elsewhere if allowed, and the
  // address it now starts at is returned. The old range must lie inside one region (one
  // mapping, one protection: EFAULT otherwise) and old_bytes must not be 0 (Linux's
  // "duplicate a shared mapping": every ferrite mapping is private, so EINVAL). Shrinking
  // unmaps the tail. Growing takes the free pages after the region in place, or with
  // `may_move` a range found as map_anywhere finds one (else ENOMEM). A move carries the
  // page-table entries, not the bytes: frames, protection and fork's copy-on-write shares go
  // with them, pages never touched stay demand-zero. All or nothing: on ENOMEM (no frame for a
  // page table, no region slot, no room) every mapping is as it was.
  struct RemapOptions {
    bool may_move = false;        // MREMAP_MAYMOVE
    bool fixed = false;           // MREMAP_FIXED: to new_start exactly, replacing what is there
    bool keep_old = false;        // MREMAP_DONTUNMAP: the old range stays, empty (demand-zero)
    std::uint64_t new_start = 0;  // with `fixed`
  };
  [[nodiscard]] std::expected<std::uint64_t, abi::Errno> remap(std::uint64_t old_start,
                                                               std::uint64_t old_bytes,
                                                               std::uint64_t new_bytes,
                                                               RemapOptions options);
  // Writes `data` at user address `at`, allocating pages as needed, ignoring the region's write
  // permission (the loader fills read-only text this way). The space need not be active. All or
  // nothing: on ENOMEM no byte is written and no page is left mapped that was not there before
  // (page tables made on the way stay, counted, as with every mapping).
  [[nodiscard]] std::expected<void, abi::Errno> write_initial(std::uint64_t at,
                                                              std::span<const std::byte> data);

  // The program break (brk): set_break_base once after loading; brk(0) returns the current end.
  void set_break_base(std::uint64_t base);
  std::uint64_t brk(std::uint64_t requested);

  // The page-fault handler's question: is this a demand-zero page of a region that allows the
  // access? If so, the page is mapped now and the faulting instruction can be retried (true);
  // false means a real fault (the process gets SIGSEGV).
  [[nodiscard]] bool handle_fault(std::uint64_t address, FaultAccess access);

  // Frames this address space holds now (user pages and lower-half page tables). A snapshot,
  // read without the lock.
  [[nodiscard]] std::uint64_t frames_in_use() const;

  // Added to the contract (not used by the other layers yet):
  // Where `address` leads in this space's page tables, or nothing (tests; fault reports).
  [[nodiscard]] std::optional<Translation> translate(std::uint64_t address) const;
  // A cap on frames_in_use(): a frame beyond it is refused as if memory were exhausted (a
  // per-process memory limit; tests use it to run out of frames at a chosen point).
  // One word, set without the lock: the next allocation sees it.
  void set_frame_limit(std::uint64_t frames) { __atomic_store_n(&frame_limit_, frames, __ATOMIC_RELAXED); }
  // The regions, sorted by address. Unlocked: only while nobody else can change the space
  // (tests, a process's only thread).
  [[nodiscard]] std::span<const Region> regions() const { return regions_.regions(); }
  // The region holding `address`, or nullptr (unlocked too).
  [[nodiscard]] const Region* region_at(std::uint64_t address) const { return regions_.find(address); }
  // Where set_break_base put the program break (brk(0) tells where it is now).
  [[nodiscard]] std::uint64_t break_base() const { return break_base_; }

 private:
  friend AddressSpace* create_address_space();
  friend void destroy_address_space(AddressSpace* space);
  friend void activate(AddressSpace* space);
  friend AddressSpace* clone_address_space(AddressSpace& parent);
  friend AddressSpace* share_address_space(AddressSpace& space);
  friend void release_address_space(AddressSpace* space);
  friend class SpaceFrames;

  explicit AddressSpace(Frame4KiB level4_table) : level4_table_(level4_table) {}

  // A mapper over this space's tables. Call with lock_ held, as every *_locked function.
  Mapper page_mapper() const;
  // map_anonymous and unmap without taking the lock (brk calls them).
  std::expected<void, abi::Errno> map_anonymous_locked(std::uint64_t start, std::uint64_t bytes,
                                                       std::uint32_t protection, bool replace);
  std::expected<void, abi::Errno> unmap_locked(std::uint64_t start, std::uint64_t bytes);
  // remap's move: [old_start, old_end) to [new_start, new_start + new_size), `protection` the
  // old region's. `replace`: MAP_FIXED-like, whatever is at the new range goes.
  std::expected<std::uint64_t, abi::Errno> move_locked(
      std::uint64_t old_start, std::uint64_t old_end, std::uint64_t new_start,
      std::uint64_t new_size, std::uint32_t protection, bool replace, bool keep_old);
  // Unmaps every page in [start, end) and frees its frame; re-flags the pages there.
  void unmap_pages_locked(std::uint64_t start, std::uint64_t end);
  bool copy_on_write_locked(Page4KiB page, PageTableEntry& entry);  // `entry` maps `page`
  void set_page_protection_locked(std::uint64_t start, std::uint64_t end, std::uint32_t protection);

  // Lock 1 of mm/memory.h: everything below but level4_table_, which never changes. mutable:
  // translate() is const and still waits for a change in progress to finish.
  mutable sched::Mutex lock_{"address space"};
  Frame4KiB level4_table_;  // the table CR3 points to while this space is active
  RegionMap<kMaxRegions> regions_;
  // Chapter 15: every range that was ever a region (page-aligned; grows only). Pages are only
  // ever mapped inside regions, so every page table of the space lies within these ranges even
  // after munmap (which keeps empty tables): exit frees the tables by walking them alone.
  RangeSet<kMaxExtents> extents_;
  std::uint64_t frames_in_use_ = 1;  // the level-4 table
  // The processes running in this space (Linux's mm_users): 1, or more while vfork children
  // borrow it. Changed atomically: a parent and its vfork child may end on different CPUs.
  std::uint32_t users_ = 1;
  std::uint64_t frame_limit_ = ~std::uint64_t{0};
  std::uint64_t break_base_ = 0;  // 0 until set_break_base
  std::uint64_t break_end_ = 0;   // the current break (not page-aligned)
};

}  // namespace ferrite::mm
