/* mremap(2) as programs meet it (chapter 14): musl's realloc of a large block (which it mmaps)
 * calls mremap, and so does glibc's; then the calls themselves — growing in place, moving with
 * the contents, MREMAP_FIXED, shrinking, the errors — and a move after fork, whose pages are
 * shared copy-on-write. Prints one line per check; the same binary runs on Linux with the same
 * output. Exit status: the number of failed checks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096ul
#define MIB (1ul << 20)

static int failures;

static void check(int ok, const char* what) {
  printf("remap: %s: %s\n", what, ok ? "ok" : "FAILED");
  if (!ok) ++failures;
}

/* A byte that depends on the offset, so a page moved to the wrong place shows. */
static unsigned char pattern(size_t offset) { return (unsigned char)(offset * 7 + offset / PAGE); }

static int holds_pattern(const unsigned char* p, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i)
    if (p[i] != pattern(i)) return 0;
  return 1;
}

/* Whether [p, p + bytes) is mapped: mprotect to what it is says ENOMEM for an unmapped page. */
static int is_mapped(void* p, size_t bytes) {
  return mprotect(p, bytes, PROT_READ | PROT_WRITE) == 0;
}

static void grow_with_realloc(void) {
  size_t size = 1 * MIB;
  unsigned char* p = malloc(size);
  if (p == NULL) {
    check(0, "malloc 1 MiB");
    return;
  }
  for (size_t i = 0; i < size; ++i) p[i] = pattern(i);
  int kept = 1;
  while (size < 16 * MIB) {
    unsigned char* q = realloc(p, size * 2);
    if (q == NULL) {
      kept = 0;
      break;
    }
    p = q;
    kept &= holds_pattern(p, 0, size);
    for (size_t i = size; i < size * 2; ++i) p[i] = pattern(i);
    size *= 2;
  }
  kept &= size == 16 * MIB && holds_pattern(p, 0, size);
  check(kept, "realloc 1 MiB -> 16 MiB, contents kept");
  p = realloc(p, 2 * MIB);  /* shrinking: mremap again */
  check(p != NULL && holds_pattern(p, 0, 2 * MIB), "realloc 16 MiB -> 2 MiB, contents kept");
  free(p);
}

static void calls(void) {
  /* In place: 9 pages, the last one made read-only (another mapping: the wall), pages 4-7 given
   * back, then 4 -> 8 again without MREMAP_MAYMOVE, up to the wall. */
  unsigned char* p = mmap(NULL, 9 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    check(0, "mmap");
    return;
  }
  unsigned char* wall = p + 8 * PAGE;
  mprotect(wall, PAGE, PROT_READ);
  munmap(p + 4 * PAGE, 4 * PAGE);
  for (size_t i = 0; i < 4 * PAGE; ++i) p[i] = pattern(i);
  unsigned char* q = mremap(p, 4 * PAGE, 8 * PAGE, 0);
  check(q == p && holds_pattern(q, 0, 4 * PAGE) && q[8 * PAGE - 1] == 0, "grow in place");

  /* Blocked by the wall: ENOMEM without MAYMOVE, a move with it. */
  errno = 0;
  check(mremap(p, 8 * PAGE, 16 * PAGE, 0) == MAP_FAILED && errno == ENOMEM,
        "blocked without MREMAP_MAYMOVE: ENOMEM");
  for (size_t i = 4 * PAGE; i < 8 * PAGE; ++i) p[i] = pattern(i);
  q = mremap(p, 8 * PAGE, 16 * PAGE, MREMAP_MAYMOVE);
  check(q != MAP_FAILED && q != p && holds_pattern(q, 0, 8 * PAGE) && q[16 * PAGE - 1] == 0 &&
            !is_mapped(p, PAGE),
        "move: contents kept, old range gone");

  /* MREMAP_FIXED onto another mapping, shrinking on the way: it replaces what was there. */
  unsigned char* target = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char* r = mremap(q, 16 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  check(r == target && holds_pattern(r, 0, 2 * PAGE) && !is_mapped(q, PAGE) && (r[0] = 1, 1),
        "MREMAP_FIXED: replaces the target, writable as the old mapping was");
  errno = 0;
  check(mremap(r, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, r + PAGE) == MAP_FAILED &&
            errno == EINVAL,
        "MREMAP_FIXED overlapping the old range: EINVAL");

  /* Shrinking in place frees the tail. */
  check(mremap(r, 2 * PAGE, PAGE, 0) == r && !is_mapped(r + PAGE, PAGE), "shrink in place");

  /* The errors. */
  errno = 0;
  check(mremap(r, PAGE, 2 * PAGE, 8) == MAP_FAILED && errno == EINVAL, "unknown flag: EINVAL");
  errno = 0;
  check(mremap(r, PAGE, 2 * PAGE, MREMAP_FIXED, r + 64 * PAGE) == MAP_FAILED && errno == EINVAL,
        "MREMAP_FIXED without MREMAP_MAYMOVE: EINVAL");
  errno = 0;
  check(mremap(r + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE) == MAP_FAILED && errno == EINVAL,
        "misaligned: EINVAL");
  errno = 0;
  check(mremap(r, PAGE, 0, MREMAP_MAYMOVE) == MAP_FAILED && errno == EINVAL, "new size 0: EINVAL");
  errno = 0;
  check(mremap(r, 0, PAGE, MREMAP_MAYMOVE) == MAP_FAILED && errno == EINVAL,
        "old size 0 of a private mapping: EINVAL");
  errno = 0;
  check(mremap(r, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE) == MAP_FAILED && errno == EFAULT,
        "old range not all mapped: EFAULT");
  munmap(r, PAGE);
  munmap(wall, PAGE);
}

/* After fork both processes share the pages copy-on-write; the child moves its copy and writes
 * to it, the parent's bytes stay its own. */
static void after_fork(void) {
  unsigned char* p = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char* wall = p + 4 * PAGE;  /* so that growing must move */
  mprotect(wall, PAGE, PROT_NONE);
  for (size_t i = 0; i < 4 * PAGE; ++i) p[i] = pattern(i);
  fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    unsigned char* q = mremap(p, 4 * PAGE, 64 * PAGE, MREMAP_MAYMOVE);
    if (q == MAP_FAILED || q == p || !holds_pattern(q, 0, 4 * PAGE)) _exit(1);
    memset(q, 0xEE, 4 * PAGE);
    _exit(q[4 * PAGE - 1] == 0xEE && q[64 * PAGE - 1] == 0 ? 0 : 2);
  }
  int status = -1;
  waitpid(pid, &status, 0);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0 && holds_pattern(p, 0, 4 * PAGE),
        "after fork: the child's moved pages are its own");
  /* And the parent moves its (no longer shared) pages, then writes. */
  unsigned char* q = mremap(p, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
  check(q != MAP_FAILED && holds_pattern(q, 0, 4 * PAGE) && (q[0] = 9, q[0] == 9),
        "after fork: the parent moves and writes");
  munmap(q, 8 * PAGE);
  munmap(wall, PAGE);
}

int main(void) {
  grow_with_realloc();
  calls();
  after_fork();
  printf("remap: %d failed\n", failures);
  return failures;
}
