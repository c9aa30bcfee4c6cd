"""Unit tests of tools/ktest/screen.py on synthetic dumps: a 4000-byte VGA text buffer and PPMs."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ktest import screen  # noqa: E402


def vga_dump(rows):
    """A VGA text buffer with `rows` (row -> text) written in white on blue, NUL elsewhere."""
    cells = bytearray(screen.VGA_TEXT_BYTES)
    for row, text in rows.items():
        for column, byte in enumerate(text.encode("cp437")):
            offset = (row * screen.VGA_COLUMNS + column) * 2
            cells[offset], cells[offset + 1] = byte, 0x1F
    return bytes(cells)


def ppm(width, height, colour_of, header=None):
    pixels = bytearray()
    for y in range(height):
        for x in range(width):
            pixels += colour_of(x, y)
    return (header or f"P6\n{width} {height}\n255\n").encode() + bytes(pixels)


class VgaText(unittest.TestCase):
    def test_rows_columns_and_code_page_437(self):
        dump = vga_dump({0: " ferrite - a small x86_64 kernel", 24: "ferrite> ", 3: "\xe9\u2588"})
        text = screen.decode_vga_text(dump).split("\n")
        self.assertEqual(len(text), 25)
        self.assertEqual(text[0], " ferrite - a small x86_64 kernel")
        self.assertEqual(text[24], "ferrite>")  # trailing blanks removed
        self.assertEqual(text[3], "é█")  # 0x82, 0xDB in code page 437
        self.assertEqual(text[1], "")  # NUL cells read as blanks

    def test_a_full_row_does_not_run_into_the_next(self):
        text = screen.decode_vga_text(vga_dump({5: "x" * 80, 6: "y"})).split("\n")
        self.assertEqual((text[5], text[6]), ("x" * 80, "y"))

    def test_short_dump_is_an_error(self):
        with self.assertRaisesRegex(ValueError, "3999 bytes"):
            screen.decode_vga_text(bytes(3999))

    def test_read_from_a_file(self):
        with tempfile.NamedTemporaryFile(suffix=".bin") as dump:
            dump.write(vga_dump({2: "Hello World!"}))
            dump.flush()
            self.assertRegex(screen.read_vga_text(dump.name), r"(?m)^Hello World!$")


class Ppm(unittest.TestCase):
    def test_header_with_comment_and_pixels(self):
        data = ppm(3, 2, lambda x, y: bytes([x, y, 7]), header="P6 # QEMU\n3 2\n255\n")
        width, height, pixels = screen.parse_ppm(data)
        self.assertEqual((width, height), (3, 2))
        self.assertEqual(pixels[3 * 3:3 * 3 + 3], bytes([0, 1, 7]))  # pixel (0, 1)

    def test_bad_images_are_errors(self):
        for data, message in ((b"P3\n1 1\n255\n000", "not an 8-bit binary PPM"),
                              (b"P6\n1 1\n65535\n000000", "not an 8-bit binary PPM"),
                              (b"P6\n2 2\n255\n" + bytes(11), "truncated PPM: 11 bytes"),
                              (b"P6\n2", "truncated PPM header")):
            with self.subTest(data=data[:12]):
                with self.assertRaisesRegex(ValueError, message):
                    screen.parse_ppm(data)


class Bands(unittest.TestCase):
    BLUE = bytes.fromhex("0000aa")

    def test_band_spec(self):
        self.assertEqual(screen.parse_band_spec("0000AA"), (self.BLUE, 16, 0.25))
        self.assertEqual(screen.parse_band_spec("0000aa:8:0.5"), (self.BLUE, 8, 0.5))
        for bad in ("0000A", "0000AA:0", "0000AA:16:1.5", "0000AA:x", "0000AA:1:2:3"):
            with self.subTest(spec=bad):
                with self.assertRaises(ValueError):
                    screen.parse_band_spec(bad)

    def test_finds_the_longest_run_of_rows_with_enough_colour(self):
        # 40x40: rows 10..25 are 50% blue (a banner line), row 30 is 10% blue.
        def colour(x, y):
            if 10 <= y < 26 and x < 20 or y == 30 and x < 4:
                return self.BLUE
            return b"\x00\x00\x00"
        width, height, pixels = screen.parse_ppm(ppm(40, 40, colour))
        self.assertEqual(screen.find_band(width, height, pixels, self.BLUE, 0.25), (10, 16))
        self.assertEqual(screen.find_band(width, height, pixels, self.BLUE, 0.6), (0, 0))

    def test_matches_start_on_pixel_boundaries(self):
        # Bytes 00 00 AA straddling two pixels (00 00 00, 00 AA xx) must not count.
        pixels = bytes([0, 0, 0, 0, 0xAA, 0]) * 4
        self.assertEqual(screen.find_band(2, 4, pixels, self.BLUE, 0.5), (0, 0))


if __name__ == "__main__":
    unittest.main()
