"""Unit tests of tools/check_static_pie.py: a static PIE passes; an ET_EXEC file, a PIE with
PT_INTERP, a non-ELF file and truncated program headers are each refused with the reason."""

import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import check_static_pie  # noqa: E402

PT_LOAD, PT_INTERP = 1, 3


def elf(e_type, segment_types, size=None):
    """A 64-bit little-endian ELF header followed by program headers of the given types."""
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header = ident + struct.pack("<HHIQQQIHHHHHH", e_type, 62, 1, 0x1000, 64, 0, 0, 64, 56,
                                 len(segment_types), 0, 0, 0)
    phdrs = b"".join(struct.pack("<IIQQQQQQ", t, 4, 0, 0, 0, 0, 0, 8) for t in segment_types)
    data = header + phdrs
    return data if size is None else data[:size]


class Problem(unittest.TestCase):
    def test_static_pie_passes(self):
        self.assertIsNone(check_static_pie.problem(elf(3, [PT_LOAD, PT_LOAD])))

    def test_exec_is_refused(self):
        self.assertIn("not ET_DYN", check_static_pie.problem(elf(2, [PT_LOAD])))

    def test_interpreter_is_refused(self):
        self.assertIn("PT_INTERP", check_static_pie.problem(elf(3, [PT_INTERP, PT_LOAD])))

    def test_not_elf_is_refused(self):
        self.assertIn("not a 64-bit", check_static_pie.problem(b"#!/bin/sh\n" + bytes(60)))

    def test_truncated_program_headers_are_refused(self):
        self.assertIn("past the end", check_static_pie.problem(elf(3, [PT_LOAD, PT_LOAD], size=64 + 60)))


if __name__ == "__main__":
    unittest.main()
