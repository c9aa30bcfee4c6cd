"""Unit tests of tools/ktest/keys.py: key specs -> QMP actions, and how they are sent."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ktest import keys  # noqa: E402
from ktest.keys import KeySpecError, parse_key_spec  # noqa: E402
from ktest.qmp import QmpError  # noqa: E402


class ParseKeySpec(unittest.TestCase):
    def test_plain_characters_use_the_us_layout(self):
        self.assertEqual(parse_key_spec("a1 -"), [("tap", ["a"]), ("tap", ["1"]),
                                                  ("tap", ["spc"]), ("tap", ["minus"])])

    def test_uppercase_and_shifted_symbols_add_shift(self):
        self.assertEqual(parse_key_spec("H!?"), [("tap", ["shift", "h"]), ("tap", ["shift", "1"]),
                                                 ("tap", ["shift", "slash"])])

    def test_named_keys_and_aliases(self):
        self.assertEqual(parse_key_spec("{ret}{enter}{bksp}{caps}{kp_enter}{F12}{audiomute}"),
                         [("tap", ["ret"]), ("tap", ["ret"]), ("tap", ["backspace"]),
                          ("tap", ["caps_lock"]), ("tap", ["kp_enter"]), ("tap", ["f12"]),
                          ("tap", ["audiomute"])])

    def test_chords_hold_and_release(self):
        self.assertEqual(parse_key_spec("{ctrl+alt+del}{shift-down}x{shift-up}"),
                         [("tap", ["ctrl", "alt", "delete"]), ("down", "shift"),
                          ("tap", ["x"]), ("up", "shift")])

    def test_pause_and_escaped_brace(self):
        self.assertEqual(parse_key_spec("{pause:250}{{}"),
                         [("pause", 250), ("tap", ["shift", "bracket_left"]),
                          ("tap", ["shift", "bracket_right"])])

    def test_wait_action(self):
        self.assertEqual(parse_key_spec("x{ret}{wait:exit status}y"),
                         [("tap", ["x"]), ("tap", ["ret"]), ("wait", "exit status"),
                          ("tap", ["y"])])

    def test_nmi_action(self):
        self.assertEqual(parse_key_spec("a{nmi:3}"), [("tap", ["a"]), ("nmi", 3)])

    def test_errors_say_what_is_wrong(self):
        for spec, message in (("{nosuchkey}", "unknown key name 'nosuchkey'"),
                              ("ab{ret", "unclosed '{' at position 2"),
                              ("{}", "empty {}"),
                              ("{pause:x}", "needs a number of milliseconds"),
                              ("{nmi:}", "needs a number of NMIs"),
                              ("{wait:}", "needs the text to wait for"),
                              ("é", "cannot type 'é'")):
            with self.subTest(spec=spec):
                with self.assertRaisesRegex(KeySpecError, message):
                    parse_key_spec(spec)

    def test_every_key_group_for_random_typing_is_a_known_qcode(self):
        for group in (keys.MODIFIERS, keys.FUNCTION_KEYS, keys.KEYPAD, keys.MEDIA_KEYS):
            for qcode in group:
                self.assertIn(qcode, keys.QCODES)


class FakeQmp:
    def __init__(self, fail_after=None):
        self.calls = []
        self.fail_after = fail_after

    def execute(self, command, **arguments):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise QmpError("QEMU closed the QMP connection")
        self.calls.append((command, arguments))


class TypeKeys(unittest.TestCase):
    def test_taps_use_send_key_and_wait_for_qemus_queue(self):
        qmp, slept = FakeQmp(), []
        keys.type_keys(qmp, parse_key_spec("A{shift-down}{pause:7}"), hold_ms=10, delay_ms=5,
                       deadline=time.monotonic() + 10, sleep=slept.append)
        self.assertEqual(qmp.calls[0], ("send-key", {
            "keys": [{"type": "qcode", "data": "shift"}, {"type": "qcode", "data": "a"}],
            "hold-time": 10}))
        self.assertEqual(qmp.calls[1], ("input-send-event", {"events": [
            {"type": "key", "data": {"down": True, "key": {"type": "qcode", "data": "shift"}}}]}))
        # 2 keys x (press + release) x 10 ms + 5 ms; one event 10 + 5 ms; the pause itself.
        self.assertEqual(slept, [0.045, 0.015, 0.007])

    def test_out_of_time_is_an_error(self):
        with self.assertRaisesRegex(QmpError, "out of time after 0 of 1 keys"):
            keys.type_keys(FakeQmp(), parse_key_spec("a"), 1, 0, deadline=time.monotonic() - 1,
                           sleep=lambda s: None)

    def test_qmp_failures_pass_through(self):
        with self.assertRaises(QmpError):
            keys.type_keys(FakeQmp(fail_after=1), parse_key_spec("ab"), 1, 0,
                           deadline=time.monotonic() + 10, sleep=lambda s: None)

    def test_wait_looks_after_the_last_key_and_fails_when_the_text_never_comes(self):
        class FakeSerial:
            def __init__(self):
                self.text, self.waits = b"old exit status", []

            def size(self):
                return len(self.text)

            def wait_for(self, marker, start, deadline):
                self.waits.append((marker, start))
                found = self.text.find(marker.encode(), start)
                return None if found < 0 else found + len(marker)

        serial, qmp = FakeSerial(), FakeQmp()
        # The program answers while the key is typed: the wait finds the new text, not the old.
        keys.type_keys(qmp, parse_key_spec("a{wait:exit status}"), 1, 0, time.monotonic() + 10,
                       sleep=lambda s: setattr(serial, "text", serial.text + b" exit status"),
                       serial=serial)
        self.assertEqual(serial.waits, [("exit status", len(b"old exit status"))])
        with self.assertRaisesRegex(QmpError, "'exit status' \\(\\{wait:\\}\\) never appeared"):
            keys.type_keys(qmp, parse_key_spec("b{wait:exit status}"), 1, 0,
                           time.monotonic() + 10, sleep=lambda s: None, serial=serial)
        with self.assertRaisesRegex(QmpError, "needs the serial output"):
            keys.type_keys(qmp, parse_key_spec("{wait:x}"), 1, 0, time.monotonic() + 10,
                           sleep=lambda s: None)

if __name__ == "__main__":
    unittest.main()
