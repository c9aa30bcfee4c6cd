// PVH start info (QEMU -kernel, Xen) -> BootInfo. The start info holds physical pointers, so
// every access goes through a PhysicalReader that refuses addresses it cannot map.
// Layouts: Xen xen/include/public/arch-x86/hvm/start_info.h (struct hvm_start_info,
// hvm_modlist_entry, hvm_memmap_table_entry).
#include <algorithm>
#include <array>
#include <limits>

#include "boot/boot_info.h"
#include "boot/load.h"
#include "lib/panic.h"

namespace ferrite::boot {
namespace {

// struct hvm_start_info: magic u32 @0, version u32 @4, flags u32 @8, nr_modules u32 @12,
// modlist_paddr u64 @16, cmdline_paddr u64 @24, rsdp_paddr u64 @32; version 1 adds
// memmap_paddr u64 @40, memmap_entries u32 @48, reserved u32 @52. A 0 address means "absent".
constexpr std::size_t start_info_header_size = 8;
constexpr std::size_t start_info_v1_size = 56;
constexpr std::size_t module_entry_size = 32;  // paddr u64, size u64, cmdline_paddr u64, reserved
constexpr std::size_t memmap_entry_size = 24;  // addr u64, size u64, type u32, reserved u32

// A command line longer than this (not counting its NUL) is taken as garbage, not as a command
// line. QEMU passes up to 4096 characters (beyond that, it overwrites the start info).
constexpr std::size_t max_command_line_scan = 4096;

// The string's length is unknown until its NUL, and it may sit just below the end of readable
// memory, so it is read one byte at a time. Only the first max_command_line + 1 bytes are kept:
// enough for BootInfo to see that it must truncate.
std::expected<void, ParseError> read_command_line(const PhysicalReader& memory, std::uint64_t phys,
                                                  BootInfo& boot) {
  std::array<char, BootInfo::max_command_line + 1> kept{};
  for (std::size_t length = 0; length <= max_command_line_scan; ++length) {  // the NUL may follow
    const bool wraps = length > std::numeric_limits<std::uint64_t>::max() - phys;
    const std::span<const std::byte> byte =
        wraps ? std::span<const std::byte>{} : memory.read(phys + length, 1);
    if (byte.empty()) return std::unexpected(ParseError::command_line_out_of_range);
    const char c = static_cast<char>(byte[0]);
    if (c == '\0') {
      boot.set_command_line({kept.data(), std::min(length, kept.size())});
      return {};
    }
    if (length < kept.size()) kept[length] = c;
  }
  return std::unexpected(ParseError::unterminated_string);
}

std::expected<void, ParseError> read_modules(const PhysicalReader& memory, std::uint64_t list_phys,
                                             std::uint32_t count, BootInfo& boot) {
  const std::size_t kept = std::min<std::size_t>(count, BootInfo::max_modules);
  const std::span<const std::byte> list = memory.read(list_phys, kept * module_entry_size);
  if (list.empty()) return std::unexpected(ParseError::module_list_out_of_range);
  for (std::size_t i = 0; i < kept; ++i) {
    const auto start = load<std::uint64_t>(list, i * module_entry_size);
    const auto size = load<std::uint64_t>(list, i * module_entry_size + 8);
    if (size > std::numeric_limits<std::uint64_t>::max() - start)
      return std::unexpected(ParseError::module_ends_before_start);
    boot.add_module({start, start + size});
  }
  const std::uint32_t dropped = count - static_cast<std::uint32_t>(kept);
  boot.diagnostics().dropped_modules =
      static_cast<std::uint8_t>(std::min<std::uint32_t>(dropped, 255));
  return {};
}

std::expected<void, ParseError> read_memory_map(const PhysicalReader& memory,
                                                std::uint64_t table_phys, std::uint32_t entries,
                                                BootInfo& boot) {
  // One read for the whole table: the entry count is bounded by what is really there.
  const std::span<const std::byte> table =
      memory.read(table_phys, std::size_t{entries} * memmap_entry_size);
  if (table.empty()) return std::unexpected(ParseError::memory_map_out_of_range);
  for (std::size_t offset = 0; offset < table.size(); offset += memmap_entry_size) {
    auto added = boot.add_e820_region(load<std::uint64_t>(table, offset),
                                      load<std::uint64_t>(table, offset + 8),
                                      load<std::uint32_t>(table, offset + 16));
    if (!added) return added;
  }
  return {};
}

}  // namespace

std::expected<BootInfo, ParseError> parse_pvh(const PhysicalReader& memory,
                                              std::uint64_t start_info_phys) {
  const std::span<const std::byte> header = memory.read(start_info_phys, start_info_header_size);
  if (header.empty()) return std::unexpected(ParseError::info_block_out_of_range);
  if (load<std::uint32_t>(header, 0) != pvh_start_info_magic) {
    return std::unexpected(ParseError::bad_pvh_magic);
  }
  // Version 0 has no memory map, and the kernel cannot run without one. Later versions only
  // append fields ("New versions are guaranteed to be backwards-compatible").
  if (load<std::uint32_t>(header, 4) < 1) {
    return std::unexpected(ParseError::unsupported_pvh_version);
  }
  const std::span<const std::byte> info = memory.read(start_info_phys, start_info_v1_size);
  if (info.empty()) return std::unexpected(ParseError::info_block_out_of_range);

  BootInfo boot(Protocol::pvh);
  boot.set_info_block({start_info_phys, start_info_v1_size});

  const auto module_count = load<std::uint32_t>(info, 12);
  const auto module_list = load<std::uint64_t>(info, 16);
  if (module_count != 0 && module_list != 0) {
    const auto modules = read_modules(memory, module_list, module_count, boot);
    if (!modules) return std::unexpected(modules.error());
  }
  if (const auto command_line = load<std::uint64_t>(info, 24); command_line != 0) {
    const auto read = read_command_line(memory, command_line, boot);
    if (!read) return std::unexpected(read.error());
  }
  if (const auto rsdp = load<std::uint64_t>(info, 32); rsdp != 0) boot.set_rsdp(rsdp);

  const auto memmap = load<std::uint64_t>(info, 40);
  const auto memmap_entries = load<std::uint32_t>(info, 48);
  if (memmap == 0 || memmap_entries == 0) return std::unexpected(ParseError::missing_memory_map);
  const auto map = read_memory_map(memory, memmap, memmap_entries, boot);
  if (!map) return std::unexpected(map.error());
  if (boot.memory_map().empty()) return std::unexpected(ParseError::missing_memory_map);
  return boot;
}

}  // namespace ferrite::boot
