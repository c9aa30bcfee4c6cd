#!/usr/bin/env python3
"""lint.py: `make lint` runs clang-tidy (the checks in .clang-tidy) over the kernel and portable
sources, using the compile commands CMake writes to <build>/compile_commands.json.

The kernel is compiled by GCC 12; clang-tidy is clang 14, which does not know every GCC flag
and spelling. So each command is adapted first (ADAPT below says why for each change) and
written to <build>/lint/compile_commands.json. Every source under kernel/ is checked once, with
its kernel (freestanding) command when it has one; headers under kernel/ are checked through
the sources that include them, and each finding is reported once.

Exit status: 0 no findings, 1 findings (or clang-tidy could not parse a file), 2 bad usage.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# GCC-only flags clang rejects ("unknown argument"): optimiser switches that change no meaning.
GCC_ONLY = {"-fno-tree-loop-distribute-patterns"}
# Flags that only choose the generated instructions, dropped because clang 14 turns them into
# errors in headers we do not own: with -mno-80387 it has no `long double`, and rejects every
# libstdc++ declaration that mentions one (std::atomic<long double>, std::stold, std::to_string),
# which <atomic> and <string> make in every file. clang-tidy generates no code, so nothing is
# lost: GCC still builds the kernel with the flag, and tools/check_no_fpu.py checks the binary.
CODE_GENERATION_ONLY = {"-mno-80387"}
ADAPT = [
    # Clang 14 spells C++23 "c++2b" ("gnu++23" arrived in clang 17).
    ("-std=gnu++23", "-std=gnu++2b"),
]
# What clang 14 needs to read code that GCC 12 and its libstdc++ accept. Each works around a
# clang 14 limit, not a fault in our code (GCC still compiles and checks everything):
EXTRA_ARGS = [
    # libstdc++ 12 declares std::expected only when __cpp_concepts >= 202002L; clang 14
    # implements what <expected> uses but still says 201907L ("no template named 'expected'").
    "-D__cpp_concepts=202002L", "-Wno-macro-redefined",
    # std::source_location needs a builtin clang 14 lacks: tools/lint_compat.h stands in.
    "-include", os.path.join(REPO, "tools", "lint_compat.h"),
    # GCC enables sized deallocation in C++14 and later; clang 14 only on request, and without it
    # libstdc++ hides the sized operator delete our coroutine frames call.
    "-fsized-deallocation",
    # Clang 14 refuses constinit on arrays of trivial structs left default-initialised (zero in
    # .bss: constant initialisation, which GCC verifies). Dropped for the lint only.
    "-Dconstinit=",
    # runtime.cpp defines abort() and std::__throw_*() [[noreturn]] where libc/libstdc++ first
    # declared them with __attribute__((noreturn)); clang 14 calls that an error, GCC does not.
    # [[gnu::noreturn]] means the same without that rule.
    "-Dnoreturn=gnu::noreturn",
    "-Wno-unknown-warning-option",
]
# Errors that are clang 14's limits, not faults in our code, recognised by the whole report
# (message and notes), so that nothing else is ever hidden: each is matched narrowly.
CLANG14_LIMITS = [
    # libstdc++ 12's std::expected declares two destructors, a defaulted one for trivially
    # destructible types and a constrained user-provided one (P0848, conditionally trivial special
    # members). Clang implements P0848 from version 16; clang 14 takes the first and calls every
    # std::expected<T, E> with a non-trivial T (fs::Tree) undestructible. GCC compiles it.
    ("attempt to use a deleted function",
     re.compile(r"note: destructor of 'expected<.*' is implicitly deleted because variant field "
                r"'_M_(val|unex)' has a non-trivial destructor")),
]
FINDING = re.compile(r"^(?P<file>/[^:]+):(?P<line>\d+):(?P<column>\d+): "
                     r"(?P<kind>warning|error): (?P<message>.*)$")


def adapt(command):
    arguments = [a for a in shlex.split(command)
                 if a not in GCC_ONLY and a not in CODE_GENERATION_ONLY]
    for old, new in ADAPT:
        arguments = [new if a == old else a for a in arguments]
    return arguments[:1] + EXTRA_ARGS + arguments[1:]


def select_entries(database, source_root):
    """One entry per C++ source under source_root; the kernel's command wins over the host's."""
    chosen = {}
    for entry in database:
        path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
        if not path.startswith(source_root + os.sep) or not path.endswith(".cpp"):
            continue
        is_kernel = "-DFERRITE_KERNEL=1" in entry.get("command", "")
        if path not in chosen or is_kernel:
            chosen[path] = dict(entry, file=path)
    return [chosen[path] for path in sorted(chosen)]


def run_clang_tidy(clang_tidy, lint_dir, path, header_filter):
    result = subprocess.run([clang_tidy, "-p", lint_dir, "--quiet",
                             f"--header-filter={header_filter}", path],
                            capture_output=True, text=True)
    return path, result.returncode, result.stdout, result.stderr


def parse_findings(output):
    """clang-tidy's report -> {(file, line, column, message): the report's lines}."""
    findings, current = {}, None
    for line in output.splitlines():
        match = FINDING.match(line)
        if match:
            key = (match["file"], int(match["line"]), int(match["column"]), match["message"])
            current = None if key in findings else findings.setdefault(key, [])
            if current is not None:
                current.append(line)
        elif current is not None and not re.match(r"^\d+ warnings? generated", line):
            current.append(line)
    return findings


def is_clang14_limit(key, lines):
    """Whether a finding is one of CLANG14_LIMITS."""
    message = key[3]
    report = "\n".join(lines)
    return any(message.startswith(start) and note.search(report)
               for start, note in CLANG14_LIMITS)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build", help="the CMake build directory (build)")
    parser.add_argument("--clang-tidy", default=os.environ.get("CLANG_TIDY") or
                        shutil.which("clang-tidy-14") or shutil.which("clang-tidy") or
                        "clang-tidy")
    parser.add_argument("--jobs", "-j", type=int, default=2)
    parser.add_argument("files", nargs="*", help="only these sources (default: all of kernel/)")
    args = parser.parse_args(argv)

    database_path = os.path.join(args.build, "compile_commands.json")
    if not os.path.isfile(database_path):
        print(f"lint: {database_path} not found: configure first (cmake --preset default)",
              file=sys.stderr)
        return 2
    with open(database_path) as database_file:
        database = json.load(database_file)
    source_root = os.path.join(REPO, "kernel")
    entries = select_entries(database, source_root)
    if args.files:
        wanted = {os.path.abspath(f) for f in args.files}
        entries = [e for e in entries if e["file"] in wanted]
    lint_dir = os.path.join(args.build, "lint")
    os.makedirs(lint_dir, exist_ok=True)
    adapted = [{"directory": e["directory"], "file": e["file"],
                "arguments": adapt(e["command"]) if "command" in e else e["arguments"]}
               for e in entries]
    with open(os.path.join(lint_dir, "compile_commands.json"), "w") as out:
        json.dump(adapted, out, indent=1)

    header_filter = "^" + re.escape(source_root + os.sep)
    print(f"lint: clang-tidy over {len(entries)} sources in kernel/ (.clang-tidy), "
          f"{args.jobs} at a time")
    findings, broken, limits = {}, [], set()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        jobs = [pool.submit(run_clang_tidy, args.clang_tidy, lint_dir, e["file"], header_filter)
                for e in entries]
        for job in concurrent.futures.as_completed(jobs):
            path, status, stdout, stderr = job.result()
            found = parse_findings(stdout)
            for key, lines in found.items():
                if is_clang14_limit(key, lines):
                    limits.add(key)
                else:
                    findings.setdefault(key, lines)
            if status != 0 and not found:
                broken.append((path, (stderr or stdout).strip()))
    if limits:
        print(f"lint: {len(limits)} errors left out that are clang 14's limits (CLANG14_LIMITS): " +
              ", ".join(f"{os.path.relpath(k[0], REPO)}:{k[1]}" for k in sorted(limits)))
    for key in sorted(findings):
        print("\n".join(findings[key]))
    for path, message in broken:
        print(f"lint: clang-tidy failed on {os.path.relpath(path, REPO)}:\n{message}")
    if findings or broken:
        print(f"lint: {len(findings)} findings" + (f", {len(broken)} files not checked"
                                                    if broken else ""))
        return 1
    print("lint: no findings")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
