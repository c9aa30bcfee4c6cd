"""`python3 -m ktest` (from tools/) is the same as tools/ktest.py."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
