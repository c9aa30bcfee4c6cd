// ELF executable checks and load plan: see elf.h.
#include "exec/elf.h"

#include <cstring>

namespace ferrite::exec {

namespace {

template <class T>
T read_at(std::span<const std::byte> file, std::size_t offset) {
  T value;
  std::memcpy(&value, file.data() + offset, sizeof(T));  // the file need not be aligned
  return value;
}

bool ranges_overlap(const Segment& a, const Segment& b) {
  return a.vaddr < b.vaddr + b.memsz && b.vaddr < a.vaddr + a.memsz;
}

}  // namespace

std::string_view to_string(ElfError error) {
  switch (error) {
    case ElfError::too_small:
      return "file is smaller than an ELF header";
    case ElfError::bad_magic:
      return "not an ELF file (bad magic)";
    case ElfError::not_64_bit:
      return "not a 64-bit ELF file";
    case ElfError::not_little_endian:
      return "not a little-endian ELF file";
    case ElfError::bad_version:
      return "unknown ELF version";
    case ElfError::not_x86_64:
      return "not an x86-64 program";
    case ElfError::not_executable:
      return "not an executable (ELF type is neither EXEC nor DYN)";
    case ElfError::bad_program_headers:
      return "program header table is malformed or runs past the file";
    case ElfError::too_many_segments:
      return "too many loadable segments";
    case ElfError::no_segments:
      return "no loadable segment";
    case ElfError::segment_past_file:
      return "a segment's file bytes run past the end of the file";
    case ElfError::file_larger_than_memory:
      return "a segment has more file bytes than memory bytes";
    case ElfError::segment_overflows:
      return "a segment's address range wraps around";
    case ElfError::segment_outside_user:
      return "a segment lies outside user space (NULL page or kernel half)";
    case ElfError::segments_overlap:
      return "two loadable segments overlap";
    case ElfError::segments_out_of_order:
      return "loadable segments are not in ascending address order";
    case ElfError::misaligned_segment:
      return "a segment's address and file offset differ modulo the page size";
    case ElfError::entry_outside_segments:
      return "entry point is not in an executable segment";
    case ElfError::needs_interpreter:
      return "dynamically linked (needs an ELF interpreter); build it with -static";
  }
  return "unknown ELF error";
}

std::expected<ElfImage, ElfError> parse_elf(std::span<const std::byte> file) {
  if (file.size() < sizeof(Elf64Header)) return std::unexpected(ElfError::too_small);
  const auto header = read_at<Elf64Header>(file, 0);
  if (header.ident[0] != 0x7f || header.ident[1] != 'E' || header.ident[2] != 'L' ||
      header.ident[3] != 'F') {
    return std::unexpected(ElfError::bad_magic);
  }
  if (header.ident[4] != 2) return std::unexpected(ElfError::not_64_bit);
  if (header.ident[5] != 1) return std::unexpected(ElfError::not_little_endian);
  if (header.ident[6] != 1 || header.version != 1) return std::unexpected(ElfError::bad_version);
  if (header.machine != kMachineX86_64) return std::unexpected(ElfError::not_x86_64);
  if (header.type != kElfTypeExec && header.type != kElfTypeDyn) {
    return std::unexpected(ElfError::not_executable);
  }
  if (header.phentsize != sizeof(Elf64ProgramHeader) || header.phnum == 0 ||
      header.phoff > file.size() ||
      std::uint64_t{header.phnum} * sizeof(Elf64ProgramHeader) > file.size() - header.phoff) {
    return std::unexpected(ElfError::bad_program_headers);
  }

  ElfImage image;
  image.load_bias = header.type == kElfTypeDyn ? kPieBase : 0;
  image.phent = header.phentsize;
  image.phnum = header.phnum;
  image.executable_stack = true;  // Linux's default when PT_GNU_STACK is absent
  std::uint64_t phdr_vaddr = 0;
  bool have_phdr = false;

  for (std::size_t i = 0; i < header.phnum; ++i) {
    const auto ph = read_at<Elf64ProgramHeader>(file, header.phoff + i * sizeof(Elf64ProgramHeader));
    if (ph.type == kPtInterp) return std::unexpected(ElfError::needs_interpreter);
    if (ph.type == kPtGnuStack) image.executable_stack = (ph.flags & kPfExecute) != 0;
    if (ph.type == kPtPhdr) {
      phdr_vaddr = ph.vaddr;
      have_phdr = true;
    }
    if (ph.type != kPtLoad || ph.memsz == 0) continue;

    if (ph.offset > file.size() || ph.filesz > file.size() - ph.offset) {
      return std::unexpected(ElfError::segment_past_file);
    }
    if (ph.filesz > ph.memsz) return std::unexpected(ElfError::file_larger_than_memory);
    if (ph.vaddr % mm::kPageBytes != ph.offset % mm::kPageBytes) {
      return std::unexpected(ElfError::misaligned_segment);
    }
    const std::uint64_t start = ph.vaddr + image.load_bias;
    if (start < ph.vaddr || start + ph.memsz < start) {
      return std::unexpected(ElfError::segment_overflows);
    }
    if (start < kMinUserAddress || start + ph.memsz > kUserEnd) {
      return std::unexpected(ElfError::segment_outside_user);
    }
    if (image.segment_count == kMaxSegments) return std::unexpected(ElfError::too_many_segments);

    Segment segment;
    segment.vaddr = start;
    segment.memsz = ph.memsz;
    segment.offset = ph.offset;
    segment.filesz = ph.filesz;
    segment.readable = (ph.flags & kPfRead) != 0;
    segment.writable = (ph.flags & kPfWrite) != 0;
    segment.executable = (ph.flags & kPfExecute) != 0;
    for (const Segment& other : image.loadable()) {
      if (ranges_overlap(segment, other)) return std::unexpected(ElfError::segments_overlap);
    }
    // The gABI lists PT_LOAD entries sorted on p_vaddr, and proc's load_segments maps them in
    // list order, taking a start below the previous end for the page two neighbours share.
    if (image.segment_count > 0 && start < image.segments[image.segment_count - 1].vaddr) {
      return std::unexpected(ElfError::segments_out_of_order);
    }
    image.segments[image.segment_count++] = segment;
    if (start + ph.memsz > image.image_end) image.image_end = start + ph.memsz;

    // Without PT_PHDR, the headers are wherever the segment holding file offset phoff puts them.
    if (!have_phdr && header.phoff >= ph.offset && header.phoff < ph.offset + ph.filesz) {
      phdr_vaddr = ph.vaddr + (header.phoff - ph.offset);
      have_phdr = true;
    }
  }
  if (image.segment_count == 0) return std::unexpected(ElfError::no_segments);

  image.entry = header.entry + image.load_bias;
  bool entry_ok = false;
  for (const Segment& s : image.loadable()) {
    entry_ok |= s.executable && image.entry >= s.vaddr && image.entry < s.vaddr + s.memsz;
  }
  if (!entry_ok) return std::unexpected(ElfError::entry_outside_segments);
  image.phdr_address = have_phdr ? phdr_vaddr + image.load_bias : 0;
  return image;
}

}  // namespace ferrite::exec
