#!/usr/bin/env python3
"""Checks that a program is a static PIE: ELF type ET_DYN and no PT_INTERP (chapter 14).

The build runs it on user/pie_hello after `gcc -static-pie`: a toolchain that quietly makes an
ET_EXEC, or a PIE that asks for a dynamic loader, would not test what pie_hello is there to test. A file that fails is deleted.

  tools/check_static_pie.py build/user/pie_hello
"""
import os
import struct
import sys

ET_DYN, PT_INTERP = 3, 3


def problem(data):
    """Returns why `data` is not a 64-bit static PIE, or None when it is one."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return "not a 64-bit little-endian ELF file"
    e_type = struct.unpack_from("<H", data, 16)[0]
    if e_type != ET_DYN:
        return f"ELF type is {e_type}, not ET_DYN (3): the toolchain did not make a PIE"
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        offset = phoff + i * phentsize
        if phentsize < 4 or offset + phentsize > len(data):
            return "program headers run past the end of the file"
        if struct.unpack_from("<I", data, offset)[0] == PT_INTERP:
            return "it has a PT_INTERP (needs a dynamic loader): link with -static-pie"
    return None


def main():
    path = sys.argv[1]
    with open(path, "rb") as f:
        why = problem(f.read())
    if why:
        os.remove(path)  # so that the next build makes it again instead of taking it as built
        sys.exit(f"{path} is not a static PIE: {why}")


if __name__ == "__main__":
    main()
