// The in-kernel test runner: walks the TestCase records the linker gathered and reports each.
#include "test/ktest.h"

#include "platform/pc/qemu_exit.h"
#include "console/console.h"
#include "console/print.h"
#include "lib/panic_hook.h"

extern "C" const ferrite::ktest::TestCase* const __ktest_start[];
extern "C" const ferrite::ktest::TestCase* const __ktest_end[];

namespace ferrite::ktest {

namespace {
constinit int failures_in_current_test = 0;
constinit char first_failure[320] = {};
}  // namespace

void record_failure(std::string_view text, std::source_location where) {
  if (failures_in_current_test++ == 0) {
    fmt::format_to_buffer(first_failure, "check failed: {}\n    at {}:{}", text, where.file_name(),
                          where.line());
  }
}

void exit_qemu_on_panic() {
  set_panic_hook([](std::source_location, std::string_view) {
    console::write_serial("[failed] (kernel panic)\n0 passed, 1 failed\n");
    pc::exit_qemu(pc::QemuExitCode::failure);
  });
}

Summary run_all(std::string_view filter) {
  exit_qemu_on_panic();
  Summary summary;
  int selected = 0;
  for (auto entry = __ktest_start; entry != __ktest_end; ++entry) {
    if (std::string_view((*entry)->name).find(filter) != std::string_view::npos) ++selected;
  }
  println("running {} tests", selected);
  for (auto entry = __ktest_start; entry != __ktest_end; ++entry) {
    const TestCase* test = *entry;
    const std::string_view name = test->name;
    if (name.find(filter) == std::string_view::npos) continue;
    print("{}... ", name);
    failures_in_current_test = 0;
    test->function();
    if (failures_in_current_test == 0) {
      println_colored(console::ColorCode(console::Color::light_green, console::Color::black), "[ok]");
      ++summary.passed;
    } else {
      println_colored(console::ColorCode(console::Color::light_red, console::Color::black), "[failed]");
      println("    {}", static_cast<const char*>(first_failure));
      ++summary.failed;
    }
  }
  return summary;
}

void exit_with(const Summary& summary) {
  println("{} passed, {} failed", summary.passed, summary.failed);
  pc::exit_qemu(summary.failed == 0 && summary.passed > 0 ? pc::QemuExitCode::success
                                                            : pc::QemuExitCode::failure);
}

void run_all_and_exit(std::string_view filter) { exit_with(run_all(filter)); }

}  // namespace ferrite::ktest
