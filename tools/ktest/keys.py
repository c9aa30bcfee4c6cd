"""Key specs -> QMP key actions, and typing them (tools/ktest.py --keys, tools/soak.py).

A key spec is text as typed on a US keyboard plus {name} tokens for other keys; QEMU's QMP
send-key turns each key into real scancodes that reach the guest through the emulated 8042.
"""

import time

from .qmp import QmpError

KEY_SPEC_HELP = """\
key spec syntax (--keys):
  Plain characters are typed as on a US keyboard: letters, digits, space and punctuation.
  Uppercase letters and shifted symbols (!@#$%^&*()_+{}|:"<>?~) are sent as shift + key.
  {name}        one key by name. Short names: ret (or enter), bksp (backspace), tab, esc,
                spc (space), caps (caps lock), left, right, up, down, home, end, pgup, pgdn,
                ins, del, shift, ctrl, alt, altgr (alt_r), f1..f12; or any QEMU qcode,
                e.g. kp_enter, kp_divide, ctrl_r, shift_r, less (the extra key of UK/German
                keyboards), meta_l, audiomute.
  {a+b+...}     a chord: keys pressed in order, released in reverse: {ctrl+c}, {shift+left}.
  {name-down}   press a key and keep it held: {shift-down}abc{shift-up} types ABC.
  {name-up}     release a held key.
  {pause:MS}    wait MS milliseconds before the next key.
  {wait:TEXT}   wait until TEXT appears on the serial port (after the last key typed) before
                the next key: the end of a command that takes a while (`exit status`).
  {nmi:N}       inject N NMIs (QMP inject-nmi, one after the other) before the next key: a
                flood of NMI reports while the shell works.
  {{            a literal '{' ('}' needs no escape).
  Example: --keys 'Hi{caps}ab{caps}x{bksp}{left}!{ret}'
  Each key (or chord) is one QMP send-key; key presses and releases are each followed by
  --key-hold ms, and --key-delay ms pass between keys. --keys-repeat N types the spec N times
  (a flood of key presses).
"""

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
MODIFIERS = ["shift", "shift_r", "ctrl", "ctrl_r", "alt", "alt_r", "meta_l", "meta_r"]
FUNCTION_KEYS = [f"f{n}" for n in range(1, 13)]
KEYPAD = ([f"kp_{d}" for d in range(10)]
          + "kp_divide kp_multiply kp_subtract kp_add kp_enter kp_decimal num_lock".split())
# Multimedia and ACPI keys: E0-prefixed scancodes a PC keyboard sends (QEMU's ui/keymaps).
MEDIA_KEYS = ("audionext audioprev audiostop audioplay audiomute volumeup volumedown "
              "mediaselect mail calculator computer ac_home ac_back ac_forward ac_refresh "
              "ac_bookmarks power sleep wake").split()
# QEMU's QKeyCode names (qapi/ui.json) that a PC keyboard can produce.
QCODES = set(
    "shift shift_r alt alt_r ctrl ctrl_r menu esc minus equal backspace tab bracket_left "
    "bracket_right ret semicolon apostrophe grave_accent backslash comma dot slash asterisk spc "
    "caps_lock num_lock scroll_lock kp_divide kp_multiply kp_subtract kp_add kp_enter kp_decimal "
    "sysrq print pause less home pgup pgdn end left up down right insert delete meta_l meta_r "
    "compose kp_comma kp_equals".split()
) | set("abcdefghijklmnopqrstuvwxyz0123456789") | {f"kp_{d}" for d in range(10)} | {
    f"f{n}" for n in range(1, 25)} | set(MEDIA_KEYS)


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
    ("wait", text)          wait for text on the serial port
    ("nmi", count)          inject that many NMIs
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
    if token.startswith("wait:"):
        if token == "wait:":
            raise KeySpecError("{wait:TEXT} needs the text to wait for")
        return ("wait", token[len("wait:"):])
    if token.startswith("nmi:"):
        count = token[len("nmi:"):]
        if not count.isdigit():
            raise KeySpecError(f"{{nmi:N}} needs a number of NMIs, got {{{token}}}")
        return ("nmi", int(count))
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


def type_keys(qmp, actions, hold_ms, delay_ms, deadline, sleep=time.sleep, serial=None):
    """Sends the actions through QMP. send-key waits hold_ms (QEMU's virtual clock) after each
    press and each release, queued inside QEMU; we wait for that queue to drain before the next
    key, because QEMU silently drops key events once its queue holds 1024 entries (ui/input.c).
    A ("wait", text) action looks for the text in `serial` (a SerialCapture) from where the
    serial output was when the key before it was sent."""
    since = serial.size() if serial is not None else 0
    for typed, (kind, value) in enumerate(actions):
        if time.monotonic() >= deadline:
            raise QmpError(f"out of time after {typed} of {len(actions)} keys")
        if kind in ("tap", "down", "up") and serial is not None:
            since = serial.size()
        if kind == "wait":
            if serial is None:
                raise QmpError("{wait:...} needs the serial output, which this caller lacks")
            if serial.wait_for(value, since, deadline) is None:
                raise QmpError(f"'{value}' ({{wait:}}) never appeared on the serial port")
        elif kind == "tap":
            keys = [{"type": "qcode", "data": qcode} for qcode in value]
            qmp.execute("send-key", keys=keys, **{"hold-time": hold_ms})
            sleep((2 * len(value) * hold_ms + delay_ms) / 1000)
        elif kind in ("down", "up"):
            event = {"type": "key", "data": {"down": kind == "down",
                                             "key": {"type": "qcode", "data": value}}}
            qmp.execute("input-send-event", events=[event])
            sleep((hold_ms + delay_ms) / 1000)
        elif kind == "pause":
            sleep(value / 1000)
        elif kind == "nmi":
            for _ in range(value):
                qmp.execute("inject-nmi")
