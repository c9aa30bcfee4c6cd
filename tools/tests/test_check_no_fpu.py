"""Unit tests of tools/check_no_fpu.py's scan: x87/SSE instructions are found, except the
FXSAVE64/FXRSTOR64 that only the user-state save/restore functions may use (chapter 14)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import check_no_fpu  # noqa: E402

LISTING = """
ffffffff80100000 <_ZN7ferrite4arch14save_fpu_stateERNS0_8FpuStateE>:
ffffffff80100000:\tfxsave64 (%rdi)
ffffffff80100004:\tret
ffffffff80100010 <_ZN7ferrite4arch17restore_fpu_stateERKNS0_8FpuStateE>:
ffffffff80100010:\tfxrstor64 (%rdi)
ffffffff80100014:\txrstor64 (%rdi)
ffffffff80100018:\tret
ffffffff80100020 <_ZN7ferrite5sched8scheduleEb>:
ffffffff80100020:\tfxsave64 (%rdi)
ffffffff80100024:\tmovaps %xmm0,(%rsp)
ffffffff80100028:\tfldz
ffffffff8010002a:\tmov    %rax,%rbx
"""


class Scan(unittest.TestCase):
    def test_state_switch_only_in_fpu_state_functions(self):
        found = check_no_fpu.scan(LISTING)
        self.assertEqual(len(found), 3, found)
        self.assertTrue(found[0].endswith("fxsave64 (%rdi)"))   # in schedule(): not allowed
        self.assertIn("movaps", found[1])
        self.assertIn("fldz", found[2])

    def test_plain_code_is_clean(self):
        self.assertEqual(check_no_fpu.scan("ffffffff80100000 <f>:\nffffffff80100000:\tret\n"), [])


if __name__ == "__main__":
    unittest.main()
