// The initramfs the build makes (build/initramfs.cpio) read back with the kernel's own reader:
// every entry parses, the devices carry Linux's numbers, and every program in /bin — Debian's
// busybox and our musl programs — passes the ELF checks the kernel will make before running it.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "exec/elf.h"
#include "fs/tree.h"

namespace {

using namespace ferrite;

std::vector<std::byte> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  for (std::size_t i = 0; i < chars.size(); ++i) bytes[i] = static_cast<std::byte>(chars[i]);
  return bytes;
}

TEST(InitramfsImage, EveryProgramIsAStaticX86_64Executable) {
  const auto archive = read_file(FERRITE_INITRAMFS_PATH);
  ASSERT_FALSE(archive.empty()) << FERRITE_INITRAMFS_PATH;
  auto tree = fs::Tree::from_archive(archive);
  ASSERT_TRUE(tree.has_value()) << fs::cpio::to_string(tree.error().error);
  fs::Node* root = tree->root();

  for (const char* program : {"/bin/busybox", "/bin/hello", "/bin/cat", "/bin/fault", "/bin/auxv"}) {
    auto node = tree->lookup(program, root);
    ASSERT_TRUE(node.has_value()) << program;
    const auto image = exec::parse_elf((*node)->data);
    ASSERT_TRUE(image.has_value()) << program << ": " << exec::to_string(image.error());
    EXPECT_GE(image->segment_count, 2u) << program;
    EXPECT_NE(image->phdr_address, 0u) << program;
    EXPECT_FALSE(image->executable_stack) << program;
  }
  // Applet links resolve to busybox itself.
  EXPECT_EQ(*tree->lookup("/bin/sh", root), *tree->lookup("/bin/busybox", root));
  EXPECT_EQ(*tree->lookup("/bin/ls", root), *tree->lookup("/bin/busybox", root));
  EXPECT_EQ((*tree->lookup("/dev/console", root))->device, fs::Device::console);
  EXPECT_EQ((*tree->lookup("/dev/null", root))->device, fs::Device::null);
}

}  // namespace
