"""Unit tests of tools/ktest/machine.py and cli.py: QEMU's command line, what its exit status
means, and whole judged runs against a fake QEMU (a script that prints and exits)."""

import contextlib
import io
import os
import stat
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ktest import cli, machine  # noqa: E402


class ExitStatus(unittest.TestCase):
    def test_debug_exit_values(self):
        self.assertEqual(machine.describe_exit(33)[0], "success")
        self.assertEqual(machine.describe_exit(35)[0], "failure")
        self.assertEqual(machine.describe_exit(7),
                         ("other", "debug-exit with unexpected value 0x3 (status 7)"))

    def test_status_zero_is_a_power_off_only_when_qmp_says_so(self):
        shutdown = [{"event": "SHUTDOWN", "data": {"guest": True, "reason": "guest-shutdown"}}]
        reset = [{"event": "SHUTDOWN", "data": {"guest": True, "reason": "guest-reset"}}]
        self.assertEqual(machine.describe_exit(0, shutdown)[0], "shutdown")
        self.assertEqual(machine.describe_exit(0)[0], "reset")
        self.assertIn("QMP shutdown reason: guest-reset", machine.describe_exit(0, reset)[1])

    def test_signals_and_qemu_errors(self):
        self.assertEqual(machine.describe_exit(-9), ("killed", "QEMU killed by signal 9"))
        self.assertEqual(machine.describe_exit(1)[0], "qemu-error")
        self.assertEqual(machine.describe_exit(2)[0], "qemu-error")

    def test_accepted_outcomes(self):
        self.assertEqual(machine.ACCEPTED_OUTCOMES["any"], ["success", "failure"])


class CommandLine(unittest.TestCase):
    def test_pvh_with_command_line_and_qmp(self):
        command = machine.qemu_command(kernel="k.elf", append="quiet", memory="8G",
                                       qmp_path="/tmp/q.sock", extra=["-smp", "4"])
        self.assertEqual(command[command.index("-kernel"):command.index("-kernel") + 4],
                         ["-kernel", "k.elf", "-append", "quiet"])
        self.assertIn("unix:/tmp/q.sock,server=on,wait=off", command)
        self.assertEqual(command[-2:], ["-smp", "4"])
        self.assertEqual(command[command.index("-m") + 1], "8G")
        self.assertIn("isa-debug-exit,iobase=0xf4,iosize=0x04", command)

    def test_iso_under_uefi(self):
        command = machine.qemu_command(iso="f.iso", firmware="uefi", ovmf="/o.fd", icount=True)
        self.assertIn("-bios", command)
        self.assertEqual(command[command.index("-cdrom"):][:4], ["-cdrom", "f.iso", "-boot", "d"])
        self.assertIn("shift=0,sleep=off", command)
        self.assertNotIn("-kernel", command)


FAKE_QEMU = textwrap.dedent("""\
    #!{python}
    # Stands in for qemu-system-x86_64: prints $FAKE_SERIAL as the guest's COM1, exits $FAKE_STATUS.
    import os, sys, time
    sys.stdout.write(os.environ.get("FAKE_SERIAL", ""))
    sys.stdout.flush()
    time.sleep(float(os.environ.get("FAKE_SLEEP", "0")))
    sys.exit(int(os.environ.get("FAKE_STATUS", "33")))
""")


class JudgedRun(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.addCleanup(self.directory.cleanup)
        self.qemu = os.path.join(self.directory.name, "fake-qemu")
        with open(self.qemu, "w") as script:
            script.write(FAKE_QEMU.format(python=sys.executable))
        os.chmod(self.qemu, os.stat(self.qemu).st_mode | stat.S_IXUSR)
        self.kernel = os.path.join(self.directory.name, "kernel.elf")
        open(self.kernel, "wb").close()

    def run_ktest(self, serial, status, *options, sleep=0):
        os.environ.update(FAKE_SERIAL=serial, FAKE_STATUS=str(status), FAKE_SLEEP=str(sleep))
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            code = cli.main(["--qemu", self.qemu, "--kernel", self.kernel, "--name", "t",
                             *options])
        return code, output.getvalue()

    def test_pass(self):
        code, output = self.run_ktest("Hello\r\n3 passed, 0 failed\n", 33,
                                      "--expect-serial=[0-9]+ passed, 0 failed")
        self.assertEqual(code, 0, output)
        self.assertRegex(output, r"^PASS t \[.*kernel.elf\]: success \(debug-exit 0x10\)")

    def test_wrong_exit_and_missing_serial_fail_with_the_serial_tail(self):
        code, output = self.run_ktest("KERNEL PANIC: oops\n", 35, "--expect-serial=ready")
        self.assertEqual(code, 1)
        self.assertIn("FAIL t", output)
        self.assertIn("expected exit 'success', got failure (debug-exit 0x11)", output)
        self.assertIn("serial output never matched /ready/", output)
        self.assertIn("  | KERNEL PANIC: oops", output)

    def test_expect_failure_and_forbidden_text(self):
        self.assertEqual(self.run_ktest("x\n", 35, "--expect-exit=failure")[0], 0)
        code, output = self.run_ktest("EXCEPTION: #GP\n", 33, "--forbid-serial=EXCEPTION")
        self.assertEqual(code, 1)
        self.assertIn("matched forbidden /EXCEPTION/ in: 'EXCEPTION: #GP'", output)

    def test_triple_fault_is_a_failure_even_for_any(self):
        code, output = self.run_ktest("", 0, "--expect-exit=any")
        self.assertEqual(code, 1)
        self.assertIn("reset/triple fault", output)

    def test_timeout(self):
        code, output = self.run_ktest("booting\n", 33, "--timeout=0.3", sleep=5)
        self.assertEqual(code, 1)
        self.assertIn("timed out after 0.3 s", output)

    def test_usage_errors_exit_with_2(self):
        for options in (["--keys", "a"], ["--screen-expect", "x"], ["--keys-after", "m"],
                        ["--expect-serial", "("], ["--keys-after", "m", "--keys", "{bad}"],
                        ["--screenshot-after", "m", "--screenshot-expect-band", "blue"]):
            with self.subTest(options=options), \
                    contextlib.redirect_stderr(io.StringIO()), \
                    self.assertRaises(SystemExit) as exit:
                cli.parse_arguments(["--kernel", self.kernel, *options])
            self.assertEqual(exit.exception.code, 2)


if __name__ == "__main__":
    unittest.main()
