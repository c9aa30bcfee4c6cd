#!/usr/bin/env python3
"""Draws what `make bench` measured: one SVG per allocator trace, one for the executor.

Each allocator chart puts every allocator side by side on one trace, in two panels: time per
call (median of the repetitions of one run) and instructions per call (callgrind). The executor
chart shows the time per task or per hop of each benchmark. The SVGs land next to the JSON.

    python3 tools/bench_charts.py build/bench
"""
import argparse
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")  # no display: files only
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: small files, searchable labels
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from bench_summary import load  # noqa: E402

OURS = {"fixed_block", "tlsf", "linked_list", "bump"}
ORDER = ["fixed_block", "tlsf", "linked_list", "bump", "blog_os_fixed_block", "glibc", "mimalloc",
         "jemalloc"]  # the rest, if any, after these
COLORS = {"ours": "#c0392b", "blog_os": "#e67e22", "peer": "#7f8c8d"}


def color(allocator):
    if allocator in OURS:
        return COLORS["ours"]
    return COLORS["blog_os"] if allocator.startswith("blog_os") else COLORS["peer"]


def allocator_charts(directory):
    times = load(directory / "bench_allocators.json")
    counts_path = directory / "bench_allocators_instructions.json"
    counts = json.loads(counts_path.read_text())["instructions_per_op"] if counts_path.exists() else {}
    traces = []
    for name in times:
        trace = name.split("/", 1)[1]
        if trace not in traces:
            traces.append(trace)
    written = []
    for trace in traces:
        allocators = sorted((name.split("/")[0] for name in times if name.endswith("/" + trace)),
                            key=lambda a: ORDER.index(a) if a in ORDER else len(ORDER))
        panels = 2 if counts else 1
        figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 0.42 * len(allocators) + 1.3),
                                    sharey=True, squeeze=False)
        series = [("ns per call (median)", [times[f"{a}/{trace}"][0] * 1e9 for a in allocators])]
        if counts:
            series.append(("instructions per call (callgrind)",
                           [counts.get(f"{a}/{trace}", 0.0) for a in allocators]))
        for axis, (title, values) in zip(axes[0], series):
            bars = axis.barh(allocators, values, color=[color(a) for a in allocators])
            axis.bar_label(bars, fmt="%.1f", padding=2, fontsize=8)
            axis.set_title(title, fontsize=10)
            axis.margins(x=0.18)
            axis.tick_params(labelsize=9)
        axes[0][0].invert_yaxis()  # first allocator on top (the panels share the axis)
        figure.suptitle(f"allocators, trace {trace} (red: ferrite, orange: blog_os's design, "
                        "grey: libraries)", fontsize=10)
        figure.tight_layout()
        path = directory / f"allocators_{trace}.svg"
        figure.savefig(path)
        plt.close(figure)
        written.append(path)
    return written


def executor_chart(directory):
    figures = load(directory / "bench_executor.json")
    prefixes = ["bare_coroutine", "ferrite_executor", "asio"]  # the floor first, the peer last
    names = sorted(figures, key=lambda name: (next(
        (i for i, p in enumerate(prefixes) if name.startswith(p)), len(prefixes)), name))
    values = [figures[name][0] * 1e9 for name in names]
    colors = [COLORS["ours"] if name.startswith("ferrite") else
              COLORS["peer"] if name.startswith("asio") else COLORS["blog_os"] for name in names]
    figure, axis = plt.subplots(figsize=(8, 0.38 * len(names) + 1.2))
    bars = axis.barh(names, values, color=colors)
    axis.bar_label(bars, fmt="%.1f", padding=2, fontsize=8)
    axis.invert_yaxis()
    axis.margins(x=0.15)
    axis.tick_params(labelsize=8)
    axis.set_title("executor: ns per task, hop or resume (median)\n"
                   "orange: bare coroutine, red: ferrite, grey: Boost.Asio", fontsize=9)
    figure.tight_layout()
    path = directory / "executor.svg"
    figure.savefig(path)
    plt.close(figure)
    return [path]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=pathlib.Path, help="where the *.json files are")
    args = parser.parse_args()
    written = []
    if (args.directory / "bench_allocators.json").exists():
        written += allocator_charts(args.directory)
    if (args.directory / "bench_executor.json").exists():
        written += executor_chart(args.directory)
    print("bench_charts: " + ", ".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
