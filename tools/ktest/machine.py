"""One QEMU running a ferrite image: its command line, the serial capture, the QMP monitor, and
what its exit status means.

A kernel test image reports its result by writing to QEMU's isa-debug-exit device (port 0xf4):
0x10 means success and 0x11 failure; QEMU then exits with status (value << 1) | 1, i.e. 33 or 35
(ARCHITECTURE.md, "QEMU conventions"). With -no-reboot a reset or triple fault ends QEMU with 0.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading

from .qmp import Qmp
from .serial import SerialCapture

EXIT_SUCCESS = (0x10 << 1) | 1  # 33
EXIT_FAILURE = (0x11 << 1) | 1  # 35
DEFAULT_OVMF = "/usr/share/ovmf/OVMF.fd"

# --expect-exit -> the outcomes of describe_exit() it accepts.
ACCEPTED_OUTCOMES = {"success": ["success"], "failure": ["failure"], "shutdown": ["shutdown"],
                     "any": ["success", "failure"]}


def qemu_command(qemu="qemu-system-x86_64", kernel=None, append=None, iso=None,
                 firmware="bios", ovmf=DEFAULT_OVMF, memory="128M", icount=False,
                 qmp_path=None, extra=()):
    """The QEMU command line: no display, COM1 on stdio, the debug-exit device, and either the
    ELF booted with -kernel (PVH) or the ISO from a CD-ROM under SeaBIOS or OVMF."""
    command = [qemu, "-display", "none", "-monitor", "none", "-serial", "stdio",
               "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
               "-m", memory]
    if kernel:
        command += ["-kernel", kernel]
        if append:
            command += ["-append", append]
    else:
        if firmware == "uefi":
            command += ["-bios", ovmf]
        command += ["-cdrom", iso, "-boot", "d"]
    if icount:
        command += ["-icount", "shift=0,sleep=off"]
    if qmp_path:
        command += ["-qmp", f"unix:{qmp_path},server=on,wait=off"]
    return command + list(extra)


def describe_exit(status, qmp_events=()):
    """Returns (outcome, human description) for QEMU's exit status. Outcomes: success, failure,
    shutdown (ACPI power-off, known from QMP's SHUTDOWN event), reset, killed, other, qemu-error."""
    if status == EXIT_SUCCESS:
        return "success", "success (debug-exit 0x10)"
    if status == EXIT_FAILURE:
        return "failure", "failure (debug-exit 0x11)"
    if status == 0:
        reasons = [e["data"].get("reason") for e in qmp_events if e.get("event") == "SHUTDOWN"]
        if reasons and reasons[-1] == "guest-shutdown":
            return "shutdown", "ACPI power-off by the guest (QEMU exited with 0)"
        detail = f", QMP shutdown reason: {reasons[-1]}" if reasons else ""
        return "reset", f"reset/triple fault (QEMU exited with 0 and no debug-exit{detail})"
    if status < 0:
        return "killed", f"QEMU killed by signal {-status}"
    if status & 1 and status > 1:
        return "other", f"debug-exit with unexpected value {status >> 1:#x} (status {status})"
    return "qemu-error", f"QEMU failed to run (status {status})"


class Machine:
    """A running QEMU: `serial` captures COM1, `qmp` is the monitor (when asked for), `process`
    the QEMU process. Use as a context manager: leaving it always ends QEMU and cleans up."""

    def __init__(self, command_args, with_qmp=False, serial_log=None, verbose=False):
        """command_args: keyword arguments of qemu_command() except qmp_path."""
        self.workdir = tempfile.mkdtemp(prefix="ktest-")
        qmp_path = os.path.join(self.workdir, "qmp.sock") if with_qmp else None
        self.command = qemu_command(qmp_path=qmp_path, **command_args)
        if verbose:
            print("ktest: " + " ".join(self.command), file=sys.stderr)
        try:
            self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        self.serial = SerialCapture(self.process.stdout, serial_log)
        self._stderr_chunks = []
        self._stderr_thread = threading.Thread(
            target=lambda: self._stderr_chunks.append(self.process.stderr.read()), daemon=True)
        self._stderr_thread.start()
        self.qmp = None
        self.qmp_path = qmp_path

    def connect_qmp(self, deadline):
        """Connects to the monitor; raises QmpError if QEMU never offers it."""
        self.qmp = Qmp(self.qmp_path, deadline, qemu_running=self.running)
        return self.qmp

    def running(self):
        return self.process.poll() is None

    def send_serial(self, data):
        """Bytes to the guest's COM1 input (QEMU's stdin)."""
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except OSError:
            pass

    def wait(self, timeout):
        """Waits for QEMU to exit; True if it did, False on timeout."""
        try:
            self.process.wait(timeout=max(0.0, timeout))
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stderr(self):
        return b"".join(self._stderr_chunks).decode("utf-8", errors="replace").strip()

    def close(self):
        """Ends QEMU if still running (never leak it), collects what is left, removes files."""
        self.kill()
        self.serial.finish()
        self._stderr_thread.join(5)
        if self.qmp:
            self.qmp.collect_events()
            self.qmp.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def events(self):
        return self.qmp.events if self.qmp else []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
