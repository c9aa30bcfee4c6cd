#!/usr/bin/env python3
"""Prints the ratios the benchmarks exist for, from the Google Benchmark JSON of one run.

`make bench` runs each host benchmark program once, with repetitions; every ratio below compares
two benchmarks of the same program run (medians of its repetitions), never numbers from different
runs: these machines are noisy, ratios within a run much less so.

    python3 tools/bench_summary.py build/bench
"""
import argparse
import json
import pathlib
import statistics
import sys


def load(path):
    """name -> median of the benchmark's per-item figure over its repetitions (seconds)."""
    runs = {}
    for bench in json.loads(path.read_text())["benchmarks"]:
        if bench.get("run_type") != "iteration":
            continue  # aggregates are recomputed here from the repetitions themselves
        for counter in ("time_per_op", "per_task", "per_hop"):
            if counter in bench:
                value = bench[counter]
                break
        else:  # a bare loop: the CPU time of one iteration
            # CPU time, as the per-item counters above are (Google Benchmark divides rates by CPU
            # time): a ratio of the two then compares like with like. Wall time grows with the
            # other load on the machine and made a ratio against a bare loop look better the
            # busier the machine was (bare resume 1.94 ns wall vs 1.27 ns CPU in one run).
            scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[bench["time_unit"]]
            value = bench["cpu_time"] * scale
        runs.setdefault(bench["run_name"], []).append(value)
    return {name: (statistics.median(values), len(values)) for name, values in runs.items()}


class Report:
    def __init__(self):
        self.missed = 0

    def judge(self, r, target, below):
        if target is None:
            return ""
        met = r < target if below else r <= target
        self.missed += not met
        return f"  (target {'<' if below else '<='} {target}: {'met' if met else 'MISSED'})"

    def ratio(self, figures, ours, theirs, label, target=None, below=False):
        if ours not in figures or theirs not in figures:
            print(f"  {label}: not measured ({ours} or {theirs} missing)")
            return
        (a, n), (b, _) = figures[ours], figures[theirs]
        r = a / b
        text = f"  {label}: {a * 1e9:.2f} / {b * 1e9:.2f} ns = {r:.2f}x" + self.judge(r, target, below)
        print(text + (f"  [median of {n}]" if n > 1 else ""))

    def count_ratio(self, counts, ours, theirs, label, target=None):
        if ours not in counts or theirs not in counts:
            print(f"  {label}: not counted ({ours} or {theirs} missing)")
            return
        a, b = counts[ours], counts[theirs]
        print(f"  {label}: {a:.1f} / {b:.1f} instructions = {a / b:.2f}x" +
              self.judge(a / b, target, False))


def kernel_summary(path, report):
    """The in-kernel figures (guest instructions under -icount), from tools/bench.sh."""
    if not path.exists():
        return
    figures = json.loads(path.read_text())

    def show(name, label, target=None, relative_to=None):
        if name not in figures:
            beside = f" ({relative_to} {figures[relative_to]})" if relative_to in figures else ""
            print(f"  {label}: not measured{beside}")
            return
        value = figures[name]
        text = f"  {label}: {value}"
        if relative_to is not None and figures.get(relative_to):
            ratio = value / figures[relative_to]
            text += f" = {ratio:.2f}x {relative_to} ({figures[relative_to]})"
            if target is not None:
                met = ratio <= target
                report.missed += not met
                text += f"  (target <= {target}x: {'met' if met else 'MISSED'})"
        elif target is not None:
            met = value <= target
            report.missed += not met
            text += f"  (target <= {target}: {'met' if met else 'MISSED'})"
        print(text)

    if "yield_switch" in figures:  # tools/bench.sh, bench_threads.elf
        print("kernel threads (guest instructions under -icount shift=0, chapter 13):")
        show("yield_switch", "thread-to-thread switch via yield", 300)
        show("timer_preempt_switch", "timer interrupt that preempts and switches", 2.0,
             "yield_switch")
        show("timer_tick_no_switch", "timer interrupt with nothing to switch to (no target)")
        show("mutex_handoff", "mutex handoff, unlock to the waiter's return from lock (no target)")
    if any(name.startswith("linux.") for name in figures):  # tools/bench_syscalls.py
        print("system calls from user space, ferrite vs Linux 6.1, same binary (guest instructions"
              " under -icount shift=0, chapters 14-15):")
        show("ferrite.getpid", "getpid round trip", 0.5, "linux.getpid")
        show("ferrite.sched_yield", "sched_yield, nothing else to run", 0.5, "linux.sched_yield")
        show("ferrite.mmap_touch_munmap", "mmap + touch + munmap of one page", 0.5,
             "linux.mmap_touch_munmap")
        show("ferrite.pipe_round_trip", "pipe round trip between two processes, 1 byte each way",
             0.5, "linux.pipe_round_trip")
        show("ferrite.fork_exit_wait", "fork + _exit + waitpid", 0.5, "linux.fork_exit_wait")
        show("ferrite.mremap_move_64_pages",
             "mremap: 64 touched pages moved there and back (no target)", None,
             "linux.mremap_move_64_pages")
        if "bench.process_pages" in figures:
            print(f"  process forked and piped: {figures['bench.process_pages']} pages of 4 KiB"
                  " mapped (image + heap, stack not counted)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=pathlib.Path, help="where the *.json files are")
    parser.add_argument("--kernel-only", action="store_true",
                        help="only the in-kernel figures of kernel.json")
    args = parser.parse_args()
    report = Report()
    if args.kernel_only:
        kernel_summary(args.directory / "kernel.json", report)
        return 0

    allocators = args.directory / "bench_allocators.json"
    if allocators.exists():
        f = load(allocators)
        print("allocators (ns per call, same run; glibc, mimalloc and jemalloc checked by "
              "bench_allocators at start-up to be those libraries):")
        report.ratio(f, "fixed_block/many_boxes", "mimalloc/many_boxes",
                     "fixed-size block vs mimalloc, many_boxes", 0.5)
        report.ratio(f, "fixed_block/many_boxes", "blog_os_fixed_block/many_boxes",
                     "fixed-size block vs blog_os's fixed-size block, many_boxes (no target)")
        for trace in ("many_boxes", "many_boxes_long_lived", "large_vec", "random"):
            report.ratio(f, f"fixed_block/{trace}", f"tlsf/{trace}",
                         f"fixed-size block vs TLSF, {trace} (no target: see instructions)")
        report.ratio(f, "fixed_block/random", "mimalloc/random",
                     "fixed-size block vs mimalloc, random", 1.0)
        report.ratio(f, "fixed_block/random", "glibc/random", "fixed-size block vs glibc, random",
                     1.0)
        report.ratio(f, "tlsf/random", "glibc/random", "TLSF vs glibc, random", 1.0)
        report.ratio(f, "linked_list/random", "glibc/random",
                     "readable first-fit list vs glibc, random (no target)")
    instructions = args.directory / "bench_allocators_instructions.json"
    if instructions.exists():
        counts = json.loads(instructions.read_text())["instructions_per_op"]
        print("allocators (instructions per call, callgrind; exact, unlike times):")
        report.count_ratio(counts, "fixed_block/many_boxes", "blog_os_fixed_block/many_boxes",
                           "fixed-size block vs blog_os's fixed-size block, many_boxes", 1.0)
        for trace in ("many_boxes", "many_boxes_long_lived", "large_vec", "random"):
            report.count_ratio(counts, f"fixed_block/{trace}", f"tlsf/{trace}",
                               f"fixed-size block vs TLSF, {trace}", 1.0)
        report.count_ratio(counts, "fixed_block/random", "mimalloc/random",
                           "fixed-size block vs mimalloc, random")
        report.count_ratio(counts, "fixed_block/random", "glibc/random",
                           "fixed-size block vs glibc, random")

    executor = args.directory / "bench_executor.json"
    if executor.exists():
        f = load(executor)
        print("executor (same run):")
        for batch, floor, target in (("1", "bare_coroutine/create_resume_destroy", 1.5),
                                     ("1000", "bare_coroutine/create_resume_destroy", 1.5),
                                     ("1000000", "bare_coroutine/create_1M_then_resume_destroy",
                                      None)):
            label = f"spawn+run, batch {batch}, vs bare coroutine"
            if target is None:
                label += " with as many alive (memory-bound; no target)"
            report.ratio(f, f"ferrite_executor/spawn_run_1M/batch/{batch}", floor, label, target)
        for batch, below in (("1", True), ("1000", True), ("1000000", False)):
            report.ratio(f, f"ferrite_executor/spawn_run_1M/batch/{batch}",
                         f"asio/post_run_1M/batch/{batch}",
                         f"spawn+run vs Boost.Asio post+run, batch {batch}", 1.0, below=below)
        report.ratio(f, "ferrite_executor/ping_pong_1M_hops", "bare_coroutine/resume",
                     "wake-to-resume (ping-pong hop) vs bare resume", 3.0)
        report.ratio(f, "ferrite_executor/yield_now_1M", "bare_coroutine/resume",
                     "a task waking itself (yield_now) vs bare resume (no target)")
        # Diagnostic: the same hop between two bare coroutines with no executor, the floor of any
        # wake-up through memory (a chain of dependent loads; the bare resume has none).
        report.ratio(f, "bare_coroutine/ping_pong_1M_hops", "bare_coroutine/resume",
                     "ping-pong hop without an executor vs bare resume (floor; no target)")
        report.ratio(f, "ferrite_executor/ping_pong_1M_hops", "bare_coroutine/ping_pong_1M_hops",
                     "wake-to-resume (ping-pong hop) vs the same hop without an executor (no target)")

    kernel_summary(args.directory / "kernel.json", report)

    if report.missed:
        print(f"{report.missed} target(s) missed in this run")
    return 0  # a benchmark informs; it does not fail the build


if __name__ == "__main__":
    sys.exit(main())
