/* sysfuzz: a hostile program that hunts kernel bugs through the Linux system-call ABI.
 *
 *   sysfuzz [SEED [ROUNDS [CALLS [FIRST]]]] [-v]      (defaults: 1 100 40 0)
 *
 * Round R (FIRST <= R < FIRST + ROUNDS) forks a child whose random numbers come from SEED and R
 * alone, so that a round can be replayed by itself. It makes CALLS system calls chosen at random
 * from the ones ferrite implements (a third of them among the calls that change or walk the
 * file tree, on a few names under /tmp), with hostile arguments: NULL, unmapped, kernel-half and
 * non-canonical pointers, misaligned ones, read-only pages (its own text) where the kernel
 * writes, ranges that run off the end of a mapping, huge and negative lengths, random flags,
 * bad and closed descriptors. The child makes them with its own `syscall` instruction (no errno,
 * no TLS), so a call that breaks its memory or its FS base ends only the child. The parent
 * kills a child that has not finished after 250 ms (a call may block legitimately: a pipe
 * read, a sleep), reaps it, and counts how it ended. A child killed by a signal is fine; the
 * kernel must stay up.
 *
 * Left out, because they would stop the test legitimately: reboot; exit_group in the parent;
 * signals to pid -1, to the parent or its process group (the child takes a group of its own);
 * execve of a real program; setsid (the console's session); the terminal ioctls that set
 * (termios, the foreground group, the controlling terminal); opening /dev/console or /dev/tty
 * (the child's 0, 1 and 2 are /dev/null).
 *
 * The rounds run in passes (the same rounds each time) until a pass ends with as much free
 * memory as the one before (main() says why). Then one line
 * `sysfuzz: P x N rounds, M calls, K killed by signals, T timed out, ok` (the kernel stayed
 * up), and the memory check: sysinfo's freeram (the frame allocator's free frames, honestly:
 * kernel/syscall/machine.cpp) must have stopped falling, and this must be the only process
 * left. Then `sysfuzz: memory and processes back`, or what is wrong and exit status 1.
 * -v prints each call before it is made (to find the call that took a kernel down). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define REPORT_FD 60 /* the child's write end of the report pipe: one byte per call */
#define LOG_FD 61    /* -v: the console, for the call-by-call trace */
#define PAGE 4096ul

/* --- randomness: xorshift64*, seeded from (seed, round): each round is reproducible alone. */
static uint64_t rng;
static uint64_t next(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545F4914F6CDD1Dull;
}
static uint64_t below(uint64_t n) { return n ? next() % n : 0; }
static int chance(int percent) { return (int)below(100) < percent; }

/* --- raw system calls: no libc on the fuzzing path. */
static inline long raw6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
static inline __attribute__((noreturn)) void raw_exit(int status) {
  for (;;) raw6(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

/* --- the child's world: memory and descriptors the hostile arguments point at. */
static char scratch[3 * PAGE] __attribute__((aligned(4096)));
static char* edge;       /* a mapped page whose next page is not mapped */
static char* read_only;  /* a PROT_READ page */
static char* huge;       /* 1 GiB reserved, touched only by the calls themselves */
static int verbose;

static const char* const paths[] = {
    "/tmp/f0", "/tmp/f1", "/tmp/d0", "/tmp/d0/d1", "/tmp/d0/f2", "/tmp/d0/d1/f3", ".", "..",
    "/", "/tmp", "", "/bin/hello", "/dev/null", "/dev/zero", "/nonexistent/x", "d1", "f2",
    "../f1", "/tmp/f0/", "/tmp//d0/./d1/..", "/bin", "/tmp/d0/d1/../../f1",
};
#define NPATHS (sizeof paths / sizeof paths[0])
static char long_path[6000];

enum { NFDS = 10 };
static int pool_fds[NFDS]; /* opened by the child before it starts */
static const int closed_fd = 50;

static uint64_t hostile_pointer(void) {
  switch (below(16)) {
    case 0: return 0;
    case 1: return 1 + below(PAGE);                    /* the unmapped first page */
    case 2: return 0xffff800000000000ull;              /* the kernel half: the physical map */
    case 3: return 0xffffffff80000000ull + below(PAGE); /* kernel text */
    case 4: return 0x0000800000000000ull;              /* non-canonical */
    case 5: return 0x00007ffffffff000ull + below(PAGE); /* the last page of the user half */
    case 6: return (uint64_t)(uintptr_t)&hostile_pointer; /* read-only: own text */
    case 7: return (uint64_t)(uintptr_t)(edge + PAGE - 1 - below(16)); /* runs off a mapping */
    case 8: return (uint64_t)(uintptr_t)(scratch + 1 + below(7)); /* misaligned, good */
    case 9: return (uint64_t)(uintptr_t)read_only;
    case 10: return (uint64_t)(uintptr_t)(huge + below(1ull << 30));
    case 11: return next();
    case 12: return 0xfffffffffffff000ull + below(PAGE); /* wraps around */
    case 13: return (uint64_t)(uintptr_t)(edge + PAGE - 8);
    default: return (uint64_t)(uintptr_t)(scratch + 8 * below(PAGE / 8)); /* good */
  }
}

static uint64_t hostile_length(void) {
  switch (below(10)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return below(64);
    case 3: return below(8192);
    case 4: return 0x7fffffff;
    case 5: return 0x80000000ull;
    case 6: return ~0ull;                    /* -1 */
    case 7: return 1ull << 63;
    case 8: return (uint64_t)-(int64_t)below(4096); /* small negative */
    default: return next();
  }
}

static uint64_t hostile_fd(void) {
  switch (below(12)) {
    case 0: return (uint64_t)-1;
    case 1: return 1u << 20;
    case 2: return 0x7fffffff;
    case 3: return (uint64_t)(int64_t)INT32_MIN;
    case 4: return (uint64_t)-100; /* AT_FDCWD */
    case 5: return 1023 + below(3);
    case 6: return closed_fd;
    case 7: return (1ull << 32) | (uint64_t)pool_fds[below(NFDS)]; /* upper half set */
    case 8: return below(3);
    default: return (uint64_t)pool_fds[below(NFDS)];
  }
}

static uint64_t path_pointer(void) {
  /* Mostly a few names in one small tree: creating, entering and removing the same directory
   * in one batch is where lifetimes go wrong. */
  static const char* const focus[] = {"/tmp/d0/f2", "/tmp/d0", "f2", ".", "..", "/tmp/d0/d1/f3"};
  if (chance(20)) return hostile_pointer();
  if (chance(50)) return (uint64_t)(uintptr_t)focus[below(6)];
  if (chance(5)) return (uint64_t)(uintptr_t)long_path;
  if (chance(5)) return (uint64_t)(uintptr_t)(edge + PAGE - 4); /* "/tmp" without its NUL */
  return (uint64_t)(uintptr_t)paths[below(NPATHS)];
}

/* For the calls on directories (mkdir, rmdir, chdir, rename): mostly the few directory names
 * of one small tree, so that a batch often makes a directory, enters it and removes it. */
static uint64_t directory_pointer(void) {
  static const char* const directories[] = {"/tmp/d0/d1", "/tmp/d0/d1", "d1", "/tmp/d0", ".",
                                            "..", "/tmp/d0/d1/d2", "d2"};
  if (chance(60)) return (uint64_t)(uintptr_t)directories[below(8)];
  return path_pointer();
}

static uint64_t hostile_flags(void) {
  switch (below(4)) {
    case 0: return 0;
    case 1: return next();
    case 2: return 1ull << below(64);
    default: return next() & 0xffffffffu;
  }
}

/* A pid or tid to signal: only the child itself, its own group, or nobody. */
static uint64_t target_pid(int self) {
  switch (below(6)) {
    case 0: return (uint64_t)self;
    case 1: return (uint64_t)-(int64_t)self; /* the child's own group (it leads one) */
    case 2: return 0;                        /* the caller's group: the child's own */
    case 3: return 99999;
    case 4: return (uint64_t)(int64_t)INT32_MIN;
    default: return (uint64_t)-(int64_t)99999;
  }
}

/* Fills the scratch buffer with bytes that make plausible structures (iovecs, pollfds,
 * timespecs, sigactions) sometimes hostile, sometimes sensible. */
static void stir_scratch(void) {
  uint64_t* words = (uint64_t*)scratch;
  for (size_t i = 0; i < sizeof scratch / 8; ++i) {
    switch (below(6)) {
      case 0: words[i] = hostile_pointer(); break;
      case 1: words[i] = hostile_length(); break;
      case 2: words[i] = below(4); break;
      case 3: words[i] = (uint64_t)pool_fds[below(NFDS)] | (uint64_t)below(0x40) << 32; break;
      default: words[i] = below(1000000); break;
    }
  }
}

struct call {
  const char* name;
  long number;
};

/* The calls, as kernel/syscall/syscall.cpp's table lists them, less those left out above. */
static const struct call calls[] = {
    {"read", SYS_read}, {"write", SYS_write}, {"readv", SYS_readv}, {"writev", SYS_writev},
    {"pread64", SYS_pread64}, {"open", SYS_open}, {"openat", SYS_openat}, {"close", SYS_close},
    {"lseek", SYS_lseek}, {"stat", SYS_stat}, {"fstat", SYS_fstat}, {"lstat", SYS_lstat},
    {"newfstatat", SYS_newfstatat}, {"statx", SYS_statx}, {"getdents64", SYS_getdents64},
    {"readlink", SYS_readlink}, {"readlinkat", SYS_readlinkat}, {"access", SYS_access},
    {"faccessat", SYS_faccessat}, {"faccessat2", SYS_faccessat2}, {"getcwd", SYS_getcwd},
    {"utimensat", SYS_utimensat},
    {"chdir", SYS_chdir}, {"fchdir", SYS_fchdir}, {"ioctl", SYS_ioctl},
    {"sendfile", SYS_sendfile}, {"fcntl", SYS_fcntl}, {"dup", SYS_dup}, {"dup2", SYS_dup2},
    {"dup3", SYS_dup3}, {"creat", SYS_creat}, {"mkdir", SYS_mkdir}, {"mkdirat", SYS_mkdirat},
    {"unlink", SYS_unlink}, {"unlinkat", SYS_unlinkat}, {"rmdir", SYS_rmdir},
    {"rename", SYS_rename}, {"renameat", SYS_renameat}, {"renameat2", SYS_renameat2},
    {"truncate", SYS_truncate}, {"ftruncate", SYS_ftruncate}, {"pwrite64", SYS_pwrite64},
    {"chmod", SYS_chmod}, {"fchmod", SYS_fchmod}, {"fchmodat", SYS_fchmodat},
    {"chown", SYS_chown}, {"fchown", SYS_fchown}, {"lchown", SYS_lchown},
    {"fchownat", SYS_fchownat}, {"statfs", SYS_statfs}, {"fstatfs", SYS_fstatfs},
    {"symlink", SYS_symlink}, {"symlinkat", SYS_symlinkat}, {"link", SYS_link},
    {"linkat", SYS_linkat}, {"mknod", SYS_mknod}, {"mknodat", SYS_mknodat},
    {"pipe", SYS_pipe}, {"pipe2", SYS_pipe2}, {"poll", SYS_poll}, {"ppoll", SYS_ppoll},
    {"select", SYS_select}, {"pselect6", SYS_pselect6}, {"brk", SYS_brk}, {"mmap", SYS_mmap},
    {"munmap", SYS_munmap}, {"mprotect", SYS_mprotect}, {"mremap", SYS_mremap},
    {"getpid", SYS_getpid},
    {"getppid", SYS_getppid}, {"gettid", SYS_gettid}, {"getuid", SYS_getuid},
    {"getpgid", SYS_getpgid}, {"getpgrp", SYS_getpgrp}, {"getgroups", SYS_getgroups},
    {"umask", SYS_umask}, {"getsid", SYS_getsid}, {"setpgid", SYS_setpgid},
    {"fork", SYS_fork}, {"vfork", SYS_vfork}, {"clone", SYS_clone}, {"execve", SYS_execve},
    {"wait4", SYS_wait4}, {"waitid", SYS_waitid}, {"arch_prctl", SYS_arch_prctl},
    {"set_tid_address", SYS_set_tid_address}, {"set_robust_list", SYS_set_robust_list},
    {"rt_sigaction", SYS_rt_sigaction}, {"rt_sigprocmask", SYS_rt_sigprocmask},
    {"prlimit64", SYS_prlimit64}, {"rt_sigpending", SYS_rt_sigpending},
    {"rt_sigreturn", SYS_rt_sigreturn}, {"kill", SYS_kill}, {"tgkill", SYS_tgkill},
    {"tkill", SYS_tkill}, {"pause", SYS_pause}, {"rt_sigsuspend", SYS_rt_sigsuspend},
    {"sigaltstack", SYS_sigaltstack}, {"uname", SYS_uname}, {"clock_gettime", SYS_clock_gettime},
    {"clock_getres", SYS_clock_getres}, {"gettimeofday", SYS_gettimeofday}, {"time", SYS_time},
    {"nanosleep", SYS_nanosleep}, {"clock_nanosleep", SYS_clock_nanosleep},
    {"sched_yield", SYS_sched_yield}, {"getrandom", SYS_getrandom}, {"sysinfo", SYS_sysinfo},
    {"sync", SYS_sync}, {"syslog", SYS_syslog}, {"prctl", SYS_prctl}, {"rseq", SYS_rseq},
    {"exit", SYS_exit},
    {"unknown", -1},
};
#define NCALLS (sizeof calls / sizeof calls[0])

/* A short sleep, or a hostile timespec: the calls that take one must not block for long. */
static uint64_t timespec_pointer(void) {
  if (chance(30)) return hostile_pointer();
  int64_t* ts = (int64_t*)(scratch + 2 * PAGE);
  ts[0] = chance(90) ? 0 : (int64_t)hostile_length();
  ts[1] = chance(90) ? (int64_t)below(2000000) : (int64_t)hostile_length();
  return (uint64_t)(uintptr_t)ts;
}

/* One call's number and arguments. Blocking calls get short timeouts most of the time; what
 * still blocks is the parent's to end. */
static const long tree_calls[] = {SYS_mkdir, SYS_rmdir, SYS_chdir, SYS_fchdir, SYS_unlink,
                                  SYS_rename, SYS_open, SYS_creat, SYS_getcwd, SYS_close,
                                  SYS_openat, SYS_getdents64, SYS_chmod, SYS_chown,
                                  SYS_statfs};
#define NTREE (sizeof tree_calls / sizeof tree_calls[0])

static void choose(int self, long* number, uint64_t a[6], const char** name) {
  const struct call* c = &calls[below(NCALLS)];
  /* pause and rt_sigsuspend wait for a signal that seldom comes: each costs the parent's whole
   * timeout, so they are picked one time in ten. */
  while ((c->number == SYS_pause || c->number == SYS_rt_sigsuspend) && !chance(10)) {
    c = &calls[below(NCALLS)];
  }
  /* A third of the calls change or walk the file tree, so that sequences such as mkdir, chdir,
   * rmdir, getcwd happen in one batch. */
  if (chance(33)) {
    const long wanted = tree_calls[below(NTREE)];
    for (size_t i = 0; i < NCALLS; ++i) {
      if (calls[i].number == wanted) c = &calls[i];
    }
  }
  *name = c->name;
  *number = c->number;
  for (int i = 0; i < 6; ++i) a[i] = chance(50) ? hostile_pointer() : hostile_length();
  switch (c->number) {
    case SYS_read: case SYS_write: case SYS_pread64: case SYS_pwrite64:
      a[0] = hostile_fd(); a[1] = hostile_pointer(); a[2] = hostile_length();
      a[3] = chance(50) ? below(8192) : hostile_length();
      break;
    case SYS_readv: case SYS_writev:
      a[0] = hostile_fd(); a[1] = hostile_pointer(); a[2] = chance(70) ? below(8) : hostile_length();
      break;
    case SYS_open: a[0] = path_pointer(); a[1] = hostile_flags() & ~(uint64_t)O_NOCTTY; a[2] = below(01000); break;
    case SYS_openat: a[0] = hostile_fd(); a[1] = path_pointer(); a[2] = hostile_flags(); a[3] = below(01000); break;
    case SYS_creat: a[0] = path_pointer(); a[1] = chance(80) ? 0755 : next(); break;
    case SYS_mkdir: a[0] = directory_pointer(); a[1] = chance(80) ? 0755 : next(); break;
    case SYS_mkdirat: a[0] = hostile_fd(); a[1] = directory_pointer(); a[2] = 0755; break;
    case SYS_unlink: a[0] = path_pointer(); break;
    case SYS_rmdir: case SYS_chdir: a[0] = directory_pointer(); break;
    case SYS_unlinkat: a[0] = hostile_fd(); a[1] = path_pointer(); a[2] = chance(50) ? 0x200 : hostile_flags(); break;
    case SYS_rename: a[0] = directory_pointer(); a[1] = directory_pointer(); break;
    case SYS_renameat: case SYS_renameat2:
      a[0] = hostile_fd(); a[1] = path_pointer(); a[2] = hostile_fd(); a[3] = path_pointer();
      a[4] = chance(70) ? 0 : hostile_flags();
      break;
    case SYS_truncate: a[0] = path_pointer(); a[1] = chance(50) ? below(100000) : hostile_length(); break;
    case SYS_ftruncate: a[0] = hostile_fd(); a[1] = chance(50) ? below(100000) : hostile_length(); break;
    case SYS_stat: case SYS_lstat: a[0] = path_pointer(); a[1] = hostile_pointer(); break;
    case SYS_newfstatat: a[0] = hostile_fd(); a[1] = path_pointer(); a[2] = hostile_pointer(); a[3] = chance(50) ? 0x1000 : hostile_flags(); break;
    case SYS_statx: a[0] = hostile_fd(); a[1] = path_pointer(); a[2] = chance(50) ? 0x1000 : hostile_flags(); a[3] = next(); a[4] = hostile_pointer(); break;
    case SYS_readlink: a[0] = path_pointer(); a[1] = hostile_pointer(); a[2] = hostile_length(); break;
    case SYS_readlinkat: a[0] = hostile_fd(); a[1] = path_pointer(); a[2] = hostile_pointer(); a[3] = hostile_length(); break;
    case SYS_access: a[0] = path_pointer(); a[1] = below(9); break;
    case SYS_faccessat: case SYS_faccessat2: a[0] = hostile_fd(); a[1] = path_pointer(); a[2] = below(9); a[3] = hostile_flags(); break;
    case SYS_getcwd: a[0] = hostile_pointer(); a[1] = hostile_length(); break;
    case SYS_chmod: a[0] = path_pointer(); a[1] = chance(80) ? below(010000) : next(); break;
    case SYS_fchmodat: a[0] = hostile_fd(); a[1] = path_pointer(); a[2] = below(010000); break;
    case SYS_chown: case SYS_lchown:
      a[0] = path_pointer(); a[1] = chance(30) ? (uint64_t)-1 : below(3); a[2] = chance(30) ? (uint32_t)-1 : below(3);
      break;
    case SYS_fchownat:
      a[0] = hostile_fd(); a[1] = path_pointer(); a[2] = below(3); a[3] = below(3);
      a[4] = chance(50) ? 0x1000 : hostile_flags();
      break;
    case SYS_fchmod: case SYS_fchown: case SYS_fstatfs:
      a[0] = hostile_fd(); a[1] = chance(50) ? below(010000) : hostile_pointer();
      break;
    case SYS_statfs: a[0] = path_pointer(); a[1] = hostile_pointer(); break;
    case SYS_symlink: case SYS_link: a[0] = path_pointer(); a[1] = path_pointer(); break;
    case SYS_symlinkat: a[0] = path_pointer(); a[1] = hostile_fd(); a[2] = path_pointer(); break;
    case SYS_linkat:
      a[0] = hostile_fd(); a[1] = path_pointer(); a[2] = hostile_fd(); a[3] = path_pointer();
      a[4] = chance(50) ? 0x400 : hostile_flags();
      break;
    case SYS_mknod: case SYS_mknodat: {
      /* Files, named pipes and devices mostly (null, zero, one with no driver), else anything. */
      static const uint64_t kinds[] = {0, 0100000, 0010000, 0020000, 0060000, 0040000};
      const int at = c->number == SYS_mknodat;
      if (at) a[0] = hostile_fd();
      a[at] = path_pointer();
      a[at + 1] = chance(80) ? kinds[below(6)] | below(01000) : next();
      a[at + 2] = chance(80) ? (1u << 8) | below(8) : hostile_length();
      break;
    }
    case SYS_syslog: {
      /* Not CONSOLE_OFF, _ON or _LEVEL (6-8): they would leave the console's level changed for
       * the rest of the boot, hiding what later tests look for. */
      static const uint64_t actions[] = {0, 1, 2, 3, 4, 5, 9, 10, 11, (uint64_t)-1};
      a[0] = actions[below(10)]; a[1] = hostile_pointer(); a[2] = chance(50) ? below(4096) : hostile_length();
      break;
    }
    case SYS_fchdir: case SYS_close: case SYS_dup: case SYS_fstat: case SYS_getdents64: case SYS_lseek:
      a[0] = hostile_fd(); a[1] = hostile_pointer(); a[2] = chance(50) ? below(4) : hostile_length();
      if (c->number == SYS_lseek) a[1] = hostile_length();
      break;
    case SYS_ioctl: {
      static const uint64_t requests[] = {0x5401 /* TCGETS */, 0x5413 /* TIOCGWINSZ */,
                                          0x541B /* FIONREAD */, 0x540F /* TIOCGPGRP */,
                                          0x5429 /* TIOCGSID */, 0x5414 /* TIOCSWINSZ */};
      a[0] = hostile_fd();
      a[1] = chance(80) ? requests[below(6)] : (hostile_flags() & ~0xffffull) | 0x1234;
      a[2] = hostile_pointer();
      break;
    }
    case SYS_sendfile:
      a[0] = hostile_fd(); a[1] = hostile_fd(); a[2] = chance(50) ? 0 : hostile_pointer(); a[3] = hostile_length();
      break;
    case SYS_fcntl: a[0] = hostile_fd(); a[1] = chance(70) ? below(12) : (chance(50) ? 1030 : hostile_flags()); a[2] = chance(50) ? below(64) : hostile_length(); break;
    case SYS_dup2: case SYS_dup3: a[0] = hostile_fd(); a[1] = hostile_fd(); a[2] = chance(50) ? 0 : hostile_flags(); break;
    case SYS_pipe: case SYS_pipe2: a[0] = hostile_pointer(); a[1] = chance(50) ? O_NONBLOCK : hostile_flags(); break;
    case SYS_poll: a[0] = hostile_pointer(); a[1] = chance(70) ? below(8) : hostile_length(); a[2] = below(20); break;
    case SYS_ppoll: a[0] = hostile_pointer(); a[1] = chance(70) ? below(8) : hostile_length(); a[2] = timespec_pointer(); a[3] = chance(50) ? 0 : hostile_pointer(); a[4] = 8; break;
    case SYS_select: case SYS_pselect6:
      a[0] = chance(70) ? below(16) : hostile_length(); a[1] = hostile_pointer(); a[2] = hostile_pointer();
      a[3] = hostile_pointer(); a[4] = timespec_pointer(); a[5] = chance(50) ? 0 : hostile_pointer();
      break;
    case SYS_brk: a[0] = chance(50) ? hostile_pointer() : 0; break;
    case SYS_mmap:
      a[0] = chance(50) ? 0 : hostile_pointer() & ~(chance(80) ? PAGE - 1 : 0);
      a[1] = chance(60) ? PAGE * (1 + below(64)) : hostile_length();
      a[2] = chance(70) ? below(8) : hostile_flags();
      a[3] = chance(70) ? (0x02 | 0x20 | (chance(20) ? 0x10 : 0)) : hostile_flags(); /* PRIVATE|ANON (|FIXED) */
      a[4] = hostile_fd(); a[5] = chance(70) ? 0 : hostile_length();
      break;
    case SYS_munmap: case SYS_mprotect:
      /* Never the child's own scratch/stack on purpose (they may still be hit by chance). */
      a[0] = chance(50) ? (uint64_t)(uintptr_t)(huge + PAGE * below(1 << 18)) : hostile_pointer();
      a[1] = chance(60) ? PAGE * (1 + below(64)) : hostile_length();
      a[2] = chance(70) ? below(8) : hostile_flags();
      break;
    case SYS_mremap:
      /* Mostly pieces of `huge` grown, shrunk and moved (MAYMOVE 1, FIXED 2, DONTUNMAP 4), now
       * and then onto a hostile address. */
      a[0] = chance(50) ? (uint64_t)(uintptr_t)(huge + PAGE * below(1 << 18)) : hostile_pointer();
      a[1] = chance(60) ? PAGE * below(64) : hostile_length();
      a[2] = chance(60) ? PAGE * (1 + below(256)) : hostile_length();
      a[3] = chance(70) ? below(8) : hostile_flags();
      a[4] = chance(50) ? (uint64_t)(uintptr_t)(huge + PAGE * below(1 << 18)) : hostile_pointer();
      break;
    case SYS_getpgid: case SYS_getsid: a[0] = target_pid(self); break;
    case SYS_setpgid: a[0] = chance(50) ? 0 : target_pid(self); a[1] = chance(50) ? 0 : target_pid(self); break;
    case SYS_umask: a[0] = next(); break;
    case SYS_getgroups: a[0] = chance(50) ? below(4) : hostile_length(); a[1] = hostile_pointer(); break;
    case SYS_fork: case SYS_vfork: break;
    case SYS_clone:
      a[0] = chance(50) ? 17 /* SIGCHLD */ : hostile_flags();
      a[1] = chance(50) ? 0 : hostile_pointer(); a[2] = hostile_pointer(); a[3] = hostile_pointer();
      a[4] = hostile_pointer();
      break;
    case SYS_execve: {
      /* Only files that are not programs, or hostile pointers: never a real program. */
      static const char* const not_programs[] = {"/tmp/f0", "/", "/dev/null", "/nonexistent",
                                                 "/tmp/d0", ""};
      a[0] = chance(50) ? hostile_pointer() : (uint64_t)(uintptr_t)not_programs[below(6)];
      a[1] = hostile_pointer(); a[2] = hostile_pointer();
      break;
    }
    case SYS_wait4: a[0] = chance(50) ? (uint64_t)-1 : target_pid(self); a[1] = hostile_pointer(); a[2] = 1 /* WNOHANG */ | (chance(30) ? hostile_flags() : 0); a[3] = hostile_pointer(); break;
    case SYS_waitid: a[0] = below(4); a[1] = target_pid(self); a[2] = hostile_pointer(); a[3] = 1 | 4 | (chance(30) ? hostile_flags() : 0); a[4] = hostile_pointer(); break;
    case SYS_arch_prctl: a[0] = chance(70) ? 0x1001 + below(4) : hostile_flags(); a[1] = hostile_pointer(); break;
    case SYS_set_tid_address: a[0] = hostile_pointer(); break;
    case SYS_set_robust_list: a[0] = hostile_pointer(); a[1] = chance(50) ? 24 : hostile_length(); break;
    case SYS_rt_sigaction:
      a[0] = below(70); a[1] = chance(20) ? 0 : hostile_pointer(); a[2] = chance(50) ? 0 : hostile_pointer();
      a[3] = chance(80) ? 8 : hostile_length();
      break;
    case SYS_rt_sigprocmask: a[0] = chance(80) ? below(3) : next(); a[1] = hostile_pointer(); a[2] = hostile_pointer(); a[3] = chance(80) ? 8 : hostile_length(); break;
    case SYS_rt_sigpending: a[0] = hostile_pointer(); a[1] = chance(80) ? 8 : hostile_length(); break;
    case SYS_rt_sigsuspend: a[0] = hostile_pointer(); a[1] = chance(80) ? 8 : hostile_length(); break;
    case SYS_sigaltstack: a[0] = hostile_pointer(); a[1] = hostile_pointer(); break;
    case SYS_prlimit64: a[0] = chance(50) ? 0 : target_pid(self); a[1] = chance(70) ? below(16) : next(); a[2] = chance(50) ? 0 : hostile_pointer(); a[3] = hostile_pointer(); break;
    case SYS_kill: case SYS_tkill: a[0] = target_pid(self); a[1] = below(70); break;
    case SYS_tgkill: a[0] = target_pid(self); a[1] = target_pid(self); a[2] = below(70); break;
    case SYS_uname: case SYS_sysinfo: case SYS_time: a[0] = hostile_pointer(); break;
    case SYS_clock_gettime: case SYS_clock_getres: a[0] = chance(80) ? below(12) : next(); a[1] = hostile_pointer(); break;
    case SYS_gettimeofday: a[0] = hostile_pointer(); a[1] = hostile_pointer(); break;
    case SYS_nanosleep: a[0] = timespec_pointer(); a[1] = hostile_pointer(); break;
    case SYS_clock_nanosleep: a[0] = chance(80) ? below(8) : next(); a[1] = chance(70) ? 0 : hostile_flags(); a[2] = timespec_pointer(); a[3] = hostile_pointer(); break;
    case SYS_getrandom: a[0] = hostile_pointer(); a[1] = hostile_length(); a[2] = chance(70) ? below(8) : hostile_flags(); break;
    case SYS_exit: a[0] = next(); break;
    case -1: *number = chance(50) ? 335 + (long)below(200) : (long)next(); break; /* not a call */
    default: break;
  }
  (void)self;
}

static void trace(const char* name, long number, const uint64_t a[6]) {
  char line[256];
  int n = snprintf(line, sizeof line, "sysfuzz: %s(%ld) %#lx %#lx %#lx %#lx %#lx %#lx\n", name,
                   number, (unsigned long)a[0], (unsigned long)a[1], (unsigned long)a[2],
                   (unsigned long)a[3], (unsigned long)a[4], (unsigned long)a[5]);
  raw6(SYS_write, LOG_FD, (long)line, n, 0, 0, 0);
}

/* The child: sets up its world with libc, then only raw calls. */
static __attribute__((noreturn)) void child(uint64_t seed, int round, int count) {
  rng = seed * 0x9E3779B97F4A7C15ull ^ (uint64_t)round * 0xBF58476D1CE4E5B9ull;
  if (rng == 0) rng = 1;
  setpgid(0, 0);
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0), dup2(null, 1), dup2(null, 2);
  int p[2];
  pipe2(p, O_NONBLOCK);
  pool_fds[0] = null;
  pool_fds[1] = p[0];
  pool_fds[2] = p[1];
  pool_fds[3] = open("/tmp/f0", O_RDWR | O_CREAT, 0644);
  pool_fds[4] = open("/", O_RDONLY | O_DIRECTORY);
  pool_fds[5] = open("/tmp", O_RDONLY | O_DIRECTORY);
  pool_fds[6] = open("/bin/hello", O_RDONLY);
  pool_fds[7] = open("/dev/zero", O_RDONLY);
  mkdir("/tmp/d0", 0755);
  pool_fds[8] = open("/tmp/d0", O_RDONLY | O_DIRECTORY);
  pool_fds[9] = open("/tmp/f1", O_WRONLY | O_CREAT | O_APPEND, 0644);
  edge = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(edge + PAGE, PAGE);
  memcpy(edge + PAGE - 4, "/tmp", 4);  /* no NUL before the unmapped page */
  read_only = mmap(0, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  huge = mmap(0, 1ul << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (huge == MAP_FAILED) huge = scratch;
  memset(long_path, 'a', sizeof long_path - 1);
  for (size_t i = 10; i < sizeof long_path - 1; i += 10) long_path[i] = '/';
  const int self = getpid();
  for (int i = 0; i < count; ++i) {
    if (chance(20)) stir_scratch();
    long number;
    uint64_t a[6];
    const char* name;
    choose(self, &number, a, &name);
    if (number == SYS_exit && i + 1 < count) continue; /* only as the last call */
    if (verbose) trace(name, number, a);
    char mark = (char)i;
    raw6(SYS_write, REPORT_FD, (long)&mark, 1, 0, 0, 0);
    const long result = raw6(number, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
    /* A new process (fork, vfork, clone) ends at once: it shares this stack with vfork. */
    if (verbose) {
      char line[32];
      int n = snprintf(line, sizeof line, "  = %ld\n", result);
      raw6(SYS_write, LOG_FD, (long)line, n, 0, 0, 0);
    }
    if (result == 0 && (number == SYS_fork || number == SYS_vfork || number == SYS_clone)) {
      raw_exit(0);
    }
  }
  raw_exit(0);
}

struct tally {
  long calls, killed, timed_out, exited;
};

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void drain(int fd, struct tally* t) {
  char bytes[256];
  long n;
  while ((n = read(fd, bytes, sizeof bytes)) > 0) t->calls += n;
}

static void one_round(uint64_t seed, int round, int count, struct tally* t) {
  int report[2];
  if (pipe2(report, O_NONBLOCK | O_CLOEXEC) != 0) {
    printf("sysfuzz: pipe2 failed in round %d: %s\n", round, strerror(errno));
    exit(2);
  }
  fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) {
    printf("sysfuzz: fork failed in round %d: %s\n", round, strerror(errno));
    exit(2);
  }
  if (pid == 0) {
    dup2(report[1], REPORT_FD);
    if (verbose) dup2(1, LOG_FD);
    close(report[0]);
    close(report[1]);
    child(seed, round, count);
  }
  close(report[1]);
  const long deadline = now_ms() + 250;
  int status = 0;
  for (;;) {
    drain(report[0], t);
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ++t->timed_out;
      if (verbose) printf("sysfuzz: round %d: timed out\n", round);
      status = -1;
      break;
    }
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, 0);
  }
  drain(report[0], t);
  close(report[0]);
  if (status != -1) {
    if (WIFSIGNALED(status)) ++t->killed;
    else ++t->exited;
    if (verbose && WIFSIGNALED(status)) printf("sysfuzz: round %d: signal %d\n", round, WTERMSIG(status));
  }
  /* What the child left in its process group (its own children) goes with it; children it
   * made with CLONE_PARENT are ours: reap them too. */
  kill(-pid, SIGKILL);
  while (waitpid(-1, &status, WNOHANG) > 0) {
  }
}

/* Removes everything under `directory` (what the children left in /tmp: files, directories,
 * renamed ones); returns how many names it removed. */
static int remove_under(const char* directory) {
  DIR* dir = opendir(directory);
  if (dir == 0) return 0;
  int removed = 0;
  struct dirent* entry;
  char path[512];
  while ((entry = readdir(dir)) != 0) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", directory, entry->d_name);
    if (unlink(path) == 0) {
      ++removed;
      continue;
    }
    removed += remove_under(path);
    if (rmdir(path) == 0) ++removed;
  }
  closedir(dir);
  return removed;
}

/* Waits (up to 2 s) until this is the only process left — a child's own children may still be
 * on their way out — and reads the figures. */
static void settle(struct sysinfo* info) {
  for (int i = 0; i < 200; ++i) {
    sysinfo(info);
    if (info->procs <= 1) return;
    struct timespec pause = {0, 10000000};
    nanosleep(&pause, 0);
  }
}

int main(int argc, char** argv) {
  uint64_t seed = 1;
  int rounds = 100, count = 40, first = 0, positional = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "-v") == 0) {
      verbose = 1;
      continue;
    }
    const long value = strtol(argv[i], 0, 0);
    if (positional == 0) seed = (uint64_t)value;
    else if (positional == 1) rounds = (int)value;
    else if (positional == 2) count = (int)value;
    else if (positional == 3) first = (int)value;
    ++positional;
  }
  struct termios saved;
  const int have_termios = tcgetattr(0, &saved) == 0;
  struct tally t = {0, 0, 0, 0};
  /* The same rounds, pass after pass, until a pass ends with no less free memory than the one
   * before (at most kMaxPasses). The first pass warms up what the kernel keeps once it has made
   * it: its heap grows to the highest use it has seen and stays mapped (a child may fill /tmp
   * up to its 16 MiB), and that peak may still rise once in a later pass, whose children end
   * at other moments. A leak loses memory in every pass; a high-water mark stops rising. */
  enum { kMaxPasses = 4 };
  struct sysinfo after[kMaxPasses];
  int passes = 0;
  for (; passes < kMaxPasses; ++passes) {
    for (int round = first; round < first + rounds; ++round) one_round(seed, round, count, &t);
    remove_under("/tmp");
    settle(&after[passes]);
    if (passes > 0 && after[passes].freeram >= after[passes - 1].freeram) break;
  }
  if (passes == kMaxPasses) --passes;  /* the last pass, which lost memory again */
  if (have_termios) tcsetattr(0, TCSANOW, &saved);
  printf("sysfuzz: %d x %d rounds, %ld calls, %ld killed by signals, %ld timed out, ok\n",
         passes + 1, rounds, t.calls, t.killed, t.timed_out);
  int status = 0;
  if (after[passes].freeram < after[passes - 1].freeram) {
    printf("sysfuzz: memory: each pass loses some: free KiB after each pass:");
    for (int i = 0; i <= passes; ++i) printf(" %lu", (unsigned long)after[i].freeram / 1024);
    printf("\n");
    status = 1;
  }
  for (int i = 0; i <= passes; ++i) {
    if (after[i].procs != 1) {
      printf("sysfuzz: processes: %u after pass %d (1: this one)\n", after[i].procs, i + 1);
      status = 1;
    }
  }
  if (status == 0) printf("sysfuzz: memory and processes back\n");
  return status;
}
