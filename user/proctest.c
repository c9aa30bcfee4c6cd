/* proctest: fork, exec, wait, pipes, dup2, fcntl, poll/select, signals, process groups and the
 * tmpfs at /tmp, each check printing one `name: observed values` line (chapter 15). The output
 * has no PIDs, addresses or timings and children print only while their parent waits for them,
 * so it is the same run after run: tools/linux_compare.py boots this same binary as init under
 * Linux 6.1 and under ferrite and the two outputs must be identical, line for line.
 *   proctest               the checks between "proctest: start" and "proctest: done"; as PID 1
 *                          it then powers the machine off (reboot(RB_POWER_OFF))
 *   proctest exec-child …  (internal) the image execve'd by the exec checks
 *   proctest exec-idle FD  (internal) an exec'd child for setpgid's EACCES
 * A check where ferrite still differs stays here; tools/linux_compare.py's PENDING names it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define SELF "/bin/proctest"

/* One write(2) per line: no stdio buffer to be copied by fork or lost by _exit. */
static void say(const char* format, ...) {
  char line[512];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (n > (int)sizeof line - 1) n = sizeof line - 1;
  (void)!write(1, line, (size_t)n);
}

static const char* errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";      case ENOENT: return "ENOENT";   case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";      case EBADF: return "EBADF";     case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";    case EFAULT: return "EFAULT";   case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";  case EISDIR: return "EISDIR";   case EINVAL: return "EINVAL";
    case ESPIPE: return "ESPIPE";    case EPIPE: return "EPIPE";     case ENOSYS: return "ENOSYS";
    case ENOTEMPTY: return "ENOTEMPTY"; case EACCES: return "EACCES"; case ENOEXEC: return "ENOEXEC";
    case EMFILE: return "EMFILE";    case EROFS: return "EROFS";    case ENOTTY: return "ENOTTY";   case EXDEV: return "EXDEV";
    default: {
      static char other[8][16];
      static int next;
      char* text = other[next++ % 8];
      snprintf(text, sizeof other[0], "errno%d", e);
      return text;
    }
  }
}

/* A system call's result as text: the value, or "-1 ENAME". One per statement, so that errno is
 * read right after the call it belongs to. */
static char results[16][48];
static int next_result;
static const char* r(long value) {
  char* text = results[next_result++ % 16];
  if (value < 0) snprintf(text, sizeof results[0], "%ld %s", value, errno_name(errno));
  else snprintf(text, sizeof results[0], "%ld", value);
  return text;
}

/* The same for flag words (F_GETFL, F_GETFD), in octal as <fcntl.h> writes them. */
static const char* ro(long value) {
  char* text = results[next_result++ % 16];
  if (value < 0) snprintf(text, sizeof results[0], "%ld %s", value, errno_name(errno));
  else snprintf(text, sizeof results[0], "0%lo", value);
  return text;
}

static const char* signal_name(int s) {
  static const char* names[] = {"0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP",
    "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE",
    "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP"};
  return s >= 0 && s < (int)(sizeof names / sizeof names[0]) ? names[s] : "other";
}

/* A wait status as its parts, and the raw number so that any other bit shows too. */
static const char* status_text(int status) {
  static char text[4][64];
  static int next;
  char* out = text[next++ % 4];
  if (WIFEXITED(status)) snprintf(out, sizeof text[0], "exited %d (0x%x)", WEXITSTATUS(status), status);
  else if (WIFSIGNALED(status))
    snprintf(out, sizeof text[0], "signaled %d %s%s (0x%x)", WTERMSIG(status),
             signal_name(WTERMSIG(status)), WCOREDUMP(status) ? " core" : "", status);
  else snprintf(out, sizeof text[0], "other (0x%x)", status);
  return out;
}

/* Bytes as a C string literal, so that newlines and NULs show. */
static const char* quoted(const char* data, long length) {
  static char text[2][160];
  static int next;
  char* out = text[next++ % 2];
  char* p = out;
  *p++ = '"';
  for (long i = 0; i < length && p < out + sizeof text[0] - 8; ++i) {
    unsigned char c = (unsigned char)data[i];
    if (c == '\n') { *p++ = '\\'; *p++ = 'n'; }
    else if (c == '"' || c == '\\') { *p++ = '\\'; *p++ = (char)c; }
    else if (c < 32 || c > 126) p += sprintf(p, "\\x%02x", c);
    else *p++ = (char)c;
  }
  *p++ = '"';
  *p = 0;
  return out;
}

/* Everything from `fd` until end of file. */
static long read_all(int fd, char* buffer, long size) {
  long total = 0;
  for (;;) {
    long got = read(fd, buffer + total, (size_t)(size - total));
    if (got <= 0) return got < 0 && total == 0 ? got : total;
    total += got;
    if (total == size) return total;
  }
}

static int wait_for(pid_t pid) {
  int status = -1;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

/* ---- signal handlers: they record, the checks print ---- */
static volatile sig_atomic_t handled, last_signal, last_code, last_status, sender_is_self;
static volatile sig_atomic_t order[8], order_count, mask_in_handler_ok;
static volatile pid_t last_pid;

static void record(int signal, siginfo_t* info, void* context) {
  (void)context;
  ++handled;
  last_signal = signal;
  last_code = info->si_code;
  last_pid = info->si_pid;
  last_status = info->si_status;
  sender_is_self = info->si_pid == getpid();
  if (order_count < 8) order[order_count++] = signal;
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  mask_in_handler_ok = sigismember(&now, signal) && sigismember(&now, SIGUSR2);
}

static void on(int signal, int flags) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = record;
  action.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGUSR2);
  sigaction(signal, &action, NULL);
}

static void reset_record(void) {
  handled = last_signal = last_code = last_status = sender_is_self = order_count = 0;
  mask_in_handler_ok = 0;
  last_pid = 0;
}

static void set_mask(int how, int a, int b) {
  sigset_t set;
  sigemptyset(&set);
  if (a) sigaddset(&set, a);
  if (b) sigaddset(&set, b);
  sigprocmask(how, &set, NULL);
}

static int is_pending(int signal) {
  sigset_t set;
  sigpending(&set);
  return sigismember(&set, signal);
}

static const char* disposition(int signal) {
  struct sigaction old;
  if (sigaction(signal, NULL, &old) != 0) return r(-1);
  if (old.sa_handler == SIG_DFL) return "SIG_DFL";
  if (old.sa_handler == SIG_IGN) return "SIG_IGN";
  return "handler";
}

/* ---- the image that the exec checks start ---- */
extern char** environ;
static int exec_child(int argc, char** argv) {
  char line[400] = "";
  for (int i = 0; i < argc; ++i) {
    size_t used = strlen(line);
    snprintf(line + used, sizeof line - used, " [%s]", argv[i]);
  }
  say("exec-argv: argc=%d%s\n", argc, line);
  line[0] = 0;
  int count = 0;
  for (char** e = environ; *e; ++e, ++count) {
    size_t used = strlen(line);
    snprintf(line + used, sizeof line - used, " [%s]", *e);
  }
  say("exec-envp: count=%d%s\n", count, line);
  if (argc >= 4) {
    const char* plain = ro(fcntl(atoi(argv[2]), F_GETFD));
    const char* cloexec = ro(fcntl(atoi(argv[3]), F_GETFD));
    say("exec-fds: inherited F_GETFD=%s, close-on-exec F_GETFD=%s\n", plain, cloexec);
  }
  say("exec-signals: SIGUSR1 %s, SIGUSR2 %s, SIGTERM still blocked %d\n", disposition(SIGUSR1),
      disposition(SIGUSR2), ({ sigset_t m; sigprocmask(SIG_BLOCK, NULL, &m); sigismember(&m, SIGTERM); }));
  say("exec-pending-signal-kept: SIGHUP pending %d\n", is_pending(SIGHUP));
  return 42;
}

/* proctest exec-idle FD: tells the parent through FD that the exec happened, then waits for
 * end of file on stdin. */
static int exec_idle(int fd) {
  (void)!write(fd, "x", 1);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  return 0;
}

/* ---- the checks ---- */
static int cow_value = 1;

static void check_fork_wait(void) {
  pid_t me = getpid();
  int p[2];
  pipe(p);
  pid_t pid = fork();
  if (pid == 0) {
    pid_t own = getpid();
    (void)!write(p[1], &own, sizeof own);
    cow_value = 2;
    say("fork-child: getppid-is-parent=%d pid-differs=%d cow-value=%d\n", getppid() == me,
        own != me, cow_value);
    _exit(7);
  }
  int status = wait_for(pid);
  pid_t reported = 0;
  (void)!read(p[0], &reported, sizeof reported);
  close(p[0]);
  close(p[1]);
  say("fork-exit-status: %s\n", status_text(status));
  say("fork-parent: returned-pid-is-childs-getpid=%d cow-value=%d\n", reported == pid, cow_value);

  if ((pid = fork()) == 0) _exit(256 + 3);
  say("exit-status-truncated: exit(259) -> %s\n", status_text(wait_for(pid)));
  if ((pid = fork()) == 0) _exit(-1);
  say("exit-status-minus-1: %s\n", status_text(wait_for(pid)));
  if ((pid = fork()) == 0) exit(0);
  say("exit-status-zero: %s\n", status_text(wait_for(pid)));

  if ((pid = fork()) == 0) { for (;;) pause(); }
  say("kill-sigkill: kill=%s\n", r(kill(pid, SIGKILL)));
  say("wait-sigkill: %s\n", status_text(wait_for(pid)));
  if ((pid = fork()) == 0) { for (;;) pause(); }
  kill(pid, SIGTERM);
  say("wait-sigterm: %s\n", status_text(wait_for(pid)));
  if ((pid = fork()) == 0) { *(volatile int*)0 = 1; _exit(0); }
  say("wait-sigsegv-null-write: %s\n", status_text(wait_for(pid)));
  if ((pid = fork()) == 0) { abort(); }
  say("wait-abort: %s\n", status_text(wait_for(pid)));
  if ((pid = fork()) == 0) { kill(getpid(), SIGUSR1); _exit(0); }
  say("wait-sigusr1-default: %s\n", status_text(wait_for(pid)));

  /* WNOHANG while the child waits for end of file on a pipe. */
  pipe(p);
  if ((pid = fork()) == 0) {
    close(p[1]);
    char c;
    while (read(p[0], &c, 1) > 0) {
    }
    _exit(9);
  }
  close(p[0]);
  int status2 = 0;
  say("waitpid-wnohang-running: %s\n", r(waitpid(pid, &status2, WNOHANG)));
  close(p[1]);
  pid_t got = 0;
  while ((got = waitpid(pid, &status2, 0)) < 0 && errno == EINTR) {
  }
  say("waitpid-after-eof: pid-match=%d %s\n", got == pid, status_text(status2));

  /* wait4 with a rusage, waitid with siginfo. */
  if ((pid = fork()) == 0) _exit(11);
  struct rusage usage;
  got = wait4(pid, &status2, 0, &usage);
  say("wait4: pid-match=%d %s\n", got == pid, status_text(status2));
  if ((pid = fork()) == 0) _exit(5);
  siginfo_t info;
  memset(&info, 0, sizeof info);
  const char* result = r(waitid(P_PID, (id_t)pid, &info, WEXITED));
  say("waitid: %s si_signo=%d si_code=%d si_status=%d pid-match=%d\n", result, info.si_signo,
      info.si_code, info.si_status, info.si_pid == pid);

  /* WNOWAIT leaves the zombie for a later wait. */
  if ((pid = fork()) == 0) _exit(6);
  memset(&info, 0, sizeof info);
  result = r(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT));
  got = waitpid(pid, &status2, 0);
  say("waitid-wnowait: %s si_status=%d, then waitpid pid-match=%d %s\n", result, info.si_status,
      got == pid, status_text(status2));

  /* SIGCHLD set to SIG_IGN: children are reaped by the kernel; wait finds none (ECHILD). */
  signal(SIGCHLD, SIG_IGN);
  if ((pid = fork()) == 0) _exit(1);
  got = waitpid(pid, &status2, 0);
  say("sigchld-ignored-no-zombie: %s\n", got == pid ? "waited the child" : r(got));
  signal(SIGCHLD, SIG_DFL);

  /* Three children reaped in whatever order they end: the sum of their statuses. */
  for (int i = 1; i <= 3; ++i) {
    if (fork() == 0) _exit(i * 10);
  }
  int sum = 0, reaped = 0;
  while ((got = wait(&status2)) > 0) {
    ++reaped;
    sum += WEXITSTATUS(status2);
  }
  say("wait-any-three: reaped=%d sum=%d then=%s\n", reaped, sum, errno_name(errno));
  say("waitpid-no-children: %s\n", r(waitpid(-1, &status2, 0)));
  say("waitpid-not-a-child: %s\n", r(waitpid(1, &status2, WNOHANG)));

  /* vfork: the child borrows the parent's memory until it execs or exits. */
  static volatile int shared_with_vfork = 0;
  if ((pid = vfork()) == 0) {
    shared_with_vfork = 1;
    _exit(4);
  }
  say("vfork: parent-sees-child-write=%d %s\n", shared_with_vfork, status_text(wait_for(pid)));
}

static void check_exec(void) {
  int plain = open("/dev/null", O_RDONLY);
  int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const char* plain_flags = ro(fcntl(plain, F_GETFD));
  const char* cloexec_flags = ro(fcntl(cloexec, F_GETFD));
  say("exec-setup: fds %d %d, F_GETFD %s %s\n", plain, cloexec, plain_flags, cloexec_flags);
  pid_t pid = fork();
  if (pid == 0) {
    char a[12], b[12];
    snprintf(a, sizeof a, "%d", plain);
    snprintf(b, sizeof b, "%d", cloexec);
    signal(SIGUSR2, SIG_IGN);
    on(SIGUSR1, 0);
    set_mask(SIG_BLOCK, SIGTERM, SIGHUP);
    kill(getpid(), SIGHUP);  /* blocked: still pending in the new image */
    char* args[] = {"proctest", "exec-child", a, b, "two words", NULL};
    char* env[] = {"PT_ONE=1", "PT_TWO=two words", NULL};
    execve(SELF, args, env);
    say("exec: execve failed: %s\n", r(-1));
    _exit(127);
  }
  say("exec-status: %s\n", status_text(wait_for(pid)));
  close(plain);
  close(cloexec);

  /* Failing execve returns to the caller; done in a child in case one does not fail. */
  if ((pid = fork()) == 0) {
    char* args[] = {"x", NULL};
    char* env[] = {NULL};
    const char* missing = r(execve("/bin/does-not-exist", args, env));
    const char* directory = r(execve("/tmp", args, env));
    const char* not_executable = r(execve("/etc/passwd", args, env));
    say("exec-missing-file: %s\n", missing);
    say("exec-directory: %s\n", directory);
    say("exec-no-x-bit: %s\n", not_executable);
    int fd = open("/tmp/pt-garbage", O_CREAT | O_WRONLY | O_TRUNC, 0755);
    (void)!write(fd, "garbage\n", 8);
    close(fd);
    const char* garbage = r(execve("/tmp/pt-garbage", args, env));
    unlink("/tmp/pt-garbage");
    say("exec-not-a-program: %s\n", garbage);
    _exit(0);
  }
  say("exec-errors-child: %s\n", status_text(wait_for(pid)));

  /* Debian's busybox: argv reaches the applet; its stdout is a pipe (dup2 before execve). */
  int p[2];
  pipe(p);
  if ((pid = fork()) == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    char* args[] = {"echo", "hello", "from", "busybox", NULL};
    char* env[] = {NULL};
    execve("/bin/busybox", args, env);
    _exit(127);
  }
  close(p[1]);
  char buffer[256];
  long got = read_all(p[0], buffer, sizeof buffer);
  close(p[0]);
  say("busybox-echo: %s\n", quoted(buffer, got));
  say("busybox-echo-status: %s\n", status_text(wait_for(pid)));

  /* envp reaches busybox sh; its exit status comes back. */
  pipe(p);
  if ((pid = fork()) == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    char* args[] = {"sh", "-c", "echo \"$PT_VAR\"; exit 3", NULL};
    char* env[] = {"PT_VAR=from envp", NULL};
    execve("/bin/busybox", args, env);
    _exit(127);
  }
  close(p[1]);
  got = read_all(p[0], buffer, sizeof buffer);
  close(p[0]);
  say("busybox-sh-env: %s %s\n", quoted(buffer, got), status_text(wait_for(pid)));
}

static void check_pipes(void) {
  int p[2];
  const char* made = r(pipe(p));
  say("pipe: %s fds %d %d\n", made, p[0], p[1]);
  const char* read_flags = ro(fcntl(p[0], F_GETFL));
  const char* write_flags = ro(fcntl(p[1], F_GETFL));
  say("pipe-getfl: read %s write %s\n", read_flags, write_flags);
  struct stat st;
  fstat(p[0], &st);
  say("pipe-fstat: fifo=%d\n", S_ISFIFO(st.st_mode));
  say("pipe-lseek: %s\n", r(lseek(p[0], 0, SEEK_SET)));
  say("pipe-read-on-write-end: %s\n", r(read(p[1], &st, 1)));
  say("pipe-write-on-read-end: %s\n", r(write(p[0], "x", 1)));

  /* End of file once the last writer (here a child's copy too) is gone. */
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    (void)!write(p[1], "abc", 3);
    _exit(0);
  }
  close(p[1]);
  char buffer[64];
  long got = read_all(p[0], buffer, sizeof buffer);
  const char* then = r(read(p[0], buffer, sizeof buffer));
  say("pipe-eof: read %s then %s\n", quoted(buffer, got), then);
  wait_for(pid);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  say("pipe-eof-nonblocking: %s\n", r(read(p[0], buffer, 1)));
  close(p[0]);

  /* O_NONBLOCK through fcntl: EAGAIN when empty and when full; the capacity. */
  pipe(p);
  const char* set = r(fcntl(p[0], F_SETFL, O_NONBLOCK));
  const char* flags = ro(fcntl(p[0], F_GETFL));
  say("fcntl-setfl-nonblock: %s getfl %s\n", set, flags);
  say("pipe-empty-nonblocking-read: %s\n", r(read(p[0], buffer, 1)));
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  static char page[4096];
  memset(page, 'p', sizeof page);
  long total = 0, put;
  while ((put = write(p[1], page, sizeof page)) > 0) total += put;
  const char* full = r(put);
  say("pipe-capacity: %ld bytes in 4096-byte writes, then %s\n", total, full);
  say("pipe-full-one-byte: %s\n", r(write(p[1], "x", 1)));
  close(p[0]);
  close(p[1]);

  /* A blocking write larger than the pipe: the writer waits for the reader. */
  pipe(p);
  if ((pid = fork()) == 0) {
    close(p[0]);
    static char big[200000];
    for (size_t i = 0; i < sizeof big; ++i) big[i] = (char)(i * 7);
    long wrote = write(p[1], big, sizeof big);
    say("pipe-big-write: child wrote %ld\n", wrote);
    _exit(0);
  }
  close(p[1]);
  unsigned long sum = 0;
  total = 0;
  while ((got = read(p[0], buffer, sizeof buffer)) > 0) {
    for (long i = 0; i < got; ++i) sum += (unsigned char)buffer[i] * (unsigned long)(total + i + 1);
    total += got;
  }
  close(p[0]);
  say("pipe-big-read: %ld bytes, checksum %lu, %s\n", total, sum, status_text(wait_for(pid)));

  /* EPIPE: SIGPIPE ignored, caught, blocked, and by default. */
  pipe(p);
  close(p[0]);
  signal(SIGPIPE, SIG_IGN);
  say("epipe-ignored: %s\n", r(write(p[1], "x", 1)));
  reset_record();
  on(SIGPIPE, 0);
  const char* caught = r(write(p[1], "x", 1));
  say("epipe-caught: %s handler-ran=%d signal=%d\n", caught, handled, last_signal);
  say("epipe-caught-siginfo: si_code=%d sender-is-self=%d\n", last_code, sender_is_self);
  set_mask(SIG_BLOCK, SIGPIPE, 0);
  reset_record();
  const char* blocked = r(write(p[1], "x", 1));
  say("epipe-blocked: %s pending=%d handler-ran=%d\n", blocked, is_pending(SIGPIPE), handled);
  set_mask(SIG_UNBLOCK, SIGPIPE, 0);
  say("epipe-unblocked: handler-ran=%d\n", handled);
  signal(SIGPIPE, SIG_DFL);
  if ((pid = fork()) == 0) {
    (void)!write(p[1], "x", 1);
    _exit(0);
  }
  say("epipe-default: %s\n", status_text(wait_for(pid)));
  close(p[1]);
}

static void check_dup(void) {
  int p[2];
  pipe(p);
  int saved = dup(1);
  say("dup: lowest free %d\n", saved);
  const char* onto = r(dup2(p[1], 1));
  (void)!write(1, "redirected\n", 11);
  const char* back = r(dup2(saved, 1));
  close(saved);
  char buffer[64];
  long got = read(p[0], buffer, sizeof buffer);
  say("dup2-stdout-into-pipe: dup2 %s, back %s, pipe had %s\n", onto, back, quoted(buffer, got));
  say("dup2-same-fd: %s\n", r(dup2(p[0], p[0])));
  say("dup2-bad-old: %s\n", r(dup2(99, 20)));
  say("dup2-bad-new: %s\n", r(dup2(p[0], -1)));
  fcntl(p[0], F_SETFD, FD_CLOEXEC);
  int copy = dup2(p[0], 20);
  say("dup2-clears-cloexec: fd %d F_GETFD %s\n", copy, ro(fcntl(copy, F_GETFD)));
  const char* d3 = r(dup3(p[0], 21, O_CLOEXEC));
  say("dup3-cloexec: %s F_GETFD %s\n", d3, ro(fcntl(21, F_GETFD)));
  say("dup3-same-fd: %s\n", r(dup3(p[0], p[0], 0)));
  say("dup3-bad-flags: %s\n", r(dup3(p[0], 22, O_CLOEXEC | O_NONBLOCK)));
  const char* dupfd = r(fcntl(p[0], F_DUPFD, 10));
  const char* dupfd_cloexec = r(fcntl(p[0], F_DUPFD_CLOEXEC, 10));
  say("fcntl-dupfd: min 10 -> %s, cloexec min 10 -> %s F_GETFD %s\n", dupfd, dupfd_cloexec,
      ro(fcntl(11, F_GETFD)));
  /* Duplicates share one open file: O_NONBLOCK set through one shows through the other. */
  fcntl(20, F_SETFL, O_NONBLOCK);
  say("dup-shares-flags: F_GETFL of the original %s\n", ro(fcntl(p[0], F_GETFL)));
  say("dup-shares-flags-read: %s\n", r(read(p[0], buffer, 1)));
  for (int fd = 10; fd <= 21; ++fd) close(fd);
  close(p[0]);
  close(p[1]);
}


/* Descriptors beyond pipes: readv/writev, FIONREAD, dup2 over an open descriptor, what F_SETFL
 * may change, devices, paths relative to a directory, lseek's edges, poll on files. */
static void check_files(void) {
  int p[2];
  pipe(p);
  struct iovec out[2] = {{"ab", 2}, {"cde", 3}};
  say("writev-pipe: %s\n", r(writev(p[1], out, 2)));
  int queued = -1;
  const char* asked = r(ioctl(p[0], FIONREAD, &queued));
  say("fionread-pipe: %s queued %d\n", asked, queued);
  char a[3] = {0}, b[8] = {0};
  struct iovec in[2] = {{a, 3}, {b, sizeof b}};
  long got = readv(p[0], in, 2);
  say("readv-pipe: %ld first %s second %s\n", got, quoted(a, 3), quoted(b, got - 3));
  say("pipe-zero-byte-write: %s\n", r(write(p[1], "", 0)));
  say("pipe-zero-byte-read: %s\n", r(read(p[0], b, 0)));
  say("pipe2-bad-flags: %s\n", r(pipe2(p, 0x1234)));
  int nb[2];
  pipe2(nb, O_NONBLOCK | O_CLOEXEC);
  const char* nb_flags = ro(fcntl(nb[0], F_GETFL));
  say("pipe2-nonblock-cloexec: F_GETFL %s F_GETFD %s\n", nb_flags, ro(fcntl(nb[1], F_GETFD)));
  close(nb[0]);
  close(nb[1]);
  /* dup2 onto the only write end closes it: the reader sees end of file. */
  int null = open("/dev/null", O_WRONLY);
  const char* over = r(dup2(null, p[1]));
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  say("dup2-over-last-writer: %s then read %s\n", over, r(read(p[0], b, 1)));
  close(p[0]);
  close(p[1]);
  say("dev-null-getfl: %s\n", ro(fcntl(null, F_GETFL)));
  say("dev-null-write: %s\n", r(write(null, "abc", 3)));
  say("dev-null-read-on-write-only: %s\n", r(read(null, b, 1)));
  close(null);
  null = open("/dev/null", O_RDONLY);
  say("dev-null-read: %s\n", r(read(null, b, 1)));
  say("dev-null-lseek: %s\n", r(lseek(null, 100, SEEK_SET)));
  struct stat st;
  fstat(null, &st);
  say("dev-null-fstat: char=%d major %u minor %u\n", S_ISCHR(st.st_mode), major(st.st_rdev),
      minor(st.st_rdev));
  /* F_SETFL changes O_APPEND and O_NONBLOCK, never the access mode. */
  say("setfl-access-mode: %s\n", r(fcntl(null, F_SETFL, O_RDWR | O_APPEND)));
  say("setfl-after: %s\n", ro(fcntl(null, F_GETFL)));
  close(null);
  int zero = open("/dev/zero", O_RDONLY);
  memset(b, 'x', sizeof b);
  got = read(zero, b, 4);
  say("dev-zero-read: %ld %s\n", got, quoted(b, 4));
  close(zero);

  /* Paths: the working directory, openat from a directory descriptor, O_DIRECTORY. */
  char cwd[64] = "?";
  say("getcwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : r(-1));
  say("chdir-tmp: %s\n", r(chdir("/tmp")));
  int fd = open("pt-relative", O_CREAT | O_WRONLY, 0644);
  (void)!write(fd, "rel", 3);
  close(fd);
  say("getcwd-after-chdir: %s\n", getcwd(cwd, sizeof cwd) ? cwd : r(-1));
  say("stat-relative: %s\n", r(stat("/tmp/pt-relative", &st)));
  chdir("/");
  int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
  say("open-o-directory: %s\n", dir >= 0 ? "ok" : r(-1));
  fd = openat(dir, "pt-relative", O_RDONLY);
  got = read(fd, b, sizeof b);
  say("openat-dirfd: %s\n", quoted(b, got));
  say("read-directory: %s\n", r(read(dir, b, 1)));
  say("open-file-o-directory: %s\n", r(open("/tmp/pt-relative", O_RDONLY | O_DIRECTORY)));
  say("access-exists: %s\n", r(access("/tmp/pt-relative", F_OK)));
  say("access-missing: %s\n", r(access("/tmp/pt-none", F_OK)));
  /* lseek's edges on a regular file. */
  say("lseek-end-minus-1: %s\n", r(lseek(fd, -1, SEEK_END)));
  say("lseek-negative: %s\n", r(lseek(fd, -10, SEEK_SET)));
  say("lseek-past-end: %s\n", r(lseek(fd, 100, SEEK_SET)));
  say("read-past-end: %s\n", r(read(fd, b, 1)));
  say("lseek-bad-whence: %s\n", r(lseek(fd, 0, 7)));
  say("write-on-read-only: %s\n", r(write(fd, "x", 1)));
  say("ftruncate-read-only: %s\n", r(ftruncate(fd, 0)));
  struct pollfd files[2] = {{fd, POLLIN | POLLOUT, 0}, {dir, POLLIN, 0}};
  const char* ready = r(poll(files, 2, 0));
  say("poll-regular-file: %s 0x%x directory 0x%x\n", ready, files[0].revents, files[1].revents);
  close(fd);
  say("truncate-path: %s\n", r(truncate("/tmp/pt-relative", 1)));
  stat("/tmp/pt-relative", &st);
  say("truncate-size: %ld\n", (long)st.st_size);
  mkdir("/tmp/pt-dir", 0700);
  say("rename-file-over-dir: %s\n", r(rename("/tmp/pt-relative", "/tmp/pt-dir")));
  say("rename-dir-over-file: %s\n", r(rename("/tmp/pt-dir", "/tmp/pt-relative")));
  say("rename-dir-into-itself: %s\n", r(rename("/tmp/pt-dir", "/tmp/pt-dir/sub")));
  say("rename-dir: %s\n", r(rename("/tmp/pt-dir", "/tmp/pt-dir2")));
  stat("/tmp/pt-dir2", &st);
  say("mkdir-mode: %04o\n", st.st_mode & 07777);
  say("unlinkat-removedir: %s\n", r(unlinkat(dir, "pt-dir2", AT_REMOVEDIR)));
  say("unlinkat-file: %s\n", r(unlinkat(dir, "pt-relative", 0)));
  close(dir);

  /* EMFILE: opening until the table is full (its size is the kernel's; not printed). */
  int first = -1, last = -1;
  for (;;) {
    int d = dup(0);
    if (d < 0) break;
    if (first < 0) first = d;
    last = d;
  }
  say("emfile: %s\n", errno_name(errno));
  for (int d = first; d >= 0 && d <= last; ++d) close(d);
  say("after-emfile: dup %s\n", r(fd = dup(0)));
  close(fd);
}

static void check_poll(void) {
  int p[2];
  pipe(p);
  struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
  const char* ready = r(poll(fds, 2, 0));
  say("poll-empty: %s read-end 0x%x write-end 0x%x\n", ready, fds[0].revents, fds[1].revents);
  (void)!write(p[1], "x", 1);
  ready = r(poll(fds, 2, 0));
  say("poll-data: %s read-end 0x%x write-end 0x%x\n", ready, fds[0].revents, fds[1].revents);
  close(p[1]);
  ready = r(poll(fds, 1, 0));
  say("poll-data-writer-gone: %s read-end 0x%x\n", ready, fds[0].revents);
  char c;
  (void)!read(p[0], &c, 1);
  ready = r(poll(fds, 1, 0));
  say("poll-drained-writer-gone: %s read-end 0x%x\n", ready, fds[0].revents);
  fds[0].events = 0;
  ready = r(poll(fds, 1, 0));
  say("poll-no-events-hangup: %s read-end 0x%x\n", ready, fds[0].revents);
  close(p[0]);

  pipe(p);
  close(p[0]);
  struct pollfd writer = {p[1], POLLOUT, 0};
  ready = r(poll(&writer, 1, 0));
  say("poll-reader-gone: %s write-end 0x%x\n", ready, writer.revents);
  close(p[1]);

  struct pollfd odd[2] = {{-1, POLLIN, 0x7}, {99, POLLIN, 0}};
  ready = r(poll(odd, 2, 0));
  say("poll-negative-and-bad-fd: %s 0x%x 0x%x\n", ready, odd[0].revents, odd[1].revents);

  pipe(p);
  struct pollfd empty = {p[0], POLLIN, 0};
  ready = r(poll(&empty, 1, 30));
  say("poll-timeout: %s revents 0x%x\n", ready, empty.revents);
  say("poll-nothing: %s\n", r(poll(NULL, 0, 10)));
  pid_t pid = fork();
  if (pid == 0) {
    usleep(50 * 1000);
    (void)!write(p[1], "y", 1);
    _exit(0);
  }
  ready = r(poll(&empty, 1, -1));
  say("poll-wakes-on-write: %s revents 0x%x\n", ready, empty.revents);
  wait_for(pid);
  close(p[0]);
  close(p[1]);
}

static void check_select(void) {
  int p[2];
  pipe(p);
  fd_set readable, writable;
  struct timeval zero = {0, 0};
  FD_ZERO(&readable);
  FD_ZERO(&writable);
  FD_SET(p[0], &readable);
  FD_SET(p[1], &writable);
  const char* ready = r(select(p[1] + 1, &readable, &writable, NULL, &zero));
  say("select-empty: %s read-end %d write-end %d\n", ready, FD_ISSET(p[0], &readable),
      FD_ISSET(p[1], &writable));
  (void)!write(p[1], "x", 1);
  FD_SET(p[0], &readable);
  FD_SET(p[1], &writable);
  zero.tv_sec = zero.tv_usec = 0;
  ready = r(select(p[1] + 1, &readable, &writable, NULL, &zero));
  say("select-data: %s read-end %d write-end %d\n", ready, FD_ISSET(p[0], &readable),
      FD_ISSET(p[1], &writable));
  char c;
  (void)!read(p[0], &c, 1);
  close(p[1]);
  FD_ZERO(&readable);
  FD_SET(p[0], &readable);
  zero.tv_sec = zero.tv_usec = 0;
  ready = r(select(p[0] + 1, &readable, NULL, NULL, &zero));
  say("select-writer-gone: %s read-end %d\n", ready, FD_ISSET(p[0], &readable));
  close(p[0]);
  FD_ZERO(&readable);
  FD_SET(40, &readable);
  zero.tv_sec = zero.tv_usec = 0;
  say("select-bad-fd: %s\n", r(select(41, &readable, NULL, NULL, &zero)));
  pipe(p);
  FD_ZERO(&readable);
  FD_SET(p[0], &readable);
  struct timeval short_wait = {0, 20000};
  ready = r(select(p[0] + 1, &readable, NULL, NULL, &short_wait));
  say("select-timeout: %s read-end %d\n", ready, FD_ISSET(p[0], &readable));
  close(p[0]);
  close(p[1]);
}

static void on_plain(int signal) { (void)signal; ++handled; }

static void check_signals(void) {
  reset_record();
  on(SIGUSR1, 0);
  const char* sent = r(kill(getpid(), SIGUSR1));
  say("kill-self: %s handler-ran=%d signal=%d mask-in-handler=%d\n", sent, handled, last_signal,
      mask_in_handler_ok);
  say("kill-self-siginfo: si_code=%d sender-is-self=%d\n", last_code, sender_is_self);
  reset_record();
  sent = r(raise(SIGUSR1));
  say("raise: %s handler-ran=%d\n", sent, handled);
  say("raise-siginfo: si_code=%d\n", last_code);
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  say("mask-after-handler: SIGUSR1 blocked %d SIGUSR2 blocked %d\n", sigismember(&now, SIGUSR1),
      sigismember(&now, SIGUSR2));

  /* Blocked: pending, coalesced, delivered on unblock lowest number first. */
  reset_record();
  on(SIGUSR2, 0);
  set_mask(SIG_BLOCK, SIGUSR1, SIGUSR2);
  kill(getpid(), SIGUSR2);
  kill(getpid(), SIGUSR1);
  kill(getpid(), SIGUSR1);
  say("sigprocmask-blocked: handler-ran=%d pending SIGUSR1 %d SIGUSR2 %d\n", handled,
      is_pending(SIGUSR1), is_pending(SIGUSR2));
  set_mask(SIG_UNBLOCK, SIGUSR1, SIGUSR2);
  say("sigprocmask-unblocked: handler-ran=%d order %d %d pending-after %d\n", handled, order[0],
      order[1], is_pending(SIGUSR1) + is_pending(SIGUSR2));

  /* SA_RESETHAND: one delivery, then the default again. */
  reset_record();
  on(SIGUSR1, SA_RESETHAND);
  kill(getpid(), SIGUSR1);
  say("sa-resethand: handler-ran=%d then %s\n", handled, disposition(SIGUSR1));

  /* Default actions that ignore. */
  signal(SIGUSR1, SIG_IGN);
  kill(getpid(), SIGUSR1);
  kill(getpid(), SIGWINCH);
  kill(getpid(), SIGURG);
  kill(getpid(), SIGCHLD);
  say("ignored-signals: still running, SIG_IGN SIGUSR1 pending %d\n", is_pending(SIGUSR1));
  signal(SIGUSR1, SIG_DFL);

  /* Errors. */
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_plain;
  const char* sigkill = r(sigaction(SIGKILL, &action, NULL));
  const char* sigstop = r(sigaction(SIGSTOP, &action, NULL));
  const char* zero = r(sigaction(0, &action, NULL));
  const char* big = r(sigaction(65, &action, NULL));
  say("sigaction-errors: SIGKILL %s SIGSTOP %s 0 %s 65 %s\n", sigkill, sigstop, zero, big);
  const char* bad_signal = r(kill(getpid(), 999));
  const char* no_process = r(kill(999999, 0));
  const char* probe = r(kill(getpid(), 0));
  say("kill-errors: signal 999 %s, pid 999999 %s, signal 0 to self %s\n", bad_signal, no_process,
      probe);
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &now);
  sigset_t blocked;
  sigprocmask(SIG_SETMASK, &now, &blocked);
  say("sigprocmask-cannot-block: SIGKILL %d SIGSTOP %d SIGTERM %d\n", sigismember(&blocked, SIGKILL),
      sigismember(&blocked, SIGSTOP), sigismember(&blocked, SIGTERM));

  /* SIGCHLD: pending while blocked, then delivered with the child's status in siginfo. */
  reset_record();
  on(SIGCHLD, 0);
  set_mask(SIG_BLOCK, SIGCHLD, 0);
  pid_t pid = fork();
  if (pid == 0) _exit(3);
  int status = wait_for(pid);
  say("sigchld-blocked: pending %d handler-ran=%d %s\n", is_pending(SIGCHLD), handled,
      status_text(status));
  set_mask(SIG_UNBLOCK, SIGCHLD, 0);
  say("sigchld-exited: handler-ran=%d\n", handled);
  say("sigchld-exited-siginfo: si_code=%d si_status=%d pid-match=%d\n", last_code, last_status,
      last_pid == pid);
  reset_record();
  set_mask(SIG_BLOCK, SIGCHLD, 0);
  if ((pid = fork()) == 0) { for (;;) pause(); }
  kill(pid, SIGKILL);
  status = wait_for(pid);
  set_mask(SIG_UNBLOCK, SIGCHLD, 0);
  say("sigchld-killed: handler-ran=%d\n", handled);
  say("sigchld-killed-siginfo: si_code=%d si_status=%d pid-match=%d\n", last_code, last_status,
      last_pid == pid);
  signal(SIGCHLD, SIG_DFL);

  /* sigsuspend: waits with the mask it is given, returns EINTR, restores the old mask. */
  reset_record();
  on(SIGUSR1, 0);
  set_mask(SIG_BLOCK, SIGUSR1, 0);
  pid_t parent = getpid();
  if ((pid = fork()) == 0) { kill(parent, SIGUSR1); _exit(0); }
  sigset_t open_mask;
  sigemptyset(&open_mask);
  const char* suspended = r(sigsuspend(&open_mask));
  sigprocmask(SIG_BLOCK, NULL, &now);
  say("sigsuspend: %s handler-ran=%d SIGUSR1 blocked again %d\n", suspended, handled,
      sigismember(&now, SIGUSR1));
  wait_for(pid);
  set_mask(SIG_UNBLOCK, SIGUSR1, 0);

  /* A blocking read ended by a signal (no SA_RESTART): EINTR. The child keeps signalling until
   * the parent says, through a second pipe, that its read returned. */
  int data[2], ack[2];
  pipe(data);
  pipe(ack);
  reset_record();
  on(SIGUSR1, 0);
  if ((pid = fork()) == 0) {
    close(data[0]);
    close(ack[1]);
    struct pollfd done = {ack[0], POLLIN, 0};
    do kill(parent, SIGUSR1);
    while (poll(&done, 1, 20) == 0);
    _exit(0);
  }
  close(ack[0]);
  char c;
  const char* interrupted = r(read(data[0], &c, 1));
  (void)!write(ack[1], "x", 1);
  say("read-interrupted: %s handler-ran>0 %d\n", interrupted, handled > 0);
  wait_for(pid);
  close(ack[1]);
  close(data[0]);
  close(data[1]);

  /* The same with SA_RESTART: the read goes on after each handler until the data comes. */
  pipe(data);
  reset_record();
  on(SIGUSR1, SA_RESTART);
  if ((pid = fork()) == 0) {
    close(data[0]);
    for (int i = 0; i < 10; ++i) {
      usleep(20 * 1000);
      kill(parent, SIGUSR1);
    }
    (void)!write(data[1], "z", 1);
    _exit(0);
  }
  close(data[1]);
  c = '?';
  const char* restarted = r(read(data[0], &c, 1));
  say("read-sa-restart: %s %c handler-ran>0 %d\n", restarted, c, handled > 0);
  wait_for(pid);
  close(data[0]);

  /* ppoll and pselect with a signal mask: a blocked pending signal is let in and ends the wait. */
  pipe(data);
  reset_record();
  on(SIGUSR1, 0);
  set_mask(SIG_BLOCK, SIGUSR1, 0);
  kill(getpid(), SIGUSR1);
  struct pollfd empty_pipe = {data[0], POLLIN, 0};
  struct timespec second = {1, 0};
  sigemptyset(&open_mask);
  const char* polled = r(ppoll(&empty_pipe, 1, &second, &open_mask));
  sigprocmask(SIG_BLOCK, NULL, &now);
  say("ppoll-sigmask: %s handler-ran=%d SIGUSR1 blocked again %d\n", polled, handled,
      sigismember(&now, SIGUSR1));
  reset_record();
  kill(getpid(), SIGUSR1);
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(data[0], &readable);
  const char* selected = r(pselect(data[0] + 1, &readable, NULL, NULL, &second, &open_mask));
  say("pselect-sigmask: %s handler-ran=%d\n", selected, handled);
  struct timespec none = {0, 0};
  FD_SET(data[0], &readable);
  say("pselect-timeout-zero: %s\n", r(pselect(data[0] + 1, &readable, NULL, NULL, &none, NULL)));
  set_mask(SIG_UNBLOCK, SIGUSR1, 0);
  close(data[0]);
  close(data[1]);
  signal(SIGUSR1, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);
}

static void check_errors(void) {
  char buffer[8];
  say("errno-read-bad-fd: %s\n", r(read(99, buffer, 1)));
  say("errno-write-bad-fd: %s\n", r(write(99, buffer, 1)));
  say("errno-close-bad-fd: %s\n", r(close(99)));
  say("errno-fcntl-bad-fd: %s\n", ro(fcntl(99, F_GETFD)));
  say("errno-fcntl-bad-cmd: %s\n", r(fcntl(0, 9999)));
  say("errno-dup-bad-fd: %s\n", r(dup(99)));
  int p[2];
  pipe(p);
  (void)!write(p[1], "z", 1);
  const char* into_null = r(read(p[0], NULL, 1));
  const char* after = r(read(p[0], buffer, 1));
  say("errno-read-into-null: %s, then the byte is still there: %s\n", into_null, after);
  say("errno-write-from-null: %s\n", r(write(p[1], NULL, 1)));
  close(p[0]);
  close(p[1]);
  say("errno-pipe-null: %s\n", r(pipe(NULL)));
  say("errno-open-missing: %s\n", r(open("/does-not-exist", O_RDONLY)));
  say("errno-open-missing-dir: %s\n", r(open("/tmp/nodir/file", O_CREAT | O_WRONLY, 0644)));
  say("errno-open-through-file: %s\n", r(open("/etc/passwd/x", O_RDONLY)));
  say("errno-open-dir-for-writing: %s\n", r(open("/tmp", O_WRONLY)));
  say("errno-open-null-path: %s\n", r(open(NULL, O_RDONLY)));
  int status;
  say("errno-waitpid-no-children: %s\n", r(waitpid(-1, &status, 0)));
}

static void check_groups(void) {
  pid_t me = getpid();
  say("setsid-again: %s\n", r(setsid()));
  say("own-group: getpgrp-is-pid=%d getpgid-is-pid=%d getsid-is-pid=%d\n", getpgrp() == me,
      getpgid(0) == me, getsid(0) == me);
  int p[2], go[2];
  pipe(p);
  pipe(go);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    close(go[1]);
    say("group-child-inherits: inherits-group=%d inherits-session=%d\n", getpgid(0) == me, getsid(0) == me);
    const char* own = r(setpgid(0, 0));
    say("group-child-setpgid: setpgid(0,0) %s own-group=%d\n", own, getpgid(0) == getpid());
    say("group-child-setsid: setsid as group leader %s\n", r(setsid()));
    (void)!write(p[1], "x", 1);
    char c;
    (void)!read(go[0], &c, 1);
    _exit(0);
  }
  close(p[1]);
  close(go[0]);
  char c;
  (void)!read(p[0], &c, 1);
  say("group-parent: getpgid(child)-is-child=%d getsid(child)-is-mine=%d\n", getpgid(pid) == pid,
      getsid(pid) == me);
  const char* no_group = r(setpgid(pid, 999999));
  say("setpgid-errors: to a missing group %s, of a missing process %s\n", no_group,
      r(setpgid(999999, 0)));
  close(go[1]);
  close(p[0]);
  wait_for(pid);

  /* setpgid of a child that has exec'd: EACCES. */
  int stdin_pipe[2];
  pipe(p);
  pipe(stdin_pipe);
  if ((pid = fork()) == 0) {
    dup2(stdin_pipe[0], 0);
    close(stdin_pipe[0]);
    close(stdin_pipe[1]);
    close(p[0]);
    char fd[12];
    snprintf(fd, sizeof fd, "%d", p[1]);
    char* args[] = {"proctest", "exec-idle", fd, NULL};
    execv(SELF, args);
    _exit(127);
  }
  close(p[1]);
  close(stdin_pipe[0]);
  (void)!read(p[0], &c, 1);
  say("setpgid-after-exec: %s\n", r(setpgid(pid, pid)));
  close(stdin_pipe[1]);
  close(p[0]);
  wait_for(pid);

  /* A group of two, signalled and waited for as a group. */
  pipe(p);
  pid_t leader = fork();
  if (leader == 0) {
    setpgid(0, 0);
    (void)!write(p[1], "a", 1);
    for (;;) pause();
  }
  setpgid(leader, leader);
  (void)!read(p[0], &c, 1);
  pid_t member = fork();
  if (member == 0) {
    setpgid(0, leader);
    (void)!write(p[1], "b", 1);
    for (;;) pause();
  }
  setpgid(member, leader);
  (void)!read(p[0], &c, 1);
  say("group-of-two: member-in-leaders-group=%d\n", getpgid(member) == leader);
  say("kill-group: %s\n", r(kill(-leader, SIGTERM)));
  int status1 = 0, status2 = 0;
  pid_t first = waitpid(-leader, &status1, 0);
  pid_t second = waitpid(-leader, &status2, 0);
  say("waitpid-group: both=%d %s, %s, then %s\n",
      (first == leader && second == member) || (first == member && second == leader),
      status_text(status1), status_text(status2), r(waitpid(-leader, &status1, 0)));
  close(p[0]);
  close(p[1]);

  /* An orphan is re-parented to init. */
  int report[2];
  pipe(go);
  pipe(report);
  pid = fork();
  if (pid == 0) {
    if (fork() == 0) {
      close(go[1]);
      (void)!read(go[0], &c, 1);
      char answer = getppid() == 1 ? '1' : '0';
      (void)!write(report[1], &answer, 1);
      _exit(0);
    }
    _exit(0);
  }
  wait_for(pid);
  close(go[0]);
  close(report[1]);
  (void)!write(go[1], "x", 1);
  c = '?';
  (void)!read(report[0], &c, 1);
  say("orphan-reparented-to-init: %c\n", c);
  close(go[1]);
  close(report[0]);
}

static int by_name(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

static const char* listing(const char* path) {
  static char text[256];
  static char names[32][64];
  char* sorted[32];
  int count = 0;
  DIR* dir = opendir(path);
  if (!dir) return r(-1);
  struct dirent* entry;
  while ((entry = readdir(dir)) && count < 32) {
    snprintf(names[count], sizeof names[0], "%.63s", entry->d_name);
    sorted[count] = names[count];
    ++count;
  }
  closedir(dir);
  qsort(sorted, (size_t)count, sizeof sorted[0], by_name);
  text[0] = 0;
  for (int i = 0; i < count; ++i) {
    size_t used = strlen(text);
    snprintf(text + used, sizeof text - used, "%s%s", i ? " " : "", sorted[i]);
  }
  return text;
}

static void check_tmpfs(void) {
  umask(022);
  int fd = open("/tmp/pt-a", O_CREAT | O_EXCL | O_RDWR, 0666);
  say("tmpfs-create: fd %s\n", r(fd));
  struct stat st;
  fstat(fd, &st);
  say("tmpfs-fstat-new: regular=%d mode %04o size %ld links %ld\n", S_ISREG(st.st_mode),
      st.st_mode & 07777, (long)st.st_size, (long)st.st_nlink);
  say("tmpfs-getfl: %s\n", ro(fcntl(fd, F_GETFL)));
  say("tmpfs-write: %s\n", r(write(fd, "hello tmpfs\n", 12)));
  say("tmpfs-offset-after-write: %s\n", r(lseek(fd, 0, SEEK_CUR)));
  say("tmpfs-lseek-end: %s\n", r(lseek(fd, 0, SEEK_END)));
  lseek(fd, 0, SEEK_SET);
  char buffer[64];
  long got = read(fd, buffer, sizeof buffer);
  const char* then = r(read(fd, buffer + 32, 8));
  say("tmpfs-read: %s then %s\n", quoted(buffer, got), then);
  got = pread(fd, buffer, 5, 6);
  say("tmpfs-pread: %s\n", quoted(buffer, got));
  say("tmpfs-pwrite-past-end: %s\n", r(pwrite(fd, "END", 3, 20)));
  fstat(fd, &st);
  got = pread(fd, buffer, sizeof buffer, 0);
  say("tmpfs-hole: size %ld, read %s\n", (long)st.st_size, quoted(buffer, got));
  say("tmpfs-create-excl-again: %s\n", r(open("/tmp/pt-a", O_CREAT | O_EXCL | O_RDWR, 0644)));

  /* Duplicates and fork share one offset. */
  lseek(fd, 0, SEEK_SET);
  int copy = dup(fd);
  (void)!read(copy, buffer, 3);
  say("tmpfs-dup-shares-offset: %s\n", r(lseek(fd, 0, SEEK_CUR)));
  pid_t pid = fork();
  if (pid == 0) {
    (void)!read(fd, buffer, 2);
    _exit(0);
  }
  wait_for(pid);
  say("tmpfs-fork-shares-offset: %s\n", r(lseek(copy, 0, SEEK_CUR)));
  close(copy);

  say("tmpfs-ftruncate: %s\n", r(ftruncate(fd, 5)));
  got = pread(fd, buffer, sizeof buffer, 0);
  fstat(fd, &st);
  say("tmpfs-after-truncate: size %ld read %s\n", (long)st.st_size, quoted(buffer, got));
  close(fd);

  say("tmpfs-rename: %s\n", r(rename("/tmp/pt-a", "/tmp/pt-b")));
  say("tmpfs-stat-old-name: %s\n", r(stat("/tmp/pt-a", &st)));
  const char* found = r(stat("/tmp/pt-b", &st));
  say("tmpfs-stat-new-name: %s size %ld\n", found, (long)st.st_size);
  fd = open("/tmp/pt-c", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  (void)!write(fd, "replaced", 8);
  close(fd);
  say("tmpfs-rename-over-existing: %s\n", r(rename("/tmp/pt-b", "/tmp/pt-c")));
  fd = open("/tmp/pt-c", O_RDONLY);
  got = read(fd, buffer, sizeof buffer);
  close(fd);
  say("tmpfs-after-rename-over: %s\n", quoted(buffer, got));

  fd = open("/tmp/pt-c", O_WRONLY | O_APPEND);
  say("tmpfs-append-getfl: %s\n", ro(fcntl(fd, F_GETFL)));
  lseek(fd, 0, SEEK_SET);
  (void)!write(fd, "+more", 5);
  say("tmpfs-append-offset: %s\n", r(lseek(fd, 0, SEEK_CUR)));
  close(fd);
  fd = open("/tmp/pt-c", O_RDWR | O_TRUNC);
  fstat(fd, &st);
  say("tmpfs-o-trunc: size %ld\n", (long)st.st_size);
  (void)!write(fd, "still open", 10);
  say("tmpfs-unlink-open-file: %s\n", r(unlink("/tmp/pt-c")));
  got = pread(fd, buffer, sizeof buffer, 0);
  say("tmpfs-read-after-unlink: %s, name %s\n", quoted(buffer, got), r(stat("/tmp/pt-c", &st)));
  close(fd);

  say("tmpfs-mkdir: %s\n", r(mkdir("/tmp/pt-d", 0755)));
  say("tmpfs-mkdir-again: %s\n", r(mkdir("/tmp/pt-d", 0755)));
  stat("/tmp/pt-d", &st);
  say("tmpfs-stat-dir: directory=%d mode %04o\n", S_ISDIR(st.st_mode), st.st_mode & 07777);
  const char* names[] = {"/tmp/pt-d/c", "/tmp/pt-d/a", "/tmp/pt-d/b"};
  for (int i = 0; i < 3; ++i) close(open(names[i], O_CREAT | O_WRONLY, 0644));
  say("tmpfs-readdir: %s\n", listing("/tmp/pt-d"));
  say("tmpfs-rmdir-not-empty: %s\n", r(rmdir("/tmp/pt-d")));
  say("tmpfs-unlink-dir: %s\n", r(unlink("/tmp/pt-d")));
  say("tmpfs-rmdir-file: %s\n", r(rmdir("/tmp/pt-d/a")));
  say("tmpfs-open-file-as-dir: %s\n", r(open("/tmp/pt-d/a/", O_RDONLY)));
  for (int i = 0; i < 3; ++i) unlink(names[i]);
  say("tmpfs-rmdir-empty: %s\n", r(rmdir("/tmp/pt-d")));
  say("tmpfs-stat-removed: %s\n", r(stat("/tmp/pt-d", &st)));
  say("tmpfs-ls-tmp: [%s]\n", listing("/tmp"));
}

/* A fault the program catches: the handler gets the fault's siginfo (si_code, si_addr) and
 * leaves with siglongjmp, as a program that recovers from a bad access does. */
static sigjmp_buf fault_return;
static volatile sig_atomic_t fault_signal, fault_code;
static void* volatile fault_address;
static void on_fault(int signal, siginfo_t* info, void* context) {
  (void)context;
  fault_signal = signal;
  fault_code = info->si_code;
  fault_address = info->si_addr;
  siglongjmp(fault_return, 1);
}

static void check_caught_faults(void) {
  struct sigaction action, old;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_fault;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, &old);
  fault_signal = fault_code = 0;
  fault_address = (void*)1;
  if (sigsetjmp(fault_return, 1) == 0) *(volatile int*)0 = 1;
  say("segv-caught-null-write: signal=%d si_code=%d si_addr-is-null=%d\n", fault_signal,
      fault_code, fault_address == NULL);
  char* page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  fault_signal = fault_code = 0;
  fault_address = NULL;
  if (sigsetjmp(fault_return, 1) == 0) page[8] = 1;
  say("segv-caught-read-only-write: signal=%d si_code=%d si_addr-is-the-byte=%d\n", fault_signal,
      fault_code, fault_address == page + 8);
  munmap(page, 4096);
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  say("segv-caught-mask-after-siglongjmp: SIGSEGV blocked %d\n", sigismember(&now, SIGSEGV));
  sigaction(SIGSEGV, &old, NULL);
}

static int run_checks(void) {
  say("setsid: returns-own-pid=%d\n", setsid() == getpid());
  check_fork_wait();
  check_exec();
  check_pipes();
  check_dup();
  check_files();
  check_poll();
  check_select();
  check_signals();
  check_caught_faults();
  check_errors();
  check_groups();
  check_tmpfs();
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "exec-child") == 0) return exec_child(argc, argv);
  if (argc == 3 && strcmp(argv[1], "exec-idle") == 0) return exec_idle(atoi(argv[2]));

  say("proctest: start\n");
  /* The checks run in a child that makes itself a session leader, so that groups and sessions
   * start the same whether this is init or a program started by a shell. The parent reaps it and
   * whatever orphans init inherits. */
  pid_t pid = fork();
  if (pid == 0) _exit(run_checks());
  int status = 0, checks_status = -1;
  pid_t got;
  while ((got = wait(&status)) > 0 || errno == EINTR) {
    if (got == pid) checks_status = status;
  }
  say("checks: %s\n", status_text(checks_status));
  say("proctest: done\n");
  if (getpid() == 1) {
    sync();
    reboot(RB_POWER_OFF);
  }
  return 0;
}
