"""Unit tests of tools/linux_compare.py without QEMU: which serial lines are the program's, how a
run that dies shows, and that the PENDING checks are left out of the comparison only."""

import contextlib
import io
import os
import sys
import unittest
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import linux_compare  # noqa: E402

# As ferrite's serial console gives it: CR LF, the boot log before, the kernel's reports between.
FERRITE_LOG = (
    "ferrite: ready\r\n"
    "proctest: start\r\n"
    "fork-exit-status: exited 7 (0x700)\r\n"
    "proctest: killed by SIGSEGV (address 0x0, rip 0x403a40)\r\n"
    "wait-sigsegv-null-write: signaled 11 SIGSEGV (0xb)\r\n"
    "syscall: frob (999) is not implemented: ENOSYS to proctest (pid 2)\r\n"
    "proctest: done\r\n"
    "init exited with status 0\r\n")


class ProgramLines(unittest.TestCase):
    def test_keeps_the_programs_lines_and_sets_the_kernels_aside(self):
        lines, kernel = linux_compare.program_lines(FERRITE_LOG)
        self.assertEqual(lines, ["proctest: start", "fork-exit-status: exited 7 (0x700)",
                                 "wait-sigsegv-null-write: signaled 11 SIGSEGV (0xb)",
                                 "proctest: done"])
        self.assertEqual(len(kernel), 2)

    def test_a_run_that_dies_ends_with_a_marker(self):
        lines, _ = linux_compare.program_lines("proctest: start\na: 1\n\n[timed out after 60 s]\n")
        self.assertEqual(lines, ["proctest: start", "a: 1", linux_compare.INCOMPLETE])

    def test_no_start_is_none(self):
        self.assertEqual(linux_compare.program_lines("ferrite> ")[0], None)


class Pending(unittest.TestCase):
    # PENDING may well be empty (every check matches Linux): the test brings its own entry.
    @mock.patch.dict(linux_compare.PENDING, {"held-out": "a known difference"})
    def test_only_pending_checks_are_left_out(self):
        name = "held-out"
        linux = ["a: 1", f"{name}: linux", "b: 2"]
        ferrite = ["a: 1", f"{name}: ferrite", "b: 3"]
        with contextlib.redirect_stdout(io.StringIO()) as out:
            expected, actual = linux_compare.without_pending(linux, ferrite)
        self.assertEqual(expected, ["a: 1", "b: 2"])
        self.assertEqual(actual, ["a: 1", "b: 3"])  # b still differs
        self.assertIn(f"ferrite: {name}: ferrite", out.getvalue())
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertTrue(linux_compare.differ(expected, actual, "Linux", "ferrite"))

    def test_every_pending_check_is_in_the_expected_file(self):
        names = {linux_compare.key(line) for line in linux_compare.read_expected(linux_compare.EXPECTED)}
        self.assertEqual(set(linux_compare.PENDING) - names, set())

    def test_the_expected_files_names_are_unique(self):  # PENDING picks lines by name
        lines = linux_compare.read_expected(linux_compare.EXPECTED)
        names = [linux_compare.key(line) for line in lines
                 if line not in (linux_compare.START, linux_compare.DONE)]
        self.assertEqual([n for n in names if names.count(n) > 1], [])


if __name__ == "__main__":
    unittest.main()
