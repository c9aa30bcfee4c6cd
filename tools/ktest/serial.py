"""The guest's COM1 output (QEMU -serial stdio): captured by a background thread, cleaned of
terminal escapes, and judged against regular expressions."""

import os
import re
import threading
import time

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# The one kernel log line that comes after the prompt on its own: the clock's check against the
# ACPI PM timer, ~250 ms after boot (kernel/time/clock.cpp). On a loaded host the two clocks
# disagree, the check warns, and the warning can land between `ferrite> ` and the echo of a line
# a test is typing. Tests read the serial text without it (the log and `dmesg` keep it).
LATE_CLOCK_WARNING = re.compile(r"clock: the ACPI PM timer [^\n]*; keeping the PIT calibration\n")


def clean_serial_text(text):
    """What a reader sees: the shell's line editor sends ANSI escapes and CR LF; the clock's late
    warning is taken out (LATE_CLOCK_WARNING)."""
    return LATE_CLOCK_WARNING.sub("", ANSI_ESCAPE.sub("", text).replace("\r", ""))


def judge_serial(text, expect=(), forbid=(), ordered=False):
    """Reasons the serial text fails: an `expect` regex that never matches (with `ordered`,
    each must match after the previous one's match), or a `forbid` regex that does."""
    problems = []
    position = 0
    for pattern in expect:
        match = re.compile(pattern, re.MULTILINE).search(text, position if ordered else 0)
        if not match:
            where = " after the previous expected match" if ordered and position else ""
            problems.append(f"serial output never matched /{pattern}/{where}")
        elif ordered:
            position = match.end()
    for pattern in forbid:
        match = re.compile(pattern, re.MULTILINE).search(text)
        if match:
            line = text[text.rfind("\n", 0, match.start()) + 1:].split("\n", 1)[0]
            problems.append(f"serial output matched forbidden /{pattern}/ in: {line.strip()!r}")
    return problems


class SerialCapture:
    """Collects a stream (QEMU's stdout, the guest's COM1) in a background thread."""

    def __init__(self, stream, log_path=None):
        self._data = bytearray()
        self._eof = False
        self._changed = threading.Condition()
        self._log = open(log_path, "wb") if log_path else None
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        while True:
            try:
                chunk = os.read(stream.fileno(), 65536)
            except OSError:
                chunk = b""
            with self._changed:
                if not chunk:
                    self._eof = True
                else:
                    self._data += chunk
                    if self._log:
                        self._log.write(chunk)
                        self._log.flush()
                self._changed.notify_all()
            if not chunk:
                break

    def size(self):
        """Bytes received so far: an offset for wait_for / wait_for_regex."""
        with self._changed:
            return len(self._data)

    def wait_for(self, marker, start, deadline):
        """Waits until `marker` appears at or after byte offset `start`. Returns the offset just
        past it, or None if QEMU closed its output (it exited) or the deadline passed first."""
        needle = marker.encode()
        with self._changed:
            while True:
                found = self._data.find(needle, start)
                if found >= 0:
                    return found + len(needle)
                start = max(start, len(self._data) - len(needle) + 1)
                if self._eof or time.monotonic() >= deadline:
                    return None
                self._changed.wait(timeout=min(0.1, max(0.0, deadline - time.monotonic())))

    def wait_for_regex(self, pattern, start, deadline):
        """Like wait_for, for a regex matched against the cleaned text received after `start`
        (escapes and CRs removed). Returns the size at the time of the match, or None."""
        regex = re.compile(pattern, re.MULTILINE)
        with self._changed:
            while True:
                text = clean_serial_text(bytes(self._data[start:]).decode("utf-8", "replace"))
                if regex.search(text):
                    return len(self._data)
                if self._eof or time.monotonic() >= deadline:
                    return None
                self._changed.wait(timeout=min(0.1, max(0.0, deadline - time.monotonic())))

    def finish(self, timeout=5.0):
        self._thread.join(timeout)
        with self._changed:  # the reader writes the log under this lock too
            if self._log:
                self._log.close()
                self._log = None

    def text(self, start=0):
        with self._changed:
            raw = bytes(self._data[start:])
        return clean_serial_text(raw.decode("utf-8", errors="replace"))
