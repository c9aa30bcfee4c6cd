#!/usr/bin/env python3
"""Writes kernel/abi/syscall_names.h: the Linux x86_64 system-call numbers and names (chapter 14).

The source is Debian's linux-libc-dev header <asm/unistd_64.h>, the same table the C libraries
are built against. The output is checked in (the kernel build needs no Linux headers), and
host.test_syscall_names compares it with the header on the build machine, so it cannot drift.

    python3 tools/gen_syscall_names.py > kernel/abi/syscall_names.h
    python3 tools/gen_syscall_names.py --check kernel/abi/syscall_names.h   (CTest: exit 1 if stale)
"""
import contextlib
import io
import re
import sys

HEADER = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"


def read(path=HEADER):
    table = {}
    with open(path) as f:
        for line in f:
            match = re.match(r"#define __NR_(\w+)\s+(\d+)", line)
            if match:
                table[int(match.group(2))] = match.group(1)
    return table


def generate(table):
    top = max(table) + 1
    print("// The Linux x86_64 system-call names by number (chapter 14), generated from Debian's")
    print("// linux-libc-dev <asm/unistd_64.h> by tools/gen_syscall_names.py; do not edit.")
    print("// host.test_syscall_names checks it against the header. A number with no name is \"\".")
    print("#pragma once\n\n#include <array>\n#include <cstddef>\n#include <string_view>\n")
    print("namespace ferrite::abi {\n")
    print(f"inline constexpr std::size_t kSyscallCount = {top};\n")
    print("inline constexpr std::array<std::string_view, kSyscallCount> kSyscallNames = {")
    for number in range(top):
        print(f'    "{table.get(number, "")}",  // {number}')
    print("};\n")
    print("// The name of system call `number`, or \"\" if Linux has none by that number.")
    print("constexpr std::string_view syscall_name(std::size_t number) {")
    print("  return number < kSyscallCount ? kSyscallNames[number] : std::string_view{};")
    print("}\n\n}  // namespace ferrite::abi")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            generate(read())
        with open(sys.argv[2]) as f:
            if f.read() != text.getvalue():
                sys.exit(f"{sys.argv[2]} differs from {HEADER}: regenerate it with {sys.argv[0]}")
        print(f"{sys.argv[2]}: matches {HEADER}")
        return
    generate(read(sys.argv[1] if len(sys.argv) > 1 else HEADER))


if __name__ == "__main__":
    main()
