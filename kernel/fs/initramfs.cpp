// The initramfs at run time: see initramfs.h.
#include "fs/initramfs.h"

#include <optional>

#include "lib/log.h"
#include "mm/layout.h"

namespace ferrite::fs {

namespace {

// Built once at boot, before any program runs; afterwards only /tmp (tmpfs) changes.
constinit std::optional<Tree> tree;

}  // namespace

void mount_initramfs(const boot::BootInfo& boot_info) {
  const auto modules = boot_info.modules();
  if (modules.empty()) {
    log::info("initramfs: none (boot with -initrd build/initramfs.cpio)");
    return;
  }
  const boot::Module& module = modules.front();
  const std::span<const std::byte> archive(
      mm::physical_to_virtual<const std::byte>(module.start), module.end - module.start);
  BuildReport report;
  auto built = Tree::from_archive(archive, &report);
  if (!built) {
    log::warn("initramfs: damaged at byte {} of {}: {}; no files", built.error().offset,
            archive.size(), cpio::to_string(built.error().error));
    return;
  }
  tree.emplace(std::move(*built));
  log::info("initramfs: {} entries, {} KiB{}", report.entries, (archive.size() + 1023) / 1024,
          report.skipped != 0 ? " (some entries of unsupported types skipped)" : "");
}

Tree* initramfs() { return tree.has_value() ? &*tree : nullptr; }

}  // namespace ferrite::fs
