// The checked-in system-call name table (kernel/abi/syscall_names.h) against the Linux header on
// this machine, so the table cannot drift from the ABI it names.
#include <gtest/gtest.h>

#include <asm/unistd_64.h>

#include "abi/syscall_names.h"

namespace {

using ferrite::abi::syscall_name;

TEST(SyscallNames, MatchLinuxHeader) {
  EXPECT_EQ(syscall_name(__NR_read), "read");
  EXPECT_EQ(syscall_name(__NR_write), "write");
  EXPECT_EQ(syscall_name(__NR_getpid), "getpid");
  EXPECT_EQ(syscall_name(__NR_arch_prctl), "arch_prctl");
  EXPECT_EQ(syscall_name(__NR_exit_group), "exit_group");
  EXPECT_EQ(syscall_name(__NR_clone3), "clone3");
  EXPECT_EQ(syscall_name(__NR_tuxcall), "tuxcall");
  EXPECT_EQ(ferrite::abi::kSyscallCount, static_cast<std::size_t>(__NR_set_mempolicy_home_node + 1));
  EXPECT_EQ(syscall_name(ferrite::abi::kSyscallCount), "");
  EXPECT_EQ(syscall_name(~std::size_t{0}), "");
}

}  // namespace
