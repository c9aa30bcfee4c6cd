"""Unit tests of tools/bench_syscalls.py without QEMU: the lines user/bench.c prints (amid a
kernel's log) become figures, and kernel.json gets them, and the ratios, under stable names."""

import os
import pathlib
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import bench_syscalls  # noqa: E402

# As the serial console gives it: CR LF line ends, the kernel's own lines in between.
FERRITE_LOG = (
    "ferrite: ready\r\n"
    "bench: start (pid 1)\r\n"
    "bench getpid 168\r\n"
    "bench sched_yield 272\r\n"
    "bench mmap_touch_munmap 2600\r\n"
    "syscall: pipe (22) is not implemented: ENOSYS to init (pid 1)\r\n"
    "bench pipe_round_trip unsupported (Function not implemented)\r\n"
    "bench: done\r\n")
LINUX_LOG = (
    "[    0.000000] Linux version 6.1.0\n"
    "bench: start (pid 1)\n"
    "bench getpid 351\n"
    "bench sched_yield 838\n"
    "bench mmap_touch_munmap 21460\n"
    "bench pipe_round_trip 10304\n"
    "bench fork_exit_wait 106655\n"
    "bench process_pages 12\n"
    "bench: done\n")
# A ferrite run with fork and pipes (issue 12): one target met, one missed.
FERRITE_FORK_LOG = (
    "bench getpid 168\r\n"
    "bench sched_yield 272\r\n"
    "bench mmap_touch_munmap 2600\r\n"
    "bench pipe_round_trip 5000\r\n"
    "bench fork_exit_wait 60000\r\n"
    "bench process_pages 12\r\n")


class Parse(unittest.TestCase):
    def test_figures_and_unsupported(self):
        self.assertEqual(bench_syscalls.parse_output(FERRITE_LOG), {
            "getpid": 168, "sched_yield": 272, "mmap_touch_munmap": 2600,
            "pipe_round_trip": None})

    def test_other_lines_are_not_figures(self):
        self.assertEqual(bench_syscalls.parse_output(
            "bench: start (pid 1)\nbench getpid\nbench getpid 12 extra\nbenchmark 3 4\n"), {})

    def test_every_name_bench_c_prints_is_known(self):
        source = pathlib.Path(__file__).resolve().parents[2].joinpath("user", "bench.c").read_text()
        for name in bench_syscalls.NAMES + (bench_syscalls.PROCESS_PAGES,):
            self.assertIn(f'report("{name}"', source)


class Compare(unittest.TestCase):
    def test_stable_names_ratios_and_targets(self):
        figures = {"yield_switch": 250, "ferrite.fork_exit_wait": 5}  # the latter: stale
        lines, missed = bench_syscalls.compare(bench_syscalls.parse_output(LINUX_LOG),
                                               bench_syscalls.parse_output(FERRITE_LOG), figures)
        self.assertEqual(figures["yield_switch"], 250)  # other benchmarks' figures stay
        self.assertEqual(figures["ferrite.getpid"], 168)
        self.assertEqual(figures["linux.getpid"], 351)
        self.assertEqual(figures["ratio.getpid"], 0.479)
        self.assertEqual(figures["ratio.mmap_touch_munmap"], 0.121)
        self.assertNotIn("ferrite.pipe_round_trip", figures)
        self.assertNotIn("ferrite.fork_exit_wait", figures)  # not measured this run: dropped
        self.assertEqual(figures["linux.fork_exit_wait"], 106655)
        # pipe unsupported and fork not measured under ferrite: both targets missed
        self.assertEqual(missed, 2)
        self.assertIn("getpid: ferrite 168 / Linux 351 guest instructions = 0.48x  "
                      "(target <= 0.5x: met)", lines[0])
        self.assertIn("pipe_round_trip: ferrite unsupported, Linux 10304", lines[3])
        self.assertIn("(target <= 0.5x: MISSED)", lines[3])
        self.assertIn("fork_exit_wait: ferrite not measured, Linux 106655", lines[4])
        self.assertEqual(figures["bench.process_pages"], 12)  # Linux's, ferrite printed none
        self.assertIn("mremap_move_64_pages: ferrite not measured, Linux not measured", lines[5])
        self.assertNotIn("target", lines[5])  # shown, not targeted
        self.assertEqual(figures["bench.process_pages"], 12)
        self.assertIn("12 pages of 4 KiB", lines[6])

    def test_pipe_and_fork_targets(self):
        figures = {"bench.process_pages": 99}  # stale: replaced
        lines, missed = bench_syscalls.compare(bench_syscalls.parse_output(LINUX_LOG),
                                               bench_syscalls.parse_output(FERRITE_FORK_LOG),
                                               figures)
        self.assertEqual(figures["ferrite.pipe_round_trip"], 5000)
        self.assertEqual(figures["ratio.pipe_round_trip"], 0.485)
        self.assertEqual(figures["ratio.fork_exit_wait"], 0.563)
        self.assertEqual(figures["bench.process_pages"], 12)
        self.assertNotIn("ferrite.process_pages", figures)  # a size, not a cost
        self.assertEqual(missed, 1)
        self.assertIn("pipe_round_trip: ferrite 5000 / Linux 10304 guest instructions = 0.49x  "
                      "(target <= 0.5x: met)", lines[3])
        self.assertIn("fork_exit_wait: ferrite 60000 / Linux 106655 guest instructions = 0.56x  "
                      "(target <= 0.5x: MISSED)", lines[4])

    def test_missed_target_and_missing_figure(self):
        figures = {}
        lines, missed = bench_syscalls.compare({"getpid": 344, "sched_yield": 806},
                                               {"getpid": 188}, figures)
        self.assertEqual(missed, 5)  # getpid over 0.5x, the four others not measured
        self.assertIn("0.55x  (target <= 0.5x: MISSED)", lines[0])
        self.assertIn("sched_yield: ferrite not measured, Linux 806", lines[1])
        self.assertNotIn("ratio.sched_yield", figures)


if __name__ == "__main__":
    unittest.main()
