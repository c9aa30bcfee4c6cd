#!/usr/bin/env python3
"""ktest.py: boot one ferrite kernel image in QEMU and judge the run (chapter 4, "Testing").

A kernel test image reports its result by writing to QEMU's isa-debug-exit device (port 0xf4):
0x10 means success and 0x11 failure; QEMU then exits with status (value << 1) | 1, i.e. 33 or 35.
Everything the kernel prints is mirrored to the COM1 serial port, which this script captures and
matches against regular expressions. A run fails when the exit status is not the expected one,
when the serial output does not match, or when the image does not finish within the timeout.

Optionally the script acts like a user: once a marker appears on serial it types keys through
QEMU's QMP monitor (the keys travel through the emulated 8042 as real scancodes), dumps the
VGA text buffer and checks what is on screen, or takes a screenshot of the display (what a
framebuffer console under UEFI shows) and checks its colours.

Only the Python standard library is used. Exit status: 0 pass, 1 fail, 2 bad usage.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

# isa-debug-exit: QEMU exits with (value << 1) | 1 (see ARCHITECTURE.md, "QEMU conventions").
EXIT_SUCCESS = (0x10 << 1) | 1  # 33
EXIT_FAILURE = (0x11 << 1) | 1  # 35

DEFAULT_OVMF = "/usr/share/ovmf/OVMF.fd"
VGA_TEXT_BUFFER = 0xB8000
VGA_COLUMNS, VGA_ROWS = 80, 25
SERIAL_TAIL_LINES = 40
SERIAL_TAIL_WIDTH = 200  # longer lines are cut in the failure report (the log has them whole)

KEYS_HELP = """\
key spec syntax (--keys):
  Plain characters are typed as on a US keyboard: letters, digits, space and punctuation.
  Uppercase letters and shifted symbols (!@#$%^&*()_+{}|:"<>?~) are sent as shift + key.
  {name}        one key by name. Short names: ret (or enter), bksp (backspace), tab, esc,
                spc (space), caps (caps lock), left, right, up, down, home, end, pgup, pgdn,
                ins, del, shift, ctrl, alt, altgr (alt_r), f1..f12; or any QEMU qcode,
                e.g. kp_enter, kp_divide, ctrl_r, shift_r, less (the extra key of UK/German
                keyboards), meta_l.
  {a+b+...}     a chord: keys pressed in order, released in reverse: {ctrl+c}, {shift+left}.
  {name-down}   press a key and keep it held: {shift-down}abc{shift-up} types ABC.
  {name-up}     release a held key.
  {pause:MS}    wait MS milliseconds before the next key.
  {{            a literal '{' ('}' needs no escape).
  Example: --keys 'Hi{caps}ab{caps}x{bksp}{left}!{ret}'
  Each key (or chord) is one QMP send-key; key presses and releases are each followed by
  --key-hold ms, and --key-delay ms pass between keys. --keys-repeat N types the spec N times
  (a flood of key presses).

screen checks:
  --screen-after MARKER waits for MARKER on serial, then dumps the VGA text buffer with
  QMP pmemsave (0xb8000, 4000 bytes) and matches every --screen-expect REGEX against its 80x25 text
  (one line per row, trailing blanks removed). The image must keep the screen unchanged
  after printing MARKER until the dump is taken; when it is, ktest sends one byte ('\\n') to
  the guest's COM1 input, so the image can poll COM1 for it and then exit.

screenshots:
  --screenshot-after MARKER waits for MARKER on serial (after the text-screen check, if any),
  then saves what the display shows with QMP screendump (a PPM image; --screenshot FILE keeps
  it). This works whatever draws the screen: VGA text mode or a framebuffer. Each
  --screenshot-expect-band RRGGBB[:ROWS[:COVERAGE]] requires ROWS (default 16, one glyph)
  consecutive pixel rows in each of which the colour RRGGBB covers at least COVERAGE (default
  0.25) of the pixels: a full-width coloured line of text, such as the banner (white on VGA
  blue: 0000AA in a framebuffer; in VGA text mode 0000A8, as the VGA's DAC has 6 bits per
  channel). Like --screen-after, one byte goes to COM1 once the image is saved.
  --keys-after-screen types its keys after the screenshot too.

markers (--keys-after, --screen-after, --screenshot-after) are plain text, not regular
expressions. Serial text is matched with ANSI escape sequences and carriage returns removed.
"""


# ---------------------------------------------------------------------------------------------
# Key specs -> actions


# The US layout: which key (QEMU qcode) types a character, and whether it needs Shift.
UNSHIFTED = {
    " ": "spc", "\n": "ret", "\t": "tab", "-": "minus", "=": "equal", "[": "bracket_left",
    "]": "bracket_right", "\\": "backslash", ";": "semicolon", "'": "apostrophe",
    "`": "grave_accent", ",": "comma", ".": "dot", "/": "slash",
}
SHIFTED = {
    "!": "1", "@": "2", "#": "3", "$": "4", "%": "5", "^": "6", "&": "7", "*": "8", "(": "9",
    ")": "0", "_": "minus", "+": "equal", "{": "bracket_left", "}": "bracket_right",
    "|": "backslash", ":": "semicolon", '"': "apostrophe", "~": "grave_accent", "<": "comma",
    ">": "dot", "?": "slash",
}
KEY_ALIASES = {
    "enter": "ret", "bksp": "backspace", "space": "spc", "caps": "caps_lock",
    "capslock": "caps_lock", "ins": "insert", "del": "delete", "pageup": "pgup",
    "pagedown": "pgdn", "escape": "esc", "altgr": "alt_r", "lshift": "shift", "rshift": "shift_r",
    "lctrl": "ctrl", "rctrl": "ctrl_r", "win": "meta_l",
}
# QEMU's QKeyCode names (qapi/ui.json) that a PC keyboard can produce.
QCODES = set(
    "shift shift_r alt alt_r ctrl ctrl_r menu esc minus equal backspace tab bracket_left "
    "bracket_right ret semicolon apostrophe grave_accent backslash comma dot slash asterisk spc "
    "caps_lock num_lock scroll_lock kp_divide kp_multiply kp_subtract kp_add kp_enter kp_decimal "
    "sysrq print pause less home pgup pgdn end left up down right insert delete meta_l meta_r "
    "compose kp_comma kp_equals power sleep wake".split()
) | set("abcdefghijklmnopqrstuvwxyz0123456789") | {f"kp_{d}" for d in range(10)} | {
    f"f{n}" for n in range(1, 25)}


class KeySpecError(ValueError):
    pass


def key_name_to_qcode(name):
    qcode = KEY_ALIASES.get(name.lower(), name.lower())
    if qcode not in QCODES:
        raise KeySpecError(f"unknown key name '{name}' (see --help for the names)")
    return qcode


def parse_key_spec(spec):
    """Turns a key spec into a list of actions:
    ("tap", [qcode, ...])  press the keys in order, release in reverse (one QMP send-key)
    ("down", qcode) / ("up", qcode)  press / release one key (QMP input-send-event)
    ("pause", milliseconds)
    """
    actions = []
    i = 0
    while i < len(spec):
        ch = spec[i]
        if spec.startswith("{{", i):
            actions.append(("tap", ["shift", "bracket_left"]))
            i += 2
        elif ch == "{":
            end = spec.find("}", i)
            if end < 0:
                raise KeySpecError(f"unclosed '{{' at position {i} in {spec!r}")
            actions.append(parse_braced_token(spec[i + 1:end]))
            i = end + 1
        else:
            actions.append(("tap", char_to_keys(ch)))
            i += 1
    return actions


def parse_braced_token(token):
    if token.startswith("pause:"):
        milliseconds = token[len("pause:"):]
        if not milliseconds.isdigit():
            raise KeySpecError(f"{{pause:MS}} needs a number of milliseconds, got {{{token}}}")
        return ("pause", int(milliseconds))
    for suffix, kind in (("-down", "down"), ("-up", "up")):
        if token.endswith(suffix):
            return (kind, key_name_to_qcode(token[:-len(suffix)]))
    if not token:
        raise KeySpecError("empty {} in key spec")
    return ("tap", [key_name_to_qcode(part) for part in token.split("+")])


def char_to_keys(ch):
    if ch.isascii() and ch.isalpha():
        return ["shift", ch.lower()] if ch.isupper() else [ch]
    if ch.isascii() and ch.isdigit():
        return [ch]
    if ch in UNSHIFTED:
        return [UNSHIFTED[ch]]
    if ch in SHIFTED:
        return ["shift", SHIFTED[ch]]
    raise KeySpecError(f"cannot type {ch!r} on a US keyboard; use {{name}} for special keys")


# ---------------------------------------------------------------------------------------------
# QEMU plumbing: serial capture and the QMP monitor


class SerialCapture:
    """Collects QEMU's stdout (the guest's COM1) in a background thread."""

    def __init__(self, stream, log_path=None):
        self._data = bytearray()
        self._eof = False
        self._changed = threading.Condition()
        self._log = open(log_path, "wb") if log_path else None
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        while True:
            chunk = os.read(stream.fileno(), 65536)
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

    def finish(self, timeout=5.0):
        self._thread.join(timeout)
        if self._log:
            self._log.close()

    def text(self):
        with self._changed:
            raw = bytes(self._data)
        return clean_serial_text(raw.decode("utf-8", errors="replace"))


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def clean_serial_text(text):
    return ANSI_ESCAPE.sub("", text).replace("\r", "")


class QmpError(Exception):
    pass


class Qmp:
    """A minimal QMP client (QEMU's JSON monitor protocol, docs/interop/qmp-spec)."""

    def __init__(self, path, deadline, qemu_running):
        self.events = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # QEMU creates the socket while starting up; retry until it is there.
        while True:
            try:
                self._sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() >= deadline or not qemu_running():
                    raise QmpError(f"could not connect to QMP socket {path}")
                time.sleep(0.02)
        self._deadline = deadline
        self._reader = self._sock.makefile("rb")
        greeting = self._receive()
        if "QMP" not in greeting:
            raise QmpError(f"unexpected QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def _receive(self):
        self._sock.settimeout(max(0.1, self._deadline - time.monotonic()))
        try:
            line = self._reader.readline()
        except (socket.timeout, OSError) as error:
            raise QmpError(f"QMP read failed: {error}")
        if not line:
            raise QmpError("QEMU closed the QMP connection (did the guest exit?)")
        return json.loads(line)

    def execute(self, command, **arguments):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        try:
            self._sock.sendall(json.dumps(request).encode() + b"\n")
        except OSError as error:
            raise QmpError(f"QMP write failed: {error}")
        while True:
            reply = self._receive()
            if "event" in reply:  # asynchronous, e.g. SHUTDOWN; keep for the verdict
                self.events.append(reply)
            elif "error" in reply:
                raise QmpError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            elif "return" in reply:
                return reply["return"]

    def collect_events(self):
        """Reads what QEMU sent before it exited, e.g. the SHUTDOWN event with its reason."""
        self._deadline = time.monotonic() + 0.5
        try:
            while True:
                reply = self._receive()
                if "event" in reply:
                    self.events.append(reply)
        except (QmpError, ValueError):
            pass

    def close(self):
        self._sock.close()


def type_keys(qmp, actions, hold_ms, delay_ms, deadline):
    """Sends the actions through QMP. send-key waits hold_ms (QEMU's virtual clock) after each
    press and each release, queued inside QEMU; we wait for that queue to drain before the next
    key, because QEMU silently drops key events once its queue holds 1024 entries (ui/input.c)."""
    for typed, (kind, value) in enumerate(actions):
        if time.monotonic() >= deadline:
            raise QmpError(f"out of time after {typed} of {len(actions)} keys")
        if kind == "tap":
            keys = [{"type": "qcode", "data": qcode} for qcode in value]
            qmp.execute("send-key", keys=keys, **{"hold-time": hold_ms})
            time.sleep((2 * len(value) * hold_ms + delay_ms) / 1000)
        elif kind in ("down", "up"):
            event = {"type": "key", "data": {"down": kind == "down",
                                             "key": {"type": "qcode", "data": value}}}
            qmp.execute("input-send-event", events=[event])
            time.sleep((hold_ms + delay_ms) / 1000)
        elif kind == "pause":
            time.sleep(value / 1000)


def read_vga_text(path):
    """The 80x25 VGA text buffer as text: each cell is a code page 437 character followed by
    its colour attribute byte (blog_os ch. 3, "VGA Text Mode")."""
    with open(path, "rb") as dump:
        cells = dump.read(VGA_COLUMNS * VGA_ROWS * 2)
    characters = bytes(b if b >= 0x20 else 0x20 for b in cells[0::2])  # NUL cells are blank
    text = characters.decode("cp437")
    rows = [text[r * VGA_COLUMNS:(r + 1) * VGA_COLUMNS].rstrip() for r in range(VGA_ROWS)]
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------
# Running and judging


def qemu_command(args, qmp_path):
    command = [args.qemu, "-display", "none", "-monitor", "none", "-serial", "stdio",
               "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
               "-m", args.memory]
    if args.kernel:
        command += ["-kernel", args.kernel]
        if args.append:
            command += ["-append", args.append]
    else:
        if args.firmware == "uefi":
            command += ["-bios", args.ovmf]
        command += ["-cdrom", args.iso, "-boot", "d"]
    if args.icount:
        command += ["-icount", "shift=0,sleep=off"]
    if qmp_path:
        command += ["-qmp", f"unix:{qmp_path},server=on,wait=off"]
    return command + args.qemu_arg


def describe_exit(status, qmp_events):
    """Returns (outcome, human description) for QEMU's exit status."""
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


def judge_serial(text, args):
    problems = []
    position = 0
    for pattern in args.expect_serial:
        match = re.compile(pattern, re.MULTILINE).search(text, position if args.ordered else 0)
        if not match:
            where = " after the previous expected match" if args.ordered and position else ""
            problems.append(f"serial output never matched /{pattern}/{where}")
        elif args.ordered:
            position = match.end()
    for pattern in args.forbid_serial:
        match = re.compile(pattern, re.MULTILINE).search(text)
        if match:
            line = text[text.rfind("\n", 0, match.start()) + 1:].split("\n", 1)[0]
            problems.append(f"serial output matched forbidden /{pattern}/ in: {line.strip()!r}")
    return problems


def exited_meanwhile(qemu):
    """After a QMP failure while typing: did QEMU exit? An image that ends on its last key (Esc,
    `shutdown`) can exit before QEMU has answered that key's send-key. That is no failure by
    itself: the exit status and the serial output still decide, and a key that was lost shows
    there as a missing line."""
    try:
        qemu.wait(timeout=2)
        return True
    except subprocess.TimeoutExpired:
        return False


def run(args):
    """Boots the image once. Returns (problems, details) where problems is a list of reasons
    for failure (empty on pass) and details holds what the verdict prints."""
    workdir = tempfile.mkdtemp(prefix="ktest-")
    needs_qmp = bool(args.keys_after or args.screen_after or args.screenshot_after)
    qmp_path = os.path.join(workdir, "qmp.sock") if needs_qmp else None
    problems = []
    details = {"screen": None}
    started = time.monotonic()
    deadline = started + args.timeout
    command = qemu_command(args, qmp_path)
    if args.verbose:
        print("ktest: " + " ".join(command), file=sys.stderr)
    qemu = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    serial = SerialCapture(qemu.stdout, args.serial_log)
    stderr_chunks = []
    stderr_thread = threading.Thread(target=lambda: stderr_chunks.append(qemu.stderr.read()),
                                     daemon=True)
    stderr_thread.start()
    qmp = None
    timed_out = False
    try:
        if needs_qmp:
            try:
                qmp = Qmp(qmp_path, deadline, qemu_running=lambda: qemu.poll() is None)
            except QmpError as error:
                problems.append(str(error))
        position = 0
        if qmp and args.keys_after:
            position = serial.wait_for(args.keys_after, position, deadline)
            if position is None:
                problems.append(f"marker '{args.keys_after}' (--keys-after) never appeared")
            else:
                try:
                    type_keys(qmp, args.key_actions, args.key_hold, args.key_delay, deadline)
                except QmpError as error:
                    if not exited_meanwhile(qemu):
                        problems.append(f"typing keys failed: {error}")
        screen_steps = [(option, marker, check) for option, marker, check in (
            ("--screen-after", args.screen_after, check_screen),
            ("--screenshot-after", args.screenshot_after, check_screenshot)) if marker]
        for option, marker, check in screen_steps:
            if not qmp or position is None:
                break
            position = serial.wait_for(marker, position, deadline)
            if position is None:
                problems.append(f"marker '{marker}' ({option}) never appeared")
            else:
                problems += check(qmp, qemu, args, workdir, details)
        if qmp and screen_steps and position is not None and args.keys_after_screen:
            try:  # e.g. `shutdown` to end an interactive image
                type_keys(qmp, args.after_screen_actions, args.key_hold, args.key_delay, deadline)
            except QmpError as error:
                if not exited_meanwhile(qemu):
                    problems.append(f"typing keys failed: {error}")
        # Let the image finish on its own.
        remaining = deadline - time.monotonic()
        try:
            qemu.wait(timeout=max(0.0, remaining))
        except subprocess.TimeoutExpired:
            timed_out = True
            qemu.kill()
            qemu.wait()
    finally:
        if qemu.poll() is None:  # interrupted (Ctrl-C) or an unexpected error: never leak QEMU
            qemu.kill()
            qemu.wait()
        serial.finish()
        stderr_thread.join(5)
        if qmp:
            qmp.collect_events()
            qmp.close()
        shutil.rmtree(workdir, ignore_errors=True)

    details["seconds"] = time.monotonic() - started
    details["serial"] = serial.text()
    details["stderr"] = b"".join(stderr_chunks).decode("utf-8", errors="replace").strip()
    if timed_out:
        details["exit"] = "timeout"
        problems.insert(0, f"timed out after {args.timeout:g} s (hung, or never exited)")
    else:
        outcome, description = describe_exit(qemu.returncode, qmp.events if qmp else [])
        details["exit"] = description
        accepted = {"success": ["success"], "failure": ["failure"], "shutdown": ["shutdown"],
                    "any": ["success", "failure"]}[args.expect_exit]
        if outcome not in accepted:
            problems.insert(0, f"expected exit '{args.expect_exit}', got {description}")
    problems += judge_serial(details["serial"], args)
    return problems, details


def check_screen(qmp, qemu, args, workdir, details):
    dump_path = os.path.join(workdir, "vga.bin")
    size = VGA_COLUMNS * VGA_ROWS * 2
    try:
        # QMP's own pmemsave (the same as the monitor's `pmemsave 0xb8000 4000 FILE`, without
        # the monitor's expression parser, which would read "4000 /tmp/..." as a division).
        qmp.execute("pmemsave", val=VGA_TEXT_BUFFER, size=size, filename=dump_path)
    except QmpError as error:
        return [f"could not dump the VGA text buffer: {error}"]
    screen = read_vga_text(dump_path)
    details["screen"] = screen
    if args.screen_dump:
        with open(args.screen_dump, "w", encoding="utf-8") as out:
            out.write(screen + "\n")
    try:  # tell the image the screen is saved (one byte on its COM1 input)
        qemu.stdin.write(b"\n")
        qemu.stdin.flush()
    except OSError:
        pass
    problems = []
    for pattern in args.screen_expect:
        if not re.search(pattern, screen, re.MULTILINE):
            problems.append(f"screen never matched /{pattern}/")
    return problems


def read_ppm(path):
    """A binary PPM (P6, what QEMU's screendump writes): (width, height, RGB bytes)."""
    with open(path, "rb") as image:
        data = image.read()
    fields, position = [], 0
    while len(fields) < 4:  # magic, width, height, maximum value; '#' starts a comment
        while data[position:position + 1].isspace():
            position += 1
        if data[position:position + 1] == b"#":
            position = data.index(b"\n", position)
            continue
        end = position
        while end < len(data) and not data[end:end + 1].isspace():
            end += 1
        fields.append(data[position:end])
        position = end
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError(f"not an 8-bit binary PPM: {fields[0]!r}, maximum {fields[3]!r}")
    width, height = int(fields[1]), int(fields[2])
    pixels = data[position + 1:position + 1 + width * height * 3]
    if len(pixels) != width * height * 3:
        raise ValueError(f"truncated PPM: {len(pixels)} bytes for {width}x{height} pixels")
    return width, height, pixels


def parse_band_spec(spec):
    """RRGGBB[:ROWS[:COVERAGE]] -> (rgb bytes, rows, coverage)."""
    parts = spec.split(":")
    if len(parts) > 3 or not re.fullmatch(r"[0-9A-Fa-f]{6}", parts[0]):
        raise ValueError(f"bad band {spec!r}: expected RRGGBB[:ROWS[:COVERAGE]], "
                         "e.g. 0000AA:16:0.25")
    rows = int(parts[1]) if len(parts) > 1 else 16
    coverage = float(parts[2]) if len(parts) > 2 else 0.25
    if rows < 1 or not 0 < coverage <= 1:
        raise ValueError(f"bad band {spec!r}: ROWS must be >= 1 and 0 < COVERAGE <= 1")
    return bytes.fromhex(parts[0]), rows, coverage


def find_band(width, height, pixels, rgb, coverage):
    """The longest run of pixel rows in which `rgb` covers at least `coverage` of the row:
    (first row, number of rows)."""
    needed = coverage * width
    best, run_start, run = (0, 0), 0, 0
    stride = width * 3
    for y in range(height):
        row = pixels[y * stride:(y + 1) * stride]
        # Count whole pixels: a match must start on a pixel boundary.
        hits = sum(1 for x in range(0, stride, 3) if row[x:x + 3] == rgb) if rgb in row else 0
        if hits >= needed:
            run_start, run = (run_start, run + 1) if run else (y, 1)
            best = max(best, (run_start, run), key=lambda b: b[1])
        else:
            run = 0
    return best


def check_screenshot(qmp, qemu, args, workdir, details):
    path = args.screenshot or os.path.join(workdir, "screen.ppm")
    try:
        qmp.execute("screendump", filename=os.path.abspath(path))
        width, height, pixels = read_ppm(path)
    except (QmpError, OSError, ValueError) as error:
        return [f"could not take a screenshot: {error}"]
    details["screenshot"] = f"{width}x{height}" + (f", saved in {args.screenshot}"
                                                   if args.screenshot else "")
    try:  # tell the image the screen is saved (one byte on its COM1 input)
        qemu.stdin.write(b"\n")
        qemu.stdin.flush()
    except OSError:
        pass
    problems = []
    for spec in args.screenshot_expect_band:
        rgb, rows, coverage = parse_band_spec(spec)
        first, found = find_band(width, height, pixels, rgb, coverage)
        if found < rows:
            problems.append(f"screenshot ({details['screenshot']}) has no band of {rows} pixel "
                            f"rows that are at least {coverage:.0%} #{rgb.hex()}; the longest "
                            f"has {found} rows" + (f" from row {first}" if found else ""))
    return problems


def print_verdict(args, problems, details):
    image = args.kernel or f"{args.iso} ({args.firmware})"
    name = f"{args.name} [{image}]" if args.name else image
    if not problems:
        print(f"PASS {name}: {details['exit']}, {details['seconds']:.2f} s")
        return
    print(f"FAIL {name}: " + "; ".join(problems))
    lines = details["serial"].rstrip("\n").split("\n") if details["serial"] else []
    shown = lines[-SERIAL_TAIL_LINES:]
    print(f"---- serial output, last {len(shown)} of {len(lines)} lines ----")
    for line in shown:
        cut = line[:SERIAL_TAIL_WIDTH] + (" [...]" if len(line) > SERIAL_TAIL_WIDTH else "")
        print(f"  | {cut}")
    if details["screen"] is not None and any(p.startswith("screen") for p in problems):
        print("---- VGA text screen ----")
        for line in details["screen"].split("\n"):
            print(f"  | {line}")
    if details["stderr"]:
        print("---- QEMU stderr ----")
        for line in details["stderr"].split("\n")[-10:]:
            print(f"  ! {line}")
    if args.serial_log:
        print(f"---- full serial log: {args.serial_log}")


def parse_arguments(argv):
    # Everything after a lone "--" goes to QEMU unchanged.
    extra = []
    if "--" in argv:
        split = argv.index("--")
        argv, extra = argv[:split], argv[split + 1:]
    parser = argparse.ArgumentParser(
        description="Boot one ferrite kernel image in QEMU and judge it by its exit status and "
                    "serial output.",
        epilog=KEYS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    image = parser.add_argument_group("image")
    source = image.add_mutually_exclusive_group()
    source.add_argument("--kernel", metavar="ELF", help="boot this ELF with -kernel (PVH)")
    source.add_argument("--iso", metavar="ISO", help="boot this GRUB ISO from a CD-ROM")
    image.add_argument("--firmware", choices=["bios", "uefi"], default="bios",
                       help="firmware for --iso: SeaBIOS or OVMF (default: bios)")
    image.add_argument("--ovmf", default=os.environ.get("FERRITE_OVMF", DEFAULT_OVMF),
                       help=f"OVMF firmware image (default: $FERRITE_OVMF or {DEFAULT_OVMF})")
    image.add_argument("--append", metavar="CMDLINE",
                       help="kernel command line for --kernel (an ISO has its own in grub.cfg)")
    image.add_argument("--name", help="test name for the verdict (default: the image file name)")

    judge = parser.add_argument_group("judging")
    judge.add_argument("--timeout", type=float, default=30, metavar="SECONDS",
                       help="a run taking longer is a failure (default: 30)")
    judge.add_argument("--expect-exit", choices=["success", "failure", "shutdown", "any"],
                       default="success",
                       help="expected debug-exit value; 'any' accepts 0x10 or 0x11, never a "
                            "reset/triple fault; 'shutdown' is an ACPI power-off seen over QMP "
                            "(needs --keys, --screen-after or --screenshot-after, which connect "
                            "QMP) (default: success)")
    judge.add_argument("--expect-serial", action="append", default=[], metavar="REGEX",
                       help="must match the serial output (repeatable)")
    judge.add_argument("--ordered", action="store_true",
                       help="--expect-serial patterns must match in the order given")
    judge.add_argument("--forbid-serial", action="append", default=[], metavar="REGEX",
                       help="must not match the serial output (repeatable)")
    judge.add_argument("--serial-log", metavar="FILE", help="keep the whole serial output here")

    keys = parser.add_argument_group("keyboard (QMP send-key)")
    keys.add_argument("--keys-after", metavar="MARKER", help="type --keys once MARKER is on serial")
    keys.add_argument("--keys", metavar="SPEC", help="what to type (syntax below)")
    keys.add_argument("--keys-repeat", type=int, default=1, metavar="N",
                      help="type SPEC N times (default: 1)")
    keys.add_argument("--key-hold", type=int, default=10, metavar="MS",
                      help="QEMU waits this long after each press and each release (default: 10)")
    keys.add_argument("--key-delay", type=int, default=10, metavar="MS",
                      help="extra pause between keys (default: 10)")
    keys.add_argument("--print-keys", action="store_true",
                      help="only print what --keys would send, then exit")

    screen = parser.add_argument_group("screen (VGA text buffer)")
    screen.add_argument("--screen-after", metavar="MARKER",
                        help="dump the VGA text buffer once MARKER is on serial")
    screen.add_argument("--screen-expect", action="append", default=[], metavar="REGEX",
                        help="must match the dumped 80x25 text (repeatable)")
    screen.add_argument("--screen-dump", metavar="FILE", help="save the dumped text here")
    screen.add_argument("--keys-after-screen", metavar="SPEC",
                        help="keys to type once the screen (or screenshot) is checked (same "
                             "syntax as --keys)")

    shot = parser.add_argument_group("screenshot (what the display shows, any mode)")
    shot.add_argument("--screenshot-after", metavar="MARKER",
                      help="take a screenshot (QMP screendump) once MARKER is on serial")
    shot.add_argument("--screenshot", metavar="FILE.ppm", help="keep the screenshot here")
    shot.add_argument("--screenshot-expect-band", action="append", default=[],
                      metavar="RRGGBB[:ROWS[:COVERAGE]]",
                      help="the screenshot must have ROWS (16) consecutive pixel rows that are "
                           "each at least COVERAGE (0.25) this colour (repeatable)")

    machine = parser.add_argument_group("machine")
    machine.add_argument("--qemu", default=os.environ.get("QEMU", "qemu-system-x86_64"),
                         help="QEMU binary (default: $QEMU or qemu-system-x86_64)")
    machine.add_argument("--memory", "-m", default="128M", help="guest RAM (default: 128M)")
    machine.add_argument("--icount", action="store_true",
                         help="deterministic instruction counting: -icount shift=0,sleep=off")
    machine.add_argument("--qemu-arg", action="append", default=[], metavar="ARG",
                         help="extra QEMU argument (repeatable; or put them after --)")
    machine.add_argument("--verbose", "-v", action="store_true",
                         help="print the QEMU command line")

    args = parser.parse_args(argv)
    args.qemu_arg += extra

    if args.keys_after and args.keys is None:
        parser.error("--keys-after needs --keys")
    if args.keys is not None and not (args.keys_after or args.print_keys):
        parser.error("--keys needs --keys-after MARKER (when to start typing)")
    if args.screenshot_expect_band and not args.screenshot_after:
        parser.error("--screenshot-expect-band needs --screenshot-after MARKER")
    for spec in args.screenshot_expect_band:
        try:
            parse_band_spec(spec)
        except ValueError as error:
            parser.error(str(error))
    if args.screen_expect and not args.screen_after:
        parser.error("--screen-expect needs --screen-after MARKER: the screen is read while "
                     "the image waits, not after it has exited")
    if args.key_hold < 1 or args.key_delay < 0 or args.keys_repeat < 1:
        parser.error("--key-hold must be >= 1, --key-delay >= 0, --keys-repeat >= 1")
    for pattern in args.expect_serial + args.forbid_serial + args.screen_expect:
        try:
            re.compile(pattern)
        except re.error as error:
            parser.error(f"bad regular expression /{pattern}/: {error}")
    try:
        args.key_actions = parse_key_spec(args.keys or "") * args.keys_repeat
        args.after_screen_actions = parse_key_spec(args.keys_after_screen or "")
    except KeySpecError as error:
        parser.error(str(error))
    if args.print_keys:
        return args
    image_path = args.kernel or args.iso
    if not image_path:
        parser.error("give the image to boot: --kernel ELF or --iso ISO")
    if not os.path.isfile(image_path):
        parser.error(f"image not found: {image_path} (was it built?)")
    if args.iso and args.firmware == "uefi" and not os.path.isfile(args.ovmf):
        parser.error(f"OVMF firmware not found: {args.ovmf} (install the 'ovmf' package)")
    return args


def main(argv):
    args = parse_arguments(argv)
    if args.print_keys:
        for action in args.key_actions:
            print(*action)
        return 0
    problems, details = run(args)
    print_verdict(args, problems, details)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
