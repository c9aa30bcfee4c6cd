"""tools/ktest.py: boot one ferrite kernel image in QEMU and judge the run (chapter 4, "Testing").

Everything the kernel prints is mirrored to the COM1 serial port, which is captured and matched
against regular expressions. A run fails when the exit status is not the expected one, when the
serial output does not match, or when the image does not finish within the timeout.

Optionally it acts like a user: once a marker appears on serial it types keys through QEMU's
QMP monitor (the keys travel through the emulated 8042 as real scancodes), dumps the VGA text
buffer and checks what is on screen, or takes a screenshot of the display (what a framebuffer
console under UEFI shows) and checks its colours.

Exit status: 0 pass, 1 fail, 2 bad usage.
"""

import argparse
import os
import re
import time

from . import keys as keyspec
from . import machine, screen
from .qmp import QmpError
from .serial import judge_serial

SERIAL_TAIL_LINES = 40
SERIAL_TAIL_WIDTH = 200  # longer lines are cut in the failure report (the log has them whole)

HELP_EPILOG = keyspec.KEY_SPEC_HELP + """
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


def exited_meanwhile(vm):
    """After a QMP failure while typing: did QEMU exit? An image that ends on its last key (Esc,
    `shutdown`) can exit before QEMU has answered that key's send-key. That is no failure by
    itself: the exit status and the serial output still decide, and a key that was lost shows
    there as a missing line."""
    return vm.wait(timeout=2)


def machine_arguments(args):
    """The qemu_command() keyword arguments for these options."""
    return dict(qemu=args.qemu, kernel=args.kernel, append=args.append, iso=args.iso,
                firmware=args.firmware, ovmf=args.ovmf, memory=args.memory, icount=args.icount,
                extra=args.qemu_arg)


def run(args):
    """Boots the image once. Returns (problems, details) where problems is a list of reasons
    for failure (empty on pass) and details holds what the verdict prints."""
    needs_qmp = bool(args.keys_after or args.screen_after or args.screenshot_after)
    problems = []
    details = {"screen": None}
    started = time.monotonic()
    deadline = started + args.timeout
    timed_out = False
    with machine.Machine(machine_arguments(args), with_qmp=needs_qmp,
                         serial_log=args.serial_log, verbose=args.verbose) as vm:
        qmp = None
        if needs_qmp:
            try:
                qmp = vm.connect_qmp(deadline)
            except QmpError as error:
                problems.append(str(error))
        position = 0
        if qmp and args.keys_after:
            position = vm.serial.wait_for(args.keys_after, position, deadline)
            if position is None:
                problems.append(f"marker '{args.keys_after}' (--keys-after) never appeared")
            else:
                try:
                    keyspec.type_keys(qmp, args.key_actions, args.key_hold, args.key_delay,
                                      deadline, serial=vm.serial)
                except QmpError as error:
                    if not exited_meanwhile(vm):
                        problems.append(f"typing keys failed: {error}")
        screen_steps = [(option, marker, check) for option, marker, check in (
            ("--screen-after", args.screen_after, check_screen),
            ("--screenshot-after", args.screenshot_after, check_screenshot)) if marker]
        for option, marker, check in screen_steps:
            if not qmp or position is None:
                break
            position = vm.serial.wait_for(marker, position, deadline)
            if position is None:
                problems.append(f"marker '{marker}' ({option}) never appeared")
            else:
                problems += check(vm, args, details)
        if qmp and screen_steps and position is not None and args.keys_after_screen:
            try:  # e.g. `shutdown` to end an interactive image
                keyspec.type_keys(qmp, args.after_screen_actions, args.key_hold,
                                  args.key_delay, deadline, serial=vm.serial)
            except QmpError as error:
                if not exited_meanwhile(vm):
                    problems.append(f"typing keys failed: {error}")
        # Let the image finish on its own.
        if not vm.wait(deadline - time.monotonic()):
            timed_out = True
            vm.kill()
    # Leaving the `with` ended QEMU and read the last QMP events.
    details["seconds"] = time.monotonic() - started
    details["serial"] = vm.serial.text()
    details["stderr"] = vm.stderr()
    if timed_out:
        details["exit"] = "timeout"
        problems.insert(0, f"timed out after {args.timeout:g} s (hung, or never exited)")
    else:
        outcome, description = machine.describe_exit(vm.process.returncode, vm.events())
        details["exit"] = description
        if outcome not in machine.ACCEPTED_OUTCOMES[args.expect_exit]:
            problems.insert(0, f"expected exit '{args.expect_exit}', got {description}")
    problems += judge_serial(details["serial"], args.expect_serial, args.forbid_serial,
                             args.ordered)
    return problems, details


def check_screen(vm, args, details):
    dump_path = os.path.join(vm.workdir, "vga.bin")
    try:
        # QMP's own pmemsave (the same as the monitor's `pmemsave 0xb8000 4000 FILE`, without
        # the monitor's expression parser, which would read "4000 /tmp/..." as a division).
        vm.qmp.execute("pmemsave", val=screen.VGA_TEXT_BUFFER, size=screen.VGA_TEXT_BYTES,
                       filename=dump_path)
        text = screen.read_vga_text(dump_path)
    except (QmpError, OSError, ValueError) as error:
        return [f"could not dump the VGA text buffer: {error}"]
    details["screen"] = text
    if args.screen_dump:
        with open(args.screen_dump, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    vm.send_serial(b"\n")  # tell the image the screen is saved (one byte on its COM1 input)
    problems = []
    for pattern in args.screen_expect:
        if not re.search(pattern, text, re.MULTILINE):
            problems.append(f"screen never matched /{pattern}/")
    return problems


def check_screenshot(vm, args, details):
    path = args.screenshot or os.path.join(vm.workdir, "screen.ppm")
    try:
        vm.qmp.execute("screendump", filename=os.path.abspath(path))
        width, height, pixels = screen.read_ppm(path)
    except (QmpError, OSError, ValueError) as error:
        return [f"could not take a screenshot: {error}"]
    details["screenshot"] = f"{width}x{height}" + (f", saved in {args.screenshot}"
                                                   if args.screenshot else "")
    vm.send_serial(b"\n")  # tell the image the screen is saved (one byte on its COM1 input)
    problems = []
    for spec in args.screenshot_expect_band:
        rgb, rows, coverage = screen.parse_band_spec(spec)
        first, found = screen.find_band(width, height, pixels, rgb, coverage)
        if found < rows:
            problems.append(f"screenshot ({details['screenshot']}) has no band of {rows} pixel "
                            f"rows that are at least {coverage:.0%} #{rgb.hex()}; the longest "
                            f"has {found} rows" + (f" from row {first}" if found else ""))
    return problems


def serial_tail(serial, lines=SERIAL_TAIL_LINES):
    """The last lines of the serial text, each cut at SERIAL_TAIL_WIDTH, for a failure report."""
    all_lines = serial.rstrip("\n").split("\n") if serial else []
    shown = all_lines[-lines:]
    cut = [line[:SERIAL_TAIL_WIDTH] + (" [...]" if len(line) > SERIAL_TAIL_WIDTH else "")
           for line in shown]
    return cut, len(all_lines)


def print_verdict(args, problems, details):
    image = args.kernel or f"{args.iso} ({args.firmware})"
    name = f"{args.name} [{image}]" if args.name else image
    if not problems:
        print(f"PASS {name}: {details['exit']}, {details['seconds']:.2f} s")
        return
    print(f"FAIL {name}: " + "; ".join(problems))
    shown, total = serial_tail(details["serial"])
    print(f"---- serial output, last {len(shown)} of {total} lines ----")
    for line in shown:
        print(f"  | {line}")
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
        prog="ktest.py",
        description="Boot one ferrite kernel image in QEMU and judge it by its exit status and "
                    "serial output.",
        epilog=HELP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    image = parser.add_argument_group("image")
    source = image.add_mutually_exclusive_group()
    source.add_argument("--kernel", metavar="ELF", help="boot this ELF with -kernel (PVH)")
    source.add_argument("--iso", metavar="ISO", help="boot this GRUB ISO from a CD-ROM")
    image.add_argument("--firmware", choices=["bios", "uefi"], default="bios",
                       help="firmware for --iso: SeaBIOS or OVMF (default: bios)")
    image.add_argument("--ovmf", default=os.environ.get("FERRITE_OVMF", machine.DEFAULT_OVMF),
                       help="OVMF firmware image (default: $FERRITE_OVMF or "
                            f"{machine.DEFAULT_OVMF})")
    image.add_argument("--append", metavar="CMDLINE",
                       help="kernel command line for --kernel (an ISO has its own in grub.cfg)")
    image.add_argument("--name", help="test name for the verdict (default: the image file name)")

    judge = parser.add_argument_group("judging")
    judge.add_argument("--timeout", type=float, default=30, metavar="SECONDS",
                       help="a run taking longer is a failure (default: 30)")
    judge.add_argument("--expect-exit", choices=list(machine.ACCEPTED_OUTCOMES),
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

    text_screen = parser.add_argument_group("screen (VGA text buffer)")
    text_screen.add_argument("--screen-after", metavar="MARKER",
                             help="dump the VGA text buffer once MARKER is on serial")
    text_screen.add_argument("--screen-expect", action="append", default=[], metavar="REGEX",
                             help="must match the dumped 80x25 text (repeatable)")
    text_screen.add_argument("--screen-dump", metavar="FILE", help="save the dumped text here")
    text_screen.add_argument("--keys-after-screen", metavar="SPEC",
                             help="keys to type once the screen (or screenshot) is checked "
                                  "(same syntax as --keys)")

    shot = parser.add_argument_group("screenshot (what the display shows, any mode)")
    shot.add_argument("--screenshot-after", metavar="MARKER",
                      help="take a screenshot (QMP screendump) once MARKER is on serial")
    shot.add_argument("--screenshot", metavar="FILE.ppm", help="keep the screenshot here")
    shot.add_argument("--screenshot-expect-band", action="append", default=[],
                      metavar="RRGGBB[:ROWS[:COVERAGE]]",
                      help="the screenshot must have ROWS (16) consecutive pixel rows that are "
                           "each at least COVERAGE (0.25) this colour (repeatable)")

    qemu = parser.add_argument_group("machine")
    qemu.add_argument("--qemu", default=os.environ.get("QEMU", "qemu-system-x86_64"),
                      help="QEMU binary (default: $QEMU or qemu-system-x86_64)")
    qemu.add_argument("--memory", "-m", default="128M", help="guest RAM (default: 128M)")
    qemu.add_argument("--icount", action="store_true",
                      help="deterministic instruction counting: -icount shift=0,sleep=off")
    qemu.add_argument("--qemu-arg", action="append", default=[], metavar="ARG",
                      help="extra QEMU argument (repeatable; or put them after --)")
    qemu.add_argument("--verbose", "-v", action="store_true",
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
            screen.parse_band_spec(spec)
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
        args.key_actions = keyspec.parse_key_spec(args.keys or "") * args.keys_repeat
        args.after_screen_actions = keyspec.parse_key_spec(args.keys_after_screen or "")
    except keyspec.KeySpecError as error:
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
    try:
        problems, details = run(args)
    except OSError as error:  # QEMU itself could not be started
        print(f"FAIL {args.name or args.kernel or args.iso}: cannot run {args.qemu}: {error}")
        return 1
    print_verdict(args, problems, details)
    return 1 if problems else 0
