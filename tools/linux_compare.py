#!/usr/bin/env python3
"""The same program's output under ferrite and under Linux 6.1, line for line (chapter 15).

user/proctest.c exercises fork/exec/wait, pipes, dup2, fcntl, poll/select, signals, process
groups and the tmpfs, printing what it observes as `name: values` lines with no PIDs, addresses
or timings in them. This boots it as init, in QEMU, under
  - Debian's Linux 6.1 cloud kernel (the one `make bench` fetches, tools/linux_boot.py), as /init
    of an initramfs of its own (busybox, /bin/proctest, /dev/console, an empty /tmp), and
  - ferrite (`-kernel ferrite.elf -initrd ... -append init=/bin/proctest`),
keeps the lines from "proctest: start" to "proctest: done" and compares them. Linux's lines are
committed in tests/expected/proctest.linux.txt, so that `make test` checks ferrite against them
without downloading Linux:

    tools/linux_compare.py --build build            # Linux vs the file, ferrite vs Linux (make bench)
    tools/linux_compare.py --build build --update   # rewrite the file from a Linux run
    tools/linux_compare.py --ferrite-only --kernel K --initramfs I   # ferrite vs the file (CTest)

Exit status 0 when every comparison made is identical, 1 otherwise (a unified diff is printed).
The checks in PENDING (below) are known differences, left out of the ferrite comparison and
printed on each run until the kernel code they name is fixed.
"""
import argparse
import difflib
import pathlib
import re
import subprocess
import sys

import linux_boot

REPO = pathlib.Path(__file__).resolve().parent.parent
EXPECTED = REPO / "tests" / "expected" / "proctest.linux.txt"
START, DONE = "proctest: start", "proctest: done"
# What ferrite's kernel itself writes on the console while the program runs: reports of a
# process killed by a signal (the program reports the same death through wait's status) and of
# an unimplemented system call. Linux prints its own such reports at KERN_INFO, which `quiet`
# keeps off the console. They are set aside and shown, not compared.
KERNEL_LINES = (
    re.compile(r"^\S+: killed by SIG[A-Z0-9]+( \(address 0x[0-9a-f]+, rip 0x[0-9a-f]+\))?$"),
    re.compile(r"^syscall: .* is not implemented"),
)

# Checks on which ferrite still differs from Linux, each with the code that has to change, kept
# out of the ferrite comparison until it is fixed (their lines stay in the program and in the
# expected file, and Linux is still compared on them). Each run prints both sides of each; take
# an entry out when ferrite prints Linux's line.
PENDING = {
}


def key(line):
    return line.split(":", 1)[0]


def without_pending(expected, actual):
    """Both lists without the PENDING checks' lines; prints what each side had for them."""
    for name, why in PENDING.items():
        theirs = [line for line in expected if key(line) == name]
        ours = [line for line in actual if key(line) == name]
        state = "now matches Linux: take it off PENDING" if theirs == ours else "differs"
        print(f"linux_compare: not compared, pending: {name} ({why}): {state}")
        if theirs != ours:
            for line in theirs:
                print(f"    Linux:   {line}")
            for line in ours:
                print(f"    ferrite: {line}")
    return ([line for line in expected if key(line) not in PENDING],
            [line for line in actual if key(line) not in PENDING])


INCOMPLETE = "[the run ended here, without \"proctest: done\"]"


def program_lines(text):
    """(the program's lines from START to DONE, the kernel's lines among them). The lines are
    None if START never came (the run did not start); if DONE never came (it died or hung) they
    end with INCOMPLETE, so that the diff shows how far it got."""
    lines = [line.rstrip("\r") for line in text.replace("\r\n", "\n").split("\n")]
    if START not in lines:
        return None, []
    kept, kernel = [], []
    for line in lines[lines.index(START):]:
        if any(pattern.match(line) for pattern in KERNEL_LINES):
            kernel.append(line)
            continue
        if line.startswith("[timed out after") or line.startswith("[saw "):  # linux_boot's notes
            continue
        kept.append(line)
        if line == DONE:
            return kept, kernel
    while kept and kept[-1] == "":
        kept.pop()
    return kept + [INCOMPLETE], kernel


def read_expected(path: pathlib.Path):
    """The committed lines, without the '#' header."""
    return [line for line in path.read_text().splitlines() if not line.startswith("#")]


def write_expected(path: pathlib.Path, lines, version):
    header = [
        f"# user/proctest's output as /init under Linux {version} (Debian's cloud kernel,",
        "# qemu-system-x86_64 -m 256M), from \"proctest: start\" to \"proctest: done\".",
        "# Written by `tools/linux_compare.py --update`; ferrite's output must equal it line for",
        "# line (CTest kernel.proctest_matches_linux). Do not edit by hand: re-run --update.",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(header + lines) + "\n")


def differ(expected, actual, expected_name, actual_name):
    """Prints a unified diff; True if there is any difference."""
    diff = list(difflib.unified_diff(expected, actual, expected_name, actual_name, lineterm=""))
    for line in diff:
        print(line)
    return bool(diff)


def make_initramfs(build: pathlib.Path, out: pathlib.Path) -> pathlib.Path:
    """The initramfs both kernels boot here: busybox, /bin/proctest and /init = proctest."""
    proctest = build / "user" / "proctest"
    if not proctest.exists():
        raise SystemExit(f"linux_compare: {proctest} not built (cmake --build {build} --target initramfs)")
    busybox = next((p for p in ("/bin/busybox", "/usr/bin/busybox") if pathlib.Path(p).exists()), None)
    if busybox is None:
        raise SystemExit("linux_compare: busybox not found: run tools/setup.sh")
    initramfs = out / "proctest-initramfs.cpio"
    subprocess.run([sys.executable, str(REPO / "tools" / "mkinitramfs.py"), "--output",
                    str(initramfs), "--busybox", busybox, "--program", str(proctest),
                    "--init", str(proctest)], check=True)
    return initramfs


def run_ferrite(kernel, initramfs, timeout, log):
    text = linux_boot.boot(kernel, initramfs, "init=/bin/proctest", timeout, log,
                           give_up_on="ferrite> ", icount=False)
    lines, kernel_lines = program_lines(text)
    for line in kernel_lines:
        print(f"linux_compare: ferrite's kernel said (not compared): {line}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", type=pathlib.Path)
    parser.add_argument("--expected", default=EXPECTED, type=pathlib.Path)
    parser.add_argument("--update", action="store_true",
                        help="boot Linux and write its output to --expected")
    parser.add_argument("--ferrite-only", action="store_true",
                        help="boot only ferrite and compare it with --expected (no Linux needed)")
    parser.add_argument("--kernel", type=pathlib.Path, help="ferrite.elf (default: <build>/kernel/ferrite.elf)")
    parser.add_argument("--initramfs", type=pathlib.Path,
                        help="for --ferrite-only: an initramfs holding /bin/proctest and busybox")
    parser.add_argument("--log", type=pathlib.Path, help="for --ferrite-only: where the serial log goes")
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args()
    out = args.build / "bench"
    kernel = args.kernel or args.build / "kernel" / "ferrite.elf"

    if not (args.ferrite_only and args.initramfs and args.log):
        out.mkdir(parents=True, exist_ok=True)
    if args.ferrite_only:
        initramfs = args.initramfs or make_initramfs(args.build, out)
        log = args.log or out / "proctest-ferrite.log"
        ferrite = run_ferrite(kernel, initramfs, args.timeout, log)
        if ferrite is None:
            print(f"linux_compare: ferrite never printed {START!r}; serial log: {log}")
            return 1
        expected, ferrite = without_pending(read_expected(args.expected), ferrite)
        if differ(expected, ferrite, f"Linux ({args.expected.name})", "ferrite"):
            print(f"linux_compare: ferrite's output differs from Linux's (above: - Linux, + ferrite); "
                  f"serial log: {log}")
            return 1
        print(f"linux_compare: ferrite's lines are Linux's ({len(PENDING)} pending checks not compared)")
        return 0

    initramfs = make_initramfs(args.build, out)
    vmlinuz = linux_boot.fetch_linux(linux_boot.linux_directory(args.build), who="linux_compare")
    version = linux_boot.linux_version(vmlinuz)
    linux_log = out / "proctest-linux.log"
    print(f"linux_compare: proctest as /init under Linux {version}", flush=True)
    linux, _ = program_lines(linux_boot.boot(vmlinuz, initramfs, linux_boot.LINUX_APPEND,
                                             args.timeout, linux_log, icount=False))
    if linux is None:
        print(f"linux_compare: Linux never printed {START!r}; serial log: {linux_log}")
        return 1
    if linux[-1] == INCOMPLETE:
        print(f"linux_compare: Linux never printed {DONE!r}; serial log: {linux_log}")
        return 1
    if args.update:
        write_expected(args.expected, linux, version)
        print(f"linux_compare: wrote {len(linux)} lines to {args.expected}")
        return 0

    failed = False
    if differ(read_expected(args.expected), linux, f"committed ({args.expected.name})", f"Linux {version}"):
        print("linux_compare: LINUX'S OUTPUT NO LONGER MATCHES THE COMMITTED FILE (above: - file, + "
              "Linux): proctest or the kernel changed; check, then run tools/linux_compare.py --update")
        failed = True
    else:
        print(f"linux_compare: Linux's {len(linux)} lines are the committed ones")

    print("linux_compare: proctest as init under ferrite", flush=True)
    ferrite_log = out / "proctest-ferrite.log"
    ferrite = run_ferrite(kernel, initramfs, args.timeout, ferrite_log)
    if ferrite is None:
        print(f"linux_compare: ferrite never printed {START!r}; serial log: {ferrite_log}")
        failed = True
    elif differ(*without_pending(linux, ferrite), f"Linux {version}", "ferrite"):
        print(f"linux_compare: ferrite differs from Linux (above: - Linux, + ferrite); logs in {out}/proctest-*.log")
        failed = True
    else:
        print(f"linux_compare: ferrite's lines are Linux's ({len(PENDING)} pending checks not compared)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
