/* itimer: interval timers and alarm(2) as Linux has them (chapter 15), each check one line
 * "<name>: ok" or "<name>: FAIL (...)", then "itimer: <n> failed".
 *   itimer             alarm(1) delivers SIGALRM after about a second; alarm(0) cancels and
 *                      answers the seconds left; setitimer with an interval fires again and
 *                      again; getitimer reads the timer back; a fork child starts without the
 *                      parent's timer; a timer survives execve (and its default action then ends
 *                      the new program); bad arguments fail as on Linux
 *   itimer after-exec  (run by the execve check) exits 3 if no timer is armed, else waits for it
 * Linux prints the same lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t alarms;

static void on_alarm(int signal) {
  (void)signal;
  ++alarms;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int64_t us_of(struct timeval tv) {
  return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Waits (in pause) until `count` SIGALRMs have come or `limit_ms` passed; the time it took. */
static int64_t wait_for_alarms(int count, int64_t limit_ms) {
  const int64_t start = now_ms();
  while (alarms < count && now_ms() - start < limit_ms) {
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, 0); /* a signal ends it early (EINTR) */
  }
  return now_ms() - start;
}

static void after_exec(void) {
  struct itimerval value;
  if (getitimer(ITIMER_REAL, &value) != 0 || us_of(value.it_value) == 0) _exit(3);
  for (;;) pause(); /* SIGALRM's default action (exec reset the handler) ends us */
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "after-exec") == 0) after_exec();
  signal(SIGALRM, on_alarm);

  /* alarm(1): one SIGALRM, about a second later (QEMU on a busy host may be late: < 2 s). */
  alarms = 0;
  long left = syscall(SYS_alarm, 1);
  int64_t took = wait_for_alarms(1, 3000);
  CHECK("alarm(1) delivers SIGALRM after a second", left == 0 && alarms == 1 && took >= 950 &&
        took < 2000, "alarm returned %ld, %d alarms after %lld ms", left, (int)alarms,
        (long long)took);
  nap_ms(300);
  CHECK("alarm fires once", alarms == 1, "%d alarms", (int)alarms);

  /* alarm(5), 0.3 s later alarm(0): cancelled, 4.7 s left answers 5 (Linux rounds half up). */
  alarms = 0;
  syscall(SYS_alarm, 5);
  nap_ms(300);
  left = syscall(SYS_alarm, 0);
  struct itimerval read;
  memset(&read, 0xff, sizeof read);
  getitimer(ITIMER_REAL, &read);
  CHECK("alarm(0) cancels and answers the seconds left", left == 5 &&
        us_of(read.it_value) == 0 && us_of(read.it_interval) == 0,
        "alarm(0) = %ld, it_value %lld us", left, (long long)us_of(read.it_value));
  /* musl's alarm() is setitimer underneath and rounds any fraction up. */
  alarm(3);
  nap_ms(100);
  left = alarm(0);
  CHECK("libc alarm() answers through setitimer", left == 3, "alarm(0) = %ld", left);

  /* setitimer with an interval: 50 ms, then every 50 ms; five signals in about 250 ms. */
  alarms = 0;
  struct itimerval periodic = {{0, 50000}, {0, 50000}}, old;
  int r = setitimer(ITIMER_REAL, &periodic, &old);
  took = wait_for_alarms(5, 3000);
  CHECK("an interval re-arms the timer", r == 0 && us_of(old.it_value) == 0 && alarms >= 5 &&
        took >= 200 && took < 1500, "setitimer %d, %d alarms in %lld ms", r, (int)alarms,
        (long long)took);
  getitimer(ITIMER_REAL, &read);
  CHECK("a periodic timer stays armed", us_of(read.it_value) > 0 &&
        us_of(read.it_value) <= 50000 && us_of(read.it_interval) == 50000,
        "it_value %lld us, it_interval %lld us", (long long)us_of(read.it_value),
        (long long)us_of(read.it_interval));
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, &old);
  const int after = alarms;
  nap_ms(200);
  CHECK("it_value 0 disarms", alarms == after && us_of(old.it_interval) == 50000,
        "%d more alarms", (int)(alarms - after));

  /* getitimer reads back what setitimer set, the value counting down. */
  struct itimerval two = {{0, 500000}, {2, 0}};
  setitimer(ITIMER_REAL, &two, 0);
  nap_ms(100);
  getitimer(ITIMER_REAL, &read);
  CHECK("getitimer reads the timer back", us_of(read.it_interval) == 500000 &&
        us_of(read.it_value) > 1000000 && us_of(read.it_value) <= 1900000,
        "it_value %lld us, it_interval %lld us", (long long)us_of(read.it_value),
        (long long)us_of(read.it_interval));

  /* fork: the child starts with no timer; the parent's stays. */
  const pid_t child = fork();
  if (child == 0) {
    struct itimerval mine;
    getitimer(ITIMER_REAL, &mine);
    _exit(us_of(mine.it_value) == 0 && us_of(mine.it_interval) == 0 && alarm(0) == 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  getitimer(ITIMER_REAL, &read);
  CHECK("a fork child's timer is cleared", WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
        us_of(read.it_value) > 0, "child status %#x, parent it_value %lld us", status,
        (long long)us_of(read.it_value));
  setitimer(ITIMER_REAL, &off, 0);

  /* execve keeps the timer: the new program finds it armed, and SIGALRM (back to its default
   * action) ends it. */
  const int64_t start = now_ms();
  const pid_t execer = fork();
  if (execer == 0) {
    struct itimerval soon = {{0, 0}, {0, 300000}};
    setitimer(ITIMER_REAL, &soon, 0);
    char* args[] = {argv[0], "after-exec", 0};
    execv("/proc/self/exe", args);
    execv(argv[0], args);
    _exit(4);
  }
  waitpid(execer, &status, 0);
  took = now_ms() - start;
  CHECK("a timer survives execve", WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM &&
        took < 2000, "status %#x after %lld ms", status, (long long)took);

  /* Bad arguments, as Linux: EINVAL for an unknown timer or tv_usec out of range, EFAULT for
   * a bad pointer. */
  errno = 0;
  r = setitimer(7, &two, 0);
  CHECK("setitimer(7) is EINVAL", r == -1 && errno == EINVAL, "%d, errno %d", r, errno);
  errno = 0;
  r = getitimer(-1, &read);
  CHECK("getitimer(-1) is EINVAL", r == -1 && errno == EINVAL, "%d, errno %d", r, errno);
  struct itimerval bad = {{0, 0}, {0, 1000000}};
  errno = 0;
  r = setitimer(ITIMER_REAL, &bad, 0);
  CHECK("tv_usec 1000000 is EINVAL", r == -1 && errno == EINVAL, "%d, errno %d", r, errno);
  errno = 0;
  r = (int)syscall(SYS_setitimer, ITIMER_REAL, (void*)16, 0);
  CHECK("a bad new value is EFAULT", r == -1 && errno == EFAULT, "%d, errno %d", r, errno);
  errno = 0;
  r = (int)syscall(SYS_getitimer, ITIMER_REAL, (void*)16);
  CHECK("a bad getitimer pointer is EFAULT", r == -1 && errno == EFAULT, "%d, errno %d", r,
        errno);
  getitimer(ITIMER_REAL, &read);
  CHECK("nothing was left armed", us_of(read.it_value) == 0, "it_value %lld us",
        (long long)us_of(read.it_value));

  printf("itimer: %d failed\n", failed);
  return failed == 0 ? 0 : 1;
}
