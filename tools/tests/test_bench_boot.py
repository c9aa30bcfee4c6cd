"""Unit tests of tools/bench_boot.py without QEMU: the bootstrap interval of the per-pair median
and the verdict it gives on the target."""

import os
import random
import statistics
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import bench_boot  # noqa: E402


def noisy_ratios(count, seed, centre=1.097, spread=0.04):
    """Per-pair ratios as a busy machine gives them: the true ratio plus symmetric noise."""
    rng = random.Random(seed)
    return [centre + rng.uniform(-spread, spread) for _ in range(count)]


class MedianInterval(unittest.TestCase):
    def test_same_values_give_the_same_interval(self):
        values = noisy_ratios(60, seed=1)
        self.assertEqual(bench_boot.median_interval(values), bench_boot.median_interval(values))

    def test_values_that_do_not_vary_give_a_point(self):
        self.assertEqual(bench_boot.median_interval([1.05] * 30), (1.05, 1.05))

    def test_interval_holds_the_sample_median(self):
        values = noisy_ratios(60, seed=2)
        low, high = bench_boot.median_interval(values)
        self.assertLess(low, high)
        self.assertLessEqual(low, statistics.median(values))
        self.assertGreaterEqual(high, statistics.median(values))

    def test_more_runs_give_a_narrower_interval(self):
        few = bench_boot.median_interval(noisy_ratios(60, seed=3))
        many = bench_boot.median_interval(noisy_ratios(600, seed=3))
        self.assertLess(many[1] - many[0], (few[1] - few[0]) / 2)

    def test_interval_of_many_runs_holds_the_true_ratio(self):
        low, high = bench_boot.median_interval(noisy_ratios(600, seed=4))
        self.assertLessEqual(low, 1.097)
        self.assertGreaterEqual(high, 1.097)


class Verdict(unittest.TestCase):
    def test_all_under_the_target_is_met(self):
        self.assertEqual(bench_boot.verdict((1.05, 1.09), 1.1), "met")

    def test_top_of_the_interval_on_the_target_is_met(self):
        self.assertEqual(bench_boot.verdict((1.05, 1.1), 1.1), "met")

    def test_all_over_the_target_is_not_met(self):
        self.assertEqual(bench_boot.verdict((1.11, 1.2), 1.1), "NOT met")

    def test_target_inside_the_interval_is_not_decided(self):
        self.assertTrue(bench_boot.verdict((1.09, 1.11), 1.1).startswith("not decided"))


if __name__ == "__main__":
    unittest.main()
