#!/usr/bin/env python3
"""Writes the initramfs: a cpio "newc" archive, the format Linux takes, so the same file boots
Linux and ferrite (chapter 14).

It holds /bin (busybox with a symbolic link per applet, and our own programs), /dev with the four
character devices under Linux's numbers (console 5,1; tty 5,0; null 1,3; zero 1,5), /etc, /tmp
and, if --init is given, /init. The archive is written directly (no mknod, no root needed);
`cpio -itv < build/initramfs.cpio` lists it.

  tools/mkinitramfs.py --output build/initramfs.cpio --busybox /bin/busybox \
      --program build/user/hello ... [--file /etc/motd=path] [--init build/user/bench]
"""
import argparse
import os
import stat
import subprocess
import sys

S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR = 0o040000, 0o100000, 0o120000, 0o020000


class Archive:
    def __init__(self):
        self.data = bytearray()
        self.inode = 1

    def _pad(self):
        while len(self.data) % 4:
            self.data.append(0)

    def add(self, name, mode, payload=b"", rdev=(0, 0), mtime=0):
        name_bytes = name.encode() + b"\0"
        fields = [self.inode, mode, 0, 0, 2 if mode & S_IFDIR else 1, mtime, len(payload),
                  0, 0, rdev[0], rdev[1], len(name_bytes), 0]
        self.inode += 1
        self.data += b"070701" + b"".join(b"%08X" % f for f in fields)
        self.data += name_bytes
        self._pad()
        self.data += payload
        self._pad()

    def directory(self, name):
        self.add(name, S_IFDIR | 0o755)

    def file(self, name, payload, executable=False):
        self.add(name, S_IFREG | (0o755 if executable else 0o644), payload)

    def symlink(self, name, target):
        self.add(name, S_IFLNK | 0o777, target.encode())

    def char_device(self, name, major, minor, mode=0o666):
        self.add(name, S_IFCHR | mode, rdev=(major, minor))

    def finish(self):
        self.add("TRAILER!!!", 0)
        while len(self.data) % 512:  # as GNU cpio does
            self.data.append(0)
        return bytes(self.data)


def busybox_applets(busybox):
    """The applet names the busybox binary has (it runs on the build machine: x86_64 Linux)."""
    try:
        out = subprocess.run([busybox, "--list"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        sys.exit(f"mkinitramfs: cannot list the applets of {busybox}: {error}")
    return sorted(set(line.strip() for line in out.splitlines() if line.strip()) - {"busybox"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--busybox", help="a static busybox binary (Debian: /bin/busybox)")
    parser.add_argument("--program", action="append", default=[], help="a program for /bin")
    parser.add_argument("--file", action="append", default=[], help="PATH_IN_ARCHIVE=HOST_FILE")
    parser.add_argument("--init", help="a program to install as /init")
    args = parser.parse_args()

    archive = Archive()
    for directory in (".", "bin", "dev", "etc", "tmp", "proc", "root"):
        archive.directory(directory)
    archive.char_device("dev/console", 5, 1, 0o600)
    archive.char_device("dev/tty", 5, 0)
    archive.char_device("dev/null", 1, 3)
    archive.char_device("dev/zero", 1, 5)
    archive.file("etc/motd", b"Welcome to ferrite: these files come from build/initramfs.cpio.\n")
    archive.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    archive.file("etc/group", b"root:x:0:\n")

    ours = {os.path.basename(p) for p in args.program}
    if args.busybox:
        with open(args.busybox, "rb") as f:
            archive.file("bin/busybox", f.read(), executable=True)
        for applet in busybox_applets(args.busybox):
            if applet not in ours:  # our own program of that name wins (e.g. cat)
                archive.symlink(f"bin/{applet}", "busybox")
    for program in args.program:
        with open(program, "rb") as f:
            archive.file(f"bin/{os.path.basename(program)}", f.read(), executable=True)
    for spec in args.file:
        inside, _, host = spec.partition("=")
        with open(host, "rb") as f:
            archive.file(inside.lstrip("/"), f.read())
    if args.init:
        with open(args.init, "rb") as f:
            archive.file("init", f.read(), executable=True)

    data = archive.finish()
    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
