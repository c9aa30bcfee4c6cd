// Looking layouts up by the name given on the kernel command line.
#include "drivers/keyboard/layout.h"

namespace ferrite::drivers::keyboard {
namespace {

constinit const Layout* const kLayouts[] = {&kUsLayout, &kUkLayout, &kGermanLayout};

}  // namespace

const Layout* layout_by_name(std::string_view name) {
  // ISO 3166 says "gb"; most people (and Linux's old console keymaps) say "uk".
  if (name == "gb") name = "uk";
  for (const Layout* layout : kLayouts) {
    if (layout->name == name) return layout;
  }
  return nullptr;
}

std::span<const Layout* const> all_layouts() {
  return kLayouts;
}

}  // namespace ferrite::drivers::keyboard
