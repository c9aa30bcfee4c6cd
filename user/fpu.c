/* fpu: floating-point and SSE work with exact answers, to show that every program has its own
 * x87/SSE registers (chapter 14). Run two at once under preemption: each must still print OK.
 *   fpu [SEED [ROUNDS]]   SEED (default 1) makes each copy's numbers and register patterns its
 *                         own; ROUNDS (default 4, exact up to 10) sets how long it works
 *                         (a test kills a long one with Ctrl+C).
 * Checks, in order:
 *   1. the state the ABI promises at start: x87 control word 0x37F, MXCSR 0x1F80;
 *   2. xmm8-xmm15 loaded with a SEED pattern stay intact across a long integer-only loop
 *      (the kernel switches to other programs meanwhile and must save/restore them);
 *   3. double, long double (x87) and packed-double SSE sums whose exact values are known.
 * Exits 0 and prints "fpu SEED: OK" when all hold, else prints what failed and exits 1. */
#include <emmintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Fills xmm8..xmm15 with pattern + k, spins `rounds` times with integer instructions only, and
 * returns how many registers no longer hold their value. */
static int registers_survive(uint64_t pattern, uint64_t rounds) {
  uint64_t bad;
  __asm__ volatile(
      "movq %[p], %%xmm8\n\t"  "inc %[p]\n\t"
      "movq %[p], %%xmm9\n\t"  "inc %[p]\n\t"
      "movq %[p], %%xmm10\n\t" "inc %[p]\n\t"
      "movq %[p], %%xmm11\n\t" "inc %[p]\n\t"
      "movq %[p], %%xmm12\n\t" "inc %[p]\n\t"
      "movq %[p], %%xmm13\n\t" "inc %[p]\n\t"
      "movq %[p], %%xmm14\n\t" "inc %[p]\n\t"
      "movq %[p], %%xmm15\n\t"
      "1: dec %[n]\n\t"
      "jnz 1b\n\t"
      "xor %[bad], %[bad]\n\t"
      "movq %%xmm15, %%rax\n\t" "cmp %[p], %%rax\n\t" "setne %%al\n\t" "movzbq %%al, %%rax\n\t" "add %%rax, %[bad]\n\t" "dec %[p]\n\t"
      "movq %%xmm14, %%rax\n\t" "cmp %[p], %%rax\n\t" "setne %%al\n\t" "movzbq %%al, %%rax\n\t" "add %%rax, %[bad]\n\t" "dec %[p]\n\t"
      "movq %%xmm13, %%rax\n\t" "cmp %[p], %%rax\n\t" "setne %%al\n\t" "movzbq %%al, %%rax\n\t" "add %%rax, %[bad]\n\t" "dec %[p]\n\t"
      "movq %%xmm12, %%rax\n\t" "cmp %[p], %%rax\n\t" "setne %%al\n\t" "movzbq %%al, %%rax\n\t" "add %%rax, %[bad]\n\t" "dec %[p]\n\t"
      "movq %%xmm11, %%rax\n\t" "cmp %[p], %%rax\n\t" "setne %%al\n\t" "movzbq %%al, %%rax\n\t" "add %%rax, %[bad]\n\t" "dec %[p]\n\t"
      "movq %%xmm10, %%rax\n\t" "cmp %[p], %%rax\n\t" "setne %%al\n\t" "movzbq %%al, %%rax\n\t" "add %%rax, %[bad]\n\t" "dec %[p]\n\t"
      "movq %%xmm9, %%rax\n\t"  "cmp %[p], %%rax\n\t" "setne %%al\n\t" "movzbq %%al, %%rax\n\t" "add %%rax, %[bad]\n\t" "dec %[p]\n\t"
      "movq %%xmm8, %%rax\n\t"  "cmp %[p], %%rax\n\t" "setne %%al\n\t" "movzbq %%al, %%rax\n\t" "add %%rax, %[bad]\n\t"
      : [bad] "=&r"(bad), [p] "+r"(pattern), [n] "+r"(rounds)
      :
      : "rax", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
  return (int)bad;
}

int main(int argc, char** argv) {
  /* 1. Read before anything (printf included) can touch the state. */
  uint16_t fcw;
  uint32_t mxcsr;
  __asm__ volatile("fnstcw %0" : "=m"(fcw));
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  const long seed = argc > 1 ? atol(argv[1]) : 1;
  const long rounds = argc > 2 ? atol(argv[2]) : 4;
  int failed = 0;
  if (fcw != 0x37F || mxcsr != 0x1F80) {
    printf("fpu %ld: FAIL initial state: FCW %#x (want 0x37f), MXCSR %#x (want 0x1f80)\n", seed, fcw, mxcsr);
    failed = 1;
  }

  const uint64_t pattern = 0x1111111111111111ull * (uint64_t)(seed & 0xF) + 0x0102030405060708ull;
  const long n = 200000;
  double sum = 0.0;
  long double squares = 0.0L;
  __m128d packed = _mm_setzero_pd();
  for (long round = 0; round < rounds; ++round) {
    /* 2. */
    const int bad = registers_survive(pattern + (uint64_t)round * 16, 20000000);
    if (bad != 0) {
      printf("fpu %ld: FAIL %d of xmm8-15 changed while other programs ran\n", seed, bad);
      failed = 1;
    }
    /* 3. Every partial sum is an integer (or half-integer) far below 2^53: exact in double;
     * the squares fit the x87's 64-bit mantissa exactly. */
    for (long i = round * n + 1; i <= (round + 1) * n; ++i) {
      sum += (double)i * 0.5 * (double)seed;
      squares += (long double)i * (long double)i;
      packed = _mm_add_pd(packed, _mm_set_pd((double)i, (double)(i * seed)));
    }
  }
  const long total = rounds * n;
  const double want_sum = 0.5 * (double)seed * (double)total * (double)(total + 1) / 2.0;
  const long double want_squares = (long double)total * (total + 1) * (2 * total + 1) / 6.0L;
  double lanes[2];
  _mm_storeu_pd(lanes, packed);
  const double want_lane_high = (double)total * (double)(total + 1) / 2.0;
  if (sum != want_sum || squares != want_squares || lanes[1] != want_lane_high ||
      lanes[0] != want_lane_high * (double)seed) {
    printf("fpu %ld: FAIL sums: %.1f (want %.1f), %.1Lf (want %.1Lf), [%.1f %.1f]\n", seed, sum,
           want_sum, squares, want_squares, lanes[0], lanes[1]);
    failed = 1;
  }
  if (!failed) printf("fpu %ld: OK\n", seed);
  return failed;
}
