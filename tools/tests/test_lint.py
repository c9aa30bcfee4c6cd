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


if __name__ == "__main__":
    unittest.main()
