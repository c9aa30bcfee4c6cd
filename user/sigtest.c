/* sigtest: signals as Linux delivers them (chapter 15), each check printing one exact line.
 *   sigtest          handler with SA_SIGINFO; registers and an SSE value intact after the
 *                    handler returns through musl's restorer; sa_mask/blocking; sigprocmask and
 *                    rt_sigpending; SIG_IGN for SIGPIPE; kill(0) and kill(pid, 0)
 *   sigtest sleep    waits in nanosleep(10 s) with a SIGINT handler: Ctrl+C must end the sleep
 *                    at once with EINTR after the handler ran
 *   sigtest die      kill(getpid(), SIGTERM) with the default action: the process ends
 *   sigtest badframe a handler that points the saved RIP into the kernel half: rt_sigreturn
 *                    must end the process (SIGSEGV), never return to ring 0
 *   sigtest restart  a read() blocked on an empty pipe, interrupted by SIGALRM from a child:
 *                    with SA_RESTART the read goes on and returns the child's data; without,
 *                    it fails with EINTR; a signal whose default is to do nothing (SIGCONT)
 *                    never shows. Deterministic output, compared with Linux's.
 *   sigtest forkkill SIGTERM sent to a forked child before its first instruction: the child's
 *                    first system call must not run (a ferrite check, racy on an SMP Linux)
 *   sigtest jobs     job control: a child in a group of its own is stopped by SIGTSTP and
 *                    SIGSTOP, continued by SIGCONT, ended by SIGTERM while stopped; wait4 with
 *                    WUNTRACED/WCONTINUED and waitid with WSTOPPED/WNOWAIT report each change
 *                    once, SIGCHLD says CLD_STOPPED/CLD_CONTINUED; SIGTSTP to sigtest itself is
 *                    dropped (run by the kernel shell, its group is orphaned) */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static volatile sig_atomic_t got, got_code, nested_blocked, order[4], order_n;
static volatile uint64_t handler_rsp_mod16;

static void on_usr1(int signal, siginfo_t* info, void* context) {
  ucontext_t* uc = context;
  uint64_t rsp;
  __asm__ volatile("mov %%rsp, %0" : "=r"(rsp));
  (void)rsp;
  got = signal;
  got_code = info->si_signo == signal && uc->uc_mcontext.gregs[REG_RIP] != 0;
  sigset_t now;
  sigprocmask(SIG_BLOCK, 0, &now);
  nested_blocked = sigismember(&now, SIGUSR1) && sigismember(&now, SIGUSR2);  /* self + sa_mask */
  /* Clobber what the interrupted code must get back: SSE registers and callee-saved ones. */
  __asm__ volatile("pxor %%xmm0, %%xmm0\n pxor %%xmm7, %%xmm7\n mov $0, %%r12\n mov $0, %%r15\n"
                   "mov $0, %%rbx\n mov $0, %%r9" ::: "xmm0", "xmm7", "r12", "r15", "rbx", "r9");
}

/* The handler's first instruction sees RSP % 16 == 8, as after a call (the ABI). */
__asm__(".text\n.globl align_probe\nalign_probe:\n mov %rsp, %rax\n and $15, %rax\n"
        " mov %rax, handler_rsp_mod16(%rip)\n ret\n");
void align_probe(int);

static void record(int signal) { order[order_n++] = signal; }
static void on_int(int signal) { got = signal; }
static void bad_handler(int signal, siginfo_t* info, void* context) {
  (void)signal, (void)info;
  ucontext_t* uc = context;
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)0xffffffff80001000ull;  /* kernel text */
  uc->uc_mcontext.gregs[REG_CSGSFS] = 0x08;                        /* ring-0 CS */
}

/* kill(getpid(), SIGUSR1) from assembly with known values in registers the handler changes;
 * returns how many came back wrong. */
static int registers_survive(void) {
  uint64_t r12, r15, rbx, r9, rdi, rsi, rdx, r8, r10, lo;
  double d = 1.5;
  __asm__ volatile(
      "movq %[d], %%xmm7\n"
      "mov $0x1212121212121212, %%r12\n mov $0x1515151515151515, %%r15\n"
      "mov $0xbbbbbbbbbbbbbbbb, %%rbx\n mov $0x0909090909090909, %%r9\n"
      "mov $0x0808080808080808, %%r8\n mov $0x1010101010101010, %%r10\n"
      "mov $39, %%eax\n syscall\n"                       /* getpid */
      "mov %%rax, %%rdi\n mov $10, %%esi\n mov $0xd0d0d0d0d0d0d0d0, %%rdx\n"
      "mov $62, %%eax\n syscall\n"                       /* kill(pid, SIGUSR1): handler runs */
      "mov %%r12, %[r12]\n mov %%r15, %[r15]\n mov %%rbx, %[rbx]\n mov %%r9, %[r9]\n"
      "mov %%rdi, %[rdi]\n mov %%rsi, %[rsi]\n mov %%rdx, %[rdx]\n mov %%r8, %[r8]\n"
      "mov %%r10, %[r10]\n movq %%xmm7, %[lo]\n"
      : [r12] "=m"(r12), [r15] "=m"(r15), [rbx] "=m"(rbx), [r9] "=m"(r9), [rdi] "=m"(rdi),
        [rsi] "=m"(rsi), [rdx] "=m"(rdx), [r8] "=m"(r8), [r10] "=m"(r10), [lo] "=m"(lo)
      : [d] "m"(d)
      : "rax", "rcx", "r11", "rdi", "rsi", "rdx", "r8", "r9", "r10", "r12", "r15", "rbx",
        "xmm7", "memory");
  double back;
  memcpy(&back, &lo, sizeof back);
  return (r12 != 0x1212121212121212ull) + (r15 != 0x1515151515151515ull) +
         (rbx != 0xbbbbbbbbbbbbbbbbull) + (r9 != 0x0909090909090909ull) + (rsi != 10) +
         (rdx != 0xd0d0d0d0d0d0d0d0ull) + (r8 != 0x0808080808080808ull) +
         (r10 != 0x1010101010101010ull) + (rdi != (uint64_t)getpid()) + (back != 1.5);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int signal) {
  (void)signal;
  ++alarms;
}

/* A child that waits 200 ms (the parent is blocked in read by then), sends `signal` to the
 * parent, waits again and writes "data" into the pipe. */
static pid_t signal_then_write(int pipe_in, int signal) {
  const pid_t parent = getpid();
  const pid_t child = fork();
  if (child == 0) {
    struct timespec pause_ts = {0, 200000000};
    nanosleep(&pause_ts, 0);
    kill(parent, signal);
    nanosleep(&pause_ts, 0);
    if (write(pipe_in, "data", 4) != 4) _exit(1);
    _exit(0);
  }
  return child;
}

static void read_around(const char* label, int signal, int flags) {
  int p[2];
  if (pipe(p) != 0) return;
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sa.sa_flags = flags;
  sigaction(SIGALRM, &sa, 0);
  alarms = 0;
  const pid_t child = signal_then_write(p[1], signal);
  char buffer[16] = {0};
  const ssize_t n = read(p[0], buffer, sizeof buffer - 1);
  const int error = errno;
  if (n < 0) {
    printf("%s: read = -1 %s, handler ran %d\n", label, error == EINTR ? "EINTR" : strerror(error),
           (int)alarms);
    /* The data still comes: read it so that the pipe is drained before the next case. */
    while (read(p[0], buffer, sizeof buffer - 1) < 0 && errno == EINTR) {
    }
  } else {
    printf("%s: read = %d \"%s\", handler ran %d\n", label, (int)n, buffer, (int)alarms);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  close(p[0]);
  close(p[1]);
}

static long raw_syscall3(long number, long a, long b, long c) {
  long result;
  __asm__ volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return result;
}

static volatile sig_atomic_t chld_codes[8], chld_count;
static void on_chld(int signal, siginfo_t* info, void* context) {
  (void)signal, (void)context;
  if (chld_count < 8) chld_codes[chld_count++] = info->si_code;
}

static const char* name_of(int signal) {
  switch (signal) {
    case SIGTSTP: return "SIGTSTP";
    case SIGSTOP: return "SIGSTOP";
    case SIGTERM: return "SIGTERM";
    case SIGCONT: return "SIGCONT";
    default: return "?";
  }
}

static const char* how(int status) {
  static char text[48];
  if (WIFSTOPPED(status)) snprintf(text, sizeof text, "stopped by %s", name_of(WSTOPSIG(status)));
  else if (WIFCONTINUED(status)) snprintf(text, sizeof text, "continued");
  else if (WIFSIGNALED(status)) snprintf(text, sizeof text, "killed by %s", name_of(WTERMSIG(status)));
  else snprintf(text, sizeof text, "exited %d", WEXITSTATUS(status));
  return text;
}

static int job_control(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGCHLD, &sa, 0);
  const pid_t child = fork();
  if (child == 0) {
    setpgid(0, 0);
    for (;;) pause();
  }
  setpgid(child, child);  /* a job: its parent is outside its group, in its session */
  int status = 0;
  kill(child, SIGTSTP);
  pid_t got_pid = waitpid(child, &status, WUNTRACED);
  printf("SIGTSTP: %s\n", got_pid == child ? how(status) : "?");
  printf("again: %d\n", (int)waitpid(child, &status, WUNTRACED | WNOHANG));
  kill(child, SIGCONT);
  got_pid = waitpid(child, &status, WCONTINUED);
  printf("SIGCONT: %s\n", got_pid == child ? how(status) : "?");
  printf("again: %d\n", (int)waitpid(child, &status, WUNTRACED | WCONTINUED | WNOHANG));
  kill(child, SIGSTOP);
  siginfo_t info = {0};
  int r = waitid(P_PID, (id_t)child, &info, WSTOPPED | WNOWAIT);
  printf("waitid WNOWAIT: %d code %s status %s\n", r,
         info.si_code == CLD_STOPPED ? "CLD_STOPPED" : "?", name_of(info.si_status));
  memset(&info, 0, sizeof info);
  r = waitid(P_PID, (id_t)child, &info, WSTOPPED);
  printf("waitid: %d code %s pid %s\n", r, info.si_code == CLD_STOPPED ? "CLD_STOPPED" : "?",
         info.si_pid == child ? "ok" : "?");
  memset(&info, 0, sizeof info);
  r = waitid(P_PID, (id_t)child, &info, WSTOPPED | WNOHANG);
  printf("waitid again: %d pid %d\n", r, (int)info.si_pid);
  kill(child, SIGTERM);  /* its default action ends a stopped process at once */
  got_pid = waitpid(child, &status, 0);
  printf("SIGTERM while stopped: %s\n", got_pid == child ? how(status) : "?");
  printf("SIGCHLD:");
  for (int i = 0; i < chld_count; ++i) {
    const int code = chld_codes[i];
    printf(" %s", code == CLD_STOPPED ? "stopped" : code == CLD_CONTINUED ? "continued"
                  : code == CLD_KILLED ? "killed" : "?");
  }
  printf("\n");
  raise(SIGTSTP);
  printf("SIGTSTP in an orphaned group: dropped\n");
  printf("sigtest: done\n");
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, 0, _IONBF, 0);
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "sleep") == 0) {
    signal(SIGINT, on_int);
    printf("sleeping\n");
    struct timespec ts = {10, 0}, rem = {0, 0};
    const int r = nanosleep(&ts, &rem);
    printf("nanosleep: %d %s, handler saw %d, %s\n", r, r < 0 && errno == EINTR ? "EINTR" : "?",
           (int)got, rem.tv_sec > 5 ? "early" : "late");
    return 0;
  }
  if (strcmp(mode, "restart") == 0) {
    read_around("SIGALRM with SA_RESTART", SIGALRM, SA_RESTART);
    read_around("SIGALRM without SA_RESTART", SIGALRM, 0);
    read_around("SIGCONT, default action", SIGCONT, SA_RESTART);
    printf("sigtest: done\n");
    return 0;
  }
  if (strcmp(mode, "forkkill") == 0) {
    /* The raw fork system call, so that the child's first instruction is another raw one:
     * write(). musl's fork() would make a system call of its own first. */
    const long child = raw_syscall3(SYS_fork, 0, 0, 0);
    if (child == 0) {
      raw_syscall3(SYS_write, 1, (long)"child: first system call ran\n", 29);
      raw_syscall3(SYS_exit, 0, 0, 0);
    }
    kill((pid_t)child, SIGTERM);
    int status = 0;
    waitpid((pid_t)child, &status, 0);
    printf("child: %s\n", WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited");
    return 0;
  }
  if (strcmp(mode, "jobs") == 0) return job_control();
  if (strcmp(mode, "die") == 0) {
    kill(getpid(), SIGTERM);
    printf("still alive after SIGTERM\n");
    return 1;
  }
  if (strcmp(mode, "badframe") == 0) {
    struct sigaction sa = {0};
    sa.sa_sigaction = bad_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    raise(SIGUSR1);
    printf("returned to the bad frame\n");
    return 1;
  }

  struct sigaction sa = {0};
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  sigaction(SIGUSR1, &sa, 0);
  const int bad = registers_survive();
  printf("handler: signal %d, siginfo %s, mask %s, registers %s\n", (int)got,
         got_code ? "ok" : "bad", nested_blocked ? "ok" : "bad", bad == 0 ? "intact" : "CHANGED");
  sigset_t now;
  sigprocmask(SIG_BLOCK, 0, &now);
  printf("mask after return: %s\n", sigismember(&now, SIGUSR1) || sigismember(&now, SIGUSR2) ? "bad" : "ok");

  signal(SIGUSR2, align_probe);
  handler_rsp_mod16 = 99;
  raise(SIGUSR2);
  printf("stack at handler entry: rsp %% 16 = %d\n", (int)handler_rsp_mod16);

  /* Blocked signals wait; unblocking delivers them, lowest number first. */
  signal(SIGUSR1, record);
  signal(SIGUSR2, record);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGUSR2);
  sigprocmask(SIG_BLOCK, &block, 0);
  kill(getpid(), SIGUSR2);
  kill(getpid(), SIGUSR1);
  sigset_t pending;
  sigpending(&pending);
  printf("blocked: ran %d, pending usr1 %d usr2 %d\n", (int)order_n, sigismember(&pending, SIGUSR1),
         sigismember(&pending, SIGUSR2));
  sigprocmask(SIG_UNBLOCK, &block, 0);
  printf("unblocked: ran %d: %d %d\n", (int)order_n, (int)order[0], (int)order[1]);

  signal(SIGPIPE, SIG_IGN);
  kill(getpid(), SIGPIPE);
  printf("SIGPIPE ignored\n");
  const int self = kill(getpid(), 0);
  const int none = kill(99999, 0);
  printf("kill(pid, 0) = %d, kill(99999, 0) = %d %s\n", self, none, errno == ESRCH ? "ESRCH" : "?");
  const int caught = sigaction(SIGKILL, &sa, 0);
  printf("sigaction(SIGKILL) = %d %s\n", caught, errno == EINVAL ? "EINVAL" : "?");
  printf("sigtest: done\n");
  return 0;
}
