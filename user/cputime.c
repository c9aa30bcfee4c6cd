/* cputime: CPU time as Linux reports it (chapter 15), each check one line "<name>: ok" or
 * "<name>: FAIL (...)", then "cputime: <n> failed".
 *   cputime          a loop in ring 3 grows the user time (times, getrusage, the CPU-time
 *                    clocks, all agreeing), a loop of system calls the system time, a sleep
 *                    neither; children's times appear in RUSAGE_CHILDREN and times()'s
 *                    cutime/cstime once they are reaped (grandchildren's through their
 *                    parent), wait4's rusage and SIGCHLD's si_utime/si_stime say the same; page
 *                    faults and the peak resident set are counted; bad arguments fail as Linux
 *   cputime burn S   computes in ring 3 for S seconds of wall time (for busybox `time`)
 * Linux prints the same "ok" lines (the numbers in parentheses differ run to run). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int on_ferrite; /* where the kernel's precision allows exact agreement, ask for it */

static int64_t ns_of(clockid_t clock) {
  struct timespec ts;
  if (syscall(SYS_clock_gettime, clock, &ts) != 0) return -1;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static int64_t ms_of(struct timeval tv) {
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}
static int64_t us_of(struct timeval tv) {
  return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Everything the process can read about its own CPU time, read at (nearly) one moment. */
struct Sample {
  struct rusage self, children, thread;
  struct tms tms;
  int64_t process_ns, thread_ns, wall_ns;
};
static struct Sample sample(void) {
  struct Sample s;
  s.wall_ns = ns_of(CLOCK_MONOTONIC);
  getrusage(RUSAGE_SELF, &s.self);
  getrusage(RUSAGE_CHILDREN, &s.children);
  getrusage(RUSAGE_THREAD, &s.thread);
  times(&s.tms);
  s.process_ns = ns_of(CLOCK_PROCESS_CPUTIME_ID);
  s.thread_ns = ns_of(CLOCK_THREAD_CPUTIME_ID);
  return s;
}

/* Ring 3 only, but for a clock read every 2^20 rounds: until `ms` of wall time have passed. */
static volatile uint64_t sink;
static void burn_user(int64_t ms) {
  const int64_t end = ns_of(CLOCK_MONOTONIC) + ms * 1000000;
  uint64_t x = 1;
  do {
    for (int i = 0; i < (1 << 20); ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink = x;
  } while (ns_of(CLOCK_MONOTONIC) < end);
}

/* The kernel's work: 64 KiB of zeros copied out per read, until `ms` of wall time have passed. */
static char zeros[65536];
static void burn_system(int64_t ms) {
  const int fd = open("/dev/zero", O_RDONLY);
  const int64_t end = ns_of(CLOCK_MONOTONIC) + ms * 1000000;
  do {
    for (int i = 0; i < 16; ++i) (void)read(fd, zeros, sizeof zeros);
  } while (ns_of(CLOCK_MONOTONIC) < end);
  close(fd);
}

/* One sample's readings agree with each other: the clocks with getrusage (the clock is read
 * after it, and rounds nothing away), times() with getrusage (the same nanoseconds, rounded
 * down to 10 ms instead of 1 us), RUSAGE_THREAD and the thread clock with the process's (one
 * thread), and the CPU time with the wall time. */
static void check_consistent(const char* name, const struct Sample* s, int64_t wall_since_start) {
  const int64_t ru_ns = (us_of(s->self.ru_utime) + us_of(s->self.ru_stime)) * 1000;
  const int64_t tms_u = us_of(s->self.ru_utime) / 10000, tms_s = us_of(s->self.ru_stime) / 10000;
  /* (50 ms of slack between readings: QEMU itself may wait that long for a host CPU, and the
   * guest's clock runs on meanwhile. A broken split is off by far more.) */
  const int ok = s->process_ns >= ru_ns && s->process_ns - ru_ns < 50000000 &&
                 s->thread_ns >= s->process_ns && s->thread_ns - s->process_ns < 50000000 &&
                 /* times() is read after getrusage: a 10 ms boundary may pass between */
                 s->tms.tms_utime >= tms_u && s->tms.tms_utime <= tms_u + 1 &&
                 s->tms.tms_stime >= tms_s && s->tms.tms_stime <= tms_s + 1 &&
                 /* read later, so not less (Linux rescales each its own way: 1 ms) */
                 us_of(s->thread.ru_utime) + (on_ferrite ? 0 : 1000) >= us_of(s->self.ru_utime) &&
                 s->process_ns <= wall_since_start;
  CHECK(name, ok,
        "clock %lld ns, rusage %lld ns, thread clock %lld ns, tms %ld/%ld vs %lld/%lld ticks, "
        "thread utime %lld us vs %lld us, wall %lld ns",
        (long long)s->process_ns, (long long)ru_ns, (long long)s->thread_ns, (long)s->tms.tms_utime,
        (long)s->tms.tms_stime, (long long)tms_u, (long long)tms_s,
        (long long)us_of(s->thread.ru_utime), (long long)us_of(s->self.ru_utime),
        (long long)wall_since_start);
}

static volatile sig_atomic_t chld_count;
static volatile long chld_utime, chld_stime;
static volatile int chld_code;
static void on_chld(int signal, siginfo_t* info, void* context) {
  (void)signal, (void)context;
  chld_utime = (long)info->si_utime;
  chld_stime = (long)info->si_stime;
  chld_code = info->si_code;
  ++chld_count;
}

static void children_checks(void) {
  struct Sample before = sample();
  CHECK("no children yet",
        us_of(before.children.ru_utime) == 0 && us_of(before.children.ru_stime) == 0 &&
            before.tms.tms_cutime == 0 && before.tms.tms_cstime == 0,
        "children utime %lld us, cutime %ld", (long long)us_of(before.children.ru_utime),
        (long)before.tms.tms_cutime);

  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_chld;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGCHLD, &action, 0);

  /* A child that computes 300 ms in ring 3. */
  pid_t pid = fork();
  if (pid == 0) {
    burn_user(300);
    _exit(0);
  }
  struct rusage ru;
  int status = 0;
  memset(&ru, 0xAB, sizeof ru);
  const pid_t waited = wait4(pid, &status, 0, &ru);
  struct Sample after = sample();
  CHECK("wait4 rusage",
        waited == pid && ms_of(ru.ru_utime) >= 100 && ms_of(ru.ru_stime) < ms_of(ru.ru_utime) &&
            ru.ru_minflt > 0,
        "pid %d, utime %lld ms, stime %lld ms, minflt %ld, maxrss %ld", (int)waited,
        (long long)ms_of(ru.ru_utime), (long long)ms_of(ru.ru_stime), ru.ru_minflt, ru.ru_maxrss);
  CHECK("RUSAGE_CHILDREN after wait",
        us_of(after.children.ru_utime) == us_of(ru.ru_utime) &&
            us_of(after.children.ru_stime) == us_of(ru.ru_stime) &&
            after.children.ru_minflt == ru.ru_minflt && after.children.ru_maxrss == ru.ru_maxrss,
        "utime %lld vs %lld us, stime %lld vs %lld us", (long long)us_of(after.children.ru_utime),
        (long long)us_of(ru.ru_utime), (long long)us_of(after.children.ru_stime),
        (long long)us_of(ru.ru_stime));
  CHECK("times cutime/cstime after wait",
        after.tms.tms_cutime == us_of(ru.ru_utime) / 10000 &&
            after.tms.tms_cstime == us_of(ru.ru_stime) / 10000,
        "cutime %ld cstime %ld, rusage %lld/%lld us", (long)after.tms.tms_cutime,
        (long)after.tms.tms_cstime, (long long)us_of(ru.ru_utime), (long long)us_of(ru.ru_stime));
  CHECK("SIGCHLD si_utime/si_stime",
        /* Sent as the child ended, a moment before the end wait4 reports. ferrite's stamps give
         * the same ticks; Linux's si_utime is its raw tick sampling, which getrusage rescales to
         * the precise total: a third off is not unusual there. */
        chld_count == 1 && chld_code == CLD_EXITED && chld_utime >= 5 &&
            labs(chld_utime - us_of(ru.ru_utime) / 10000) <= 1 + us_of(ru.ru_utime) / 20000 &&
            labs(chld_stime - us_of(ru.ru_stime) / 10000) <= 1 + us_of(ru.ru_stime) / 20000 &&
            (!on_ferrite || (chld_utime == us_of(ru.ru_utime) / 10000 &&
                             chld_stime == us_of(ru.ru_stime) / 10000)),
        "%d signals, code %d, si_utime %ld si_stime %ld, rusage %lld/%lld us", (int)chld_count,
        chld_code, chld_utime, chld_stime, (long long)us_of(ru.ru_utime),
        (long long)us_of(ru.ru_stime));

  /* A child that only waits for its own child, which computes: wait4 reports the grandchild's
   * time through its parent (reaped children's times included), SIGCHLD the child's own only. */
  pid = fork();
  if (pid == 0) {
    const pid_t grandchild = fork();
    if (grandchild == 0) {
      burn_user(300);
      _exit(0);
    }
    waitpid(grandchild, 0, 0);
    _exit(0);
  }
  memset(&ru, 0, sizeof ru);
  wait4(pid, &status, 0, &ru);
  struct Sample last = sample();
  CHECK("grandchild's time through its parent",
        ms_of(ru.ru_utime) >= 100 && chld_count == 2 && chld_utime < 5 &&
            /* the kernel adds before it rounds: a microsecond either way */
            llabs(us_of(last.children.ru_utime) - us_of(after.children.ru_utime) -
                  us_of(ru.ru_utime)) <= 1,
        "wait4 utime %lld ms, SIGCHLD si_utime %ld, children %lld us = %lld + %lld?",
        (long long)ms_of(ru.ru_utime), chld_utime, (long long)us_of(last.children.ru_utime),
        (long long)us_of(after.children.ru_utime), (long long)us_of(ru.ru_utime));
  signal(SIGCHLD, SIG_DFL);
}

static void error_checks(void) {
  struct rusage ru;
  struct timespec ts;
  errno = 0;
  long r = syscall(SYS_getrusage, 99, &ru);
  CHECK("getrusage(99): EINVAL", r == -1 && errno == EINVAL, "%ld errno %d", r, errno);
  errno = 0;
  r = syscall(SYS_getrusage, -2 /* RUSAGE_BOTH: wait4's, not the caller's */, &ru);
  CHECK("getrusage(RUSAGE_BOTH): EINVAL", r == -1 && errno == EINVAL, "%ld errno %d", r, errno);
  errno = 0;
  r = syscall(SYS_getrusage, RUSAGE_SELF, (void*)8);
  CHECK("getrusage(bad pointer): EFAULT", r == -1 && errno == EFAULT, "%ld errno %d", r, errno);
  errno = 0;
  r = syscall(SYS_times, (void*)8);
  CHECK("times(bad pointer): EFAULT", r == -1 && errno == EFAULT, "%ld errno %d", r, errno);
  r = syscall(SYS_times, 0);
  CHECK("times(NULL): ticks since boot", r > 0, "%ld", r);
  errno = 0;
  r = syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, (void*)8);
  CHECK("clock_gettime(CPU clock, bad pointer): EFAULT", r == -1 && errno == EFAULT, "%ld errno %d",
        r, errno);
  errno = 0;
  r = syscall(SYS_clock_gettime, 77, &ts);
  CHECK("clock_gettime(77): EINVAL", r == -1 && errno == EINVAL, "%ld errno %d", r, errno);
  r = syscall(SYS_clock_getres, CLOCK_THREAD_CPUTIME_ID, &ts);
  CHECK("clock_getres(CLOCK_THREAD_CPUTIME_ID)",
        r == 0 && ts.tv_sec == 0 && ts.tv_nsec >= 1 && ts.tv_nsec <= 10000000, "%ld: %lld.%09ld", r,
        (long long)ts.tv_sec, ts.tv_nsec);
  /* clock_getcpuclockid(3): the process's clock by PID, as Linux encodes it. */
  clockid_t clock;
  const int e = clock_getcpuclockid(getpid(), &clock);
  const int64_t by_pid = e == 0 ? ns_of(clock) : -1, own = ns_of(CLOCK_PROCESS_CPUTIME_ID);
  CHECK("clock_getcpuclockid(getpid())",
        e == 0 && by_pid > 0 && by_pid <= own && own - by_pid < 50000000,
        "error %d, by pid %lld ns, own %lld ns", e, (long long)by_pid, (long long)own);
  /* A PID that is free for sure: a child's, once reaped. */
  const pid_t gone = fork();
  if (gone == 0) _exit(0);
  waitpid(gone, 0, 0);
  const int e2 = clock_getcpuclockid(gone, &clock);
  /* (musl hands on clock_getres's EINVAL: POSIX's ESRCH would need its own test.) */
  CHECK("clock_getcpuclockid(a reaped child): EINVAL", e2 == EINVAL, "error %d", e2);
}

int main(int argc, char** argv) {
  setvbuf(stdout, 0, _IONBF, 0);
  struct utsname name;
  on_ferrite = uname(&name) == 0 && strcmp(name.sysname, "ferrite") == 0;
  if (argc == 3 && strcmp(argv[1], "burn") == 0) {
    burn_user(atoi(argv[2]) * 1000);
    return 0;
  }
  const int64_t start_ns = ns_of(CLOCK_MONOTONIC);
  const struct Sample s0 = sample();
  check_consistent("consistent at start", &s0, s0.wall_ns - start_ns + 1000000000);

  burn_user(300);
  const struct Sample s1 = sample();
  const int64_t du = ms_of(s1.self.ru_utime) - ms_of(s0.self.ru_utime);
  const int64_t ds = ms_of(s1.self.ru_stime) - ms_of(s0.self.ru_stime);
  const int64_t dwall = (s1.wall_ns - s0.wall_ns) / 1000000;
  /* (At least a third of the wall time: a loaded host may run other things meanwhile.) */
  CHECK("user loop: utime grows", du >= dwall / 3 && ds < du / 4,
        "utime +%lld ms, stime +%lld ms in %lld ms", (long long)du, (long long)ds,
        (long long)dwall);
  CHECK("user loop: clocks advance",
        s1.process_ns - s0.process_ns >= du * 1000000 - 10000000 &&
            s1.thread_ns - s0.thread_ns >= du * 1000000 - 10000000 &&
            s1.tms.tms_utime - s0.tms.tms_utime >= du / 10 - 1,
        "process clock +%lld ns, thread clock +%lld ns, tms_utime +%ld",
        (long long)(s1.process_ns - s0.process_ns), (long long)(s1.thread_ns - s0.thread_ns),
        (long)(s1.tms.tms_utime - s0.tms.tms_utime));
  check_consistent("consistent after the user loop", &s1, s1.wall_ns - start_ns + 1000000000);

  burn_system(300);
  const struct Sample s2 = sample();
  const int64_t du2 = ms_of(s2.self.ru_utime) - ms_of(s1.self.ru_utime);
  const int64_t ds2 = ms_of(s2.self.ru_stime) - ms_of(s1.self.ru_stime);
  const int64_t dwall2 = (s2.wall_ns - s1.wall_ns) / 1000000;
  CHECK("system-call loop: stime grows", ds2 >= dwall2 / 3 && ds2 > du2,
        "utime +%lld ms, stime +%lld ms in %lld ms", (long long)du2, (long long)ds2,
        (long long)dwall2);
  check_consistent("consistent after the system-call loop", &s2,
                   s2.wall_ns - start_ns + 1000000000);

  struct timespec nap = {0, 200000000};
  nanosleep(&nap, 0);
  const struct Sample s3 = sample();
  const int64_t dcpu3 = (s3.process_ns - s2.process_ns) / 1000000;
  const int64_t dwall3 = (s3.wall_ns - s2.wall_ns) / 1000000;
  /* (Under 100 ms: the calls around the sleep take some, more when QEMU waits for a host CPU.) */
  CHECK("sleeping uses no CPU time", dwall3 >= 200 && dcpu3 < 100, "cpu +%lld ms in %lld ms",
        (long long)dcpu3, (long long)dwall3);

  /* 64 new pages touched: as many minor faults more, and a peak at least their size (Linux
   * updates its peak lazily: no more than that is sure). */
  char* pages = malloc(64 * 4096 + 4096);
  for (int i = 0; i < 64; ++i) pages[i * 4096] = 1;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  CHECK("page faults and peak counted",
        ru.ru_minflt >= s3.self.ru_minflt + 64 && ru.ru_maxrss >= 64 * 4 && s3.self.ru_minflt > 0,
        "minflt %ld -> %ld, maxrss %ld -> %ld KiB", s3.self.ru_minflt, ru.ru_minflt,
        s3.self.ru_maxrss, ru.ru_maxrss);
  free(pages);

  children_checks();
  error_checks();
  printf("cputime: %d failed\n", failed);
  return failed == 0 ? 0 : 1;
}
