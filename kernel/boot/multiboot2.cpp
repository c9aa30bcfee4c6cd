// Multiboot2 (GRUB) boot information -> BootInfo. Every length in the block is checked against
// the block before it is used: a broken bootloader gives a ParseError, never a stray read.
// Layouts: Multiboot2 specification 3.6 "Boot information", and the multiboot2.h shipped with it.
#include <algorithm>

#include "boot/boot_info.h"
#include "boot/load.h"
#include "lib/panic.h"

namespace ferrite::boot {
namespace {

// Multiboot2 spec 3.6.2: a fixed part (total_size u32, reserved u32), then tags, each starting
// with type u32 and size u32 (size counts the header, not the padding), each 8-byte aligned.
constexpr std::size_t fixed_part_size = 8;
constexpr std::size_t tag_header_size = 8;
constexpr std::size_t tag_alignment = 8;

enum TagType : std::uint32_t {
  end_tag = 0,
  command_line_tag = 1,     // 3.6.5: NUL-terminated string
  bootloader_name_tag = 2,  // 3.6.9: NUL-terminated string
  module_tag = 3,           // 3.6.6: mod_start u32, mod_end u32, string
  basic_meminfo_tag = 4,    // 3.6.3: mem_lower u32, mem_upper u32 (KiB)
  memory_map_tag = 6,       // 3.6.8: entry_size u32, entry_version u32, entries
  framebuffer_tag = 8,      // 3.6.12
  acpi_old_rsdp_tag = 14,   // 3.6.16: a copy of the ACPI 1.0 RSDP
  acpi_new_rsdp_tag = 15,   // 3.6.17: a copy of the ACPI 2.0+ RSDP
};

// 3.6.8: each entry is base_addr u64, length u64, type u32, reserved u32; entry_size may grow
// in later versions, so entries are stepped by entry_size, never by 24.
constexpr std::size_t memory_map_header_size = 16;
constexpr std::size_t memory_map_entry_min_size = 24;

// 3.6.12: addr u64 @8, pitch u32 @16, width u32 @20, height u32 @24, bpp u8 @28, type u8 @29,
// then colour info. The spec's prose shows one reserved byte, but its own multiboot2.h and GRUB
// (which writes the tag) use a u16, so colour info starts at offset 32.
constexpr std::size_t framebuffer_color_info_offset = 32;
constexpr std::size_t rgb_color_info_size = 6;  // position/mask size for red, green, blue
constexpr std::size_t palette_header_size = 2;  // num_colors u16
constexpr std::size_t palette_entry_size = 3;   // red, green, blue u8
constexpr std::size_t rsdp_v1_size = 20;        // ACPI 6.4 5.2.5.3: RSDP up to revision 0
constexpr std::size_t rsdp_v2_size = 36;        // ... and with the XSDT fields

std::expected<std::string_view, ParseError> string_in(std::span<const std::byte> tag) {
  const std::span<const std::byte> body = tag.subspan(tag_header_size);
  const auto nul = std::find(body.begin(), body.end(), std::byte{0});
  if (nul == body.end()) return std::unexpected(ParseError::unterminated_string);
  return std::string_view(reinterpret_cast<const char*>(body.data()),
                          static_cast<std::size_t>(nul - body.begin()));
}

std::expected<void, ParseError> parse_memory_map(std::span<const std::byte> tag, BootInfo& boot) {
  if (tag.size() < memory_map_header_size) return std::unexpected(ParseError::tag_too_small);
  const auto entry_size = load<std::uint32_t>(tag, 8);
  if (entry_size < memory_map_entry_min_size || entry_size % 8 != 0) {
    return std::unexpected(ParseError::bad_memory_map_entry_size);
  }
  const std::span<const std::byte> entries = tag.subspan(memory_map_header_size);
  if (entries.size() % entry_size != 0) {
    return std::unexpected(ParseError::memory_map_not_whole_entries);
  }
  for (std::size_t offset = 0; offset < entries.size(); offset += entry_size) {
    auto added = boot.add_e820_region(load<std::uint64_t>(entries, offset),
                                      load<std::uint64_t>(entries, offset + 8),
                                      load<std::uint32_t>(entries, offset + 16));
    if (!added) return added;
  }
  return {};
}

std::expected<Framebuffer, ParseError> parse_framebuffer(std::span<const std::byte> tag) {
  if (tag.size() < framebuffer_color_info_offset) {
    return std::unexpected(ParseError::tag_too_small);
  }
  Framebuffer framebuffer{
      .phys_addr = load<std::uint64_t>(tag, 8),
      .pitch = load<std::uint32_t>(tag, 16),
      .width = load<std::uint32_t>(tag, 20),
      .height = load<std::uint32_t>(tag, 24),
      .bpp = load<std::uint8_t>(tag, 28),
  };
  const std::size_t color_info_size = tag.size() - framebuffer_color_info_offset;
  switch (load<std::uint8_t>(tag, 29)) {
    case 0: {
      framebuffer.kind = Framebuffer::Kind::indexed;
      if (color_info_size < palette_header_size) return std::unexpected(ParseError::tag_too_small);
      const auto colors = load<std::uint16_t>(tag, framebuffer_color_info_offset);
      if (color_info_size < palette_header_size + std::size_t{colors} * palette_entry_size) {
        return std::unexpected(ParseError::tag_too_small);
      }
      break;
    }
    case 1: {
      framebuffer.kind = Framebuffer::Kind::rgb;
      if (color_info_size < rgb_color_info_size) return std::unexpected(ParseError::tag_too_small);
      const auto field = [&](std::size_t index) {
        const std::size_t at = framebuffer_color_info_offset + 2 * index;
        return ColorField{load<std::uint8_t>(tag, at), load<std::uint8_t>(tag, at + 1)};
      };
      framebuffer.red = field(0);
      framebuffer.green = field(1);
      framebuffer.blue = field(2);
      break;
    }
    case 2:
      framebuffer.kind = Framebuffer::Kind::ega_text;
      break;
    default:
      return std::unexpected(ParseError::unknown_framebuffer_type);
  }
  return framebuffer;
}

// What one pass over the tags has seen beyond what BootInfo records.
struct TagState {
  bool saw_memory_map = false;
  bool saw_new_rsdp = false;
  std::optional<std::uint64_t> lower_kib, upper_kib;  // from basic meminfo
};

std::expected<void, ParseError> parse_tag(std::uint32_t type, std::span<const std::byte> tag,
                                          std::uint64_t tag_phys, BootInfo& boot, TagState& state) {
  switch (type) {
    case command_line_tag:
    case bootloader_name_tag: {
      const auto text = string_in(tag);
      if (!text) return std::unexpected(text.error());
      if (type == command_line_tag) {
        boot.set_command_line(*text);
      } else {
        boot.set_bootloader_name(*text);
      }
      return {};
    }
    case module_tag: {
      if (tag.size() < 16) return std::unexpected(ParseError::tag_too_small);
      const Module module{load<std::uint32_t>(tag, 8), load<std::uint32_t>(tag, 12)};
      if (module.end < module.start) return std::unexpected(ParseError::module_ends_before_start);
      boot.add_module(module);
      return {};
    }
    case basic_meminfo_tag:
      if (tag.size() < 16) return std::unexpected(ParseError::tag_too_small);
      state.lower_kib = load<std::uint32_t>(tag, 8);
      state.upper_kib = load<std::uint32_t>(tag, 12);
      return {};
    case memory_map_tag:
      state.saw_memory_map = true;
      return parse_memory_map(tag, boot);
    case framebuffer_tag: {
      const auto framebuffer = parse_framebuffer(tag);
      if (!framebuffer) return std::unexpected(framebuffer.error());
      boot.set_framebuffer(*framebuffer);
      return {};
    }
    case acpi_old_rsdp_tag:
    case acpi_new_rsdp_tag: {
      const bool is_new = type == acpi_new_rsdp_tag;
      if (tag.size() < tag_header_size + (is_new ? rsdp_v2_size : rsdp_v1_size)) {
        return std::unexpected(ParseError::tag_too_small);
      }
      if (is_new || !state.saw_new_rsdp) boot.set_rsdp(tag_phys + tag_header_size);
      state.saw_new_rsdp = state.saw_new_rsdp || is_new;
      return {};
    }
    default:
      return {};  // ELF sections, APM, EFI pointers, ...: not needed (yet)
  }
}

// Without a memory map tag, the basic meminfo still bounds the RAM below 640 KiB and the
// contiguous RAM above 1 MiB (3.6.3): enough to boot on a minimal bootloader.
std::expected<void, ParseError> add_basic_meminfo(const TagState& state, BootInfo& boot) {
  if (!state.lower_kib || !state.upper_kib) return {};
  boot.diagnostics().memory_map_from_basic_meminfo = true;
  constexpr std::uint64_t kib = 1024;
  constexpr std::uint64_t upper_memory_start = 1024 * kib;
  auto lower = boot.add_memory_region({0, *state.lower_kib * kib, MemoryType::usable});
  if (!lower) return lower;
  return boot.add_memory_region({upper_memory_start, *state.upper_kib * kib, MemoryType::usable});
}

}  // namespace

std::expected<BootInfo, ParseError> parse_multiboot2(std::span<const std::byte> info,
                                                     std::uint64_t info_phys) {
  if (info.size() < fixed_part_size) return std::unexpected(ParseError::block_too_small);
  const auto total_size = load<std::uint32_t>(info, 0);
  if (total_size < fixed_part_size) return std::unexpected(ParseError::block_too_small);
  if (total_size > info.size()) return std::unexpected(ParseError::block_exceeds_buffer);
  const std::span<const std::byte> block = info.first(total_size);

  BootInfo boot(Protocol::multiboot2);
  boot.set_info_block({info_phys, total_size});
  TagState state;
  // Invariant: offset <= block.size(), so `block.size() - offset` cannot wrap.
  std::size_t offset = fixed_part_size;
  while (true) {
    if (block.size() - offset < tag_header_size) {
      return std::unexpected(ParseError::missing_end_tag);
    }
    const auto type = load<std::uint32_t>(block, offset);
    const std::size_t size = load<std::uint32_t>(block, offset + 4);
    if (size < tag_header_size) return std::unexpected(ParseError::tag_too_small);
    if (size > block.size() - offset) return std::unexpected(ParseError::tag_exceeds_block);
    if (type == end_tag) break;

    const auto parsed =
        parse_tag(type, block.subspan(offset, size), info_phys + offset, boot, state);
    if (!parsed) return std::unexpected(parsed.error());

    const std::size_t padded = (size + tag_alignment - 1) / tag_alignment * tag_alignment;
    if (padded > block.size() - offset) return std::unexpected(ParseError::missing_end_tag);
    offset += padded;
  }

  if (!state.saw_memory_map) {
    const auto fallback = add_basic_meminfo(state, boot);
    if (!fallback) return std::unexpected(fallback.error());
  }
  if (boot.memory_map().empty()) return std::unexpected(ParseError::missing_memory_map);
  return boot;
}

std::expected<BootInfo, ParseError> parse_multiboot2(const PhysicalReader& memory,
                                                     std::uint64_t info_phys) {
  const std::span<const std::byte> fixed_part = memory.read(info_phys, fixed_part_size);
  if (fixed_part.empty()) return std::unexpected(ParseError::info_block_out_of_range);
  const auto total_size = load<std::uint32_t>(fixed_part, 0);
  if (total_size < fixed_part_size) return std::unexpected(ParseError::block_too_small);
  const std::span<const std::byte> block = memory.read(info_phys, total_size);
  if (block.empty()) return std::unexpected(ParseError::info_block_out_of_range);
  return parse_multiboot2(block, info_phys);
}

}  // namespace ferrite::boot
