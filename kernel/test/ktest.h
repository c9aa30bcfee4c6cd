// The in-kernel test framework (chapter 4). A test is a function registered with KTEST; the
// registration is a pointer to a constant TestCase placed in the `.ktest.*` linker sections, which the linker
// script gathers between __ktest_start and __ktest_end — no list to maintain by hand.
//
//   KTEST(trivial_assertion) { KEXPECT_EQ(1, 1); }
//
// The runner (ktest::run_all) prints `name... [ok]` or `[failed]` with the failed check's file
// and line, ends with the line `N passed, M failed` and exits QEMU with success or failure.
#pragma once

#include <source_location>
#include <string_view>
#include <type_traits>

#include "lib/format.h"

namespace ferrite::ktest {

struct TestCase {
  const char* name;
  void (*function)();
};

// Records a failed check of the running test (the first one's text is shown by the runner).
void record_failure(std::string_view text, std::source_location where);

inline bool check(bool ok, const char* expression, std::source_location where) {
  if (!ok) record_failure(expression, where);
  return ok;
}

template <class A, class B>
bool check_equal(const A& a, const B& b, const char* a_text, const char* b_text,
                 std::source_location where) {
  if (a == b) return true;
  char text[256];
  if constexpr (std::is_integral_v<A> && std::is_integral_v<B>) {
    fmt::format_to_buffer(text, "{} == {} (left: {}, right: {})", a_text, b_text,
                          std::remove_cv_t<A>(a), std::remove_cv_t<B>(b));
  } else {
    fmt::format_to_buffer(text, "{} == {}", a_text, b_text);
  }
  record_failure(text, where);
  return false;
}

// In a test image a panic is a failed run: print the verdict line and exit QEMU with failure
// at once, instead of halting until the runner's timeout. run_all() installs this itself;
// scenario images call it first thing. (A should-panic image installs its own hook instead.)
void exit_qemu_on_panic();

// Runs every registered test whose name contains `filter` (all if empty); exits QEMU.
[[noreturn]] void run_all_and_exit(std::string_view filter = {});

// Run counts, for images that run tests and then do more.
struct Summary {
  int passed = 0;
  int failed = 0;
};
Summary run_all(std::string_view filter = {});
[[noreturn]] void exit_with(const Summary& summary);

}  // namespace ferrite::ktest

// The section holds pointers, not the TestCase objects: the compiler may align (and so pad)
// objects as it likes, but an array of pointers packed by the linker has no gaps.
#define KTEST(test_name)                                                                     \
  static void ktest_body_##test_name();                                                      \
  static constexpr ::ferrite::ktest::TestCase ktest_case_##test_name{#test_name,             \
                                                                     &ktest_body_##test_name}; \
  [[gnu::used, gnu::section(".ktest." #test_name)]] static const ::ferrite::ktest::TestCase* \
      const ktest_entry_##test_name = &ktest_case_##test_name;                                \
  static void ktest_body_##test_name()

// Checks record the failure and let the test go on; the _OR_RETURN forms end the test.
#define KEXPECT(condition) ::ferrite::ktest::check((condition), #condition, std::source_location::current())
#define KEXPECT_EQ(a, b) \
  ::ferrite::ktest::check_equal((a), (b), #a, #b, std::source_location::current())
#define KASSERT(condition) \
  do {                     \
    if (!KEXPECT(condition)) return; \
  } while (0)
#define KASSERT_EQ(a, b)             \
  do {                               \
    if (!KEXPECT_EQ(a, b)) return;   \
  } while (0)
