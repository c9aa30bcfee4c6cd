#!/usr/bin/env python3
"""soak.py: `make soak` boots the interactive kernel across machine configurations and uses its
shell like a person would, to find what the fixed-configuration tests (make test) cannot.

Axes: boot path (PVH -kernel, GRUB ISO under SeaBIOS, the same ISO under OVMF/UEFI), RAM (-m 8M
to 8G), CPUs (-smp 1 and 4) and CPU model (-cpu qemu64, max, Haswell, EPYC, qemu64 without NX).
The full cross product is 300 boots; MATRIX is a covering set instead: every value of each axis
appears at least once, plus combinations that stress each other (8G with 4 CPUs, UEFI without NX).

In each configuration the soak waits for the prompt, types `mem` and `alloc 100` through QMP
send-key (real scancodes through the emulated 8042) and checks the answers. The configurations
marked `stress` then get STRESS seconds of random keys (modifiers, F-keys, keypad, media keys)
and bursts of NMIs (QMP inject-nmi and HMP `nmi`, alternately) fired while the shell prints.
Every configuration ends with `echo ok`, which must still answer: a kernel that stops answering
is reported as a hang (a timeout), as are a panic, an unexpected exception or a reset.

A tiny RAM size may be refused by the kernel; that counts as an expected outcome only when the
kernel says so clearly (REFUSAL below), otherwise it is a failure.

Output: a table (configuration, result, seconds, note), the serial tail of each failure, and
every serial log in <build>/soak/. Exit status: 0 when nothing failed, 1 otherwise, 2 bad usage.
"""

import argparse
import os
import random
import re
import sys
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ktest import keys, machine  # noqa: E402
from ktest.cli import serial_tail  # noqa: E402
from ktest.qmp import QmpError  # noqa: E402

PROMPT = "ferrite> "
# A clear refusal of too little memory: the kernel names memory and says it is not enough.
REFUSAL = re.compile(r"(?im)^.*(memory|RAM|MiB).*(too small|too little|not enough|at least|"
                     r"insufficient|need).*$")
# An NMI is reported and returned from (exceptions.cpp); every other exception, and any panic,
# is a failure here.
FORBIDDEN = re.compile(r"(?m)KERNEL PANIC.*$|EXCEPTION: (?!Non-Maskable)(?!NMI).*$")
NMI_REPORT = re.compile(r"EXCEPTION: (Non-Maskable|NMI)")

BOOT_SECONDS = {"pvh": 60, "bios": 60, "uefi": 120}  # to the prompt, on a busy 2-core machine
ANSWER_SECONDS = 20  # for one shell command to answer; longer means the kernel hangs


@dataclass(frozen=True)
class Config:
    boot: str  # pvh, bios, uefi
    memory: str
    smp: int
    cpu: str
    stress: bool = False

    @property
    def name(self):
        return (f"{self.boot} -m {self.memory} -smp {self.smp} -cpu {self.cpu}"
                + (" +stress" if self.stress else ""))


MEMORY_SIZES = ["8M", "32M", "128M", "512M", "1G", "4G", "8G"]
CPU_MODELS = ["qemu64", "max", "Haswell", "EPYC", "qemu64,-nx"]
MATRIX = [
    Config("pvh", "8M", 1, "qemu64"),  # the smallest: may be refused, clearly
    Config("pvh", "32M", 4, "qemu64,-nx"),
    Config("pvh", "128M", 4, "max", stress=True),
    Config("pvh", "1G", 1, "Haswell"),
    Config("pvh", "4G", 4, "EPYC"),  # RAM above and below the PCI hole at 3.5 GiB
    Config("pvh", "8G", 1, "qemu64,-nx"),
    Config("bios", "32M", 1, "EPYC"),
    Config("bios", "128M", 1, "qemu64", stress=True),
    Config("bios", "512M", 4, "qemu64,-nx"),
    Config("bios", "8G", 4, "Haswell"),
    Config("uefi", "128M", 1, "qemu64,-nx"),
    Config("uefi", "512M", 4, "max", stress=True),
    Config("uefi", "1G", 4, "Haswell"),
    Config("uefi", "8G", 1, "EPYC"),
]

# Keys the random phase presses: never Enter on the main keyboard alone with a letter word
# (a random `reboot` or `panic` is not what we test); the keypad Enter runs whatever garbage
# is on the line, which is welcome: an "unknown command" answer is output during the NMIs.
RANDOM_KEYS = (keys.FUNCTION_KEYS + keys.KEYPAD + keys.MEDIA_KEYS
               + "esc tab backspace left right up down home end pgup pgdn insert delete "
                 "caps_lock scroll_lock sysrq pause menu less".split()
               + list("abcdefghijklmnopqrstuvwxyz0123456789"))
# Commands that print while the NMIs arrive (each answers in well under a second).
NOISY_COMMANDS = ["help", "mem", "alloc 300", "tasks", "keys", "uptime"]


def random_chord(rng):
    """0-2 modifiers held around one random key: one QMP send-key."""
    modifiers = rng.sample(keys.MODIFIERS, rng.choice([0, 0, 1, 1, 2]))
    return ("tap", modifiers + [rng.choice(RANDOM_KEYS)])


def classify_early_end(serial_text):
    """QEMU ended (or hung) before the prompt: a clear refusal of too little memory, or not."""
    match = REFUSAL.search(serial_text)
    return match.group(0).strip() if match else None


class SoakFailure(Exception):
    pass


class Session:
    """One configuration's QEMU and the shell in it."""

    def __init__(self, vm, hold_ms=5):
        self.vm = vm
        self.hold_ms = hold_ms

    def type(self, spec, seconds=ANSWER_SECONDS):
        try:
            keys.type_keys(self.vm.qmp, keys.parse_key_spec(spec), self.hold_ms, 5,
                           time.monotonic() + seconds)
        except QmpError as error:
            raise SoakFailure(f"typing {spec!r} failed: {error} ({self.gone()})")

    def command(self, line, answer, seconds=ANSWER_SECONDS):
        """Types `line` and Enter; waits for the regex `answer` in what follows."""
        start = self.vm.serial.size()
        self.type(line + "{ret}")
        if self.vm.serial.wait_for_regex(answer, start, time.monotonic() + seconds) is None:
            raise SoakFailure(f"no answer /{answer}/ to `{line}` within {seconds} s "
                              f"({self.gone()})")

    def gone(self):
        if self.vm.running():
            return "QEMU still running: the kernel hangs"
        return "QEMU exited: " + machine.describe_exit(self.vm.process.returncode,
                                                         self.vm.events())[1]

    def nmi_burst(self, count, use_hmp):
        for _ in range(count):
            try:
                if use_hmp:
                    self.vm.qmp.human_command("nmi")
                else:
                    self.vm.qmp.execute("inject-nmi")
            except QmpError as error:
                raise SoakFailure(f"NMI injection failed: {error} ({self.gone()})")
            time.sleep(0.002)

    def stress(self, seconds, rng):
        """Random keys, and every ~2 s a printing command with an NMI burst during its output.
        Returns (keys pressed, NMIs injected)."""
        end = time.monotonic() + seconds
        pressed = nmis = 0
        next_noise = time.monotonic() + 1
        use_hmp = False
        while time.monotonic() < end:
            if not self.vm.running():
                raise SoakFailure(f"during random keys: {self.gone()}")
            if time.monotonic() >= next_noise:
                self.type("{ctrl+c}" + rng.choice(NOISY_COMMANDS) + "{ret}")
                time.sleep(0.05)  # the command is running and printing now
                count = rng.randint(5, 30)
                self.nmi_burst(count, use_hmp)
                nmis += count
                use_hmp = not use_hmp
                next_noise = time.monotonic() + rng.uniform(1.0, 3.0)
            else:
                try:
                    keys.type_keys(self.vm.qmp, [random_chord(rng)], self.hold_ms, 5,
                                   time.monotonic() + ANSWER_SECONDS)
                except QmpError as error:
                    raise SoakFailure(f"random key failed: {error} ({self.gone()})")
                pressed += 1
        return pressed, nmis


def image_arguments(config, build, ovmf):
    if config.boot == "pvh":
        return dict(kernel=os.path.join(build, "kernel", "ferrite.elf"))
    return dict(iso=os.path.join(build, "ferrite.iso"), firmware=config.boot, ovmf=ovmf)


def run_config(config, args, rng):
    """Returns (result, note, serial text): result is ok, refused (a clear refusal of too
    little RAM, expected) or FAIL."""
    log = os.path.join(args.log_dir, re.sub(r"[^A-Za-z0-9.-]+", "_", config.name) + ".serial.log")
    command = dict(qemu=args.qemu, memory=config.memory,
                   extra=["-smp", str(config.smp), "-cpu", config.cpu],
                   **image_arguments(config, args.build, args.ovmf))
    with machine.Machine(command, with_qmp=True, serial_log=log) as vm:
        session = Session(vm)
        try:
            boot_deadline = time.monotonic() + BOOT_SECONDS[config.boot]
            vm.connect_qmp(boot_deadline)
            if vm.serial.wait_for(PROMPT, 0, boot_deadline) is None:
                refusal = classify_early_end(vm.serial.text())
                state = session.gone()
                vm.kill()
                if refusal:
                    return "refused", f"{refusal!r} ({state})", vm.serial.text()
                return "FAIL", f"no prompt within {BOOT_SECONDS[config.boot]} s ({state})", \
                    vm.serial.text()
            session.command("mem", r"^frames: [0-9]+ total, [0-9]+ used")
            session.command("alloc 100", r"^alloc: 100 of 100 blocks, .* 0 corrupted, .*\(ok\)")
            note = ""
            if config.stress:
                pressed, nmis = session.stress(args.stress_seconds, rng)
                reported = len(NMI_REPORT.findall(vm.serial.text()))
                note = f"{pressed} random keys, {nmis} NMIs injected, {reported} reported"
            session.command("{ctrl+c}echo ok", r"^ok$")
        except (SoakFailure, QmpError) as error:
            vm.kill()
            return "FAIL", str(error), vm.serial.text()
        vm.kill()
    text = vm.serial.text()
    forbidden = FORBIDDEN.search(text)
    if forbidden:
        return "FAIL", f"serial shows {forbidden.group(0).strip()!r}", text
    return "ok", note, text


def print_table(rows):
    width = max(len(row[0]) for row in rows)
    print(f"{'configuration':<{width}}  {'result':<7}  {'seconds':>7}  note")
    for name, result, seconds, note in rows:
        print(f"{name:<{width}}  {result:<7}  {seconds:7.1f}  {note}")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build", help="the CMake build directory (build)")
    parser.add_argument("--stress-seconds", type=float, default=60,
                        help="random keys + NMIs per stress configuration (default: 60)")
    parser.add_argument("--only", metavar="REGEX",
                        help="run only the configurations whose name matches")
    parser.add_argument("--list", action="store_true", help="list the configurations and exit")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed (default: time; printed, so a run can be repeated)")
    parser.add_argument("--log-dir", help="serial logs (default: <build>/soak)")
    parser.add_argument("--qemu", default=os.environ.get("QEMU", "qemu-system-x86_64"))
    parser.add_argument("--ovmf", default=os.environ.get("FERRITE_OVMF", machine.DEFAULT_OVMF))
    args = parser.parse_args(argv)
    args.log_dir = args.log_dir or os.path.join(args.build, "soak")
    if args.seed is None:
        args.seed = int(time.time())
    return args


def main(argv):
    args = parse_arguments(argv)
    configs = [c for c in MATRIX if not args.only or re.search(args.only, c.name)]
    if args.list or not configs:
        for config in configs:
            print(config.name)
        return 0 if configs else 2
    for needed in (os.path.join(args.build, "kernel", "ferrite.elf"),
                   os.path.join(args.build, "ferrite.iso")):
        if not os.path.isfile(needed):
            print(f"soak: {needed} not found (make soak builds it)", file=sys.stderr)
            return 2
    os.makedirs(args.log_dir, exist_ok=True)
    print(f"soak: {len(configs)} configurations, {args.stress_seconds:g} s of stress in "
          f"{sum(c.stress for c in configs)}, seed {args.seed}; serial logs in {args.log_dir}/")
    rng = random.Random(args.seed)
    rows, failures = [], []
    for config in configs:
        started = time.monotonic()
        result, note, text = run_config(config, args, rng)
        seconds = time.monotonic() - started
        rows.append((config.name, result, seconds, note))
        print(f"  {result:<7} {seconds:6.1f} s  {config.name}  {note}", flush=True)
        if result == "FAIL":
            failures.append((config.name, text))
    print()
    print_table(rows)
    for name, text in failures:
        shown, total = serial_tail(text, 15)
        print(f"\n---- {name}: serial output, last {len(shown)} of {total} lines ----")
        for line in shown:
            print(f"  | {line}")
    print(f"\nsoak: {len(rows) - len(failures)} of {len(rows)} configurations passed "
          f"({sum(r[1] == 'refused' for r in rows)} refused as expected), "
          f"{sum(r[2] for r in rows):.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
