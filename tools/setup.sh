#!/usr/bin/env bash
# Installs everything ferrite needs to build, boot and test, from Debian/Ubuntu packages.
# Idempotent: packages already present are skipped, and nothing is done when all are there.
set -euo pipefail

packages=(
  # build
  cmake ninja-build make g++ python3
  # boot: emulator (and its window), bootloader images, UEFI firmware
  qemu-system-x86 qemu-system-gui grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools ovmf
  # host tests and benchmarks
  googletest libgtest-dev libbenchmark-dev libmimalloc-dev libjemalloc-dev libboost-dev valgrind
  python3-matplotlib  # make bench draws its charts with it
  # debugging and formatting
  gdb clang-format
  # user programs (chapter 14): the static libc, the first real program, and a cpio lister
  musl-tools busybox-static cpio
  gcc libc6-dev  # glibc static-PIE programs (user/pie_hello: gcc -static-pie needs rcrt1.o)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get update -q >/dev/null; then
  echo "setup: 'apt-get update' failed; check the network or apt sources" >&2; exit 1
fi
if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
  echo "setup: 'apt-get install' failed for: ${missing[*]}" >&2; exit 1
fi
echo "setup: installed ${#missing[@]} packages"
