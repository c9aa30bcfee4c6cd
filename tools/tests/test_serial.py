"""Unit tests of tools/ktest/serial.py: capture from a pipe, markers, cleaning, judging."""

import os
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ktest.serial import SerialCapture, clean_serial_text, judge_serial  # noqa: E402


class Judge(unittest.TestCase):
    TEXT = "Hello World!\nheap: tlsf allocator\n3 passed, 0 failed\nferrite: ready\n"

    def test_everything_matches(self):
        self.assertEqual(judge_serial(self.TEXT, ["Hello", "[0-9]+ passed, 0 failed"]), [])

    def test_a_missing_pattern_is_named(self):
        self.assertEqual(judge_serial(self.TEXT, ["Hello", "panic"]),
                         ["serial output never matched /panic/"])

    def test_ordered_patterns_must_follow_each_other(self):
        self.assertEqual(judge_serial(self.TEXT, ["ready", "Hello"]), [])
        self.assertEqual(judge_serial(self.TEXT, ["ready", "Hello"], ordered=True),
                         ["serial output never matched /Hello/ after the previous expected match"])

    def test_multiline_anchors(self):
        self.assertEqual(judge_serial(self.TEXT, ["^ferrite: ready$"]), [])

    def test_forbidden_pattern_quotes_its_line(self):
        self.assertEqual(judge_serial(self.TEXT, forbid=["tlsf"]),
                         ["serial output matched forbidden /tlsf/ in: 'heap: tlsf allocator'"])

    def test_cleaning_removes_escapes_and_carriage_returns(self):
        self.assertEqual(clean_serial_text("ferrite> ech\x1b[2Do\x1b[K\r\nok\r\n"),
                         "ferrite> echo\nok\n")

    def test_cleaning_takes_the_late_clock_warning_out_of_a_typed_line(self):
        self.assertEqual(clean_serial_text(
            "ferrite> clock: the ACPI PM timer says TSC 2596136402 Hz, 152199 ppm from the PIT's "
            "3062201087 Hz; keeping the PIT calibration\r\nrun /bin/hello\r\n"),
            "ferrite> run /bin/hello\n")


class Capture(unittest.TestCase):
    def setUp(self):
        read_end, self.write_end = os.pipe()
        self.stream = os.fdopen(read_end, "rb")
        self.log = tempfile.NamedTemporaryFile(delete=False)
        self.capture = SerialCapture(self.stream, self.log.name)

    def tearDown(self):
        if self.write_end is not None:
            os.close(self.write_end)
        self.capture.finish()
        self.stream.close()
        os.unlink(self.log.name)

    def write_later(self, data, delay=0.05):
        timer = threading.Timer(delay, os.write, (self.write_end, data))
        timer.start()
        self.addCleanup(timer.join)

    def test_marker_offsets_and_text(self):
        self.write_later(b"boot\r\nferrite> ")
        end = self.capture.wait_for("ferrite> ", 0, time.monotonic() + 5)
        self.assertEqual(end, 15)
        self.assertIsNone(self.capture.wait_for("ferrite> ", end, time.monotonic() + 0.1))
        self.assertEqual(self.capture.text(), "boot\nferrite> ")
        self.assertEqual(self.capture.text(6), "ferrite> ")

    def test_marker_split_across_writes(self):
        self.write_later(b"ferr", 0.02)
        self.write_later(b"ite: ready\n", 0.1)
        self.assertEqual(self.capture.wait_for("ferrite: ready", 0, time.monotonic() + 5), 14)

    def test_regex_on_cleaned_text_after_an_offset(self):
        os.write(self.write_end, b"ferrite> echo ok\r\n")
        start = self.capture.wait_for("echo ok", 0, time.monotonic() + 5)
        self.write_later(b"o\x1b[Kk\r\nferrite> ")
        self.assertIsNotNone(self.capture.wait_for_regex(r"^ok$", start, time.monotonic() + 5))
        self.assertIsNone(self.capture.wait_for_regex(r"^missing$", 0, time.monotonic() + 0.1))

    def test_end_of_output_ends_the_wait_and_the_log_has_everything(self):
        os.write(self.write_end, b"panic\n")
        os.close(self.write_end)
        self.write_end = None
        self.assertIsNone(self.capture.wait_for("ferrite> ", 0, time.monotonic() + 30))
        self.capture.finish()
        with open(self.log.name, "rb") as log:
            self.assertEqual(log.read(), b"panic\n")


if __name__ == "__main__":
    unittest.main()
