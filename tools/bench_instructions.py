#!/usr/bin/env python3
"""Counts the instructions per allocator call of every bench_allocators entry, under callgrind.

Callgrind's counts are exact and repeatable where times are not (these machines are shared, and
perf has no hardware counters on them). Each entry runs as `bench_allocators --replay=<name>`:
its trace once to warm up, then once more inside measured_replay(), the only function callgrind
collects; the count divided by the calls the trace made is instructions per call.

    python3 tools/bench_instructions.py build/bench/bench_allocators --json build/bench/x.json
"""
import argparse
import concurrent.futures
import json
import pathlib
import re
import subprocess
import sys


def count(binary, name):
    """(instructions, operations) of one replay."""
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         "--toggle-collect=*measured_replay*", str(binary), f"--replay={name}"],
        capture_output=True, text=True, check=True)
    operations = re.search(r"^operations: (\d+)$", result.stdout, re.M)
    collected = re.search(r"Collected : (\d+)", result.stderr)
    if not operations or not collected:
        raise RuntimeError(f"{name}: no counts in callgrind's output:\n{result.stderr}")
    return int(collected.group(1)), int(operations.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", type=pathlib.Path)
    parser.add_argument("--json", type=pathlib.Path, required=True, help="where to write them")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    names = subprocess.run([str(args.binary), "--list"], capture_output=True, text=True,
                           check=True).stdout.split()
    per_op = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for name, (instructions, operations) in zip(names, pool.map(
                lambda n: count(args.binary, n), names)):
            per_op[name] = instructions / operations
    args.json.write_text(json.dumps({"instructions_per_op": per_op}, indent=1) + "\n")
    print(f"bench_instructions: {len(per_op)} entries counted under callgrind -> {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
