// The initramfs at run time (chapter 14): the first boot module — GRUB's `module2` line or
// QEMU's `-initrd FILE` — read as a cpio newc archive into the file tree programs see.
#pragma once

#include "boot/boot_info.h"
#include "fs/tree.h"

namespace ferrite::fs {

// Reads the first boot module, if any, and prints one line saying what was found: the number of
// files, or why there are none (no module, or a damaged archive with the offset and reason).
// A damaged archive is reported, never fatal: the kernel's own shell still starts.
void mount_initramfs(const boot::BootInfo& boot_info);

// The tree read at boot, or nullptr when there is none.
Tree* initramfs();  // writable: /tmp (tmpfs) changes

}  // namespace ferrite::fs
