"""Unit tests of tools/lint.py's pure parts: which compile commands it picks and how it adapts
GCC's flags for clang-tidy 14."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import lint  # noqa: E402


class Adapt(unittest.TestCase):
    def test_gcc_flags_become_clang_flags(self):
        arguments = lint.adapt("/usr/bin/c++ -DFERRITE_KERNEL=1 -std=gnu++23 "
                               "-fno-tree-loop-distribute-patterns -c /r/kernel/a.cpp")
        self.assertEqual(arguments[0], "/usr/bin/c++")
        self.assertIn("-std=gnu++2b", arguments)
        self.assertNotIn("-std=gnu++23", arguments)
        self.assertNotIn("-fno-tree-loop-distribute-patterns", arguments)
        self.assertEqual(arguments[-2:], ["-c", "/r/kernel/a.cpp"])
        self.assertIn("-mno-sse", lint.adapt("c++ -mno-80387 -mno-sse -c a.cpp"))
        self.assertNotIn("-mno-80387", lint.adapt("c++ -mno-80387 -mno-sse -c a.cpp"))
        include = arguments.index("-include")
        self.assertTrue(arguments[include + 1].endswith("tools/lint_compat.h"))
        self.assertTrue(os.path.isfile(arguments[include + 1]))


class Select(unittest.TestCase):
    def test_one_entry_per_kernel_source_preferring_the_kernel_command(self):
        database = [
            {"directory": "/b", "file": "/r/kernel/mm/heap.cpp", "command": "c++ -DFERRITE_HOST=1"},
            {"directory": "/b", "file": "/r/kernel/mm/heap.cpp", "command": "c++ -DFERRITE_KERNEL=1"},
            {"directory": "/b", "file": "/r/kernel/mm/heap.cpp", "command": "c++ -DFERRITE_HOST=1"},
            {"directory": "/b", "file": "/r/kernel/boot/entry.S", "command": "c++"},
            {"directory": "/b", "file": "/r/tests/host/heap_test.cpp", "command": "c++"},
            {"directory": "/b", "file": "../r/kernel/lib/mem.cpp", "command": "c++ -DHOST=1"},
        ]
        chosen = lint.select_entries(database, "/r/kernel")
        self.assertEqual([e["file"] for e in chosen], ["/r/kernel/lib/mem.cpp",
                                                       "/r/kernel/mm/heap.cpp"])
        self.assertIn("FERRITE_KERNEL", chosen[1]["command"])


class Findings(unittest.TestCase):
    def test_findings_with_their_notes_once_each(self):
        output = "\n".join([
            "/r/kernel/a.h:3:5: warning: potentially unintended semicolon [bugprone-x]",
            "  if (a);",
            "      ^",
            "/r/kernel/a.h:3:5: warning: potentially unintended semicolon [bugprone-x]",
            "  if (a);",
            "12 warnings generated.",
        ])
        findings = lint.parse_findings(output)
        self.assertEqual(list(findings), [("/r/kernel/a.h", 3, 5,
                                           "potentially unintended semicolon [bugprone-x]")])
        self.assertEqual(len(findings[("/r/kernel/a.h", 3, 5,
                                       "potentially unintended semicolon [bugprone-x]")]), 3)


class Clang14Limits(unittest.TestCase):
    EXPECTED_DESTRUCTOR = "\n".join([
        "/r/kernel/fs/initramfs.cpp:28:16: error: attempt to use a deleted function "
        "[clang-diagnostic-error]",
        "/usr/include/c++/12/expected:484:17: note: explicitly defaulted function was implicitly "
        "deleted here",
        "/usr/include/c++/12/expected:894:6: note: destructor of 'expected<ferrite::fs::Tree, "
        "ferrite::fs::cpio::Failure>' is implicitly deleted because variant field '_M_val' has "
        "a non-trivial destructor",
    ])

    def test_only_the_expected_destructor_limit_is_left_out(self):
        [(key, lines)] = lint.parse_findings(self.EXPECTED_DESTRUCTOR).items()
        self.assertTrue(lint.is_clang14_limit(key, lines))
        # A deleted function of our own, or another error, is still a finding.
        own = ("/r/kernel/a.cpp:1:1: error: attempt to use a deleted function "
               "[clang-diagnostic-error]\n/r/kernel/a.h:2:3: note: 'f' has been explicitly "
               "marked deleted here")
        [(key, lines)] = lint.parse_findings(own).items()
        self.assertFalse(lint.is_clang14_limit(key, lines))
        other = self.EXPECTED_DESTRUCTOR.replace("attempt to use a deleted function",
                                                 "no member named 'x'")
        [(key, lines)] = lint.parse_findings(other).items()
        self.assertFalse(lint.is_clang14_limit(key, lines))


if __name__ == "__main__":
    unittest.main()
