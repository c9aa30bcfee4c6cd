#!/usr/bin/env python3
"""dump_acpi.py: dump the ACPI tables QEMU's firmware builds, as a fixture for the host tests.

The host test tests/host/acpi_test.cpp parses real firmware tables; this script makes them.
It boots the ferrite ISO in QEMU (SeaBIOS or OVMF, any machine type and CPU count), waits for
`ferrite: ready` on serial (by then the firmware has built its tables and nothing moves them),
stops the guest and dumps all of RAM with QMP `pmemsave`. In that dump it looks for the RSDP
("RSD PTR " on a 16-byte boundary with a valid checksum; ACPI 6.5 5.2.5.1): SeaBIOS keeps it
in 0xE0000-0xFFFFF, OVMF near the top of RAM (GRUB's Multiboot2 tag holds a second copy).
It follows RSDT/XSDT -> every table, FADT -> DSDT and FACS, and writes only those bytes.

Fixture format (little-endian), read by tests/host/acpi_fixture.h:
  8 bytes   magic "FRACPI01"
  u64       physical address of the RSDP
  u32       length of the description, then that many bytes of UTF-8 text
  u32       record count, then per record: u64 physical address, u32 length, bytes
Records are sorted and never overlap or touch (adjacent tables are merged into one record).
The 2-byte EBDA segment pointer at 0x40E is stored too, for the BIOS area scan test.

Usage:
  tools/dump_acpi.py --firmware bios --machine pc --smp 1 -o tests/host/fixtures/acpi/seabios-pc.bin
  tools/dump_acpi.py --firmware uefi --machine q35 --smp 2 -o tests/host/fixtures/acpi/ovmf-q35-smp2.bin
  tools/dump_acpi.py --show FILE      (list the records and tables of a fixture)
Needs build/ferrite.iso (cmake --build build --target ferrite_iso). Python standard library only.
"""

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

MAGIC = b"FRACPI01"
RAM_BYTES = 128 << 20  # -m 128M: all RAM below 4 GiB and below the PCI hole on pc and q35
HEADER_SIZE = 36  # ACPI 6.5 5.2.6, the common table header
MAX_TABLE = 1 << 20  # a table longer than this is taken as garbage


def checksum_ok(data):
    return sum(data) & 0xFF == 0


class Qmp:
    """Just enough of QEMU's JSON monitor protocol (docs/interop/qmp-spec) for this script."""

    def __init__(self, path, deadline):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("dump_acpi: cannot connect to QEMU's QMP socket")
                time.sleep(0.05)
        self.file = self.sock.makefile("rwb")
        self._reply()  # greeting
        self.execute("qmp_capabilities")

    def _reply(self):
        while True:
            message = json.loads(self.file.readline())
            if "event" not in message:
                return message

    def execute(self, command, **arguments):
        self.file.write(json.dumps({"execute": command, "arguments": arguments}).encode() + b"\n")
        self.file.flush()
        reply = self._reply()
        if "error" in reply:
            raise SystemExit(f"dump_acpi: QMP {command} failed: {reply['error']}")
        return reply.get("return")


def dump_ram(args, workdir):
    serial = os.path.join(workdir, "serial.log")
    qmp_path = os.path.join(workdir, "qmp.sock")
    ram = os.path.join(workdir, "ram.bin")
    command = [args.qemu, "-machine", args.machine, "-smp", str(args.smp), "-m", "128M",
               "-cdrom", args.iso, "-display", "none", "-no-reboot", "-serial", f"file:{serial}",
               "-qmp", f"unix:{qmp_path},server=on,wait=off"]
    if args.firmware == "uefi":
        command += ["-bios", args.ovmf]
    qemu = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + args.timeout
        qmp = Qmp(qmp_path, deadline)
        while True:
            text = open(serial, errors="replace").read() if os.path.exists(serial) else ""
            if "ferrite: ready" in text:
                break
            if qemu.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"dump_acpi: the kernel did not get ready; serial:\n{text}")
            time.sleep(0.1)
        qmp.execute("stop")
        qmp.execute("pmemsave", val=0, size=RAM_BYTES, filename=ram)
        qmp.execute("quit")
        qemu.wait(timeout=10)
        version = qemu_version(args.qemu)
    finally:
        if qemu.poll() is None:
            qemu.kill()
    with open(ram, "rb") as f:
        return f.read(), version


def qemu_version(qemu):
    out = subprocess.run([qemu, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "QEMU"


class Dump:
    def __init__(self, ram):
        self.ram = ram
        self.ranges = []  # (address, length)

    def read(self, address, length):
        if address + length > len(self.ram):
            raise SystemExit(f"dump_acpi: {address:#x}+{length} lies outside the RAM dump")
        return self.ram[address:address + length]

    def keep(self, address, length):
        self.read(address, length)
        self.ranges.append((address, length))

    def table(self, address):
        """Keeps one table (header length), returns (signature, bytes)."""
        header = self.read(address, HEADER_SIZE)
        length = struct.unpack_from("<I", header, 4)[0]
        if not HEADER_SIZE <= length <= MAX_TABLE:
            raise SystemExit(f"dump_acpi: table at {address:#x} has length {length}")
        data = self.read(address, length)
        self.keep(address, length)
        return header[:4].decode(errors="replace"), data


def rsdp_candidates(ram):
    """Every copy of the RSDP with a valid checksum, at any alignment: the firmware's own is
    16-byte aligned, GRUB's copy in its Multiboot2 information block only 8-byte aligned."""
    address = ram.find(b"RSD PTR ")
    while address != -1:
        if checksum_ok(ram[address:address + 20]):
            yield address
        address = ram.find(b"RSD PTR ", address + 1)


def choose_rsdp(ram):
    """Every valid RSDP copy of one revision points at the same tables. Prefer ACPI 2.0+ (what
    GRUB hands over under UEFI), then the firmware's own copy over GRUB's copies in its
    Multiboot2 block (which lies low, near 0x80000-0x110000): SeaBIOS's in the BIOS area,
    OVMF's near the top of RAM."""
    candidates = list(rsdp_candidates(ram))
    for a in candidates:
        print(f"  RSDP copy at {a:#x}, revision {ram[a + 15]}, RSDT {struct.unpack_from('<I', ram, a + 16)[0]:#x}")
    if not candidates:
        raise SystemExit("dump_acpi: no RSDP with a valid checksum in the RAM dump")
    return max(candidates, key=lambda a: (ram[a + 15] >= 2, 0xE0000 <= a < 0x100000, a))


def collect(ram):
    dump = Dump(ram)
    rsdp = choose_rsdp(ram)
    revision = ram[rsdp + 15]
    rsdp_length = struct.unpack_from("<I", ram, rsdp + 20)[0] if revision >= 2 else 20
    dump.keep(rsdp, rsdp_length)
    dump.keep(0x40E, 2)  # BIOS data area: EBDA segment (for the BIOS area scan)
    roots = [(struct.unpack_from("<I", ram, rsdp + 16)[0], 4)]
    if revision >= 2:
        roots.append((struct.unpack_from("<Q", ram, rsdp + 24)[0], 8))
    tables = []
    for root, entry_size in roots:
        if root == 0:
            continue
        signature, data = dump.table(root)
        tables.append((signature, root, len(data)))
        for offset in range(HEADER_SIZE, len(data) - entry_size + 1, entry_size):
            address = int.from_bytes(data[offset:offset + entry_size], "little")
            if address == 0 or any(t[1] == address for t in tables):
                continue
            signature, table = dump.table(address)
            tables.append((signature, address, len(table)))
            if signature == "FACP":
                for field, size in ((40, 4), (140, 8), (36, 4), (132, 8)):  # DSDT, FACS
                    if len(table) < field + size:
                        continue
                    pointer = int.from_bytes(table[field:field + size], "little")
                    if pointer == 0 or any(t[1] == pointer for t in tables):
                        continue
                    if field in (40, 140):
                        signature, body = dump.table(pointer)
                        tables.append((signature, pointer, len(body)))
                    else:  # FACS: no checksum, length at offset 4 (ACPI 6.5 5.2.10)
                        length = struct.unpack_from("<I", ram, pointer + 4)[0]
                        dump.keep(pointer, length)
                        tables.append(("FACS", pointer, length))
    return rsdp, merged(dump.ranges), tables


def merged(ranges):
    out = []
    for address, length in sorted(ranges):
        if out and address <= out[-1][0] + out[-1][1]:
            start, old = out[-1]
            out[-1] = (start, max(old, address + length - start))
        else:
            out.append((address, length))
    return out


def write_fixture(path, ram, rsdp, ranges, description):
    text = description.encode()
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<QI", rsdp, len(text)) + text)
        f.write(struct.pack("<I", len(ranges)))
        for address, length in ranges:
            f.write(struct.pack("<QI", address, length) + ram[address:address + length])


def show(path):
    data = open(path, "rb").read()
    if data[:8] != MAGIC:
        raise SystemExit(f"dump_acpi: {path} is not a fixture")
    rsdp, text_length = struct.unpack_from("<QI", data, 8)
    offset = 20
    print(f"{path}: {data[offset:offset + text_length].decode()}")
    offset += text_length
    print(f"  RSDP at {rsdp:#x}")
    (count,) = struct.unpack_from("<I", data, offset)
    offset += 4
    for _ in range(count):
        address, length = struct.unpack_from("<QI", data, offset)
        offset += 12
        body = data[offset:offset + length]
        offset += length
        print(f"  record {address:#010x} +{length:#x}")
        position = 0
        while position + HEADER_SIZE <= length:
            signature = body[position:position + 4]
            table_length = struct.unpack_from("<I", body, position + 4)[0]
            if not signature.isalnum() and signature != b"RSD ":
                break
            if signature == b"RSD ":
                table_length = struct.unpack_from("<I", body, position + 20)[0] \
                    if body[position + 15] >= 2 else 20
            print(f"    {signature.decode()} at {address + position:#010x} length {table_length}")
            position += max(table_length, 1)
            position = (position + 15) & ~15 if signature == b"RSD " else position


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--firmware", choices=["bios", "uefi"], default="bios")
    parser.add_argument("--machine", default="pc")
    parser.add_argument("--smp", type=int, default=1)
    parser.add_argument("--iso", default=os.path.join(os.path.dirname(__file__), "..", "build", "ferrite.iso"))
    parser.add_argument("--ovmf", default="/usr/share/ovmf/OVMF.fd")
    parser.add_argument("--qemu", default=os.environ.get("QEMU", "qemu-system-x86_64"))
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("-o", "--output")
    parser.add_argument("--show", metavar="FILE")
    args = parser.parse_args()
    if args.show:
        show(args.show)
        return
    if not args.output:
        parser.error("give -o FILE (or --show FILE)")
    with tempfile.TemporaryDirectory(prefix="dump_acpi.") as workdir:
        ram, version = dump_ram(args, workdir)
    rsdp, ranges, tables = collect(ram)
    firmware = "SeaBIOS" if args.firmware == "bios" else "OVMF"
    description = f"{version}, {firmware}, -machine {args.machine} -smp {args.smp} -m 128M"
    write_fixture(args.output, ram, rsdp, ranges, description)
    print(f"{args.output}: {description}; RSDP at {rsdp:#x}")
    for signature, address, length in tables:
        print(f"  {signature} at {address:#x}, {length} bytes")


if __name__ == "__main__":
    sys.exit(main())
