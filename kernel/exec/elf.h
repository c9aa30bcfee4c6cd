// Reading an x86_64 ELF executable (chapter 14): checks the file and says what to map where.
// Layouts: the System V ABI gABI "ELF Object File Format" (Elf64_Ehdr, Elf64_Phdr) and its
// x86-64 supplement; the same structures as Linux's <elf.h>.
//
// ferrite runs static programs: ET_EXEC (fixed addresses, e.g. Debian's busybox-static) and
// static-PIE ET_DYN (musl-gcc -static-pie; loaded at a base the kernel picks). A program that
// asks for a dynamic loader (PT_INTERP) is refused with a message saying so. Every offset and
// size in the file is checked before use; a malformed file gives an ElfError, never a read past
// the end, no segment may reach the kernel half or overlap another, and the loadable segments
// come in ascending address order (as the gABI requires and the loader relies on).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string_view>

#include "mm/page.h"

namespace ferrite::exec {

struct Elf64Header {
  std::uint8_t ident[16];  // "\x7f" "ELF", class, data, version, OS ABI, ...
  std::uint16_t type;      // ET_EXEC 2, ET_DYN 3
  std::uint16_t machine;   // EM_X86_64 62
  std::uint32_t version;
  std::uint64_t entry;
  std::uint64_t phoff;
  std::uint64_t shoff;
  std::uint32_t flags;
  std::uint16_t ehsize;
  std::uint16_t phentsize;
  std::uint16_t phnum;
  std::uint16_t shentsize;
  std::uint16_t shnum;
  std::uint16_t shstrndx;
};
static_assert(sizeof(Elf64Header) == 64);

struct Elf64ProgramHeader {
  std::uint32_t type;  // PT_LOAD 1, PT_INTERP 3, PT_PHDR 6, PT_TLS 7, PT_GNU_STACK 0x6474e551
  std::uint32_t flags;  // PF_X 1, PF_W 2, PF_R 4
  std::uint64_t offset;
  std::uint64_t vaddr;
  std::uint64_t paddr;
  std::uint64_t filesz;
  std::uint64_t memsz;
  std::uint64_t align;
};
static_assert(sizeof(Elf64ProgramHeader) == 56);

inline constexpr std::uint16_t kElfTypeExec = 2;
inline constexpr std::uint16_t kElfTypeDyn = 3;
inline constexpr std::uint16_t kMachineX86_64 = 62;
inline constexpr std::uint32_t kPtLoad = 1;
inline constexpr std::uint32_t kPtInterp = 3;
inline constexpr std::uint32_t kPtPhdr = 6;
inline constexpr std::uint32_t kPtGnuStack = 0x6474e551;
inline constexpr std::uint32_t kPfExecute = 1;
inline constexpr std::uint32_t kPfWrite = 2;
inline constexpr std::uint32_t kPfRead = 4;

enum class ElfError : std::uint8_t {
  too_small,              // shorter than an ELF header
  bad_magic,              // not "\x7fELF"
  not_64_bit,             // EI_CLASS is not ELFCLASS64
  not_little_endian,      // EI_DATA is not ELFDATA2LSB
  bad_version,            // EI_VERSION / e_version is not 1
  not_x86_64,             // e_machine is not EM_X86_64
  not_executable,         // neither ET_EXEC nor ET_DYN (e.g. a relocatable .o)
  bad_program_headers,    // phentsize wrong, or the table runs past the file
  too_many_segments,      // more PT_LOAD segments than kMaxSegments
  no_segments,            // nothing to load
  segment_past_file,      // offset + filesz runs past the file
  file_larger_than_memory,  // filesz > memsz
  segment_overflows,      // vaddr + memsz wraps around
  segment_outside_user,   // below kMinUserAddress or reaching the kernel half
  segments_overlap,       // two PT_LOAD segments share bytes
  segments_out_of_order,  // a PT_LOAD below the one listed before it (gABI: sorted on p_vaddr)
  misaligned_segment,     // vaddr and offset differ modulo the page size
  entry_outside_segments,  // e_entry is not in an executable segment
  needs_interpreter,      // PT_INTERP: a dynamically linked program
};

std::string_view to_string(ElfError error);

// The first 64 KiB stay unmapped so that NULL and small offsets from it fault (Linux's default
// vm.mmap_min_addr); user space ends where the lower canonical half ends.
inline constexpr std::uint64_t kMinUserAddress = 0x10000;
inline constexpr std::uint64_t kUserEnd = 0x0000'8000'0000'0000;
// Where a static-PIE program is placed (Linux uses 2/3 of TASK_SIZE, ELF_ET_DYN_BASE; any
// page-aligned base that leaves room works).
inline constexpr std::uint64_t kPieBase = 0x0000'5555'5555'4000;
inline constexpr std::size_t kMaxSegments = 16;

struct Segment {
  std::uint64_t vaddr = 0;   // after the load bias
  std::uint64_t memsz = 0;
  std::uint64_t offset = 0;  // in the file
  std::uint64_t filesz = 0;  // the rest, up to memsz, is zero (.bss)
  bool readable = false;
  bool writable = false;
  bool executable = false;
};

struct ElfImage {
  std::uint64_t entry = 0;        // after the load bias
  std::uint64_t load_bias = 0;    // 0 for ET_EXEC
  std::uint64_t phdr_address = 0;  // where the program headers are in the loaded image (AT_PHDR)
  std::uint16_t phent = 0;         // AT_PHENT
  std::uint16_t phnum = 0;         // AT_PHNUM
  std::uint64_t image_end = 0;     // end of the highest segment: the program break starts here
  bool executable_stack = false;   // PT_GNU_STACK asked for it (or is missing)
  std::size_t segment_count = 0;
  std::array<Segment, kMaxSegments> segments{};

  std::span<const Segment> loadable() const { return {segments.data(), segment_count}; }
};

// Checks `file` and plans its loading. ET_DYN images are placed at kPieBase.
std::expected<ElfImage, ElfError> parse_elf(std::span<const std::byte> file);

}  // namespace ferrite::exec
