/* Chapter 15's process test: fork, copy-on-write, exit statuses, wait4/waitpid (WNOHANG,
 * ECHILD, by PID and by group), getppid, setpgid/getpgid, execve and vfork, printed so that the
 * output is the same on Linux and on ferrite (no PIDs or addresses in it). Arguments:
 *   forktest            the checks, then "forktest: done"
 *   forktest loop N     N rounds of fork + _exit + wait (the memory-leak check)
 *   forktest vloop N    N rounds of vfork + _exit + wait (the same for a shared space)
 *   forktest bomb       fork until fork fails; reports EAGAIN, then reaps every child */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t sigchld_seen = 0;
static void on_sigchld(int signal) { (void)signal; sigchld_seen = 1; }

static char big[64 * 1024];  /* .bss pages the child changes after fork */
static int counter = 1;      /* .data */

static void describe(int status) {
  if (WIFEXITED(status)) printf("exited %d\n", WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) printf("killed by signal %d\n", WTERMSIG(status));
  else printf("status %#x\n", status);
}

static int loop(int rounds) {
  for (int i = 0; i < rounds; ++i) {
    pid_t pid = fork();
    if (pid < 0) { printf("fork failed at %d: %s\n", i, strerror(errno)); return 1; }
    if (pid == 0) _exit(i & 0x7F);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || WEXITSTATUS(status) != (i & 0x7F)) {
      printf("round %d: wrong wait\n", i);
      return 1;
    }
  }
  printf("loop: %d forks\n", rounds);
  return 0;
}

/* The same with vfork: the child runs in the parent's memory and _exits; nothing is copied, and
 * the shared space must outlive the child's exit (the vfork memory check). */
static int vloop(int rounds) {
  /* volatile: the child runs on this very stack frame until it _exits, so nothing may live only
   * in a register across vfork (GCC's -Wclobbered) */
  for (volatile int i = 0; i < rounds; ++i) {
    pid_t pid = vfork();
    if (pid < 0) { printf("vfork failed at %d: %s\n", i, strerror(errno)); return 1; }
    if (pid == 0) _exit(i & 0x7F);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || WEXITSTATUS(status) != (i & 0x7F)) {
      printf("round %d: wrong wait\n", i);
      return 1;
    }
  }
  printf("vloop: %d vforks\n", rounds);
  return 0;
}

static int bomb(void) {
  int children = 0;
  for (;;) {
    pid_t pid = fork();
    if (pid == 0) { usleep(500 * 1000); _exit(0); }  /* alive long enough to fill the table */
    if (pid < 0) { printf("bomb: fork failed with %s after %s children\n",
                          errno == EAGAIN ? "EAGAIN" : strerror(errno),
                          children > 8 ? "more than 8" : "few"); break; }
    ++children;
  }
  int reaped = 0;
  while (wait(NULL) > 0) ++reaped;
  printf("bomb: reaped %s\n", reaped == children ? "all" : "not all");
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);  /* no buffered output duplicated by fork */
  if (argc == 3 && strcmp(argv[1], "loop") == 0) return loop(atoi(argv[2]));
  if (argc == 3 && strcmp(argv[1], "vloop") == 0) return vloop(atoi(argv[2]));
  if (argc == 2 && strcmp(argv[1], "bomb") == 0) return bomb();
  if (argc == 2 && strcmp(argv[1], "child") == 0) { printf("exec: child runs\n"); return 5; }

  /* 1. fork returns twice; exit status 3 comes back through waitpid. */
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    printf("child: parent is %s\n", getppid() == parent ? "right" : "wrong");
    _exit(3);
  }
  int status = 0;
  pid_t waited = waitpid(pid, &status, 0);
  printf("parent: waited %s, ", waited == pid ? "the child" : "another");
  describe(status);

  /* 2. Copy-on-write: the child's writes stay its own. */
  memset(big, 'p', sizeof big);
  counter = 10;
  pid = fork();
  if (pid == 0) {
    memset(big, 'c', sizeof big);
    counter = 20;
    printf("child: counter %d, big[0] %c, big[65535] %c\n", counter, big[0], big[sizeof big - 1]);
    _exit(0);
  }
  waitpid(pid, &status, 0);
  printf("parent: counter %d, big[0] %c, big[65535] %c\n", counter, big[0], big[sizeof big - 1]);

  /* 3. WNOHANG before the child ends, ECHILD when there is none. */
  int fds[2];
  pid = fork();
  if (pid == 0) { usleep(200 * 1000); _exit(7); }
  printf("WNOHANG: %d\n", (int)waitpid(pid, &status, WNOHANG));
  waitpid(pid, &status, 0);
  describe(status);
  errno = 0;
  int none_left = (int)wait(&status);
  printf("no children: %d %s\n", none_left, errno == ECHILD ? "ECHILD" : strerror(errno));
  (void)fds;

  /* 4. Three children, reaped in any order: the sum of their statuses. */
  for (int i = 1; i <= 3; ++i) {
    if (fork() == 0) _exit(i * 10);
  }
  int sum = 0;
  for (int i = 0; i < 3; ++i) {
    wait(&status);
    sum += WEXITSTATUS(status);
  }
  printf("three children: sum %d\n", sum);

  /* 5. Process groups: a child in its own group, waited for by group. */
  pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    printf("child: own group %s\n", getpgid(0) == getpid() ? "yes" : "no");
    _exit(0);
  }
  waitpid(pid, &status, 0);
  describe(status);

  /* 6. exec: the child becomes another program; its exit status comes back. */
  pid = fork();
  if (pid == 0) {
    char* args[] = {argv[0], "child", NULL};
    execv("/bin/forktest", args);
    printf("execv failed: %s\n", strerror(errno));
    _exit(127);
  }
  waitpid(pid, &status, 0);
  describe(status);
  errno = 0;
  char* none[] = {"nothing", NULL};
  int failed = execv("/bin/does-not-exist", none);
  printf("exec of a missing file: %d %s\n", failed, errno == ENOENT ? "ENOENT" : strerror(errno));

  /* 7. vfork + exec, as shells do it. */
  pid = vfork();
  if (pid == 0) {
    char* args[] = {"echo", "vfork: echo runs", NULL};
    execv("/bin/busybox", args);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  describe(status);

  /* 8. A child killed by a fault: the wait status names the signal. */
  pid = fork();
  if (pid == 0) {
    *(volatile int*)0 = 1;
    _exit(0);
  }
  waitpid(pid, &status, 0);
  describe(status);

  /* 9. pipe + dup2 + exec: a child's stdout goes into a pipe; the parent polls, reads, then
   * sees EOF once the only writer is gone. */
  if (pipe(fds) != 0) { printf("pipe failed\n"); return 1; }
  pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    char* args[] = {"echo", "through the pipe", NULL};
    execv("/bin/busybox", args);
    _exit(127);
  }
  close(fds[1]);
  struct pollfd readable = {fds[0], POLLIN, 0};
  int ready = poll(&readable, 1, 5000);
  char line[64] = {0};
  int got = (int)read(fds[0], line, sizeof line - 1);
  printf("poll %d, read %d: %s", ready, got, line);
  waitpid(pid, &status, 0);
  describe(status);
  printf("then EOF: %d\n", (int)read(fds[0], line, sizeof line));
  close(fds[0]);

  /* 10. Signals: SIGTERM ends a sleeping child; the parent's SIGCHLD handler runs. */
  signal(SIGCHLD, on_sigchld);
  pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  kill(pid, SIGTERM);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  describe(status);
  printf("SIGCHLD handled: %s\n", sigchld_seen ? "yes" : "no");

  printf("forktest: done\n");
  return 0;
}
