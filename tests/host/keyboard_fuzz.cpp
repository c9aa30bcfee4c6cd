// libFuzzer target for the keyboard decoder (optional; clang only, not part of the CMake build).
// Same properties as the randomized test in keyboard_test.cpp, but coverage-guided. Build and run:
//   clang++ -std=c++2b -O1 -g -fsanitize=fuzzer,address,undefined -DFERRITE_HOST=1 -Ikernel \
//     tests/host/keyboard_fuzz.cpp kernel/drivers/keyboard/*.cpp \
//     kernel/drivers/keyboard/layouts/*.cpp -o /tmp/keyboard_fuzz
//   /tmp/keyboard_fuzz -max_total_time=60
// The first input byte picks the layout; the rest is fed to the keyboard as scancodes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "drivers/keyboard/keyboard.h"

namespace {

using namespace ferrite::drivers::keyboard;

bool character_is_consistent(const Layout& layout, const KeyEvent& event) {
  if (event.character == 0) return true;
  if (!event.pressed) return false;
  const KeyCharacters& characters = layout[event.key];
  for (char32_t level :
       {characters.plain, characters.shifted, characters.altgr, characters.shifted_altgr}) {
    if (level == 0) continue;
    if (event.character == level) return true;
    if (event.modifiers.ctrl() && event.character == control_character(level)) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto layouts = all_layouts();
  const Layout& layout = *layouts[data[0] % layouts.size()];
  Keyboard keyboard(layout);
  std::uint64_t events = 0;
  for (std::size_t i = 1; i < size; ++i) {
    const auto event = keyboard.feed(data[i]);
    if (!event) continue;
    ++events;
    if (!is_defined(event->key) || !character_is_consistent(layout, *event) ||
        !(event->modifiers == keyboard.modifiers())) {
      std::abort();
    }
  }
  if (keyboard.stats().bytes != size - 1 || keyboard.stats().events != events) std::abort();
  return 0;
}
