"""ktest: boot ferrite kernel images in QEMU and judge them (chapter 4, "Testing").

The package behind tools/ktest.py (one run, judged; used by every kernel.* CTest test) and
tools/soak.py (many runs across machine configurations). Only the Python standard library.

  keys    key specs ("Hi{ret}", "{ctrl+c}") -> QMP key actions, and typing them
  qmp     a minimal client of QEMU's JSON monitor (QMP)
  screen  the VGA text buffer (pmemsave dump) and QMP screendump images (PPM) read back
  serial  the guest's COM1 output: captured in the background, cleaned, judged by regexes
  machine the QEMU command line, one running QEMU (serial + QMP), and its exit status
  cli     tools/ktest.py's options, one judged run, the verdict
"""
