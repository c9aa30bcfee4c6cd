#!/usr/bin/env bash
# tools/run-qemu.sh: boots ferrite in QEMU for a person to watch (make run, run-uefi, debug).
# The tests boot through tools/ktest.py instead; this script is for looking and debugging.
#
# Usage: tools/run-qemu.sh [--pvh ELF | --iso ISO --firmware bios|uefi] [--debug]
#                          [--append CMDLINE] [-- extra QEMU arguments...]
#   --pvh ELF     boot the ELF directly with QEMU -kernel (the PVH entry; fastest)
#   --iso ISO     boot a GRUB ISO from a CD-ROM, under SeaBIOS (bios) or OVMF (uefi)
#   --debug       start paused with a gdb server on localhost:1234 (-s -S); see tools/gdbinit
#   --append      kernel command line (only for --pvh; an ISO has its own in grub.cfg)
#   --initrd FILE the initramfs for --pvh (default build/initramfs.cpio; the ISO carries its own)
# Environment: QEMU (binary), FERRITE_DISPLAY (force a -display backend, e.g. gtk, curses,
# none), FERRITE_SERIAL_LOG (default build/serial.log), FERRITE_OVMF, FERRITE_MEMORY (128M).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
qemu=${QEMU:-qemu-system-x86_64}
serial_log=${FERRITE_SERIAL_LOG:-$repo/build/serial.log}
ovmf=${FERRITE_OVMF:-/usr/share/ovmf/OVMF.fd}
memory=${FERRITE_MEMORY:-128M}

usage() {
  sed -n '5,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

pvh="" iso="" firmware="bios" debug=0 append="" initrd="" extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pvh) pvh=${2:?--pvh needs an ELF}; shift 2 ;;
    --iso) iso=${2:?--iso needs an ISO}; shift 2 ;;
    --firmware) firmware=${2:?--firmware needs bios or uefi}; shift 2 ;;
    --debug) debug=1; shift ;;
    --append) append=${2?--append needs a command line}; shift 2 ;;
    --initrd) initrd=${2:?--initrd needs a file}; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage ;;
    *) echo "run-qemu.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

if [ -n "$pvh" ] && [ -n "$iso" ] || [ -z "$pvh$iso" ]; then
  echo "run-qemu.sh: give exactly one of --pvh ELF or --iso ISO" >&2; usage
fi
image=${pvh:-$iso}
if [ ! -f "$image" ]; then
  echo "run-qemu.sh: $image not found (build it first: make run / make iso)" >&2; exit 1
fi

# shellcheck disable=SC2054  # the commas belong to QEMU's -device syntax
args=(-m "$memory" -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04)
if [ -n "$pvh" ]; then
  args+=(-kernel "$pvh")
  [ -n "$append" ] && args+=(-append "$append")
  # The initramfs (chapter 14) next to the kernel, as `qemu -kernel ... -initrd ...` takes it.
  initrd=${initrd:-$repo/build/initramfs.cpio}
  if [ -f "$initrd" ]; then args+=(-initrd "$initrd"); fi
else
  if [ -n "$append" ]; then
    echo "run-qemu.sh: --append is ignored for ISOs (their command line is in grub.cfg)" >&2
  fi
  case "$firmware" in
    bios) ;;
    uefi)
      if [ ! -f "$ovmf" ]; then
        echo "run-qemu.sh: OVMF firmware $ovmf not found (install the 'ovmf' package)" >&2; exit 1
      fi
      args+=(-bios "$ovmf") ;;
    *) echo "run-qemu.sh: --firmware must be bios or uefi" >&2; exit 2 ;;
  esac
  args+=(-cdrom "$iso" -boot d)
fi

# Where the screen goes: a window when there is a graphical session, the terminal otherwise.
mkdir -p "$(dirname "$serial_log")"
available=$("$qemu" -display help 2>/dev/null || true)
display=${FERRITE_DISPLAY:-}
if [ -z "$display" ]; then
  if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
    if grep -qx gtk <<<"$available"; then display=gtk
    elif grep -qx sdl <<<"$available"; then display=sdl
    else
      echo "run-qemu.sh: this QEMU has no window backend (install 'qemu-system-gui');" \
           "showing the screen in the terminal instead" >&2
      display=curses
    fi
  else
    display=curses
  fi
  if [ "$display" = curses ] && ! { [ -t 0 ] && [ -t 1 ]; }; then
    display=none  # no terminal to draw in (e.g. output piped): show the serial output instead
  fi
fi

case "$display" in
  curses)
    args+=(-display curses -serial "file:$serial_log")
    cat >&2 <<EOF
ferrite: QEMU shows the VGA text screen in this terminal; keys you type go to the kernel.
  To quit: press Esc, then 2 (or Alt+2) to reach the QEMU monitor, type  quit  and press Enter.
  (Esc then 1, or Alt+1, goes back to the screen.)
  Serial output (everything the kernel prints): $serial_log
EOF
    ;;
  none)
    # Serial on this terminal (and in the log); Ctrl+C ends QEMU.
    args+=(-display none -monitor none -chardev "stdio,id=serial0,logfile=$serial_log"
           -serial chardev:serial0)
    echo "ferrite: no screen to show; printing the serial output here (Ctrl+C quits)." >&2
    ;;
  *)
    args+=(-display "$display" -serial "file:$serial_log")
    echo "ferrite: QEMU opens a window; close it to quit. Serial output: $serial_log" >&2
    ;;
esac

if [ "$debug" = 1 ]; then
  args+=(-s -S)
  elf=${pvh:-$repo/build/kernel/ferrite.elf}
  cat >&2 <<EOF
ferrite: QEMU starts paused and waits for gdb on localhost:1234. In another terminal, run
  cd $repo && FERRITE_ELF=$elf gdb -x tools/gdbinit
  then 'continue' (c) to boot; it stops at kernel_main and at panic_at.
EOF
fi

# Give a reader time to see the instructions before curses takes over the terminal.
if [ "$display" = curses ] && [ -z "${FERRITE_NO_PAUSE:-}" ]; then
  read -r -t 3 -p "ferrite: starting in 3 s (Enter starts now)..." _ || true
  echo >&2
fi

status=0
"$qemu" "${args[@]}" "${extra[@]}" || status=$?
case "$status" in
  33) echo "ferrite: the kernel exited with success (isa-debug-exit 0x10)" >&2; exit 0 ;;
  35) echo "ferrite: the kernel exited with failure (isa-debug-exit 0x11); see $serial_log" >&2
      exit 1 ;;
  0) echo "ferrite: QEMU ended (quit, or the guest reset/triple-faulted: -no-reboot)." \
          "Serial log: $serial_log" >&2; exit 0 ;;
  *) echo "ferrite: QEMU exited with status $status" >&2; exit "$status" ;;
esac
