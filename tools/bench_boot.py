#!/usr/bin/env python3
"""bench_boot.py: what does booting ferrite cost, compared with booting nothing at all?

Boots two images with QEMU -kernel (PVH), N times each, interleaved A B A B ... so that both see
the same machine load:
  A  the real kernel, told by its command line (`exit_when_ready`) to exit through
     isa-debug-exit once it has printed its ready marker ("ferrite: ready");
  B  an empty kernel that exits at once.
QEMU's own start-up and tear-down are in both; the difference is what ferrite's boot costs.
Reports the median wall time of each (spawn to QEMU exit), the ratio A/B (issue 2 asks for
<= 1.2), and A's text/data/bss sizes as `size` reports them (Berkeley format: "text" includes
read-only data). This is a benchmark, not a test: it never fails on a slow ratio, only on
runs that did not boot properly.

Example:
  tools/bench_boot.py --kernel build/kernel/ferrite.elf \\
      --empty build/tests/kernel/empty_kernel.elf --runs 20 --json build/bench_boot.json
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

EXIT_SUCCESS = (0x10 << 1) | 1  # isa-debug-exit 0x10, see tools/ktest.py
RATIO_TARGET = 1.2


def boot_once(args, image, marker):
    """Boots `image` once. Returns (seconds to exit, seconds to marker or None, problem or None)."""
    command = [args.qemu, "-kernel", image, "-append", args.append, "-display", "none",
               "-monitor", "none", "-serial", "stdio", "-no-reboot",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-m", args.memory]
    if args.icount:
        command += ["-icount", "shift=0,sleep=off"]
    started = time.monotonic()
    qemu = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    watchdog = threading.Timer(args.timeout, qemu.kill)  # a hung guest never closes stdout
    watchdog.start()
    output = bytearray()
    marker_at = None
    needle = marker.encode() if marker else None
    # Read the serial output as it comes, to see when the marker appears.
    while chunk := os.read(qemu.stdout.fileno(), 65536):
        output += chunk
        if needle and marker_at is None and needle in output:
            marker_at = time.monotonic() - started
    status = qemu.wait()
    seconds = time.monotonic() - started
    watchdog.cancel()
    stderr = qemu.stderr.read().decode(errors="replace").strip()
    qemu.stdout.close()
    qemu.stderr.close()

    problem = None
    if seconds >= args.timeout:
        problem = f"did not exit within {args.timeout:g} s"
    elif status != EXIT_SUCCESS:
        problem = f"QEMU exit status {status}, expected {EXIT_SUCCESS} (debug-exit 0x10)"
        if stderr:
            problem += f": {stderr.splitlines()[-1]}"
    elif needle and marker_at is None:
        problem = f"exited without printing '{marker}'"
    return seconds, marker_at, problem


def elf_sizes(path):
    """text/data/bss of an ELF, from binutils' `size` (Berkeley format)."""
    result = subprocess.run(["size", path], capture_output=True, text=True, check=True)
    header, values = result.stdout.splitlines()[:2]
    fields = dict(zip(header.split(), values.split()))
    return {name: int(fields[name]) for name in ("text", "data", "bss")}


def summarize(times):
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "runs": times}


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel", required=True, metavar="ELF", help="A: the real kernel")
    parser.add_argument("--empty", required=True, metavar="ELF",
                        help="B: an empty kernel that exits at once")
    parser.add_argument("--runs", "-n", type=int, default=10, help="boots of each (default: 10)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed boots of each first, to warm caches (default: 1)")
    parser.add_argument("--marker", default="ferrite: ready",
                        help="A's ready marker on serial (default: 'ferrite: ready')")
    parser.add_argument("--append", default="exit_when_ready",
                        help="command line for both images (default: exit_when_ready)")
    parser.add_argument("--icount", action="store_true",
                        help="run with -icount shift=0,sleep=off (deterministic guest time)")
    parser.add_argument("--timeout", type=float, default=30, help="per boot (default: 30 s)")
    parser.add_argument("--memory", "-m", default="128M", help="guest RAM (default: 128M)")
    parser.add_argument("--qemu", default=os.environ.get("QEMU", "qemu-system-x86_64"))
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")
    for path in (args.kernel, args.empty):
        if not os.path.isfile(path):
            parser.error(f"image not found: {path} (was it built?)")
    return args


def main(argv):
    args = parse_arguments(argv)
    images = {"A": (args.kernel, args.marker), "B": (args.empty, None)}
    times = {"A": [], "B": []}
    marker_times = []
    problems = []
    for run in range(args.warmup + args.runs):
        for label in ("A", "B"):
            image, marker = images[label]
            seconds, marker_at, problem = boot_once(args, image, marker)
            if problem:
                problems.append(f"{label} ({os.path.basename(image)}) run {run + 1}: {problem}")
            elif run >= args.warmup:
                times[label].append(seconds)
                if marker_at is not None:
                    marker_times.append(marker_at)
    for problem in problems:
        print(f"bench_boot: {problem}", file=sys.stderr)
    if not times["A"] or not times["B"]:
        print("bench_boot: no valid runs to report", file=sys.stderr)
        return 1

    a, b = summarize(times["A"]), summarize(times["B"])
    ratio = a["median"] / b["median"]
    sizes = elf_sizes(args.kernel)
    mode = "TCG, -icount shift=0,sleep=off" if args.icount else "TCG"
    name_width = max(len(os.path.basename(p)) for p in (args.kernel, args.empty)) + 4
    print(f"boot cost: {len(times['A'])}+{len(times['B'])} boots, interleaved A B A B, "
          f"-kernel (PVH), {mode}; wall seconds from spawn to QEMU exit")
    print(f"  {'image':<{name_width}} {'median':>8} {'min':>8} {'max':>8}")
    for label, summary, path in (("A", a, args.kernel), ("B", b, args.empty)):
        name = f"{label} {os.path.basename(path)}"
        print(f"  {name:<{name_width}} {summary['median']:8.3f} {summary['min']:8.3f} "
              f"{summary['max']:8.3f}")
    verdict = "met" if ratio <= RATIO_TARGET else "NOT met"
    print(f"  ratio A/B (medians): {ratio:.3f}  (target <= {RATIO_TARGET}: {verdict})")
    if marker_times:
        print(f"  A printed '{args.marker}' after {statistics.median(marker_times):.3f} s (median)")
    print(f"  A sizes (size, Berkeley): text {sizes['text']} B, data {sizes['data']} B, "
          f"bss {sizes['bss']} B")

    if args.json:
        report = {"mode": mode, "runs": args.runs, "warmup": args.warmup,
                  "a": {"image": args.kernel, **a,
                        "marker_median": statistics.median(marker_times) if marker_times else None},
                  "b": {"image": args.empty, **b},
                  "ratio": ratio, "ratio_target": RATIO_TARGET, "sizes": sizes,
                  "problems": problems}
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
            out.write("\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
