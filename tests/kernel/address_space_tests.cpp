// Chapter 14's user address spaces in the running kernel (mm/address_space.h): the shared kernel
// half, demand-zero pages with their region's permissions, write_initial, unmap / protect / brk /
// map_anywhere, and that every frame comes back — also when frames run out half-way.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "arch/x86_64/cpu.h"
#include "lib/log.h"
#include "mm/address_space.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "test/ktest.h"

namespace {

using namespace ferrite::mm;

constexpr std::uint64_t kPage = kPageBytes;
constexpr std::uint64_t kData = 0x0000'0000'4000'0000;  // 1 GiB: some user address
constexpr std::uint32_t kRW = kProtRead | kProtWrite;

// A kernel-half address nothing maps: in the thread stacks' level-4 slot (448), which mm::init
// prepared, 256 GiB above the stacks (64 threads x 64 KiB). And one in a slot nothing uses
// (480; the kernel image is in 511), whose level-4 entry was never made.
constexpr std::uint64_t kUnusedKernelAddress = kThreadStacksStart + (std::uint64_t{256} << 30);
constexpr std::uint64_t kUnpreparedKernelSlot = 0xFFFF'F000'0000'0000;

const std::byte* bytes_at(const AddressSpace& space, std::uint64_t address) {
  const auto translation = space.translate(address);
  return translation ? physical_to_virtual<const std::byte>(translation->address.value()) : nullptr;
}

bool is_zero_page(const AddressSpace& space, std::uint64_t page) {
  const std::byte* bytes = bytes_at(space, page);
  if (bytes == nullptr) return false;
  for (std::uint64_t i = 0; i < kPage; ++i) {
    if (bytes[i] != std::byte{0}) return false;
  }
  return true;
}

}  // namespace

KTEST(aspace_new_space_shares_the_kernel_half_and_has_an_empty_lower_half) {
  const std::uint64_t used_before = frame_allocator().used_frames();
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  KEXPECT_EQ(space->frames_in_use(), std::uint64_t{1});  // just the level-4 table
  KEXPECT_EQ(frame_allocator().used_frames(), used_before + 1);
  const KernelSections sections = kernel_sections();
  const auto text = space->translate(sections.text_start.value());
  KASSERT(text.has_value());
  KEXPECT_EQ(text->address.value(), kernel_mapper().translate(sections.text_start)->address.value());
  KEXPECT(space->translate(kPhysicalMemoryOffset + 0x0123'4567).has_value());
  KEXPECT(!space->translate(kData).has_value());
  KEXPECT(!space->translate(kUserBase).has_value());
  destroy_address_space(space);
  KEXPECT_EQ(frame_allocator().used_frames(), used_before);
}

// The invariant of mm::init's prepare_kernel_half: a kernel mapping made after a space was
// created, where no table below the level-4 entry existed yet, is seen by that space too.
KTEST(aspace_a_later_kernel_mapping_is_seen_by_an_existing_space) {
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  KASSERT(!kernel_mapper().translate(VirtAddr(kUnusedKernelAddress)).has_value());
  KASSERT(map_fresh_pages(VirtAddr(kUnusedKernelAddress), 1,
                          PageTableFlags::present | PageTableFlags::writable | no_execute_flag())
              .has_value());
  const auto in_kernel = kernel_mapper().translate(VirtAddr(kUnusedKernelAddress));
  const auto in_space = space->translate(kUnusedKernelAddress);
  KEXPECT(in_kernel.has_value());
  KEXPECT(in_space.has_value());
  if (in_kernel && in_space) KEXPECT_EQ(in_space->address.value(), in_kernel->address.value());
  const auto frame = kernel_mapper().unmap(Page4KiB::containing(VirtAddr(kUnusedKernelAddress)));
  KASSERT(frame.has_value());
  frame_allocator().free(*frame);
  KEXPECT(!space->translate(kUnusedKernelAddress).has_value());
  destroy_address_space(space);
}

// ...and where the level-4 entry itself would be new, the map fails (the kernel half is fixed
// once spaces copy it) rather than reaching the kernel's own table only.
KTEST(aspace_a_kernel_mapping_outside_the_prepared_slots_fails) {
  const auto mapped = map_fresh_pages(VirtAddr(kUnpreparedKernelSlot), 1,
                                      PageTableFlags::present | PageTableFlags::writable | no_execute_flag());
  KASSERT(!mapped.has_value());
  KEXPECT(mapped.error() == MapError::level4_entries_fixed);
  KEXPECT(!kernel_mapper().translate(VirtAddr(kUnpreparedKernelSlot)).has_value());
}

KTEST(aspace_demand_fault_maps_a_zeroed_page_with_the_region_permissions) {
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  KASSERT(space->map_anonymous(kData, 4 * kPage, kRW).has_value());
  KASSERT(space->map_anonymous(kData + 8 * kPage, kPage, kProtRead).has_value());
  KASSERT(space->map_anonymous(kData + 16 * kPage, kPage, kProtRead | kProtExec).has_value());
  KEXPECT_EQ(space->frames_in_use(), std::uint64_t{1});  // regions alone take no frame
  KEXPECT(!space->translate(kData).has_value());

  KEXPECT(space->handle_fault(kData + kPage + 123, FaultAccess::write));
  const auto data = space->translate(kData + kPage);
  KASSERT(data.has_value());
  KEXPECT(data->flags.contains(PageTableFlags::user | PageTableFlags::writable));
  KEXPECT(data->flags.contains(no_execute_flag()));
  KEXPECT(!data->flags.contains(PageTableFlags::global));
  KEXPECT(is_zero_page(*space, kData + kPage));
  KEXPECT_EQ(space->frames_in_use(), std::uint64_t{1 + 3 + 1});  // level 3, 2, 1 tables + page
  KEXPECT(!space->translate(kData).has_value());  // only the page that faulted

  KEXPECT(space->handle_fault(kData + 8 * kPage, FaultAccess::read));
  const auto read_only = space->translate(kData + 8 * kPage);
  KASSERT(read_only.has_value());
  KEXPECT(!read_only->flags.contains(PageTableFlags::writable));
  KEXPECT(space->handle_fault(kData + 16 * kPage, FaultAccess::execute));
  const auto text = space->translate(kData + 16 * kPage);
  KASSERT(text.has_value());
  KEXPECT(!text->flags.contains(PageTableFlags::no_execute));
  KEXPECT_EQ(space->frames_in_use(), std::uint64_t{1 + 3 + 3});

  // Real faults: the answer is false and nothing is mapped.
  KEXPECT(!space->handle_fault(kData + 8 * kPage, FaultAccess::write));    // read-only page
  KEXPECT(!space->handle_fault(kData + 9 * kPage, FaultAccess::read));     // between regions
  KEXPECT(!space->handle_fault(kData + 2 * kPage, FaultAccess::execute));  // NX data, not mapped yet
  KEXPECT(!space->handle_fault(kData + kPage, FaultAccess::execute));      // NX data, mapped
  KEXPECT(!space->handle_fault(0, FaultAccess::read));                     // NULL
  KEXPECT(!space->handle_fault(kKernelHeapStart, FaultAccess::read));      // kernel half
  KEXPECT(!space->translate(kData + 2 * kPage).has_value());
  KEXPECT_EQ(space->frames_in_use(), std::uint64_t{1 + 3 + 3});
  destroy_address_space(space);
}

// With the space in CR3, the kernel reaches a demand page through its user address (no SMAP
// yet in this chapter's kernel tests); the physical map shows the same bytes.
KTEST(aspace_active_space_is_reachable_through_the_user_address) {
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  KASSERT(space->map_anonymous(kData, kPage, kRW).has_value());
  KASSERT(space->handle_fault(kData, FaultAccess::write));
  activate(space);
  KEXPECT(active_address_space() == space);
  auto* user = reinterpret_cast<volatile std::uint64_t*>(kData + 64);
  KEXPECT_EQ(*user, std::uint64_t{0});
  *user = 0x1234'5678'9abc'def0;
  activate(nullptr);
  KEXPECT(active_address_space() == nullptr);
  std::uint64_t through_physical_map = 0;
  std::memcpy(&through_physical_map, bytes_at(*space, kData + 64), sizeof(through_physical_map));
  KEXPECT_EQ(through_physical_map, std::uint64_t{0x1234'5678'9abc'def0});
  destroy_address_space(space);
}

KTEST(aspace_write_initial_fills_read_only_pages_across_a_page_boundary) {
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  KASSERT(space->map_anonymous(kData, 3 * kPage, kProtRead | kProtExec).has_value());
  std::byte text[300];
  for (std::size_t i = 0; i < sizeof(text); ++i) text[i] = static_cast<std::byte>(i * 7 + 1);
  const std::uint64_t at = kData + 2 * kPage - 100;  // 100 bytes in page 1, 200 in page 2
  KASSERT(space->write_initial(at, text).has_value());
  KEXPECT(!space->translate(kData).has_value());  // page 0 untouched
  const auto page1 = space->translate(kData + kPage);
  const auto page2 = space->translate(kData + 2 * kPage);
  KASSERT(page1 && page2);
  KEXPECT(!page1->flags.contains(PageTableFlags::writable));
  KEXPECT(!page2->flags.contains(PageTableFlags::no_execute));
  KEXPECT(std::memcmp(bytes_at(*space, at), text, 100) == 0);
  KEXPECT(std::memcmp(bytes_at(*space, kData + 2 * kPage), text + 100, 200) == 0);
  KEXPECT(*bytes_at(*space, at - 1) == std::byte{0});                  // the rest stays zero
  KEXPECT(*bytes_at(*space, kData + 2 * kPage + 200) == std::byte{0});
  // Outside every region, or running past one: EFAULT, nothing mapped.
  const auto outside = space->write_initial(kData + 5 * kPage, text);
  KEXPECT(!outside.has_value() && outside.error() == ferrite::abi::Errno::efault);
  const auto past = space->write_initial(kData + 3 * kPage - 10, text);
  KEXPECT(!past.has_value() && past.error() == ferrite::abi::Errno::efault);
  KEXPECT(!space->translate(kData + 5 * kPage).has_value());
  destroy_address_space(space);
}

KTEST(aspace_unmap_frees_the_frames_and_splits_the_region) {
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  KASSERT(space->map_anonymous(kData, 4 * kPage, kRW).has_value());
  for (std::uint64_t i = 0; i < 4; ++i) KASSERT(space->handle_fault(kData + i * kPage, FaultAccess::write));
  const std::uint64_t frames_before = space->frames_in_use();
  const std::uint64_t used_before = frame_allocator().used_frames();
  KASSERT(space->unmap(kData + kPage, 2 * kPage).has_value());
  KEXPECT_EQ(space->frames_in_use(), frames_before - 2);
  KEXPECT_EQ(frame_allocator().used_frames(), used_before - 2);
  KEXPECT_EQ(space->regions().size(), std::size_t{2});
  KEXPECT(space->translate(kData).has_value());
  KEXPECT(!space->translate(kData + kPage).has_value());
  KEXPECT(!space->translate(kData + 2 * kPage).has_value());
  KEXPECT(space->translate(kData + 3 * kPage).has_value());
  KEXPECT(!space->handle_fault(kData + kPage, FaultAccess::read));  // no region there now
  KEXPECT(space->unmap(kData + 100 * kPage, kPage).has_value());    // nothing there: fine
  KASSERT(space->protect(kData, kPage, kProtNone).has_value());       // a parked page's frame
  KASSERT(space->unmap(kData, kPage).has_value());                    // is freed by unmap too
  KEXPECT_EQ(space->frames_in_use(), frames_before - 3);
  const auto misaligned = space->unmap(kData + 1, kPage);
  KEXPECT(!misaligned.has_value() && misaligned.error() == ferrite::abi::Errno::einval);
  destroy_address_space(space);
}

KTEST(aspace_protect_changes_present_pages_and_keeps_their_contents) {
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  KASSERT(space->map_anonymous(kData, 2 * kPage, kRW).has_value());
  KASSERT(space->handle_fault(kData, FaultAccess::write));
  const std::byte marker[] = {std::byte{0xAB}};
  KASSERT(space->write_initial(kData + 5, marker).has_value());
  KASSERT(space->protect(kData, kPage, kProtRead).has_value());
  KEXPECT(!space->translate(kData)->flags.contains(PageTableFlags::writable));
  KEXPECT_EQ(space->regions().size(), std::size_t{2});  // read-only page, read-write page
  KEXPECT(!space->handle_fault(kData, FaultAccess::write));
  KEXPECT(space->handle_fault(kData + kPage, FaultAccess::write));  // the other page is still RW
  // PROT_NONE: not present at all (so the kernel's copy helpers fault on it too), but the frame
  // stays with its contents; write_initial still reaches it.
  const std::uint64_t frames = space->frames_in_use();
  KASSERT(space->protect(kData, kPage, kProtNone).has_value());
  KEXPECT(!space->translate(kData).has_value());
  KEXPECT_EQ(space->frames_in_use(), frames);
  KEXPECT(!space->handle_fault(kData, FaultAccess::read));
  const std::byte second_marker[] = {std::byte{0xCD}};
  KASSERT(space->write_initial(kData + 6, second_marker).has_value());
  KEXPECT_EQ(space->frames_in_use(), frames);  // into the parked frame, not a new one
  KASSERT(space->protect(kData, 2 * kPage, kRW).has_value());
  KEXPECT(space->translate(kData)->flags.contains(PageTableFlags::user | PageTableFlags::writable));
  KEXPECT(*bytes_at(*space, kData + 5) == std::byte{0xAB});
  KEXPECT(*bytes_at(*space, kData + 6) == std::byte{0xCD});
  KEXPECT_EQ(space->regions().size(), std::size_t{1});  // merged again
  const auto hole = space->protect(kData, 3 * kPage, kProtRead);  // page 2 is no region
  KEXPECT(!hole.has_value() && hole.error() == ferrite::abi::Errno::enomem);
  KEXPECT(space->translate(kData)->flags.contains(PageTableFlags::writable));  // unchanged
  destroy_address_space(space);
}

KTEST(aspace_map_anywhere_goes_top_down_and_map_fixed_replaces) {
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  const auto first = space->map_anywhere(3 * kPage, kRW);
  const auto second = space->map_anywhere(kPage + 1, kProtRead);  // rounded up to 2 pages
  KASSERT(first && second);
  KEXPECT_EQ(*first, kMmapTop - 3 * kPage);
  KEXPECT_EQ(*second, kMmapTop - 5 * kPage);
  KEXPECT(*first < kUserStackTop - kUserStackBytes);
  const auto overlap = space->map_anonymous(*second, kPage, kRW);
  KEXPECT(!overlap.has_value() && overlap.error() == ferrite::abi::Errno::eexist);
  KASSERT(space->handle_fault(*second, FaultAccess::read));
  const std::uint64_t frames = space->frames_in_use();
  KASSERT(space->map_anonymous(*second, kPage, kRW, true).has_value());  // MAP_FIXED
  KEXPECT_EQ(space->frames_in_use(), frames - 1);  // the old page went
  KEXPECT(!space->translate(*second).has_value());
  KEXPECT(space->handle_fault(*second, FaultAccess::write));
  const auto misaligned = space->map_anonymous(kData + 1, kPage, kRW);
  KEXPECT(!misaligned.has_value() && misaligned.error() == ferrite::abi::Errno::einval);
  const auto kernel = space->map_anonymous(kUserEnd - kPage, 2 * kPage, kRW);
  KEXPECT(!kernel.has_value() && kernel.error() == ferrite::abi::Errno::einval);
  const auto too_large = space->map_anywhere(kUserEnd, kRW);
  KEXPECT(!too_large.has_value() && too_large.error() == ferrite::abi::Errno::enomem);
  const auto bad_protection = space->map_anywhere(kPage, 8);
  KEXPECT(!bad_protection.has_value() && bad_protection.error() == ferrite::abi::Errno::einval);
  destroy_address_space(space);
}

KTEST(aspace_brk_grows_shrinks_and_never_covers_another_region) {
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  const std::uint64_t base = kData + 0x123;  // where the loaded data ends: mid-page
  KASSERT(space->map_anonymous(kData, kPage, kRW).has_value());  // the data segment's page
  KEXPECT_EQ(space->brk(0), std::uint64_t{0});  // no break yet
  space->set_break_base(base);
  KEXPECT_EQ(space->brk(0), base);
  KEXPECT_EQ(space->brk(base + 3 * kPage), base + 3 * kPage);
  for (std::uint64_t i = 1; i <= 3; ++i) KEXPECT(space->handle_fault(kData + i * kPage, FaultAccess::write));
  const std::uint64_t frames = space->frames_in_use();
  KEXPECT_EQ(space->brk(base + kPage), base + kPage);  // frees pages 2 and 3
  KEXPECT_EQ(space->frames_in_use(), frames - 2);
  KEXPECT(!space->translate(kData + 2 * kPage).has_value());
  KEXPECT(!space->handle_fault(kData + 2 * kPage, FaultAccess::read));
  KEXPECT(space->translate(kData + kPage).has_value());
  // A region in the way: the break stays where it was.
  KASSERT(space->map_anonymous(kData + 10 * kPage, kPage, kProtRead).has_value());
  KEXPECT_EQ(space->brk(base + 20 * kPage), base + kPage);
  KEXPECT_EQ(space->brk(base - 1), base + kPage);  // below the base: refused
  KEXPECT_EQ(space->brk(base + 9 * kPage - 0x123), base + 9 * kPage - 0x123);  // right up to it
  KEXPECT_EQ(space->brk(base), base);
  destroy_address_space(space);
}

// The `mem` figure must come back exactly, however much a space mapped, in however many tables.
KTEST(aspace_destroy_returns_every_frame_100_times) {
  const std::uint64_t used_before = frame_allocator().used_frames();
  for (int round = 0; round < 100; ++round) {
    AddressSpace* space = create_address_space();
    KASSERT(space != nullptr);
    KASSERT(space->map_anonymous(kUserBase, 16 * kPage, kRW).has_value());
    KASSERT(space->map_anonymous(kData - 2 * kPage, 4 * kPage, kRW).has_value());  // 2 level-1 tables
    const auto high = space->map_anywhere(2 * kPage, kProtRead);
    KASSERT(high.has_value());
    for (std::uint64_t i = 0; i < 16; i += 3) KASSERT(space->handle_fault(kUserBase + i * kPage, FaultAccess::write));
    for (std::uint64_t i = 0; i < 4; ++i) KASSERT(space->handle_fault(kData - 2 * kPage + i * kPage, FaultAccess::read));
    KASSERT(space->handle_fault(*high + kPage, FaultAccess::read));
    const std::byte some[] = {std::byte{1}, std::byte{2}};
    KASSERT(space->write_initial(kUserBase + kPage - 1, some).has_value());
    space->set_break_base(kData + 8 * kPage);
    KASSERT(space->brk(kData + 12 * kPage) == kData + 12 * kPage);
    KASSERT(space->handle_fault(kData + 9 * kPage, FaultAccess::write));
    KASSERT(space->protect(kUserBase, 4 * kPage, kProtNone).has_value());  // parked frames go too
    KEXPECT(space->frames_in_use() > 15);
    KEXPECT_EQ(frame_allocator().used_frames(), used_before + space->frames_in_use());
    if (round == 0) {
      activate(space);  // destroyed after going back to the kernel's tables
      activate(nullptr);
    }
    destroy_address_space(space);
    KASSERT_EQ(frame_allocator().used_frames(), used_before);
  }
}

// Out of frames at every possible point of a demand fault (level-3, level-2, level-1 table,
// page) and of write_initial: the answer is a clean failure, no page half-made, every frame
// counted, and the same access succeeds once frames are there.
KTEST(aspace_out_of_frames_leaves_nothing_half_mapped) {
  const std::uint64_t used_before = frame_allocator().used_frames();
  for (std::uint64_t allowed = 0; allowed <= 4; ++allowed) {
    AddressSpace* space = create_address_space();
    KASSERT(space != nullptr);
    KASSERT(space->map_anonymous(kData, 2 * kPage, kRW).has_value());
    space->set_frame_limit(space->frames_in_use() + allowed);
    const bool mapped = space->handle_fault(kData, FaultAccess::write);
    KEXPECT_EQ(mapped, allowed == 4);  // three tables and the page
    KEXPECT_EQ(space->translate(kData).has_value(), mapped);
    KEXPECT(space->frames_in_use() <= 1 + allowed);  // tables made on the way stay, counted
    KEXPECT_EQ(frame_allocator().used_frames(), used_before + space->frames_in_use());
    // write_initial over both pages with no frame left beyond what the fault got.
    space->set_frame_limit(space->frames_in_use());
    const std::byte data[] = {std::byte{7}, std::byte{8}};
    const auto written = space->write_initial(kData + kPage - 1, data);
    KEXPECT(!written.has_value() && written.error() == ferrite::abi::Errno::enomem);
    KEXPECT(!space->translate(kData + kPage).has_value());
    KEXPECT_EQ(space->translate(kData).has_value(), mapped);
    space->set_frame_limit(~std::uint64_t{0});
    KEXPECT(space->write_initial(kData + kPage - 1, data).has_value());
    KEXPECT(*bytes_at(*space, kData + kPage) == std::byte{8});
    KEXPECT(space->translate(kData).has_value());  // by the fault or by write_initial
    destroy_address_space(space);
    KEXPECT_EQ(frame_allocator().used_frames(), used_before);
  }
}

// write_initial is all or nothing: when a frame runs out half-way, the pages it mapped go again
// and no byte is written — pages that were there (a neighbouring segment's) keep theirs.
KTEST(aspace_write_initial_out_of_frames_changes_nothing) {
  const std::uint64_t used_before = frame_allocator().used_frames();
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  KASSERT(space->map_anonymous(kData, 4 * kPage, kRW).has_value());
  const std::byte earlier[] = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  KASSERT(space->write_initial(kData + 2 * kPage - 2, earlier).has_value());  // pages 1 and 2
  const std::uint64_t frames_before = space->frames_in_use();
  // Room for page 0, not for page 3: the write below fails on its last page.
  space->set_frame_limit(frames_before + 1);
  std::byte later[2 * kPage + 2];  // kData + kPage - 1 .. kData + 3 * kPage: pages 0 to 3
  for (std::byte& b : later) b = std::byte{0xEE};
  const auto written = space->write_initial(kData + kPage - 1, later);  // pages 0 .. 3
  KEXPECT(!written.has_value() && written.error() == ferrite::abi::Errno::enomem);
  KEXPECT_EQ(space->frames_in_use(), frames_before);
  KEXPECT_EQ(frame_allocator().used_frames(), used_before + frames_before);
  KEXPECT(!space->translate(kData).has_value());
  KEXPECT(!space->translate(kData + 3 * kPage).has_value());
  KASSERT(space->translate(kData + kPage).has_value() && space->translate(kData + 2 * kPage).has_value());
  KEXPECT(*bytes_at(*space, kData + 2 * kPage - 2) == std::byte{1});
  KEXPECT(*bytes_at(*space, kData + 2 * kPage + 1) == std::byte{4});
  KEXPECT(*bytes_at(*space, kData + kPage) == std::byte{0});  // not written either
  space->set_frame_limit(~std::uint64_t{0});
  KEXPECT(space->write_initial(kData + kPage - 1, later).has_value());
  KEXPECT(*bytes_at(*space, kData + kPage - 1) == std::byte{0xEE});
  KEXPECT(*bytes_at(*space, kData + 3 * kPage) == std::byte{0xEE});
  KEXPECT(*bytes_at(*space, kData + 3 * kPage + 1) == std::byte{0});
  // A page write_initial made is left with its region's flags (the mark it carries meanwhile is
  // gone: user mode sees exactly what a fault would have made).
  const auto made = space->translate(kData);
  KASSERT(made.has_value());
  KEXPECT(made->flags == (PageTableFlags::present | PageTableFlags::user | PageTableFlags::writable |
                          no_execute_flag()));
  destroy_address_space(space);
  KEXPECT_EQ(frame_allocator().used_frames(), used_before);
}

// Not a check but a figure: the kernel's share of mmap + touch + munmap of one page (no system
// call or exception entry), in TSC ticks per round — guest instructions when run under
// `-icount shift=0,sleep=off` with `test=aspace_cost`.
KTEST(aspace_cost_of_map_anywhere_fault_unmap) {
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  activate(space);  // as for a running program: unmap flushes the TLB entry
  constexpr int kRounds = 1000;
  std::uint64_t start = 0;
  for (int round = -1; round < kRounds; ++round) {
    if (round == 0) start = ferrite::arch::read_tsc();  // the first round makes the page tables
    const auto page = space->map_anywhere(kPage, kRW);
    if (!page || !space->handle_fault(*page, FaultAccess::write) || !space->unmap(*page, kPage)) {
      KEXPECT(false);
      break;
    }
  }
  const std::uint64_t ticks = (ferrite::arch::read_tsc() - start) / kRounds;
  activate(nullptr);
  KEXPECT_EQ(space->frames_in_use(), std::uint64_t{4});  // level 4..1 tables stay for the next page
  destroy_address_space(space);
  ferrite::log::info("aspace: map_anywhere + handle_fault + unmap of one page: {} TSC ticks per round", ticks);
}

// mremap (AddressSpace::remap). Helpers: one byte written at `address` (write_initial maps the
// page), and the frame behind a page.
namespace {

using Remap = AddressSpace::RemapOptions;
constexpr Remap kMayMove{.may_move = true};

void put(AddressSpace& space, std::uint64_t address, std::uint8_t value) {
  const std::byte byte[] = {std::byte{value}};
  KASSERT(space.write_initial(address, byte).has_value());
}
std::uint8_t peek(const AddressSpace& space, std::uint64_t address) {
  const std::byte* byte = bytes_at(space, address);
  return byte == nullptr ? 0xFF : static_cast<std::uint8_t>(*byte);
}
std::uint64_t frame_of(const AddressSpace& space, std::uint64_t address) {
  const auto translation = space.translate(address);
  return translation ? translation->address.value() & ~(kPage - 1) : 0;
}
bool failed_with(const std::expected<std::uint64_t, ferrite::abi::Errno>& result,
                 ferrite::abi::Errno error) {
  return !result.has_value() && result.error() == error;
}

}  // namespace

KTEST(aspace_remap_shrinks_in_place_and_frees_the_tail) {
  const std::uint64_t used_before = frame_allocator().used_frames();
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  KASSERT(space->map_anonymous(kData, 4 * kPage, kRW).has_value());
  for (std::uint64_t i = 0; i < 4; ++i)
    put(*space, kData + i * kPage, static_cast<std::uint8_t>(i + 1));
  const std::uint64_t frames = space->frames_in_use();
  const auto shrunk = space->remap(kData, 4 * kPage, kPage + 1, {});  // rounded up to 2 pages
  KASSERT(shrunk.has_value());
  KEXPECT_EQ(*shrunk, kData);
  KEXPECT_EQ(space->frames_in_use(), frames - 2);
  KEXPECT_EQ(peek(*space, kData + kPage), 2u);
  KEXPECT(!space->translate(kData + 2 * kPage).has_value());
  KEXPECT(!space->handle_fault(kData + 3 * kPage, FaultAccess::read));  // no region there now
  KASSERT_EQ(space->regions().size(), std::size_t{1});
  KEXPECT_EQ(space->regions()[0].end, kData + 2 * kPage);
  KEXPECT_EQ(space->remap(kData, 2 * kPage, 2 * kPage, {}).value_or(0),
             kData);  // same size: nothing
  destroy_address_space(space);
  KEXPECT_EQ(frame_allocator().used_frames(), used_before);
}

KTEST(aspace_remap_grows_in_place_when_the_pages_after_are_free) {
  const std::uint64_t used_before = frame_allocator().used_frames();
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  KASSERT(space->map_anonymous(kData, 2 * kPage, kRW).has_value());
  put(*space, kData, 0x11);
  put(*space, kData + kPage, 0x22);
  const std::uint64_t frame = frame_of(*space, kData);
  const std::uint64_t frames = space->frames_in_use();
  const auto grown = space->remap(kData, 2 * kPage, 5 * kPage, {});  // no MAYMOVE needed
  KASSERT(grown.has_value());
  KEXPECT_EQ(*grown, kData);
  KEXPECT_EQ(frame_of(*space, kData), frame);  // the same pages, untouched
  KEXPECT_EQ(peek(*space, kData + kPage), 0x22u);
  KEXPECT_EQ(space->frames_in_use(), frames);  // the new pages are demand-zero
  KEXPECT(!space->translate(kData + 4 * kPage).has_value());
  KEXPECT(space->handle_fault(kData + 4 * kPage, FaultAccess::write));
  KEXPECT(is_zero_page(*space, kData + 4 * kPage));
  KEXPECT_EQ(space->regions().size(), std::size_t{1});
  // A mapping right after: no room in place, and without MAYMOVE that is ENOMEM, nothing changed.
  KASSERT(space->map_anonymous(kData + 6 * kPage, kPage, kProtRead).has_value());
  KEXPECT(failed_with(space->remap(kData, 5 * kPage, 7 * kPage, {}), ferrite::abi::Errno::enomem));
  KEXPECT_EQ(space->regions()[0].end, kData + 5 * kPage);
  KEXPECT_EQ(space->remap(kData, 5 * kPage, 6 * kPage, {}).value_or(0), kData);  // exactly up to it
  KEXPECT_EQ(space->regions().size(), std::size_t{2});
  destroy_address_space(space);
  KEXPECT_EQ(frame_allocator().used_frames(), used_before);
}

// The move: the frames themselves reach the new address (no byte copied, no frame taken but the
// new place's page tables), untouched pages stay demand-zero, the protection goes along, the
// old range is gone.
KTEST(aspace_remap_moves_the_entries_not_the_bytes) {
  const std::uint64_t used_before = frame_allocator().used_frames();
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  activate(space);  // as for a running program: the old translations must be flushed
  KASSERT(space->map_anonymous(kData, 4 * kPage, kProtRead | kProtExec).has_value());
  KASSERT(space->map_anonymous(kData + 4 * kPage, kPage, kRW).has_value());  // in the way
  put(*space, kData, 0xA0);
  put(*space, kData + 2 * kPage + 7, 0xA2);
  const std::uint64_t frame0 = frame_of(*space, kData),
                      frame2 = frame_of(*space, kData + 2 * kPage);
  KEXPECT_EQ(*reinterpret_cast<volatile std::uint8_t*>(kData), 0xA0u);  // now in the TLB
  KEXPECT(failed_with(space->remap(kData, 4 * kPage, 8 * kPage, {}), ferrite::abi::Errno::enomem));
  const std::uint64_t frames = space->frames_in_use();
  const auto moved = space->remap(kData, 4 * kPage, 8 * kPage, kMayMove);
  KASSERT(moved.has_value());
  const std::uint64_t to = *moved;
  KEXPECT_EQ(to, kMmapTop - 8 * kPage);  // where map_anywhere would have put it
  KEXPECT_EQ(frame_of(*space, to), frame0);
  KEXPECT_EQ(frame_of(*space, to + 2 * kPage), frame2);
  KEXPECT_EQ(*reinterpret_cast<volatile std::uint8_t*>(to + 2 * kPage + 7), 0xA2u);
  KEXPECT(!space->translate(to + kPage).has_value());  // never touched: still demand-zero
  KEXPECT(!space->translate(to + 5 * kPage).has_value());
  KEXPECT(space->handle_fault(to + 5 * kPage, FaultAccess::execute));  // the region's protection
  KEXPECT(!space->handle_fault(to + 6 * kPage, FaultAccess::write));
  KEXPECT(!space->translate(to)->flags.contains(PageTableFlags::writable));
  KEXPECT(!space->translate(to)->flags.contains(PageTableFlags::no_execute));
  // The old range: no region, no page (translate walks the tables; the TLB was flushed, so a
  // read through the old address would fault now rather than reach frame0).
  KEXPECT(space->region_at(kData) == nullptr);
  KEXPECT(!space->translate(kData).has_value());
  KEXPECT(!space->handle_fault(kData, FaultAccess::read));
  // New tables for the new place (level 3, 2, 1 at the top of the mmap area) and the demand page.
  KEXPECT_EQ(space->frames_in_use(), frames + 3 + 1);
  activate(nullptr);
  destroy_address_space(space);
  KEXPECT_EQ(frame_allocator().used_frames(), used_before);
}

KTEST(aspace_remap_fixed_replaces_what_is_there_and_refuses_overlaps) {
  const std::uint64_t used_before = frame_allocator().used_frames();
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  constexpr std::uint64_t kTo = kData + 64 * kPage;
  KASSERT(space->map_anonymous(kData, 4 * kPage, kRW).has_value());
  KASSERT(space->map_anonymous(kTo, 3 * kPage, kProtRead).has_value());
  for (std::uint64_t i = 0; i < 4; ++i)
    put(*space, kData + i * kPage, static_cast<std::uint8_t>(0x30 + i));
  put(*space, kTo, 0x99);
  put(*space, kTo + 2 * kPage, 0x98);  // beyond the new mapping's end: stays
  const std::uint64_t frame1 = frame_of(*space, kData + kPage);
  const Remap fixed{.may_move = true, .fixed = true, .new_start = kTo};
  // Overlapping the old range (even its rounded-up tail), misaligned, outside the user range.
  const Remap overlap{.may_move = true, .fixed = true, .new_start = kData + 3 * kPage};
  KEXPECT(
      failed_with(space->remap(kData, 4 * kPage, 2 * kPage, overlap), ferrite::abi::Errno::einval));
  const Remap below{.may_move = true, .fixed = true, .new_start = kData - kPage};
  KEXPECT(failed_with(space->remap(kData, 4 * kPage - 1, 2 * kPage, below),
                      ferrite::abi::Errno::einval));
  const Remap misaligned{.may_move = true, .fixed = true, .new_start = kTo + 1};
  KEXPECT(failed_with(space->remap(kData, 4 * kPage, 2 * kPage, misaligned),
                      ferrite::abi::Errno::einval));
  const Remap kernel{.may_move = true, .fixed = true, .new_start = kUserEnd - kPage};
  KEXPECT(
      failed_with(space->remap(kData, 4 * kPage, 2 * kPage, kernel), ferrite::abi::Errno::einval));
  const Remap without_may_move{.fixed = true, .new_start = kTo};
  KEXPECT(failed_with(space->remap(kData, 4 * kPage, 2 * kPage, without_may_move),
                      ferrite::abi::Errno::einval));
  KEXPECT_EQ(peek(*space, kTo), 0x99u);  // all refused before anything changed
  // Shrinking on the way: the first two pages move, the other two are freed, the page at kTo
  // goes; the new mapping has the old one's protection (read-write), kTo + 2 pages keeps its own.
  const std::uint64_t frames = space->frames_in_use();
  const auto moved = space->remap(kData, 4 * kPage, 2 * kPage, fixed);
  KASSERT(moved.has_value());
  KEXPECT_EQ(*moved, kTo);
  KEXPECT_EQ(space->frames_in_use(), frames - 2 - 1);
  KEXPECT_EQ(frame_of(*space, kTo + kPage), frame1);
  KEXPECT_EQ(peek(*space, kTo), 0x30u);
  KEXPECT_EQ(peek(*space, kTo + 2 * kPage), 0x98u);
  KEXPECT(space->translate(kTo)->flags.contains(PageTableFlags::writable));
  KEXPECT(!space->translate(kTo + 2 * kPage)->flags.contains(PageTableFlags::writable));
  KEXPECT(space->region_at(kData) == nullptr && space->region_at(kData + 3 * kPage) == nullptr);
  KEXPECT_EQ(space->regions().size(), std::size_t{2});
  destroy_address_space(space);
  KEXPECT_EQ(frame_allocator().used_frames(), used_before);
}

KTEST(aspace_remap_dontunmap_leaves_the_old_range_empty_and_mapped) {
  const std::uint64_t used_before = frame_allocator().used_frames();
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  KASSERT(space->map_anonymous(kData, 2 * kPage, kRW).has_value());
  put(*space, kData + kPage, 0x5A);
  const std::uint64_t frame = frame_of(*space, kData + kPage);
  const Remap resize{.may_move = true, .keep_old = true};
  KEXPECT(
      failed_with(space->remap(kData, 2 * kPage, 3 * kPage, resize), ferrite::abi::Errno::einval));
  const Remap alone{.keep_old = true};
  KEXPECT(
      failed_with(space->remap(kData, 2 * kPage, 2 * kPage, alone), ferrite::abi::Errno::einval));
  const auto moved =
      space->remap(kData, 2 * kPage, 2 * kPage, {.may_move = true, .keep_old = true});
  KASSERT(moved.has_value());
  KEXPECT(*moved != kData);
  KEXPECT_EQ(frame_of(*space, *moved + kPage), frame);
  KEXPECT(space->region_at(kData) != nullptr);            // still mapped...
  KEXPECT(!space->translate(kData + kPage).has_value());  // ...but empty: a fault gives zeros
  KEXPECT(space->handle_fault(kData + kPage, FaultAccess::read));
  KEXPECT(is_zero_page(*space, kData + kPage));
  destroy_address_space(space);
  KEXPECT_EQ(frame_allocator().used_frames(), used_before);
}

KTEST(aspace_remap_refuses_what_linux_refuses) {
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  using ferrite::abi::Errno;
  KASSERT(space->map_anonymous(kData, 2 * kPage, kRW).has_value());
  KASSERT(
      space->map_anonymous(kData + 2 * kPage, kPage, kProtRead).has_value());  // another protection
  put(*space, kData, 1);
  // Not all one mapping: EFAULT.
  KEXPECT(failed_with(space->remap(kData + 8 * kPage, kPage, 2 * kPage, kMayMove), Errno::efault));
  KEXPECT(failed_with(space->remap(kData, 3 * kPage, 4 * kPage, kMayMove), Errno::efault));
  KEXPECT(failed_with(space->remap(kData + 2 * kPage, 2 * kPage, kPage, {}),
                      Errno::efault));  // past its end
  KEXPECT(failed_with(space->remap(kData, ~std::uint64_t{0}, kPage, {}), Errno::efault));
  KEXPECT(failed_with(space->remap(0, kPage, 2 * kPage, kMayMove), Errno::efault));
  // EINVAL: misaligned, new size 0, old size 0 (duplicating: private mappings cannot be).
  KEXPECT(failed_with(space->remap(kData + 1, kPage, 2 * kPage, kMayMove), Errno::einval));
  KEXPECT(failed_with(space->remap(kData, kPage, 0, kMayMove), Errno::einval));
  KEXPECT(failed_with(space->remap(kData, 0, kPage, kMayMove), Errno::einval));
  // ENOMEM: more than the mmap area holds.
  KEXPECT(failed_with(space->remap(kData, kPage, kMmapTop, kMayMove), Errno::enomem));
  KEXPECT(failed_with(space->remap(kData, kPage, ~std::uint64_t{0}, kMayMove), Errno::enomem));
  KEXPECT_EQ(space->regions().size(), std::size_t{2});
  KEXPECT_EQ(peek(*space, kData), 1u);
  destroy_address_space(space);
}

// All or nothing: out of frames for the new place's page tables, or out of region slots, the
// answer is ENOMEM and every mapping is as it was — also the one MREMAP_FIXED would replace.
KTEST(aspace_remap_out_of_memory_changes_nothing) {
  const std::uint64_t used_before = frame_allocator().used_frames();
  AddressSpace* space = create_address_space();
  KASSERT(space != nullptr);
  using ferrite::abi::Errno;
  constexpr std::uint64_t kFar = 0x0000'2000'0000'0000;  // a level-4 slot of its own
  constexpr std::uint64_t kEdge = kFar + (2 << 20);      // where a level-1 table ends
  KASSERT(space->map_anonymous(kData, 2 * kPage, kRW).has_value());
  KASSERT(space->map_anonymous(kData + 2 * kPage, kPage, kProtRead).has_value());  // in the way
  KASSERT(space->map_anonymous(kEdge - kPage, kPage, kProtRead).has_value());
  put(*space, kData, 0x77);
  put(*space, kData + kPage, 0x78);
  put(*space, kEdge - kPage, 0x66);
  const std::uint64_t frame = frame_of(*space, kData);
  // A move to the top of the mmap area needs a level-3, a level-2 and a level-1 table there; the
  // tables made before a refusal stay (empty, counted, as munmap leaves them).
  const std::uint64_t frames = space->frames_in_use();
  for (std::uint64_t allowed = 0; allowed < 3; ++allowed) {
    space->set_frame_limit(frames + allowed);
    KEXPECT(failed_with(space->remap(kData, 2 * kPage, 4 * kPage, kMayMove), Errno::enomem));
    KEXPECT_EQ(space->frames_in_use(), frames + allowed);
    KEXPECT_EQ(frame_of(*space, kData), frame);
    KEXPECT_EQ(peek(*space, kData + kPage), 0x78u);
    KEXPECT(space->region_at(kData) != nullptr && space->region_at(kMmapTop - kPage) == nullptr);
  }
  // MREMAP_FIXED onto kEdge - 1 page: the second page needs the level-1 table after kEdge. Without
  // it, the page MREMAP_FIXED would have replaced is still there, with its own protection.
  const Remap onto_the_edge{.may_move = true, .fixed = true, .new_start = kEdge - kPage};
  space->set_frame_limit(space->frames_in_use());
  KEXPECT(failed_with(space->remap(kData, 2 * kPage, 2 * kPage, onto_the_edge), Errno::enomem));
  KEXPECT_EQ(peek(*space, kEdge - kPage), 0x66u);
  KEXPECT_EQ(space->region_at(kEdge - kPage)->protection, std::uint32_t{kProtRead});
  KEXPECT_EQ(peek(*space, kData), 0x77u);
  space->set_frame_limit(space->frames_in_use() + 1);
  KEXPECT_EQ(space->remap(kData, 2 * kPage, 2 * kPage, onto_the_edge).value_or(0), kEdge - kPage);
  KEXPECT_EQ(peek(*space, kEdge - kPage), 0x77u);
  KEXPECT_EQ(peek(*space, kEdge), 0x78u);
  KEXPECT(space->region_at(kData) == nullptr);
  space->set_frame_limit(~std::uint64_t{0});
  // Region slots: with fewer than three to spare, a move is refused before anything changes.
  std::uint64_t regions = space->regions().size();
  for (std::uint64_t i = 0; regions < kMaxRegions - 2; ++i, ++regions) {
    KASSERT(space->map_anonymous(kData + (1 << 20) + 2 * i * kPage, kPage, kRW).has_value());
  }
  const Remap to_the_side{.may_move = true, .fixed = true, .new_start = kFar + 64 * kPage};
  KEXPECT(
      failed_with(space->remap(kEdge - kPage, 2 * kPage, 2 * kPage, to_the_side), Errno::enomem));
  KEXPECT_EQ(peek(*space, kEdge), 0x78u);
  KEXPECT_EQ(space->regions().size(), std::size_t{kMaxRegions - 2});
  KEXPECT(space->unmap(kData + (1 << 20), kPage).has_value());  // one slot more: now it fits
  KEXPECT_EQ(space->remap(kEdge - kPage, 2 * kPage, 2 * kPage, to_the_side).value_or(0),
             kFar + 64 * kPage);
  KEXPECT_EQ(peek(*space, kFar + 65 * kPage), 0x78u);
  destroy_address_space(space);
  KEXPECT_EQ(frame_allocator().used_frames(), used_before);
}

// After fork the pages are shared copy-on-write: moving them in one space keeps the share (the
// same frame, still read-only and marked), a write at the new address copies the page as a write
// at the old one would have, and the other space never sees it. Every frame comes back.
KTEST(aspace_remap_after_fork_moves_shared_pages_and_keeps_copy_on_write) {
  const std::uint64_t used_before = frame_allocator().used_frames();
  AddressSpace* parent = create_address_space();
  KASSERT(parent != nullptr);
  KASSERT(parent->map_anonymous(kData, 2 * kPage, kRW).has_value());
  KASSERT(parent->map_anonymous(kData + 2 * kPage, kPage, kProtRead).has_value());  // in the way
  put(*parent, kData, 0x42);
  put(*parent, kData + kPage, 0x43);
  AddressSpace* child = clone_address_space(*parent);
  KASSERT(child != nullptr);
  const std::uint64_t shared = frame_of(*parent, kData);
  KEXPECT_EQ(frame_of(*child, kData), shared);
  const auto moved = parent->remap(kData, 2 * kPage, 16 * kPage, kMayMove);
  KASSERT(moved.has_value());
  const std::uint64_t to = *moved;
  KEXPECT_EQ(frame_of(*parent, to), shared);  // still the one frame both map
  KEXPECT(!parent->translate(to)->flags.contains(PageTableFlags::writable));
  KEXPECT(parent->handle_fault(to, FaultAccess::write));  // copy-on-write at the new address
  KEXPECT(frame_of(*parent, to) != shared);
  KEXPECT(parent->translate(to)->flags.contains(PageTableFlags::writable));
  KEXPECT_EQ(peek(*parent, to), 0x42u);
  std::memset(physical_to_virtual<std::byte>(frame_of(*parent, to)), 0x24, 1);
  KEXPECT_EQ(peek(*child, kData), 0x42u);  // the child's page is its own again
  KEXPECT_EQ(frame_of(*child, kData), shared);
  // The child, now the frame's only owner, takes it back writable in place (no copy).
  KEXPECT(child->handle_fault(kData, FaultAccess::write));
  KEXPECT_EQ(frame_of(*child, kData), shared);
  // The other page, moved by the child this time, is still shared with the parent's moved one.
  const auto child_moved = child->remap(kData, 2 * kPage, 3 * kPage, kMayMove);
  KASSERT(child_moved.has_value());
  KEXPECT_EQ(frame_of(*child, *child_moved + kPage), frame_of(*parent, to + kPage));
  destroy_address_space(child);
  KEXPECT(parent->handle_fault(to + kPage, FaultAccess::write));  // sole owner now: in place
  KEXPECT_EQ(peek(*parent, to + kPage), 0x43u);
  destroy_address_space(parent);
  KEXPECT_EQ(frame_allocator().used_frames(), used_before);
}
