// Host tests of the ELF executable checks (kernel/exec/elf.*) and the initial process stack
// (kernel/exec/initial_stack.*).
#include "exec/elf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "exec/initial_stack.h"
#include "support/mutator.h"

namespace {

using namespace ferrite::exec;
using ferrite::abi::Errno;

// A minimal static executable: header, program headers, and a text and a data segment.
struct ElfBuilder {
  Elf64Header header{};
  std::vector<Elf64ProgramHeader> phdrs;
  std::size_t file_size = 0x3000;

  ElfBuilder() {
    const unsigned char ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    std::memcpy(header.ident, ident, sizeof(ident));
    header.type = kElfTypeExec;
    header.machine = kMachineX86_64;
    header.version = 1;
    header.entry = 0x401010;
    header.phoff = sizeof(Elf64Header);
    header.ehsize = sizeof(Elf64Header);
    header.phentsize = sizeof(Elf64ProgramHeader);
    // text: file [0, 0x1100) at 0x400000 (covers the headers), R+X
    phdrs.push_back({kPtLoad, kPfRead | kPfExecute, 0, 0x400000, 0x400000, 0x1100, 0x1100, 0x1000});
    // data: file [0x2000, 0x2100) at 0x402000, 0x1000 bytes in memory (the rest is .bss), R+W
    phdrs.push_back({kPtLoad, kPfRead | kPfWrite, 0x2000, 0x402000, 0x402000, 0x100, 0x1000, 0x1000});
    phdrs.push_back({kPtGnuStack, kPfRead | kPfWrite, 0, 0, 0, 0, 0, 16});
  }

  std::vector<std::byte> bytes() {
    header.phnum = static_cast<std::uint16_t>(phdrs.size());
    std::vector<std::byte> out(file_size);
    std::memcpy(out.data(), &header, std::min(sizeof(header), out.size()));
    for (std::size_t i = 0; i < phdrs.size(); ++i) {
      const std::uint64_t at = header.phoff + i * sizeof(Elf64ProgramHeader);
      if (at >= header.phoff && at <= out.size() && sizeof(Elf64ProgramHeader) <= out.size() - at) std::memcpy(out.data() + at, &phdrs[i], sizeof(phdrs[i]));
    }
    return out;
  }
};

TEST(Elf, PlansAStaticExecutable) {
  ElfBuilder b;
  const auto file = b.bytes();
  const auto image = parse_elf(file);
  ASSERT_TRUE(image.has_value()) << to_string(image.error());
  EXPECT_EQ(image->entry, 0x401010u);
  EXPECT_EQ(image->load_bias, 0u);
  EXPECT_EQ(image->phdr_address, 0x400040u);  // found through the segment holding phoff
  EXPECT_EQ(image->phnum, 3u);
  EXPECT_EQ(image->phent, 56u);
  ASSERT_EQ(image->segment_count, 2u);
  EXPECT_TRUE(image->segments[0].executable);
  EXPECT_FALSE(image->segments[0].writable);
  EXPECT_TRUE(image->segments[1].writable);
  EXPECT_FALSE(image->segments[1].executable);
  EXPECT_EQ(image->segments[1].filesz, 0x100u);
  EXPECT_EQ(image->segments[1].memsz, 0x1000u);
  EXPECT_EQ(image->image_end, 0x403000u);
  EXPECT_FALSE(image->executable_stack);
}

TEST(Elf, PlacesAStaticPieAtItsBase) {
  ElfBuilder b;
  b.header.type = kElfTypeDyn;
  b.header.entry = 0x1010;
  b.phdrs[0].vaddr = 0;
  b.phdrs[1].vaddr = 0x2000;
  const auto file = b.bytes();
  const auto image = parse_elf(file);
  ASSERT_TRUE(image.has_value()) << to_string(image.error());
  EXPECT_EQ(image->load_bias, kPieBase);
  EXPECT_EQ(image->entry, kPieBase + 0x1010);
  EXPECT_EQ(image->segments[1].vaddr, kPieBase + 0x2000);
  EXPECT_EQ(image->phdr_address, kPieBase + 0x40);
}

struct Bad {
  const char* what;
  ElfError expected;
  void (*apply)(ElfBuilder&);
};

TEST(Elf, RefusesMalformedFilesWithTheReason) {
  const Bad cases[] = {
      {"tiny", ElfError::too_small, [](ElfBuilder& b) { b.file_size = 10; }},
      {"magic", ElfError::bad_magic, [](ElfBuilder& b) { b.header.ident[1] = 'X'; }},
      {"32-bit", ElfError::not_64_bit, [](ElfBuilder& b) { b.header.ident[4] = 1; }},
      {"big endian", ElfError::not_little_endian, [](ElfBuilder& b) { b.header.ident[5] = 2; }},
      {"version", ElfError::bad_version, [](ElfBuilder& b) { b.header.version = 2; }},
      {"arm64", ElfError::not_x86_64, [](ElfBuilder& b) { b.header.machine = 183; }},
      {"object file", ElfError::not_executable, [](ElfBuilder& b) { b.header.type = 1; }},
      {"phentsize", ElfError::bad_program_headers, [](ElfBuilder& b) { b.header.phentsize = 32; }},
      {"phoff past end", ElfError::bad_program_headers, [](ElfBuilder& b) { b.header.phoff = 0x2FF0; }},
      {"phoff huge", ElfError::bad_program_headers, [](ElfBuilder& b) { b.header.phoff = ~0ull - 8; }},
      {"no phdrs", ElfError::bad_program_headers, [](ElfBuilder& b) { b.phdrs.clear(); }},
      {"no load", ElfError::no_segments, [](ElfBuilder& b) { b.phdrs[0].type = 4; b.phdrs[1].type = 4; }},
      {"segment past file", ElfError::segment_past_file, [](ElfBuilder& b) { b.phdrs[1].filesz = 0x1001; }},
      {"offset past file", ElfError::segment_past_file, [](ElfBuilder& b) { b.phdrs[1].offset = ~0ull - 0xFFF; b.phdrs[1].vaddr = ~0ull - 0xFFF; }},
      {"filesz > memsz", ElfError::file_larger_than_memory, [](ElfBuilder& b) { b.phdrs[1].memsz = 0x80; }},
      {"wraps", ElfError::segment_overflows, [](ElfBuilder& b) { b.phdrs[1].vaddr = ~0ull - 0xFFF + 0x000; b.phdrs[1].offset = 0x2000; b.phdrs[1].vaddr = 0xFFFFFFFFFFFFF000ull; }},
      {"kernel half", ElfError::segment_outside_user, [](ElfBuilder& b) { b.phdrs[1].vaddr = 0xFFFF800000002000ull; b.phdrs[1].memsz = 0x1000; }},
      {"reaches kernel half", ElfError::segment_outside_user, [](ElfBuilder& b) { b.phdrs[1].vaddr = 0x7FFFFFFFF000ull; b.phdrs[1].memsz = 0x2000; }},
      {"null page", ElfError::segment_outside_user, [](ElfBuilder& b) { b.phdrs[0].vaddr = 0; }},
      {"overlap", ElfError::segments_overlap, [](ElfBuilder& b) { b.phdrs[1].vaddr = 0x401000; b.phdrs[1].offset = 0x2000; }},
      {"misaligned", ElfError::misaligned_segment, [](ElfBuilder& b) { b.phdrs[1].vaddr = 0x402008; }},
      {"entry in data", ElfError::entry_outside_segments, [](ElfBuilder& b) { b.header.entry = 0x402010; }},
      {"entry nowhere", ElfError::entry_outside_segments, [](ElfBuilder& b) { b.header.entry = 0x10; }},
      {"interpreter", ElfError::needs_interpreter, [](ElfBuilder& b) { b.phdrs.push_back({kPtInterp, kPfRead, 0x200, 0x400200, 0, 28, 28, 1}); }},
      {"too many", ElfError::too_many_segments, [](ElfBuilder& b) {
         for (std::uint64_t i = 0; i < kMaxSegments; ++i) {
           b.phdrs.push_back({kPtLoad, kPfRead, 0x2000, 0x500000 + i * 0x1000, 0, 0x10, 0x10, 0x1000});
         }
       }},
  };
  for (const Bad& c : cases) {
    ElfBuilder b;
    c.apply(b);
    const auto file = b.bytes();
    const auto image = parse_elf(file);
    ASSERT_FALSE(image.has_value()) << c.what;
    EXPECT_EQ(image.error(), c.expected) << c.what << ": got " << to_string(image.error());
  }
}

// Found by ElfFuzz: the data segment moved below the text segment but still listed after it
// (its p_vaddr 0x402000 -> 0x12000, the 16-bit field at file offset 138 set to 1). The segments
// do not overlap, so parse_elf accepted the file, but load_segments maps in list order and took
// the lower start for the page it shares with the previous segment: mprotect of an unmapped page,
// and spawn failed with ENOMEM "cannot map its segments" instead of ENOEXEC with the reason.
TEST(Elf, RefusesLoadSegmentsOutOfAddressOrder) {
  ElfBuilder b;
  b.phdrs[1].vaddr = 0x12000;
  const auto file = b.bytes();
  const auto image = parse_elf(file);
  ASSERT_FALSE(image.has_value());
  EXPECT_EQ(image.error(), ElfError::segments_out_of_order);
  EXPECT_EQ(to_string(image.error()), "loadable segments are not in ascending address order");

  // Listed in ascending order, the same two segments load.
  ElfBuilder sorted;
  sorted.phdrs[1].vaddr = 0x12000;
  std::swap(sorted.phdrs[0], sorted.phdrs[1]);
  const auto file2 = sorted.bytes();
  EXPECT_TRUE(parse_elf(file2).has_value());
}

// The same checks hold for ET_DYN, applied after the move to kPieBase: a dynamically linked PIE
// (what `gcc` without -static-pie makes), and segments or an entry that are wrong only once biased.
TEST(Elf, RefusesMalformedStaticPiesWithTheReason) {
  const auto make_pie = [](ElfBuilder& b) {
    b.header.type = kElfTypeDyn;
    b.header.entry = 0x1010;
    b.phdrs[0].vaddr = 0;
    b.phdrs[1].vaddr = 0x2000;
  };
  const Bad cases[] = {
      {"dynamic PIE", ElfError::needs_interpreter, [](ElfBuilder& b) { b.phdrs.push_back({kPtInterp, kPfRead, 0x200, 0x200, 0, 28, 28, 1}); }},
      {"biased into kernel half", ElfError::segment_outside_user, [](ElfBuilder& b) { b.phdrs[1].vaddr = kUserEnd - kPieBase - 0x1000; b.phdrs[1].memsz = 0x2000; }},
      {"bias wraps", ElfError::segment_overflows, [](ElfBuilder& b) { b.phdrs[1].vaddr = 0xFFFFFFFFFFFFF000ull; }},
      {"overlap", ElfError::segments_overlap, [](ElfBuilder& b) { b.phdrs[1].vaddr = 0x1000; }},
      {"entry in data", ElfError::entry_outside_segments, [](ElfBuilder& b) { b.header.entry = 0x2010; }},
      {"absolute entry", ElfError::entry_outside_segments, [](ElfBuilder& b) { b.header.entry = kPieBase + 0x1010; }},
      {"segment past file", ElfError::segment_past_file, [](ElfBuilder& b) { b.phdrs[1].filesz = 0x1001; }},
  };
  for (const Bad& c : cases) {
    ElfBuilder b;
    make_pie(b);
    c.apply(b);
    const auto file = b.bytes();
    const auto image = parse_elf(file);
    ASSERT_FALSE(image.has_value()) << c.what;
    EXPECT_EQ(image.error(), c.expected) << c.what << ": got " << to_string(image.error());
  }
}

// glibc's static-PIE start-up finds its program headers (and so its TLS segment) through
// AT_PHDR: with PT_PHDR present, its address must be moved by the bias too.
TEST(Elf, BiasesAStaticPiesPtPhdr) {
  ElfBuilder b;
  b.header.type = kElfTypeDyn;
  b.header.entry = 0x1010;
  b.phdrs[0].vaddr = 0;
  b.phdrs[1].vaddr = 0x2000;
  b.phdrs.insert(b.phdrs.begin(), {kPtPhdr, kPfRead, 0x40, 0x40, 0x40, 4 * sizeof(Elf64ProgramHeader), 4 * sizeof(Elf64ProgramHeader), 8});
  const auto file = b.bytes();
  const auto image = parse_elf(file);
  ASSERT_TRUE(image.has_value()) << to_string(image.error());
  EXPECT_EQ(image->phdr_address, kPieBase + 0x40);
  EXPECT_EQ(image->phnum, 4u);
}

TEST(Elf, RandomDamageNeverReadsOutOfBounds) {
  ElfBuilder b;
  const auto good = b.bytes();
  std::mt19937 rng(99);
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::byte> damaged(good.begin(), good.begin() + static_cast<long>(rng() % 2 ? good.size() : rng() % good.size()));
    for (int i = 0; i < 3 && !damaged.empty(); ++i) {
      damaged[rng() % std::min<std::size_t>(damaged.size(), 300)] = static_cast<std::byte>(rng());
    }
    const auto image = parse_elf(damaged);
    if (image) {
      for (const Segment& s : image->loadable()) {
        EXPECT_LE(s.offset + s.filesz, damaged.size());
        EXPECT_GE(s.vaddr, kMinUserAddress);
        EXPECT_LE(s.vaddr + s.memsz, kUserEnd);
      }
    }
  }
}

// --- Mutation fuzzing: whatever parse_elf accepts, the loader can map as planned. ---

// The contract of an accepted image (elf.h, and what proc/process.cpp's load_segments relies
// on). Returns "" or the first broken promise.
std::string broken_promise(const std::vector<std::byte>& file, const ElfImage& image) {
  Elf64Header header;
  std::memcpy(&header, file.data(), sizeof header);  // accepted: at least a header long
  if (image.segment_count == 0 || image.segment_count > kMaxSegments) return "segment count";
  if (image.phnum != header.phnum || image.phent != sizeof(Elf64ProgramHeader))
    return "phnum/phent";
  if (image.load_bias != (header.type == kElfTypeDyn ? kPieBase : 0)) return "load bias";
  std::uint64_t highest_end = 0;
  bool entry_found = false;
  for (std::size_t i = 0; i < image.segment_count; ++i) {
    const Segment& s = image.segments[i];
    const std::string which = "segment " + std::to_string(i) + ": ";
    if (s.memsz == 0) return which + "empty";
    if (s.filesz > s.memsz) return which + "filesz > memsz";
    if (s.offset > file.size() || s.filesz > file.size() - s.offset) return which + "past the file";
    if (s.vaddr < kMinUserAddress) return which + "below the user half";
    if (s.vaddr + s.memsz < s.vaddr || s.vaddr + s.memsz > kUserEnd)
      return which + "past the user half";
    if (s.vaddr % 4096 != s.offset % 4096) return which + "misaligned";
    // load_segments maps in list order and treats a start below the last end as the shared
    // page of two neighbours: the list must ascend.
    if (i > 0 && s.vaddr < image.segments[i - 1].vaddr + image.segments[i - 1].memsz) {
      return which + "overlaps or comes before the segment listed before it";
    }
    highest_end = std::max(highest_end, s.vaddr + s.memsz);
    entry_found |= s.executable && image.entry >= s.vaddr && image.entry < s.vaddr + s.memsz;
  }
  if (image.image_end != highest_end) return "image_end";
  if (!entry_found) return "entry outside executable segments";
  return "";
}

void check_elf_contract(const std::vector<std::byte>& bytes) {
  // An exactly sized heap copy, so ASan sees a read one byte past the end.
  const std::vector<std::byte> file(bytes.begin(), bytes.end());
  const auto image = parse_elf(file);
  const auto again = parse_elf(file);
  ASSERT_EQ(image.has_value(), again.has_value()) << "not deterministic";
  if (!image) {
    EXPECT_EQ(image.error(), again.error());
    EXPECT_NE(to_string(image.error()), "unknown ELF error");
    return;
  }
  EXPECT_EQ(std::memcmp(&*image, &*again, sizeof(ElfImage)), 0) << "not deterministic";
  EXPECT_EQ(broken_promise(file, *image), "");
}

// A static-PIE with a PT_PHDR, the text and data segments sharing a page, and room in the file
// for several segments: the richer starting point for the mutations.
std::vector<std::byte> pie_sample() {
  ElfBuilder b;
  b.header.type = kElfTypeDyn;
  b.header.entry = 0x1010;
  b.phdrs[0] = {kPtLoad, kPfRead | kPfExecute, 0, 0, 0, 0x1100, 0x1100, 0x1000};
  b.phdrs[1] = {kPtLoad, kPfRead | kPfWrite, 0x1100, 0x1100, 0x1100, 0x100, 0x1f00, 0x1000};
  b.phdrs.insert(b.phdrs.begin(), {kPtPhdr, kPfRead, 0x40, 0x40, 0x40, 4 * 56, 4 * 56, 8});
  return b.bytes();
}

TEST(ElfFuzz, MutatedExecutablesKeepTheLoadersContract) {
  ElfBuilder exec;
  const std::vector<std::vector<std::byte>> samples = {exec.bytes(), pie_sample()};
  std::size_t accepted = 0;
  const std::uint64_t runs =
      ferrite::testing::fuzz("ElfFuzz", 20261130, 50000, [&](auto& mutator, std::uint64_t) {
        const auto& sample = samples[mutator.below(samples.size())];
        // Most damage goes to the headers, where the parser looks; a copy keeps the file's size.
        std::vector<std::byte> head(sample.begin(), sample.begin() + 0x200);
        std::vector<std::byte> file = mutator.mutate(head);
        if (!mutator.chance(4)) file.insert(file.end(), sample.begin() + 0x200, sample.end());
        check_elf_contract(file);
        accepted += parse_elf(file).has_value();
      });
  // the contract was checked on accepted files, not just errors
  ferrite::testing::report_accepted("ELF files", accepted, runs, 50000, 1000);
}

TEST(ElfFuzz, EverySystematicMutationOfTheHeadersKeepsTheContract) {
  for (const auto& sample : {ElfBuilder{}.bytes(), pie_sample()}) {
    // The headers (64 + 4 * 56 bytes); the body is zeros either way.
    const std::vector<std::byte> head(sample.begin(), sample.begin() + 0x120);
    ferrite::testing::for_each_systematic_mutation(
        "ElfSystematic", head, [&](const std::vector<std::byte>& mutated) {
          std::vector<std::byte> file = mutated;
          if (file.size() == head.size())
            file.insert(file.end(), sample.begin() + 0x120, sample.end());
          check_elf_contract(file);
        });
  }
}

// Reads a 64-bit word of the built stack at user address `address`.
std::uint64_t word_at(const std::vector<std::byte>& buffer, std::uint64_t top, std::uint64_t address) {
  std::uint64_t w;
  std::memcpy(&w, buffer.data() + buffer.size() - (top - address), 8);
  return w;
}
std::string string_at(const std::vector<std::byte>& buffer, std::uint64_t top, std::uint64_t address) {
  const char* p = reinterpret_cast<const char*>(buffer.data() + buffer.size() - (top - address));
  return std::string(p);
}

TEST(InitialStack, LaysOutArgcArgvEnvpAuxvAsTheAbiSays) {
  constexpr std::uint64_t kTop = 0x7FFFFFFFF000;
  std::vector<std::byte> buffer(16384);
  const std::string_view argv[] = {"/bin/hello", "a b", ""};
  const std::string_view envp[] = {"HOME=/", "TERM=linux"};
  AuxValues aux;
  aux.entry = 0x401000;
  aux.phdr = 0x400040;
  aux.phent = 56;
  aux.phnum = 5;
  aux.hwcap = 0x178bfbff;
  aux.execfn = "/bin/hello";
  for (std::uint8_t i = 0; i < 16; ++i) aux.random[i] = static_cast<std::uint8_t>(i * 7);

  for (std::size_t argc = 0; argc <= 3; ++argc) {  // both parities of the word count
    const auto stack = build_initial_stack(buffer, kTop, std::span(argv, argc), envp, aux);
    ASSERT_TRUE(stack.has_value());
    const std::uint64_t sp = stack->stack_pointer;
    EXPECT_EQ(sp % 16, 0u) << "argc " << argc;
    EXPECT_EQ(stack->size, kTop - sp);
    EXPECT_EQ(word_at(buffer, kTop, sp), argc);
    EXPECT_EQ(stack->argv_address, sp + 8);
    for (std::size_t i = 0; i < argc; ++i) {
      EXPECT_EQ(string_at(buffer, kTop, word_at(buffer, kTop, sp + 8 + 8 * i)), argv[i]);
    }
    EXPECT_EQ(word_at(buffer, kTop, sp + 8 + 8 * argc), 0u);
    const std::uint64_t envp_at = sp + 8 + 8 * (argc + 1);
    EXPECT_EQ(stack->envp_address, envp_at);
    EXPECT_EQ(string_at(buffer, kTop, word_at(buffer, kTop, envp_at)), "HOME=/");
    EXPECT_EQ(string_at(buffer, kTop, word_at(buffer, kTop, envp_at + 8)), "TERM=linux");
    EXPECT_EQ(word_at(buffer, kTop, envp_at + 16), 0u);
    std::uint64_t at = envp_at + 24;
    EXPECT_EQ(stack->auxv_address, at);
    std::map<std::uint64_t, std::uint64_t> auxv;
    for (;;) {
      const std::uint64_t type = word_at(buffer, kTop, at);
      const std::uint64_t value = word_at(buffer, kTop, at + 8);
      at += 16;
      if (type == AT_NULL) break;
      EXPECT_FALSE(auxv.contains(type)) << "duplicate auxv type " << type;
      auxv[type] = value;
    }
    EXPECT_EQ(auxv[AT_PHDR], 0x400040u);
    EXPECT_EQ(auxv[AT_PHENT], 56u);
    EXPECT_EQ(auxv[AT_PHNUM], 5u);
    EXPECT_EQ(auxv[AT_PAGESZ], 4096u);
    EXPECT_EQ(auxv[AT_ENTRY], 0x401000u);
    EXPECT_EQ(auxv[AT_HWCAP], 0x178bfbffu);
    EXPECT_EQ(auxv[AT_CLKTCK], 100u);
    EXPECT_EQ(auxv[AT_SECURE], 0u);
    for (auto t : {AT_UID, AT_EUID, AT_GID, AT_EGID, AT_HWCAP2}) EXPECT_TRUE(auxv.contains(t));
    EXPECT_EQ(string_at(buffer, kTop, auxv[AT_PLATFORM]), "x86_64");
    EXPECT_EQ(string_at(buffer, kTop, auxv[AT_EXECFN]), "/bin/hello");
    for (std::uint8_t i = 0; i < 16; ++i) {
      EXPECT_EQ(static_cast<std::uint8_t>(buffer[buffer.size() - (kTop - auxv[AT_RANDOM]) + i]), i * 7);
    }
    // Everything lies inside the part of the buffer the builder says it used.
    EXPECT_GE(auxv[AT_RANDOM], sp);
    EXPECT_LT(auxv[AT_EXECFN], kTop);
  }
}

TEST(InitialStack, TooMuchIsE2bigNotAnOverflow) {
  std::vector<std::byte> small(256);
  const std::string long_arg(300, 'x');
  const std::string_view argv[] = {long_arg};
  AuxValues aux;
  EXPECT_EQ(build_initial_stack(small, 0x7FFFFFFFF000, argv, {}, aux).error(), Errno::e2big);
  std::vector<std::byte> big(1 << 20);
  const std::string huge(kMaxArgStringLength, 'y');
  const std::string_view argv2[] = {huge};
  EXPECT_EQ(build_initial_stack(big, 0x7FFFFFFFF000, argv2, {}, aux).error(), Errno::e2big);
  EXPECT_EQ(build_initial_stack(big, 0x7FFFFFFFF008, {}, {}, aux).error(), Errno::einval);
}

// --- Seeded random argument lists: whatever build_initial_stack accepts reads back as the ABI
// says, from inside the part of the buffer it reports as used. ---

// Reads the built stack back like a C library's start-up code, each read checked to lie in
// [stack_pointer, top). Returns "" or what is wrong.
std::string read_back(const std::vector<std::byte>& buffer, std::uint64_t top,
                      const InitialStack& stack, std::span<const std::string> argv,
                      std::span<const std::string> envp, const AuxValues& aux) {
  const std::uint64_t low = stack.stack_pointer;
  if (stack.size > buffer.size() || low != top - stack.size)
    return "size and stack pointer disagree";
  if (low % 16 != 0) return "stack pointer not 16-byte aligned";
  const auto in_stack = [&](std::uint64_t address, std::uint64_t length) {
    return address >= low && address <= top && length <= top - address;
  };
  const auto word = [&](std::uint64_t address, std::uint64_t& out) {
    if (!in_stack(address, 8)) return false;
    out = word_at(buffer, top, address);
    return true;
  };
  const auto string = [&](std::uint64_t address, std::string& out) {
    out.clear();
    for (;; ++address) {
      if (!in_stack(address, 1)) return false;
      const char c = static_cast<char>(buffer[buffer.size() - (top - address)]);
      if (c == '\0') return true;
      out += c;
    }
  };
  std::uint64_t at = low, value = 0;
  if (!word(at, value) || value != argv.size()) return "argc";
  at += 8;
  if (stack.argv_address != at) return "argv_address";
  for (const auto* list : {&argv, &envp}) {
    for (const std::string& expected : *list) {
      std::string text;
      if (!word(at, value) || !string(value, text)) return "a pointer leaves the stack";
      if (text != expected) return "a string reads back wrong";
      at += 8;
    }
    if (!word(at, value) || value != 0) return "a list is not NULL-terminated";
    at += 8;
    if (list == &argv && stack.envp_address != at) return "envp_address";
  }
  if (stack.auxv_address != at) return "auxv_address";
  std::map<std::uint64_t, std::uint64_t> auxv;
  for (;;) {
    std::uint64_t type = 0;
    if (!word(at, type) || !word(at + 8, value)) return "auxv runs off the stack";
    at += 16;
    if (type == AT_NULL) break;
    auxv[type] = value;
  }
  std::string text;
  if (!string(auxv[AT_EXECFN], text) || text != aux.execfn) return "AT_EXECFN";
  if (!string(auxv[AT_PLATFORM], text) || text != aux.platform) return "AT_PLATFORM";
  if (!in_stack(auxv[AT_RANDOM], 16)) return "AT_RANDOM leaves the stack";
  if (auxv[AT_PHDR] != aux.phdr || auxv[AT_ENTRY] != aux.entry || auxv[AT_PHNUM] != aux.phnum) {
    return "auxv values";
  }
  return "";
}

TEST(InitialStackFuzz, RandomArgumentListsReadBackAsTheAbiSays) {
  std::size_t built = 0;
  const std::uint64_t runs = ferrite::testing::fuzz(
      "InitialStackFuzz", 20261130, 3000, [&](ferrite::testing::Mutator& random, std::uint64_t) {
        const auto random_strings = [&](std::size_t most) {
          std::vector<std::string> out(random.below(most + 1));
          for (std::string& s : out) {
            const std::uint64_t kind = random.below(50);
            const std::size_t length = kind == 0   ? kMaxArgStringLength - random.below(2)
                                       : kind == 1 ? 0
                                                   : random.below(40);
            s.assign(length, static_cast<char>('a' + random.below(26)));
          }
          return out;
        };
        const std::vector<std::string> argv = random_strings(random.chance(50) ? 1100 : 12);
        const std::vector<std::string> envp = random_strings(random.chance(50) ? 1100 : 12);
        const std::vector<std::string_view> argv_views(argv.begin(), argv.end());
        const std::vector<std::string_view> envp_views(envp.begin(), envp.end());
        const std::string execfn =
            argv.empty() ? std::string("/bin/x") : argv.front().substr(0, 64);
        AuxValues aux;
        aux.entry = random.below(1ull << 47);
        aux.phdr = random.below(1ull << 47);
        aux.phnum = random.below(20);
        aux.execfn = execfn;
        const std::uint64_t top =
            0x7FFFFFFFF000 - 16 * random.below(1000) + (random.chance(20) ? 8 : 0);
        std::vector<std::byte> buffer(random.chance(4) ? random.below(2048)
                                                       : 16384 + random.below(8) * 8);
        const auto stack = build_initial_stack(buffer, top, argv_views, envp_views, aux);
        if (!stack) {
          EXPECT_TRUE(stack.error() == Errno::e2big || stack.error() == Errno::einval);
          if (top % 16 != 0) {
            EXPECT_EQ(stack.error(), Errno::einval);
          }
          return;
        }
        ++built;
        EXPECT_EQ(top % 16, 0u);
        EXPECT_LE(argv.size(), kMaxArgStrings);
        EXPECT_EQ(read_back(buffer, top, *stack, argv, envp, aux), "");
      });
  ferrite::testing::report_accepted("initial stacks", built, runs, 3000, 1000);
}

// Linux's execve limits with the default 8 MiB stack (exec/initial_stack.h): 2 MiB of strings
// and pointers, argc counted as at least 1, 128 KiB a string — and no limit of 1,024 strings.
TEST(InitialStack, LinuxsArgumentLimits) {
  constexpr std::uint64_t kTop = 0x7FFFFFFFF000;
  AuxValues aux;
  std::vector<std::byte> buffer(kMaxArgBytes + 64 * 1024);
  // `/bin/echo $(seq 1 3000)`: 3,001 strings.
  std::vector<std::string> numbers{"/bin/echo"};
  for (int i = 1; i <= 3000; ++i) numbers.push_back(std::to_string(i));
  const std::vector<std::string_view> many(numbers.begin(), numbers.end());
  const auto stack = build_initial_stack(buffer, kTop, many, {}, aux);
  ASSERT_TRUE(stack.has_value()) << static_cast<int>(stack.error());
  EXPECT_EQ(read_back(buffer, kTop, *stack, numbers, {}, aux), "");
  // Exactly 2 MiB: 16 strings of 131,063 characters, each with its NUL and pointer 128 KiB.
  const std::string long_one(kMaxArgStringLength - 9, 'a');
  std::vector<std::string_view> full(16, long_one);
  EXPECT_TRUE(build_initial_stack(buffer, kTop, full, {}, aux).has_value());
  const std::string_view one_more[] = {"x"};
  EXPECT_EQ(build_initial_stack(buffer, kTop, full, one_more, aux).error(), Errno::e2big);
  // With no arguments, argc still counts as one pointer (Linux's bprm_stack_limits).
  std::vector<std::string_view> env(full.begin(), full.end());
  const std::string shorter(kMaxArgStringLength - 17, 'b');
  env.back() = shorter;  // 8 bytes less: room for exactly one more pointer
  EXPECT_EQ(build_initial_stack(buffer, kTop, {}, env, aux).has_value(), true);
  const std::string_view arg[] = {"a"};
  EXPECT_EQ(build_initial_stack(buffer, kTop, arg, env, aux).error(), Errno::e2big);
  // A string of 128 KiB with its NUL is allowed, one character more is not.
  const std::string longest(kMaxArgStringLength - 1, 'c'), too_long(kMaxArgStringLength, 'c');
  const std::string_view ok_list[] = {longest}, bad_list[] = {too_long};
  EXPECT_TRUE(build_initial_stack(buffer, kTop, ok_list, {}, aux).has_value());
  EXPECT_EQ(build_initial_stack(buffer, kTop, bad_list, {}, aux).error(), Errno::e2big);
}

// The stack reaches its sink in small pieces from the top down — the kernel writes each into the
// new address space, never holding the whole — and an argv in several pieces (how the kernel
// copies a long one) builds the same bytes as one array.
TEST(InitialStack, ASinkGetsSmallPiecesFromTheTopDown) {
  struct Recorder final : StackSink {
    std::uint64_t top = 0;
    std::vector<std::byte> bytes;  // [top - bytes.size(), top)
    std::size_t largest = 0, room = ~std::size_t{0}, fail_after = ~std::size_t{0}, writes = 0;
    bool room_for(std::size_t n) override { return n <= room; }
    bool write(std::uint64_t address, std::span<const std::byte> piece) override {
      if (writes++ == fail_after) return false;
      EXPECT_EQ(address + piece.size(), top - bytes.size()) << "not just below the last piece";
      bytes.insert(bytes.begin(), piece.begin(), piece.end());
      largest = std::max(largest, piece.size());
      return true;
    }
  };
  constexpr std::uint64_t kTop = 0x7FFFFFFFF000;
  AuxValues aux;
  aux.execfn = "/bin/x";
  std::vector<std::string> words;
  for (int i = 0; i < 2000; ++i) words.push_back("word" + std::to_string(i * 7919));
  const std::vector<std::string_view> views(words.begin(), words.end());
  const std::span<const std::string_view> pieces[] = {std::span(views).first(5), {},
                                                      std::span(views).subspan(5, 1000),
                                                      std::span(views).subspan(1005)};
  const StringList argv(pieces);
  ASSERT_EQ(argv.size(), views.size());
  EXPECT_EQ(argv[1500], "word" + std::to_string(1500 * 7919));
  Recorder sink;
  sink.top = kTop;
  const auto stack = build_initial_stack(sink, kTop, argv, StringList(), aux);
  ASSERT_TRUE(stack.has_value());
  EXPECT_EQ(sink.bytes.size(), stack->size);
  EXPECT_LE(sink.largest, 512u);
  std::vector<std::byte> buffer(64 * 1024);
  const auto whole = build_initial_stack(buffer, kTop, views, {}, aux);
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->stack_pointer, stack->stack_pointer);
  EXPECT_TRUE(std::equal(sink.bytes.begin(), sink.bytes.end(), buffer.end() - whole->size));
  // No room: E2BIG before anything is written; a write that fails: ENOMEM.
  Recorder small;
  small.top = kTop;
  small.room = 4096;
  EXPECT_EQ(build_initial_stack(small, kTop, argv, StringList(), aux).error(), Errno::e2big);
  EXPECT_EQ(small.writes, 0u);
  Recorder failing;
  failing.top = kTop;
  failing.fail_after = 3;
  EXPECT_EQ(build_initial_stack(failing, kTop, argv, StringList(), aux).error(), Errno::enomem);
  EXPECT_EQ(failing.writes, 4u);  // nothing more once one failed
}

}  // namespace
