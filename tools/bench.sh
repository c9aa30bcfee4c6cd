#!/usr/bin/env bash
# `make bench`: every benchmark, each comparing ferrite with its peers in the same run (ratios,
# not absolute times: these machines are noisy). Google Benchmark JSON lands in <build>/bench/.
#   host:   allocators (vs blog_os's fixed-size block design, glibc, mimalloc, jemalloc; time and
#           callgrind instruction counts), executor (vs a bare coroutine, Boost.Asio); SVG charts
#   kernel: boot cost (vs an empty kernel), interrupt round trips and keyboard IRQ -> task
#           (QEMU -icount)
set -euo pipefail
build=${1:-build}
out="$build/bench"
mkdir -p "$out"

run_host_bench() {
  local name=$1
  local binary="$build/bench/$name"
  if [ ! -x "$binary" ]; then echo "bench: $binary not built, skipped"; return; fi
  echo "== $name"
  # Repetitions interleaved at random with the other benchmarks' (Google Benchmark's answer to
  # noisy machines); the console shows their aggregates, the JSON keeps every repetition.
  "$binary" --benchmark_out="$out/$name.json" --benchmark_out_format=json \
    --benchmark_repetitions="${BENCH_REPETITIONS:-5}" --benchmark_min_time=0.1 \
    --benchmark_enable_random_interleaving=true --benchmark_display_aggregates_only=true
}

run_host_bench bench_allocators
run_host_bench bench_executor
if [ -x "$build/bench/bench_allocators" ]; then
  echo "== instructions per allocator call (callgrind, every allocator on every trace)"
  python3 tools/bench_instructions.py "$build/bench/bench_allocators" \
    --json "$out/bench_allocators_instructions.json"
fi
echo "== host ratios (medians of the repetitions, each pair from the same run)"
python3 tools/bench_summary.py "$out"
# Debian's python3 and python3-matplotlib (tools/setup.sh), whatever python3 is first on PATH.
/usr/bin/python3 tools/bench_charts.py "$out"

echo "== boot cost (ferrite vs an empty kernel, -kernel/PVH)"
python3 tools/bench_boot.py --kernel "$build/kernel/ferrite.elf" \
  --empty "$build/tests/kernel/empty_kernel.elf" --runs 10 --json "$out/boot.json"

if [ -f "$build/tests/kernel/bench_interrupts.elf" ]; then
  echo "== interrupt round trips (guest time under -icount shift=0,sleep=off)"
  timeout 60 qemu-system-x86_64 -kernel "$build/tests/kernel/bench_interrupts.elf" -display none \
    -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -icount shift=0,sleep=off -m 128M | tee "$out/interrupts.txt" || true
fi
if [ -f "$build/tests/kernel/bench_keyboard.elf" ]; then
  echo "== keyboard IRQ -> decoded key in the waiting task (guest instructions under -icount shift=0,sleep=off)"
  # 32 keys typed through QMP (real 8042 interrupts); the image prints min/median/max and exits.
  python3 tools/ktest.py --kernel "$build/tests/kernel/bench_keyboard.elf" --icount --append "keys=32" \
    --keys-after "bench_keyboard: ready" --keys 'abcdefghijklmnopqrstuvwxyz012345' \
    --expect-exit success --timeout 60 --serial-log "$out/keyboard.txt" || true
  grep '^bench_keyboard:' "$out/keyboard.txt" || true
fi
echo "bench: results in $out/"
