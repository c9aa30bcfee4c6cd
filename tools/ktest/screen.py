"""What the guest's display shows, read back: the VGA text buffer (a QMP pmemsave dump of
0xb8000) and screenshots (QMP screendump, a binary PPM), with the checks tools/ktest.py runs."""

import re

VGA_TEXT_BUFFER = 0xB8000
VGA_COLUMNS, VGA_ROWS = 80, 25
VGA_TEXT_BYTES = VGA_COLUMNS * VGA_ROWS * 2  # 4000: a character byte and an attribute byte each


def decode_vga_text(cells):
    """The 80x25 VGA text buffer as text: each cell is a code page 437 character followed by
    its colour attribute byte (blog_os ch. 3, "VGA Text Mode"). One line per row, trailing
    blanks removed; control bytes (NUL cells of a cleared screen) read as blanks."""
    if len(cells) < VGA_TEXT_BYTES:
        raise ValueError(f"VGA text dump has {len(cells)} bytes, expected {VGA_TEXT_BYTES}")
    characters = bytes(b if b >= 0x20 else 0x20 for b in cells[0:VGA_TEXT_BYTES:2])
    text = characters.decode("cp437")
    rows = [text[r * VGA_COLUMNS:(r + 1) * VGA_COLUMNS].rstrip() for r in range(VGA_ROWS)]
    return "\n".join(rows)


def read_vga_text(path):
    with open(path, "rb") as dump:
        return decode_vga_text(dump.read(VGA_TEXT_BYTES))


def parse_ppm(data):
    """A binary PPM (P6, what QEMU's screendump writes): (width, height, RGB bytes)."""
    fields, position = [], 0
    while len(fields) < 4:  # magic, width, height, maximum value; '#' starts a comment
        while data[position:position + 1].isspace():
            position += 1
        if position >= len(data):
            raise ValueError(f"truncated PPM header: {len(fields)} of 4 fields")
        if data[position:position + 1] == b"#":
            position = data.find(b"\n", position)
            if position < 0:
                raise ValueError("truncated PPM header: comment without end")
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


def read_ppm(path):
    with open(path, "rb") as image:
        return parse_ppm(image.read())


def parse_band_spec(spec):
    """RRGGBB[:ROWS[:COVERAGE]] -> (rgb bytes, rows, coverage)."""
    parts = spec.split(":")
    if len(parts) > 3 or not re.fullmatch(r"[0-9A-Fa-f]{6}", parts[0]):
        raise ValueError(f"bad band {spec!r}: expected RRGGBB[:ROWS[:COVERAGE]], "
                         "e.g. 0000AA:16:0.25")
    try:
        rows = int(parts[1]) if len(parts) > 1 else 16
        coverage = float(parts[2]) if len(parts) > 2 else 0.25
    except ValueError:
        raise ValueError(f"bad band {spec!r}: ROWS must be an integer, COVERAGE a number")
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
