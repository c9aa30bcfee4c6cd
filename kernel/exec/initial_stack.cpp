// The initial process stack: see initial_stack.h.
#include "exec/initial_stack.h"

#include <cstring>

namespace ferrite::exec {

namespace {

// Fills the stack downwards from its top, tracking the user address of each byte written. The
// bytes gather in a small window, handed to the sink whenever it fills (and at the end), so the
// whole stack is never held in one place.
class DownwardWriter {
 public:
  DownwardWriter(StackSink& sink, std::uint64_t top) : sink_(sink), top_(top) {}

  std::uint64_t address() const { return top_ - used_; }

  // Pushes `bytes` and returns the user address where they start.
  std::uint64_t push(const void* bytes, std::size_t n) {
    const auto* from = static_cast<const std::byte*>(bytes);
    used_ += n;
    while (n > 0) {  // the end of `bytes` first: it lies higher
      const std::size_t take = n < kWindow - pending_ ? n : kWindow - pending_;
      n -= take;
      std::memcpy(window_ + kWindow - pending_ - take, from + n, take);
      pending_ += take;
      if (pending_ == kWindow) flush();
    }
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

  // Hands the window's bytes to the sink: they lie just below what was handed over before.
  void flush() {
    if (pending_ == 0) return;
    if (ok_) ok_ = sink_.write(top_ - flushed_ - pending_, {window_ + kWindow - pending_, pending_});
    flushed_ += pending_;
    pending_ = 0;
  }
  bool ok() const { return ok_; }

 private:
  static constexpr std::size_t kWindow = 512;  // on the kernel stack: keep it small
  StackSink& sink_;
  std::uint64_t top_;
  std::size_t used_ = 0;     // bytes pushed
  std::size_t flushed_ = 0;  // of them, handed to the sink
  std::size_t pending_ = 0;  // of them, in the window (its last bytes)
  bool ok_ = true;
  std::byte window_[kWindow];
};

// A buffer whose last byte sits just below `top` as the sink.
class BufferSink final : public StackSink {
 public:
  BufferSink(std::span<std::byte> buffer, std::uint64_t top) : buffer_(buffer), top_(top) {}
  bool room_for(std::size_t bytes) override { return bytes <= buffer_.size(); }
  bool write(std::uint64_t address, std::span<const std::byte> bytes) override {
    std::memcpy(buffer_.data() + buffer_.size() - (top_ - address), bytes.data(), bytes.size());
    return true;
  }

 private:
  std::span<std::byte> buffer_;
  std::uint64_t top_;
};

// The strings' bytes (NULs included) of `list`, added to `bytes`; false past a limit.
bool add_string_bytes(const StringList& list, std::size_t& bytes) {
  if (list.size() > kMaxArgStrings) return false;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::size_t length = list[i].size();
    if (length >= kMaxArgStringLength) return false;  // with its NUL, over MAX_ARG_STRLEN
    bytes += length + 1;
    if (bytes > kMaxArgBytes) return false;  // (checked as it grows: no overflow)
  }
  return true;
}

}  // namespace

std::expected<InitialStack, abi::Errno> build_initial_stack(
    std::span<std::byte> buffer, std::uint64_t stack_top, std::span<const std::string_view> argv,
    std::span<const std::string_view> envp, const AuxValues& aux) {
  BufferSink sink(buffer, stack_top);
  const std::span<const std::string_view> argv_pieces[] = {argv}, envp_pieces[] = {envp};
  return build_initial_stack(sink, stack_top, StringList(argv_pieces), StringList(envp_pieces),
                             aux);
}

std::expected<InitialStack, abi::Errno> build_initial_stack(StackSink& sink,
                                                            std::uint64_t stack_top,
                                                            const StringList& argv,
                                                            const StringList& envp,
                                                            const AuxValues& aux) {
  if (stack_top % 16 != 0) return std::unexpected(abi::Errno::einval);

  // Linux's limit first (fs/exec.c, bprm_stack_limits and copy_strings): the argument and
  // environment strings and their pointers, argc counted as at least 1.
  const std::size_t pointer_bytes = 8 * ((argv.empty() ? 1 : argv.size()) + envp.size());
  std::size_t argument_bytes = pointer_bytes;
  if (!add_string_bytes(argv, argument_bytes) || !add_string_bytes(envp, argument_bytes) ||
      argument_bytes > kMaxArgBytes) {
    return std::unexpected(abi::Errno::e2big);
  }
  // Everything the stack will hold, counted before anything is written.
  const std::size_t string_bytes = argument_bytes - pointer_bytes + aux.platform.size() + 1 +
                                   aux.execfn.size() + 1 + aux.random.size();
  constexpr std::size_t kAuxPairs = 19;  // the entries written below, AT_NULL included
  const std::size_t words = 1 + (argv.size() + 1) + (envp.size() + 1) + 2 * kAuxPairs;
  if (!sink.room_for(string_bytes + 16 + 8 * words + 16)) return std::unexpected(abi::Errno::e2big);

  DownwardWriter out(sink, stack_top);
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
  out.flush();
  if (!out.ok()) return std::unexpected(abi::Errno::enomem);

  InitialStack result;
  result.stack_pointer = out.address();
  result.size = out.used();
  result.argv_address = argv_address;
  result.envp_address = envp_address;
  result.auxv_address = auxv_address;
  return result;
}

}  // namespace ferrite::exec
