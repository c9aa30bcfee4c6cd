/* bench: system-call costs measured from user space with rdtsc (chapters 14 and 15).
 *
 * Under QEMU with -icount shift=0,sleep=off the guest's time-stamp counter advances one tick per
 * guest instruction, so the figures are guest instructions per operation, and deterministic:
 * the same binary gives the same numbers run after run. `make bench` boots this very binary as
 * /init under ferrite and under Linux in the same QEMU, and compares the lines it prints:
 *
 *   bench <name> <instructions per operation>      or      bench <name> unsupported (<errno>)
 *
 * and last `bench process_pages <n>`: the size of the process the fork figure copies (a page
 * count, not a cost).
 *
 * When it runs as PID 1 it powers the machine off at the end (reboot(RB_POWER_OFF)), which ends
 * QEMU. Each figure is the smallest of several batches, to drop one-off costs (first-touch page
 * faults, cache warm-up in the emulator's translation cache); the first batch is the warm-up.
 * (Under -icount QEMU's TSC is the virtual clock in ns, and shift=0 makes one instruction one ns:
 * tools/bench_syscalls.py takes the figures as they are, with no conversion.) A figure includes
 * the user side of the call, the same under both kernels: for getpid about 45 instructions
 * (op_getpid, musl's variadic syscall() and __syscall_ret, and 3 of the timed loop's 7 per
 * iteration that the empty loop, subtracted, does not have). */
#define _GNU_SOURCE /* mremap */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
  return ((uint64_t)hi << 32) | lo;
}

enum { kBatches = 5 };

/* The smallest per-operation cost of `op` over kBatches batches of `count` operations, with the
 * cost of an empty loop of the same length subtracted. Returns -errno if op fails. */
static long long measure(int (*op)(void), int count) {
  uint64_t best = UINT64_MAX, best_empty = UINT64_MAX;
  for (int b = 0; b < kBatches; ++b) {
    uint64_t t0 = rdtsc();
    for (int i = 0; i < count; ++i) __asm__ volatile("" ::: "memory");
    uint64_t t1 = rdtsc();
    for (int i = 0; i < count; ++i) {
      int r = op();
      if (r < 0) return r;
    }
    uint64_t t2 = rdtsc();
    if (t1 - t0 < best_empty) best_empty = t1 - t0;
    if (t2 - t1 < best) best = t2 - t1;
  }
  return (long long)((best - (best_empty < best ? best_empty : 0)) / (uint64_t)count);
}

static int op_getpid(void) { return syscall(SYS_getpid) > 0 ? 0 : -errno; }
static int op_yield(void) { return syscall(SYS_sched_yield) == 0 ? 0 : -errno; }
static int op_mmap_touch_munmap(void) {
  volatile char* p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return -errno;
  p[0] = 1;
  return munmap((void*)p, 4096) == 0 ? 0 : -errno;
}

/* mremap (chapter 14): a 64-page mapping, every page touched, with another mapping right after
 * it, grows by one page — it must move, as realloc's growing block does — and then goes back to
 * where it was and to its size (MREMAP_FIXED, a move again). Two moves of 64 pages per
 * operation: what a kernel that moves page-table entries does in place of copying 256 KiB. */
enum { kRemapPages = 64 };
static char* remap_at;
static int op_mremap_move(void) {
  char* moved = mremap(remap_at, kRemapPages * 4096, (kRemapPages + 1) * 4096, MREMAP_MAYMOVE);
  if (moved == MAP_FAILED) return -errno;
  if (mremap(moved, (kRemapPages + 1) * 4096, kRemapPages * 4096, MREMAP_MAYMOVE | MREMAP_FIXED,
             remap_at) != remap_at)
    return -errno;
  return 0;
}
static long long measure_mremap(int count) {
  /* One mapping of 65 pages, the last made read-only: the wall that keeps growth from happening
   * in place. */
  remap_at = mmap(0, (kRemapPages + 1) * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (remap_at == MAP_FAILED) return -errno;
  if (mprotect(remap_at + kRemapPages * 4096, 4096, PROT_READ) != 0) return -errno;
  for (int i = 0; i < kRemapPages; ++i) remap_at[i * 4096] = (char)i;
  long long result = measure(op_mremap_move, count);
  for (int i = 0; result >= 0 && i < kRemapPages; ++i)
    if (remap_at[i * 4096] != (char)i) result = -EIO; /* the bytes must have come along */
  munmap(remap_at, (kRemapPages + 1) * 4096);
  return result;
}

static int to_child[2], to_parent[2];
static int op_pipe_round_trip(void) {
  char c = 'x';
  if (write(to_child[1], &c, 1) != 1) return -errno;
  if (read(to_parent[0], &c, 1) != 1) return -errno;
  return 0;
}
static long long measure_pipe(int count) {
  if (pipe(to_child) != 0 || pipe(to_parent) != 0) return -errno;
  pid_t child = fork();
  if (child < 0) return -errno;
  if (child == 0) {
    close(to_child[1]);  /* so that the parent's close gives this child EOF */
    close(to_parent[0]);
    char c;
    while (read(to_child[0], &c, 1) == 1) {
      if (write(to_parent[1], &c, 1) != 1) break;
    }
    _exit(0);
  }
  close(to_child[0]);
  close(to_parent[1]);
  long long result = measure(op_pipe_round_trip, count);
  close(to_child[1]);  /* the child sees EOF and exits */
  waitpid(child, 0, 0);
  close(to_parent[0]);
  return result;
}

static int op_fork_exit_wait(void) {
  pid_t child = fork();
  if (child < 0) return -errno;
  if (child == 0) _exit(0);
  int status;
  if (waitpid(child, &status, 0) != child) return -errno;
  return 0;
}

/* The process being forked and timed, in 4 KiB pages: its image as the linker laid it out, from
 * __executable_start (the ELF's first byte, GNU ld's default script) to `end` (the last byte of
 * .bss), page-rounded, plus the heap (brk) grown since main began (Linux places the break at a
 * random distance above `end`, so only the growth is comparable). Its stack (one or two pages
 * touched) is not counted. The same binary gives the same count under both kernels. */
extern const char __executable_start[], end[];
static uintptr_t brk_at_start;
static long long process_pages(void) {
  uintptr_t first = (uintptr_t)__executable_start & ~(uintptr_t)4095;
  uintptr_t last = ((uintptr_t)end + 4095) & ~(uintptr_t)4095;
  uintptr_t heap = ((uintptr_t)sbrk(0) - brk_at_start + 4095) & ~(uintptr_t)4095;
  return (long long)((last - first + heap) / 4096);
}

static void report(const char* name, long long value) {
  if (value < 0) {
    printf("bench %s unsupported (%s)\n", name, strerror((int)-value));
  } else {
    printf("bench %s %lld\n", name, value);
  }
  fflush(stdout);
}

int main(void) {
  brk_at_start = (uintptr_t)sbrk(0);
  printf("bench: start (pid %d)\n", (int)getpid());
  report("getpid", measure(op_getpid, 1000));
  report("sched_yield", measure(op_yield, 1000));
  report("mmap_touch_munmap", measure(op_mmap_touch_munmap, 200));
  report("pipe_round_trip", measure_pipe(200));
  report("fork_exit_wait", measure(op_fork_exit_wait, 20));
  report("mremap_move_64_pages", measure_mremap(50));
  report("process_pages", process_pages());
  printf("bench: done\n");
  fflush(stdout);
  if (getpid() == 1) {
    sync();
    reboot(RB_POWER_OFF);
  }
  return 0;
}
