#!/usr/bin/env python3
"""ktest.py: boot one ferrite kernel image in QEMU and judge the run (chapter 4, "Testing").

The entry point that CMake (cmake/KernelTest.cmake), tools/bench.sh and people call; the code is
the package tools/ktest/ (see its __init__.py). `tools/ktest.py --help` lists the options.
Only the Python standard library is used. Exit status: 0 pass, 1 fail, 2 bad usage.
"""

import os
import sys

# The package sits next to this file; Python imports the directory tools/ktest/ (a package
# wins over a module of the same name), whatever the current directory is.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ktest.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
