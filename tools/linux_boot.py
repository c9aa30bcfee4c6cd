"""Booting a kernel with an initramfs in QEMU and keeping what it prints on serial; fetching the
Linux kernel to boot beside ferrite (chapters 14-15). Shared by tools/bench_syscalls.py (the same
binary's system-call costs under both kernels) and tools/linux_compare.py (the same binary's
output under both kernels).

The Linux is Debian's 6.1 cloud kernel, downloaded once with `apt-get download` and unpacked with
`dpkg-deb -x` into <build>/bench/linux/ (nothing is installed on the machine). Only `make bench`
fetches it; `make test` never does.
"""
import pathlib
import subprocess
import threading

# Linux's command line: the console on the serial port, no boot log (only KERN_WARNING and
# worse reach the console), and a panic (init exiting) ends QEMU through -no-reboot.
LINUX_APPEND = "console=ttyS0 quiet panic=-1"


def linux_directory(build: pathlib.Path) -> pathlib.Path:
    return build / "bench" / "linux"


def find_linux(directory: pathlib.Path):
    """The unpacked vmlinuz under `directory`, or None before the first fetch."""
    existing = sorted(directory.glob("x/boot/vmlinuz-*"))
    return existing[-1] if existing else None


def fetch_linux(directory: pathlib.Path, who: str = "linux_boot") -> pathlib.Path:
    """The cloud kernel's vmlinuz, downloaded and unpacked into `directory` on first use."""
    existing = find_linux(directory)
    if existing:
        return existing
    directory.mkdir(parents=True, exist_ok=True)
    # The meta-package names the current image package; download that one.
    meta = "linux-image-cloud-amd64"
    depends = subprocess.run(["apt-cache", "depends", meta], capture_output=True, text=True)
    image = next((line.split(":", 1)[1].strip() for line in depends.stdout.splitlines()
                  if line.strip().startswith("Depends:") and "linux-image-" in line), None)
    if image is None:
        raise SystemExit(f"{who}: apt-cache knows no {meta} (run 'apt-get update')")
    print(f"{who}: fetching {image} with apt-get download (once)", flush=True)
    # (As root apt-get warns that its _apt user cannot write here; the download still works.)
    subprocess.run(["apt-get", "download", "-q", image], cwd=directory, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deb = sorted(directory.glob(f"{image}_*.deb"))[-1]
    subprocess.run(["dpkg-deb", "-x", str(deb), str(directory / "x")], check=True)
    deb.unlink()
    return find_linux(directory)


def linux_version(vmlinuz: pathlib.Path) -> str:
    return vmlinuz.name.removeprefix("vmlinuz-")


def boot(kernel, initramfs, append, timeout, log, give_up_on=None, icount=True, on_line=None):
    """Boots `kernel` with `initramfs` until the machine powers off (or `timeout` seconds pass)
    and returns everything it printed on serial; a copy goes to the file `log`.

    `give_up_on`: a text that means /init will not run (ferrite's shell prompt: the kernel
    started its own shell instead), so there is no point waiting for the timeout.
    `icount`: -icount shift=0,sleep=off, where the guest's TSC counts guest instructions.
    `on_line`: called with each complete line as it arrives."""
    command = ["qemu-system-x86_64", "-m", "256M",
               "-kernel", str(kernel), "-initrd", str(initramfs), "-append", append,
               "-display", "none", "-serial", "stdio", "-no-reboot",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    if icount:
        command += ["-icount", "shift=0,sleep=off"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, errors="replace")
    expired = threading.Event()

    def expire():
        expired.set()
        process.kill()

    timer = threading.Timer(timeout, expire)
    timer.start()
    lines = []
    try:
        current = ""
        while True:
            char = process.stdout.read(1)  # not by line: a prompt has no newline after it
            if not char:
                break
            current += char
            if give_up_on and give_up_on in current:
                lines.append(current + f"\n[saw {give_up_on!r}: /init did not start]\n")
                current = ""
                break
            if char != "\n":
                continue
            lines.append(current)
            if on_line:
                on_line(current)
            current = ""
        lines.append(current)
    finally:
        timer.cancel()
        process.kill()
        process.wait()
    if expired.is_set():
        lines.append(f"\n[timed out after {timeout} s]\n")
    text = "".join(lines)
    pathlib.Path(log).write_text(text)
    return text
