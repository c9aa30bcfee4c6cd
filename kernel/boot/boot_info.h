// What the bootloader told us, in one protocol-neutral BootInfo: memory map, command line,
// framebuffer, ACPI RSDP, modules. Filled from Multiboot2 tags (GRUB) or the PVH start info (QEMU).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string_view>

namespace ferrite::boot {

// Values the 32-bit entry code finds in EAX (Multiboot2 spec 3.3) and at the start of the PVH
// start info (Xen public/arch-x86/hvm/start_info.h, XEN_HVM_START_MAGIC_VALUE).
inline constexpr std::uint32_t multiboot2_bootloader_magic = 0x36d76289;
inline constexpr std::uint32_t pvh_start_info_magic = 0x336ec578;

enum class Protocol : std::uint8_t { none, multiboot2, pvh };

// Both protocols use the E820 / ACPI "address range types" (Multiboot2 spec 3.6.8; Xen
// XEN_HVM_MEMMAP_TYPE_*): 1 RAM, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS, 5 unusable.
enum class MemoryType : std::uint8_t { usable, reserved, acpi_reclaimable, acpi_nvs, bad };

constexpr std::string_view to_string(MemoryType type) {
  switch (type) {
    case MemoryType::usable:
      return "usable";
    case MemoryType::reserved:
      return "reserved";
    case MemoryType::acpi_reclaimable:
      return "ACPI reclaimable";
    case MemoryType::acpi_nvs:
      return "ACPI NVS";
    case MemoryType::bad:
      return "bad";
  }
  return "?";
}

constexpr std::optional<MemoryType> memory_type_from_e820(std::uint32_t type) {
  switch (type) {
    case 1:
      return MemoryType::usable;
    case 2:
      return MemoryType::reserved;
    case 3:
      return MemoryType::acpi_reclaimable;
    case 4:
      return MemoryType::acpi_nvs;
    case 5:
      return MemoryType::bad;
    case 20:
      // GRUB's GRUB_MEMORY_CODE: what it reports for UEFI runtime-services code (every OVMF
      // boot has one). Firmware's, not ours: reserved, and nothing to warn about.
      return MemoryType::reserved;
    default:
      return std::nullopt;  // e.g. 7 persistent memory, Xen's 0xF000000x: not ours to use
  }
}

// When two map entries claim the same bytes, the higher rank wins: handing out memory the
// firmware still uses is a silent corruption, wasting a few frames is harmless.
constexpr int restrictiveness(MemoryType type) {
  switch (type) {
    case MemoryType::usable:
      return 0;
    case MemoryType::acpi_reclaimable:
      return 1;  // usable once the ACPI tables are read
    case MemoryType::acpi_nvs:
      return 2;  // firmware keeps state here across sleep
    case MemoryType::reserved:
      return 3;
    case MemoryType::bad:
      return 4;
  }
  return 4;
}

struct MemoryRegion {
  std::uint64_t base = 0;
  std::uint64_t length = 0;
  MemoryType type = MemoryType::reserved;

  constexpr std::uint64_t end() const { return base + length; }  // exclusive
  friend constexpr bool operator==(const MemoryRegion&, const MemoryRegion&) = default;
};

// A bit field inside a pixel: value = (pixel >> position) & ((1 << mask_size) - 1).
struct ColorField {
  std::uint8_t position = 0;
  std::uint8_t mask_size = 0;
  friend constexpr bool operator==(const ColorField&, const ColorField&) = default;
};

// Multiboot2 spec 3.6.12 "Framebuffer info".
struct Framebuffer {
  enum class Kind : std::uint8_t { indexed, rgb, ega_text };

  std::uint64_t phys_addr = 0;
  std::uint32_t pitch = 0;  // bytes per row (EGA text: per row of cells)
  std::uint32_t width = 0;  // pixels (EGA text: columns)
  std::uint32_t height = 0;
  std::uint8_t bpp = 0;
  Kind kind = Kind::rgb;
  ColorField red{}, green{}, blue{};  // only meaningful for Kind::rgb
  friend constexpr bool operator==(const Framebuffer&, const Framebuffer&) = default;
};

// A file the bootloader loaded next to the kernel (an initrd, say). `end` is exclusive.
struct Module {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  friend constexpr bool operator==(const Module&, const Module&) = default;
};

struct PhysicalRange {
  std::uint64_t base = 0;
  std::uint64_t length = 0;
  friend constexpr bool operator==(const PhysicalRange&, const PhysicalRange&) = default;
};

// Things the parser fixed or dropped instead of refusing to boot. The kernel prints each non-zero
// one as a warning: real firmware produces all of these.
struct BootDiagnostics {
  std::uint16_t overlapping_regions = 0;   // entries overlapping earlier ones (stricter type kept)
  std::uint16_t empty_regions = 0;         // zero-length entries, ignored
  std::uint16_t unknown_region_types = 0;  // types outside 1..5, treated as reserved
  std::uint32_t last_unknown_region_type = 0;  // the raw type of the last of those, to report
  std::uint16_t clamped_regions = 0;       // base + length past 2^64, cut at the top
  std::uint8_t dropped_modules = 0;        // more modules than BootInfo::max_modules
  bool command_line_truncated = false;     // longer than BootInfo::max_command_line
  bool bootloader_name_truncated = false;
  bool memory_map_from_basic_meminfo = false;  // Multiboot2 without a memory map tag

  constexpr bool any() const {
    return overlapping_regions != 0 || empty_regions != 0 || unknown_region_types != 0 ||
           clamped_regions != 0 || dropped_modules != 0 || command_line_truncated ||
           bootloader_name_truncated || memory_map_from_basic_meminfo;
  }
};

enum class ParseError : std::uint8_t {
  block_too_small,
  block_exceeds_buffer,
  tag_too_small,
  tag_exceeds_block,
  missing_end_tag,
  bad_memory_map_entry_size,
  memory_map_not_whole_entries,
  unterminated_string,
  unknown_framebuffer_type,
  module_ends_before_start,
  bad_pvh_magic,
  unsupported_pvh_version,
  info_block_out_of_range,
  memory_map_out_of_range,
  command_line_out_of_range,
  module_list_out_of_range,
  missing_memory_map,
  too_many_memory_regions,
};

constexpr std::string_view to_string(ParseError error) {
  switch (error) {
    case ParseError::block_too_small:
      return "Multiboot2 information block is smaller than its 8-byte header";
    case ParseError::block_exceeds_buffer:
      return "Multiboot2 total_size is larger than the memory given to the parser";
    case ParseError::tag_too_small:
      return "Multiboot2 tag is smaller than its header or its type's fixed fields";
    case ParseError::tag_exceeds_block:
      return "Multiboot2 tag runs past the end of the information block";
    case ParseError::missing_end_tag:
      return "Multiboot2 tag list has no end tag (type 0)";
    case ParseError::bad_memory_map_entry_size:
      return "Multiboot2 memory map entry_size is below 24 or not a multiple of 8";
    case ParseError::memory_map_not_whole_entries:
      return "Multiboot2 memory map tag does not hold a whole number of entries";
    case ParseError::unterminated_string:
      return "boot string (command line or bootloader name) has no terminating NUL";
    case ParseError::unknown_framebuffer_type:
      return "Multiboot2 framebuffer type is not indexed (0), RGB (1) or EGA text (2)";
    case ParseError::module_ends_before_start:
      return "boot module ends before it starts";
    case ParseError::bad_pvh_magic:
      return "PVH start info magic is not 0x336ec578";
    case ParseError::unsupported_pvh_version:
      return "PVH start info version 0 has no memory map (need version 1 or later)";
    case ParseError::info_block_out_of_range:
      return "boot information block (Multiboot2 / PVH start info) is not readable";
    case ParseError::memory_map_out_of_range:
      return "PVH memory map lies outside readable physical memory";
    case ParseError::command_line_out_of_range:
      return "PVH command line lies outside readable physical memory";
    case ParseError::module_list_out_of_range:
      return "PVH module list lies outside readable physical memory";
    case ParseError::missing_memory_map:
      return "the bootloader gave no memory map";
    case ParseError::too_many_memory_regions:
      return "memory map needs more regions than BootInfo can hold, even after merging";
  }
  return "unknown boot information error";
}

// Everything the kernel keeps from the boot protocol. Owns copies of the strings so the boot
// area can be reused once parsing is done. A few KiB, trivially copyable, and constexpr
// default-constructible so it can be a `constinit` global.
class BootInfo {
 public:
  static constexpr std::size_t max_memory_regions = 128;
  static constexpr std::size_t max_command_line = 512;
  static constexpr std::size_t max_bootloader_name = 64;
  static constexpr std::size_t max_modules = 8;

  constexpr BootInfo() = default;
  constexpr explicit BootInfo(Protocol protocol) : protocol_(protocol) {}

  Protocol protocol() const { return protocol_; }
  // Sorted by base, non-overlapping, adjacent regions of the same type merged.
  std::span<const MemoryRegion> memory_map() const { return {regions_.data(), region_count_}; }
  std::uint64_t usable_bytes() const;
  std::string_view command_line() const { return {command_line_.data(), command_line_length_}; }
  std::string_view bootloader_name() const {
    return {bootloader_name_.data(), bootloader_name_length_};
  }
  const std::optional<Framebuffer>& framebuffer() const { return framebuffer_; }
  // Physical address of the ACPI RSDP. Under Multiboot2 this is GRUB's copy inside the
  // information block, so keep info_block() reserved for as long as ACPI needs it.
  std::optional<std::uint64_t> rsdp() const { return rsdp_; }
  std::span<const Module> modules() const { return {modules_.data(), module_count_}; }
  // Where the protocol's own structure lies (Multiboot2 block / PVH start info).
  PhysicalRange info_block() const { return info_block_; }
  const BootDiagnostics& diagnostics() const { return diagnostics_; }

  // --- Filling in: used by the parsers, and by tests to build maps directly. ---

  // Paints the region over the map: where it overlaps existing regions the more restrictive
  // type wins; neighbours of the same type merge. Fails only if the normalised map would
  // need more than max_memory_regions entries: truncating could drop a reserved region that
  // punches a hole into usable RAM, so refusing is the only safe answer.
  [[nodiscard]] std::expected<void, ParseError> add_memory_region(MemoryRegion region);
  // The same for a raw E820-style entry; unknown types count as reserved (and are counted).
  [[nodiscard]] std::expected<void, ParseError> add_e820_region(std::uint64_t base,
                                                                std::uint64_t length,
                                                                std::uint32_t e820_type);
  // Longer strings are cut at the last space that fits, so no option is cut in half.
  void set_command_line(std::string_view text);
  void set_bootloader_name(std::string_view text);
  void add_module(Module module);  // beyond max_modules: dropped and counted
  void set_framebuffer(const Framebuffer& framebuffer) { framebuffer_ = framebuffer; }
  void set_rsdp(std::uint64_t phys) { rsdp_ = phys; }
  void set_info_block(PhysicalRange range) { info_block_ = range; }
  BootDiagnostics& diagnostics() { return diagnostics_; }

 private:
  [[nodiscard]] bool insert_region_at(std::size_t index, MemoryRegion region);
  [[nodiscard]] bool split_region_at(std::size_t index, std::uint64_t address);
  void merge_adjacent_regions();

  // Painting a region into the middle of another splits it in three before the merge pass
  // shrinks the map again; the public limit is checked after merging.
  static constexpr std::size_t split_headroom = 2;

  Protocol protocol_ = Protocol::none;
  std::size_t region_count_ = 0;
  std::array<MemoryRegion, max_memory_regions + split_headroom> regions_{};
  std::size_t command_line_length_ = 0;
  std::array<char, max_command_line> command_line_{};
  std::size_t bootloader_name_length_ = 0;
  std::array<char, max_bootloader_name> bootloader_name_{};
  std::size_t module_count_ = 0;
  std::array<Module, max_modules> modules_{};
  std::optional<Framebuffer> framebuffer_;
  std::optional<std::uint64_t> rsdp_;
  PhysicalRange info_block_{};
  BootDiagnostics diagnostics_{};
};

// A window onto physical memory, so the parsers can follow physical pointers the same way in
// the kernel (through its mapping of low memory) and in host tests (through a fake).
class PhysicalReader {
 public:
  // Exactly `length` bytes starting at `phys`, or an empty span if any of them is not readable.
  virtual std::span<const std::byte> read(std::uint64_t phys, std::size_t length) const = 0;

 protected:
  ~PhysicalReader() = default;  // not owned through this interface: no deleting destructor
};

// Multiboot2: `info` must cover at least total_size bytes (the first u32 of the block);
// `info_phys` is where the block lies, used for info_block() and the RSDP copy's address.
[[nodiscard]] std::expected<BootInfo, ParseError> parse_multiboot2(std::span<const std::byte> info,
                                                                   std::uint64_t info_phys);
// The same, reading total_size and then the block through `memory`.
[[nodiscard]] std::expected<BootInfo, ParseError> parse_multiboot2(const PhysicalReader& memory,
                                                                   std::uint64_t info_phys);

// PVH: the start info (EBX at the PVH entry point) and everything it points to.
[[nodiscard]] std::expected<BootInfo, ParseError> parse_pvh(const PhysicalReader& memory,
                                                            std::uint64_t start_info_phys);

}  // namespace ferrite::boot
