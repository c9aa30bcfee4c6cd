#!/usr/bin/env python3
"""System-call costs, ferrite beside Linux: the same static binary, the same QEMU (chapters 14-15).

`make bench` runs this. It boots build/user/bench as /init (in an initramfs of its own) under
  - Debian's Linux 6.1 cloud kernel, fetched once into <build>/bench/linux/ (tools/linux_boot.py,
    which this shares with tools/linux_compare.py), and
  - ferrite (build/kernel/ferrite.elf with `init=/init`),
both under `-icount shift=0,sleep=off`, where the guest's TSC advances one tick per guest
instruction: the figures are guest instructions per operation, the same run after run. It writes
them by name into <build>/bench/kernel.json (beside the other in-kernel figures) and prints the
ratios with their targets (ferrite <= 0.5x Linux).

    python3 tools/bench_syscalls.py --build build
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys

import linux_boot

REPO = pathlib.Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.5
BENCH_LINE = re.compile(r"^bench (\w+) (\d+|unsupported.*)$")
# What user/bench.c measures, in the order it prints them. In kernel.json each becomes
# ferrite.<name> and linux.<name> (guest instructions per operation) and ratio.<name>
# (ferrite / Linux): stable names, read by tools/bench_summary.py.
NAMES = ("getpid", "sched_yield", "mmap_touch_munmap", "pipe_round_trip", "fork_exit_wait",
         "mremap_move_64_pages")
# These have a target: ferrite <= TARGET_RATIO x Linux (issue 12 added the pipe and fork ones).
# mremap's figure (a 64-page mapping moved there and back) is shown beside Linux's, untargeted.
TARGETED = NAMES[:5]
# Not a cost: the bench process's mapped pages (image + heap) that fork copies, the same binary
# under both kernels. kernel.json: bench.process_pages.
PROCESS_PAGES = "process_pages"


def parse_line(line, figures):
    """Adds a `bench <name> <value>` line's figure to `figures` (None: unsupported). Anything
    else (boot messages, the kernel's log, `bench: start`) is ignored. True if it was one."""
    match = BENCH_LINE.match(line.strip())
    if not match:
        return False
    value = match.group(2)
    figures[match.group(1)] = int(value) if value.isdigit() else None
    return True


def parse_output(text):
    """{name: instructions or None} from everything a kernel printed."""
    figures = {}
    for line in text.splitlines():
        parse_line(line, figures)
    return figures


def compare(linux, ferrite, figures):
    """Writes this run's figures into `figures` (kernel.json's dict) under the stable names,
    dropping what an earlier run left for a name this run did not measure; returns the summary
    lines and how many targets were missed."""
    def shown(kernel, name):
        if kernel.get(name) is not None:
            return str(kernel[name])
        return "unsupported" if name in kernel else "not measured"

    lines, missed = [], 0
    for name in NAMES:
        for side in ("linux", "ferrite", "ratio"):
            figures.pop(f"{side}.{name}", None)
        theirs, ours = linux.get(name), ferrite.get(name)
        if theirs is not None:
            figures[f"linux.{name}"] = theirs
        if ours is not None:
            figures[f"ferrite.{name}"] = ours
        if ours is None or theirs is None:
            met = False
            text = f"  {name}: ferrite {shown(ferrite, name)}, Linux {shown(linux, name)}"
        else:
            ratio = ours / theirs
            figures[f"ratio.{name}"] = round(ratio, 3)
            met = ratio <= TARGET_RATIO
            text = f"  {name}: ferrite {ours} / Linux {theirs} guest instructions = {ratio:.2f}x"
        if name in TARGETED:
            missed += not met
            text += f"  (target <= {TARGET_RATIO}x: {'met' if met else 'MISSED'})"
        lines.append(text)
    figures.pop(f"bench.{PROCESS_PAGES}", None)
    pages = ferrite.get(PROCESS_PAGES, linux.get(PROCESS_PAGES))
    if pages is not None:
        figures[f"bench.{PROCESS_PAGES}"] = pages
        lines.append(f"  process measured (fork, pipes): {pages} pages of 4 KiB mapped "
                     "(image + heap, stack not counted)")
    return lines, missed


def run(kernel, initramfs, append, timeout, log, give_up_on=None):
    """Boots `kernel` under -icount and returns {name: value or None} from the bench lines it
    printed (tools/linux_boot.py boots it)."""
    return parse_output(linux_boot.boot(kernel, initramfs, append, timeout, log,
                                        give_up_on=give_up_on, icount=True))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", type=pathlib.Path)
    parser.add_argument("--timeout", type=int, default=240)
    args = parser.parse_args()
    build = args.build
    out = build / "bench"
    out.mkdir(parents=True, exist_ok=True)

    bench_binary = build / "user" / "bench"
    if not bench_binary.exists():
        raise SystemExit(f"bench_syscalls: {bench_binary} not built (cmake --build {build})")
    initramfs = out / "bench-initramfs.cpio"
    subprocess.run([sys.executable, str(REPO / "tools" / "mkinitramfs.py"), "--output",
                    str(initramfs), "--init", str(bench_binary)], check=True)

    vmlinuz = linux_boot.fetch_linux(linux_boot.linux_directory(build), who="bench_syscalls")
    print(f"bench_syscalls: Linux {linux_boot.linux_version(vmlinuz)} and ferrite, "
          "same binary as /init, -icount shift=0,sleep=off", flush=True)
    linux = run(vmlinuz, initramfs, linux_boot.LINUX_APPEND, args.timeout,
                out / "syscalls-linux.log")
    ferrite = run(build / "kernel" / "ferrite.elf", initramfs, "init=/init", args.timeout,
                  out / "syscalls-ferrite.log", give_up_on="ferrite> ")

    kernel_json = out / "kernel.json"
    figures = json.loads(kernel_json.read_text()) if kernel_json.exists() else {}
    lines, missed = compare(linux, ferrite, figures)
    print("\n".join(lines))
    kernel_json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"bench_syscalls: {missed} target(s) missed; logs in {out}/syscalls-*.log")
    return 0  # a benchmark informs; it does not fail the build


if __name__ == "__main__":
    sys.exit(main())
