"""Unit tests of tools/soak.py without QEMU: the matrix covers every axis, refusals are told
from failures, random keys are valid QMP key codes, the NMI storm against a fake monitor."""

import os
import random
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import soak  # noqa: E402
from ktest import keys  # noqa: E402
from test_qmp import FakeQmpServer  # noqa: E402


class Matrix(unittest.TestCase):
    def test_every_value_of_every_axis_appears(self):
        self.assertEqual({c.boot for c in soak.MATRIX}, {"pvh", "bios", "uefi"})
        self.assertEqual({c.smp for c in soak.MATRIX}, {1, 4})
        self.assertEqual({c.cpu for c in soak.MATRIX}, set(soak.CPU_MODELS))
        self.assertEqual({c.memory for c in soak.MATRIX}, set(soak.MEMORY_SIZES))
        self.assertIn("8M", soak.MEMORY_SIZES)
        self.assertIn("8G", soak.MEMORY_SIZES)

    def test_sysfuzz_runs_in_the_stressed_iso_boots_only(self):
        rng = random.Random(1)
        lines = {c.name: soak.sysfuzz_command(c, rng) for c in soak.MATRIX}
        fuzzed = [c for c in soak.MATRIX if lines[c.name] is not None]
        self.assertEqual(sorted(c.boot for c in fuzzed), ["bios", "uefi"])
        self.assertTrue(all(c.stress for c in fuzzed))
        for c in fuzzed:
            self.assertRegex(lines[c.name], r"^run /bin/sysfuzz [0-9]+ 300$")

    def test_every_boot_path_is_stressed_once(self):
        self.assertEqual(sorted(c.boot for c in soak.MATRIX if c.stress), ["bios", "pvh", "uefi"])

    def test_names_are_unique(self):
        self.assertEqual(len({c.name for c in soak.MATRIX}), len(soak.MATRIX))


class Verdicts(unittest.TestCase):
    def test_a_clear_refusal_is_recognised(self):
        self.assertEqual(soak.classify_early_end(
            "Hello World!\nKERNEL PANIC: mm: 7 MiB of usable memory, need at least 16 MiB\n"),
            "KERNEL PANIC: mm: 7 MiB of usable memory, need at least 16 MiB")

    def test_an_unclear_end_is_not_a_refusal(self):
        self.assertIsNone(soak.classify_early_end("Hello World!\nKERNEL PANIC: mm: cannot map "
                                                  "heap: out of frames\n"))
        self.assertIsNone(soak.classify_early_end(""))

    def test_nmi_reports_are_allowed_other_exceptions_and_panics_are_not(self):
        self.assertIsNone(soak.FORBIDDEN.search("EXCEPTION: Non-Maskable Interrupt (NMI, 2)"))
        self.assertIsNotNone(soak.FORBIDDEN.search("EXCEPTION: Page Fault (#PF, vector 14)"))
        self.assertIsNotNone(soak.FORBIDDEN.search("KERNEL PANIC: oops"))


class RandomKeys(unittest.TestCase):
    def test_chords_are_known_key_codes(self):
        rng = random.Random(1)
        for _ in range(500):
            kind, qcodes = soak.random_chord(rng)
            self.assertEqual(kind, "tap")
            self.assertTrue(1 <= len(qcodes) <= 3)
            for qcode in qcodes:
                self.assertIn(qcode, keys.QCODES)
            self.assertNotIn("ret", qcodes)

    def test_noisy_commands_can_be_typed(self):
        for command in soak.NOISY_COMMANDS:
            keys.parse_key_spec("{ctrl+c}" + command + "{ret}")


if __name__ == "__main__":
    unittest.main()


class NmiStormAgainstAFakeMonitor(unittest.TestCase):
    def test_alternates_inject_nmi_and_hmp_nmi_until_stopped(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "nmi.sock")
            server = FakeQmpServer(path, lambda request: [{"return": {}}])
            storm = soak.NmiStorm(path, random.Random(7))
            time.sleep(0.3)
            storm.stop()
            storm.stop()  # stopping twice is harmless
            commands = [r["execute"] for r in server.requests[1:]]
            self.assertGreater(storm.sent, 5)
            self.assertEqual(len(commands), storm.sent)
            self.assertEqual(commands[:4], ["inject-nmi", "human-monitor-command"] * 2)
            self.assertEqual(server.requests[2]["arguments"], {"command-line": "nmi"})
            self.assertIsNone(storm.error)
