#!/usr/bin/env python3
"""soak.py: `make soak` boots the interactive kernel across machine configurations and uses its
shell like a person would, to find what the fixed-configuration tests (make test) cannot.

Axes: boot path (PVH -kernel, GRUB ISO under SeaBIOS, the same ISO under OVMF/UEFI), RAM (-m 8M
to 8G), CPUs (-smp 1 and 4) and CPU model (-cpu qemu64, max, Haswell, EPYC, qemu64 without NX).
The full cross product is 300 boots; MATRIX is a covering set instead: every value of each axis
appears at least once, plus combinations that stress each other (8G with 4 CPUs, UEFI without NX).

In each configuration the soak waits for the prompt, types `mem` and `alloc 100` through QMP
send-key (real scancodes through the emulated 8042) and checks the answers. The configurations
marked `stress` then get --stress-seconds of random keys (modifiers, F-keys, keypad, media
keys), each echoed, and printing commands, while a second monitor connection fires NMIs (QMP
inject-nmi and HMP `nmi`, alternately; single ones and bursts) so that they land during output.
The stressed configurations that boot the ISO (it carries the initramfs) also run user/sysfuzz
with a random seed (printed in the note) and SYSFUZZ_ROUNDS rounds: hostile system calls from
forked children; it must end with `sysfuzz: memory and processes back` (`make test` runs one
fixed seed, kernel.shell_run_sysfuzz). Every configuration ends with `echo ok`, which must still answer: a kernel that stops answering
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
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ktest import keys, machine  # noqa: E402
from ktest.cli import serial_tail  # noqa: E402
from ktest.qmp import Qmp, QmpError  # noqa: E402

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


SYSFUZZ_ROUNDS = 300
SYSFUZZ_SECONDS = 240  # 2-4 passes of 300 rounds, 2-10 s each pass under TCG, with room


def sysfuzz_command(config, rng):
    """The `run /bin/sysfuzz SEED ROUNDS` line for a configuration, or None: only stressed ISO
    boots run it (a PVH boot has no initramfs here)."""
    if not config.stress or config.boot == "pvh":
        return None
    return f"run /bin/sysfuzz {rng.randrange(1, 1 << 31)} {SYSFUZZ_ROUNDS}"


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


class NoAnswer(Exception):
    def __init__(self, start, message):
        super().__init__(message)
        self.start = start  # serial offset before the unanswered command


class Session:
    """One configuration's QEMU and the shell in it."""

    def __init__(self, vm, hold_ms=5):
        self.vm = vm
        self.hold_ms = hold_ms

    def type(self, spec, seconds=ANSWER_SECONDS):
        self.give_qmp(seconds)
        try:
            keys.type_keys(self.vm.qmp, keys.parse_key_spec(spec), self.hold_ms, 5,
                           time.monotonic() + seconds)
        except QmpError as error:
            raise SoakFailure(f"typing {spec!r} failed: {error} ({self.gone()})")

    def give_qmp(self, seconds):
        """Each QMP command gets `seconds` to answer. (The connection's deadline was the boot's:
        past it every reply had 0.1 s, and a busy host made a slow send-key look like a hang.)"""
        self.vm.qmp.deadline = time.monotonic() + seconds

    def command(self, line, answer, seconds=ANSWER_SECONDS):
        """Types `line` and Enter; waits for the regex `answer` in what follows."""
        start = self.vm.serial.size()
        self.type(line + "{ret}")
        if self.vm.serial.wait_for_regex(answer, start, time.monotonic() + seconds) is None:
            raise SoakFailure(f"no answer /{answer}/ to `{line}` within {seconds} s "
                              f"({self.gone()})")

    def answers_with_prompt(self, spec, what):
        """Types `spec` (Ctrl+C, a command, Enter) and waits for the two prompts that follow:
        one after ^C, one after the command's answer. Random Caps Lock or Num Lock presses may
        have changed what the command reads like, but any answer ends with a prompt."""
        start = self.vm.serial.size()
        self.type(spec)
        if not self.two_prompts_after(start, ANSWER_SECONDS):
            raise NoAnswer(start, f"no prompt after {what} within {ANSWER_SECONDS} s")

    def two_prompts_after(self, start, seconds):
        deadline = time.monotonic() + seconds
        after_ctrl_c = self.vm.serial.wait_for(PROMPT, start, deadline)
        return (after_ctrl_c is not None
                and self.vm.serial.wait_for(PROMPT, after_ctrl_c, deadline) is not None)

    def after_silence(self, silence, storm):
        """The shell stopped answering while NMIs came: a hang, or starved by the NMIs (each
        one's report takes longer to print than the next NMI takes to arrive)? Stop them and
        give the kernel another ANSWER_SECONDS."""
        if storm:
            storm.stop()
        stopped = time.monotonic()
        if self.vm.running() and self.two_prompts_after(silence.start, ANSWER_SECONDS):
            return (f"{silence}: starved, not hung: it answered "
                    f"{time.monotonic() - stopped:.1f} s after the NMIs stopped")
        return (f"{silence}, nor {ANSWER_SECONDS} s after the NMIs stopped ({self.gone()})")

    def echo_ok(self):
        """`echo ok` must answer `ok`. Random keys may have left Caps Lock on: then the shell
        reads ECHO OK, answers that it does not know ECHO, and one more Caps Lock fixes it."""
        start = self.vm.serial.size()
        self.command("{ctrl+c}echo ok", r"(?i)^ok$|^echo: unknown command")
        if not re.search(r"(?m)^ok$", self.vm.serial.text(start)):
            self.command("{caps}{ctrl+c}echo ok", r"^ok$")

    def gone(self):
        if self.vm.running():
            return "QEMU still running: the kernel hangs"
        return "QEMU exited: " + machine.describe_exit(self.vm.process.returncode,
                                                         self.vm.events())[1]

    def stress(self, seconds, rng, nmi_socket):
        """Random keys (each echoed: console output) and every 1-3 s a printing command, while
        a second thread fires NMIs through its own QMP connection. Returns (keys, NMIs)."""
        storm = NmiStorm(nmi_socket, random.Random(rng.random())) if nmi_socket else None
        started = time.monotonic()
        end = started + seconds
        pressed = 0
        next_noise = time.monotonic() + 1
        try:
            while time.monotonic() < end:
                if not self.vm.running():
                    raise SoakFailure(f"during random keys: {self.gone()}")
                if storm and storm.error:
                    raise SoakFailure(f"NMI injection failed: {storm.error} ({self.gone()})")
                if time.monotonic() >= next_noise:
                    line = rng.choice(NOISY_COMMANDS)
                    try:
                        self.answers_with_prompt("{ctrl+c}" + line + "{ret}",
                                                 f"`{line}` {time.monotonic() - started:.0f} s "
                                                 "into the stress")
                    except NoAnswer as silence:
                        raise SoakFailure(self.after_silence(silence, storm))
                    next_noise = time.monotonic() + rng.uniform(1.0, 3.0)
                    continue
                self.give_qmp(ANSWER_SECONDS)
                try:
                    keys.type_keys(self.vm.qmp, [random_chord(rng)], self.hold_ms, 5,
                                   time.monotonic() + ANSWER_SECONDS)
                except QmpError as error:
                    raise SoakFailure(f"random key failed: {error} ({self.gone()})")
                pressed += 1
        finally:
            if storm:
                storm.stop()
        return pressed, storm.sent if storm else 0


class NmiStorm:
    """A thread that injects NMIs until stopped: single ones 1-20 ms apart and bursts of 5-30,
    alternating QMP inject-nmi and the HMP `nmi` command (both reach every CPU's LAPIC)."""

    def __init__(self, socket_path, rng):
        self.sent = 0
        self.error = None
        self._rng = rng
        self._stopping = threading.Event()
        self._qmp = Qmp(socket_path, time.monotonic() + 10)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        use_hmp = False
        try:
            while not self._stopping.is_set():
                for _ in range(self._rng.randint(5, 30) if self._rng.random() < 0.1 else 1):
                    self._qmp.deadline = time.monotonic() + ANSWER_SECONDS
                    if use_hmp:
                        self._qmp.human_command("nmi")
                    else:
                        self._qmp.execute("inject-nmi")
                    self.sent += 1
                    use_hmp = not use_hmp
                self._stopping.wait(self._rng.uniform(0.001, 0.02))
        except QmpError as error:
            self.error = error

    def stop(self):
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._thread.join(ANSWER_SECONDS + 5)
        self._qmp.close()


def where_it_hangs(vm, build):
    """For a hang: where CPU 0 is (HMP `info registers`: RIP, and the function there)."""
    try:
        vm.qmp.deadline = time.monotonic() + 10
        registers = vm.qmp.human_command("info registers")
    except (QmpError, AttributeError):
        return ""
    rip = re.search(r"RIP=([0-9a-f]+)", registers)
    if not rip:
        return ""
    elf = os.path.join(build, "kernel", "ferrite.elf")
    try:  # -i: the chain of inlined functions, innermost first
        lines = subprocess.run(["addr2line", "-f", "-C", "-i", "-e", elf, "0x" + rip[1]],
                               capture_output=True, text=True, timeout=10).stdout.splitlines()
        where = " inlined in ".join(f"{function} ({os.path.basename(line)})"
                                    for function, line in zip(lines[0::2], lines[1::2]))
    except (OSError, subprocess.SubprocessError):
        where = "?"
    return f"; CPU 0 at RIP {rip[1]} in {where}"


def machine_state(vm):
    """For a hang: the interrupt controllers as QEMU sees them (HMP `info pic`: IRR, ISR and
    IMR of both 8259s; an ISR bit stuck on means an interrupt that never got its EOI)."""
    try:
        vm.qmp.deadline = time.monotonic() + 10
        pic = vm.qmp.human_command("info pic")
    except QmpError:
        return ""
    lines = [line for line in pic.replace("\r", "").split("\n") if line.startswith("pic")]
    return "\n[soak] QEMU `info pic` at the hang:\n" + "\n".join(lines) + "\n"


def image_arguments(config, build, ovmf):
    if config.boot == "pvh":
        return dict(kernel=os.path.join(build, "kernel", "ferrite.elf"))
    return dict(iso=os.path.join(build, "ferrite.iso"), firmware=config.boot, ovmf=ovmf)


def run_config(config, args, rng):
    """Returns (result, note, serial text): result is ok, refused (a clear refusal of too
    little RAM, expected) or FAIL."""
    log = os.path.join(args.log_dir, re.sub(r"[^A-Za-z0-9.-]+", "_", config.name) + ".serial.log")
    sockets = tempfile.TemporaryDirectory(prefix="soak-")
    nmi_socket = os.path.join(sockets.name, "nmi.sock")  # a second monitor for the NMI thread
    command = dict(qemu=args.qemu, memory=config.memory,
                   extra=["-smp", str(config.smp), "-cpu", config.cpu,
                          "-qmp", f"unix:{nmi_socket},server=on,wait=off"],
                   **image_arguments(config, args.build, args.ovmf))
    with sockets, machine.Machine(command, with_qmp=True, serial_log=log) as vm:
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
            fuzz = sysfuzz_command(config, rng)
            if fuzz is not None:
                session.command(fuzz, r"^sysfuzz: memory and processes back", SYSFUZZ_SECONDS)
                note = f"`{fuzz}` ok; "
            if config.stress:
                pressed, nmis = session.stress(args.stress_seconds, rng,
                                               None if args.no_nmi else nmi_socket)
                reported = len(NMI_REPORT.findall(vm.serial.text()))
                note += f"{pressed} random keys, {nmis} NMIs injected, {reported} reported"
            session.echo_ok()
        except (SoakFailure, QmpError) as error:
            where, state = (where_it_hangs(vm, args.build), machine_state(vm)) \
                if vm.running() else ("", "")
            vm.kill()
            return "FAIL", str(error) + where, vm.serial.text() + state
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
    parser.add_argument("--no-nmi", action="store_true",
                        help="random keys and commands only, no NMIs (to tell a hang's cause)")
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
