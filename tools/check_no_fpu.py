#!/usr/bin/env python3
"""Fails if a kernel image holds an x87, MMX, SSE or AVX instruction (issue 9, bug 6).

The kernel saves only the general registers on interrupt entry, so such an instruction would
compute with the registers of whichever user program was interrupted and corrupt them.
The compiler flags (cmake/Kernel.cmake) forbid them; this scan proves the image agrees.
One exception (chapter 14): the functions that save and restore a user thread's registers
(arch/x86_64/fpu.cpp, names containing "fpu_state") may use FXSAVE64/FXRSTOR64 — moving that
state is their whole job.
Usage: check_no_fpu.py [--objdump PATH] IMAGE.elf...
"""
import argparse
import re
import subprocess
import sys

# x87 mnemonics all start with "f" (fld, fstp, fninit, fxsave, fwait...); no general-purpose
# instruction does. MMX/SSE/AVX ones name a vector register, except these few.
X87 = re.compile(r"^f[a-z0-9]*$")
VECTOR_REGISTER = re.compile(r"%(?:[xyz]mm\d+|mm\d|st(?:\(\d\))?|k[0-7])\b")
STATE_ONLY = {"ldmxcsr", "stmxcsr", "vldmxcsr", "vstmxcsr", "emms", "femms", "wait"}
STATE_SWITCH = {"fxsave64", "fxrstor64"}
STATE_SWITCH_FUNCTION = "fpu_state"
SYMBOL = re.compile(r"^[0-9a-f]+ <(.*)>:$")


def offending(objdump, image):
    text = subprocess.run([objdump, "-d", "--no-show-raw-insn", "-M", "att", image],
                          check=True, capture_output=True, text=True).stdout
    return scan(text)


def scan(text):
    """The offending lines of `objdump -d` output."""
    found = []
    function = ""
    for line in text.splitlines():
        symbol = SYMBOL.match(line)
        if symbol:
            function = symbol.group(1)
            continue
        match = re.match(r"^\s*([0-9a-f]+):\s+(?:(?:rep|repz|repnz|repe|repne|lock|data16|addr32|cs|ds|es|fs|gs|ss|notrack|bnd)\s+)*([a-z][a-z0-9.]*)\s*(.*)$", line)
        if not match:
            continue
        mnemonic, operands = match.group(2), match.group(3)
        if mnemonic in STATE_SWITCH and STATE_SWITCH_FUNCTION in function:
            continue
        if X87.match(mnemonic) or mnemonic in STATE_ONLY or VECTOR_REGISTER.search(operands):
            found.append(line.strip())
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objdump", default="objdump")
    parser.add_argument("images", nargs="+")
    args = parser.parse_args()
    failed = False
    for image in args.images:
        found = offending(args.objdump, image)
        if found:
            failed = True
            print(f"{image}: {len(found)} x87/MMX/SSE/AVX instruction(s), e.g.:")
            for line in found[:10]:
                print(f"  {line}")
        else:
            print(f"{image}: no x87/MMX/SSE/AVX instructions")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
