// The initial process stack: see initial_stack.h.
#include "exec/initial_stack.h"

#include <cstring>

namespace ferrite::exec {

namespace {

// Fills the buffer downwards from its end, tracking the user address of each byte written.
class DownwardWriter {
 public:
  DownwardWriter(std::span<std::byte> buffer, std::uint64_t top)
      : buffer_(buffer), top_(top), used_(0) {}

  std::uint64_t address() const { return top_ - used_; }
  bool fits(std::size_t n) const { return n <= buffer_.size() - used_; }

  // Pushes `bytes` and returns the user address where they start.
  std::uint64_t push(const void* bytes, std::size_t n) {
    used_ += n;
    std::memcpy(buffer_.data() + buffer_.size() - used_, bytes, n);
    return address();
  }
  std::uint64_t push_string(std::string_view s) {
    const char nul = 0;
    push(&nul, 1);
    return s.empty() ? address() : push(s.data(), s.size());
  }
  void align_down(std::size_t alignment) {
    while (address() % alignment != 0) {
      const std::byte zero{0};
      push(&zero, 1);
    }
  }
  std::size_t used() const { return used_; }

 private:
  std::span<std::byte> buffer_;
  std::uint64_t top_;
  std::size_t used_;
};

}  // namespace

std::expected<InitialStack, abi::Errno> build_initial_stack(
    std::span<std::byte> buffer, std::uint64_t stack_top, std::span<const std::string_view> argv,
    std::span<const std::string_view> envp, const AuxValues& aux) {
  if (stack_top % 16 != 0) return std::unexpected(abi::Errno::einval);
  if (argv.size() > kMaxArgStrings || envp.size() > kMaxArgStrings) {
    return std::unexpected(abi::Errno::e2big);
  }

  // Everything the stack will hold, counted before anything is written.
  std::size_t string_bytes = aux.platform.size() + 1 + aux.execfn.size() + 1 + aux.random.size();
  for (std::string_view s : argv) {
    if (s.size() >= kMaxArgStringLength) return std::unexpected(abi::Errno::e2big);
    string_bytes += s.size() + 1;
  }
  for (std::string_view s : envp) {
    if (s.size() >= kMaxArgStringLength) return std::unexpected(abi::Errno::e2big);
    string_bytes += s.size() + 1;
  }
  constexpr std::size_t kAuxPairs = 19;  // the entries written below, AT_NULL included
  const std::size_t words = 1 + (argv.size() + 1) + (envp.size() + 1) + 2 * kAuxPairs;
  if (string_bytes + 16 + 8 * words + 16 > buffer.size()) return std::unexpected(abi::Errno::e2big);

  DownwardWriter out(buffer, stack_top);
  const std::uint64_t execfn_address = out.push_string(aux.execfn);
  const std::uint64_t platform_address = out.push_string(aux.platform);
  const std::uint64_t random_address = out.push(aux.random.data(), aux.random.size());

  // The strings, last first; each list's addresses are recomputed from its end below, so no
  // table of string addresses is needed.
  const std::uint64_t envp_strings_end = out.address();
  for (std::size_t i = envp.size(); i-- > 0;) out.push_string(envp[i]);
  const std::uint64_t argv_strings_end = out.address();
  for (std::size_t i = argv.size(); i-- > 0;) out.push_string(argv[i]);

  // Below the strings, 16-byte aligned: the word area. Its size decides the alignment: rsp
  // must be 16-byte aligned, so pad the top of the word area if the word count is odd.
  out.align_down(16);
  if (words % 2 != 0) {
    const std::uint64_t zero = 0;
    out.push(&zero, 8);
  }

  const auto push_word = [&out](std::uint64_t w) { return out.push(&w, 8); };
  const auto push_aux = [&](std::uint64_t type, std::uint64_t value) {
    push_word(value);
    return push_word(type);
  };
  // The auxiliary vector is written backwards, AT_NULL last in memory.
  push_aux(AT_NULL, 0);
  push_aux(AT_EXECFN, execfn_address);
  push_aux(AT_PLATFORM, platform_address);
  push_aux(AT_RANDOM, random_address);
  push_aux(AT_SECURE, 0);
  push_aux(AT_EGID, 0);
  push_aux(AT_GID, 0);
  push_aux(AT_EUID, 0);
  push_aux(AT_UID, 0);
  push_aux(AT_CLKTCK, aux.clock_ticks);
  push_aux(AT_HWCAP2, aux.hwcap2);
  push_aux(AT_HWCAP, aux.hwcap);
  push_aux(AT_FLAGS, 0);
  push_aux(AT_BASE, 0);  // no interpreter
  push_aux(AT_ENTRY, aux.entry);
  push_aux(AT_PAGESZ, aux.page_size);
  push_aux(AT_PHNUM, aux.phnum);
  push_aux(AT_PHENT, aux.phent);
  const std::uint64_t auxv_address = push_aux(AT_PHDR, aux.phdr);

  // envp pointers, then argv pointers, each list NULL-terminated; the strings of each list lie
  // one after another in order, so walking forwards from the list's first string finds each.
  push_word(0);
  {
    std::uint64_t address = envp_strings_end;
    for (std::size_t i = envp.size(); i-- > 0;) {
      address -= envp[i].size() + 1;
      push_word(address);
    }
  }
  const std::uint64_t envp_address = out.address();
  push_word(0);
  {
    std::uint64_t address = argv_strings_end;
    for (std::size_t i = argv.size(); i-- > 0;) {
      address -= argv[i].size() + 1;
      push_word(address);
    }
  }
  const std::uint64_t argv_address = out.address();
  push_word(argv.size());

  InitialStack result;
  result.stack_pointer = out.address();
  result.size = out.used();
  result.argv_address = argv_address;
  result.envp_address = envp_address;
  result.auxv_address = auxv_address;
  return result;
}

}  // namespace ferrite::exec
