/* hostile: scenarios a hostile user tries on a kernel, one by name, each in a forked child.
 *
 *   hostile NAME...        (or `hostile all`)
 *
 * Each scenario prints `hostile: NAME: ok` when the kernel answered as Linux does (an error, or
 * the program ended by a signal), or `hostile: NAME: FAIL ...` with what it saw. The kernel must
 * stay up whatever a scenario does; the last line compares free memory and the process count
 * with the start: `hostile: memory and processes back`. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                       \
  do {                                                         \
    if (!(cond)) {                                             \
      printf("hostile: %s: FAIL line %d: ", current, __LINE__); \
      printf(__VA_ARGS__);                                     \
      printf("\n");                                            \
      ok = 0;                                                  \
    }                                                          \
  } while (0)

static const char* current = "";
static int ok;

static const char* describe(int status) {
  static char text[64];
  if (WIFEXITED(status)) snprintf(text, sizeof text, "exit %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) snprintf(text, sizeof text, "signal %d", WTERMSIG(status));
  else snprintf(text, sizeof text, "status %#x", status);
  return text;
}

/* Runs fn in a child (at most `seconds`) and returns its wait status. */
static int in_child(void (*fn)(void), unsigned seconds) {
  pid_t pid = fork();
  if (pid == 0) {
    alarm(seconds);
    fn();
    _exit(0);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

/* --- the RFLAGS a program can set with popf: NT (bit 14) must not follow it into the kernel
 * (Linux clears it through IA32_FMASK; with NT set in ring 0, iretq raises #GP). */
static long nt_syscall(long number, long a, long b, long c) {
  long ret;
  __asm__ volatile(
      "pushfq\n\t"
      "orq $0x4000, (%%rsp)\n\t"
      "popfq\n\t"
      "syscall\n\t"
      "pushfq\n\t"
      "andq $~0x4000, (%%rsp)\n\t"
      "popfq"
      : "=a"(ret)
      : "a"(number), "D"(a), "S"(b), "d"(c)
      : "rcx", "r11", "memory", "cc");
  return ret;
}
static void nt_flag(void) {
  nt_syscall(SYS_getpid, 0, 0, 0);  /* sysret */
  nt_syscall(SYS_sched_yield, 0, 0, 0);
  struct timespec t = {0, 20 * 1000 * 1000};
  nt_syscall(SYS_nanosleep, (long)&t, 0, 0);  /* a switch to another thread */
  char* argv[] = {"/bin/hello", NULL};
  char* envp[] = {NULL};
  nt_syscall(SYS_execve, (long)argv[0], (long)argv, (long)envp);  /* leaves through iretq */
  _exit(3);
}
static void scenario_nt_flag(void) {
  int status = in_child(nt_flag, 5);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", describe(status));
}

/* --- stack overflow by recursion: SIGSEGV, and with a handler on an alternate stack the
 * handler runs. */
static volatile int depth_sink;
static __attribute__((noinline)) int recurse(int n) {
  volatile char pad[512];
  pad[n % 512] = (char)n;
  int below = n < 0 ? 0 : recurse(n + 1);
  return below + pad[(n * 7) % 512];
}
static void overflow(void) { recurse(0); }
static void on_segv(int s) { (void)s; _exit(42); }
static void overflow_with_handler(void) {
  static char alt[65536];
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa = {.sa_handler = on_segv, .sa_flags = SA_ONSTACK};
  sigaction(SIGSEGV, &sa, NULL);
  recurse(0);
}
static void overflow_handler_on_same_stack(void) {
  struct sigaction sa = {.sa_handler = on_segv};
  sigaction(SIGSEGV, &sa, NULL);
  recurse(0);
}
static void scenario_stack(void) {
  int status = in_child(overflow, 20);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "recursion: %s", describe(status));
  status = in_child(overflow_with_handler, 20);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42, "with sigaltstack: %s", describe(status));
  status = in_child(overflow_handler_on_same_stack, 20);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "handler without altstack: %s",
        describe(status));
}

/* --- memory exhaustion: four children take memory until they cannot. */
static void hog_mmap(void) {
  for (;;) {
    char* p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) _exit(7);
    for (int i = 0; i < (1 << 20); i += 4096) p[i] = 1;
  }
}
static void hog_brk(void) {
  for (;;) {
    char* p = sbrk(1 << 20);
    if (p == (void*)-1) _exit(8);
    for (int i = 0; i < (1 << 20); i += 4096) p[i] = 1;
  }
}
static void scenario_oom(void) {
  pid_t pids[4];
  for (int i = 0; i < 4; ++i) {
    pids[i] = fork();
    if (pids[i] == 0) {
      alarm(60);
      if (i % 2) hog_brk();
      hog_mmap();
    }
  }
  for (int i = 0; i < 4; ++i) {
    int status = 0;
    waitpid(pids[i], &status, 0);
    CHECK(WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) != SIGALRM),
          "hog %d: %s", i, describe(status));
    printf("hostile: oom: hog %d: %s\n", i, describe(status));
  }
}

/* --- execve with hostile arguments. */
static long raw_execve(const void* path, const void* argv, const void* envp) {
  return syscall(SYS_execve, path, argv, envp);
}
static char* filled_string(size_t length, char c) {
  char* text = malloc(length + 1);
  memset(text, c, length);
  text[length] = 0;
  return text;
}
static void scenario_execve_args(void) {
  char* envp[] = {NULL};
  errno = 0;
  long r = raw_execve("/bin/hello", (void*)0x1000, envp);
  CHECK(r == -1 && errno == EFAULT, "argv unmapped: %ld errno %d", r, errno);
  char* bad1[] = {"hello", (char*)0xdead0000, NULL};
  r = raw_execve("/bin/hello", bad1, envp);
  CHECK(r == -1 && errno == EFAULT, "argv[1] unmapped: %ld errno %d", r, errno);
  char* bad2[] = {"hello", (char*)0xffff800000000000ull, NULL};
  r = raw_execve("/bin/hello", bad2, envp);
  CHECK(r == -1 && errno == EFAULT, "argv[1] kernel: %ld errno %d", r, errno);
  char* bad3[] = {"hello", (char*)0x0000800000000000ull, NULL};
  r = raw_execve("/bin/hello", bad3, envp);
  CHECK(r == -1 && errno == EFAULT, "argv[1] non-canonical: %ld errno %d", r, errno);
  char* good[] = {"hello", NULL};
  char* bad_env[] = {"A=1", (char*)0x10, NULL};
  r = raw_execve("/bin/hello", good, bad_env);
  CHECK(r == -1 && errno == EFAULT, "envp[1] unmapped: %ld errno %d", r, errno);
  r = raw_execve((void*)0x10, good, envp);
  CHECK(r == -1 && errno == EFAULT, "path unmapped: %ld errno %d", r, errno);
  /* A string that runs off the end of a mapping with no NUL. */
  char* page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(page + 4096, 4096);
  memset(page, 'x', 4096);
  char* edge[] = {"hello", page, NULL};
  r = raw_execve("/bin/hello", edge, envp);
  CHECK(r == -1 && errno == EFAULT, "argv[1] off the mapping: %ld errno %d", r, errno);
  /* argv array running off the mapping without a NULL. */
  char** arr = (char**)page;
  for (int i = 0; i < 512; ++i) arr[i] = "a";
  r = raw_execve("/bin/hello", arr, envp);
  CHECK(r == -1 && errno == EFAULT, "argv without NULL off the mapping: %ld errno %d", r, errno);
  /* Too much: 40 strings of 100 KiB (4 MiB, more than Linux's 2 MiB with an 8 MiB stack
   * limit) and one string of 200 KiB (MAX_ARG_STRLEN is 128 KiB). */
  char* s = filled_string(100 * 1024, 'y');
  char* many[42];
  many[0] = "hello";
  for (int i = 1; i < 41; ++i) many[i] = s;
  many[41] = NULL;
  r = raw_execve("/bin/hello", many, envp);
  CHECK(r == -1 && errno == E2BIG, "4 MiB of argv: %ld errno %d", r, errno);
  r = raw_execve("/bin/hello", good, many);
  CHECK(r == -1 && errno == E2BIG, "4 MiB of envp: %ld errno %d", r, errno);
  char* one[] = {"hello", filled_string(200 * 1024, 'z'), NULL};
  r = raw_execve("/bin/hello", one, envp);
  CHECK(r == -1 && errno == E2BIG, "one 200 KiB string: %ld errno %d", r, errno);
  /* Many empty strings: 1,000,000 pointers (8 MB array). */
  size_t n = 1000000;
  char** lots = malloc((n + 1) * sizeof *lots);
  for (size_t i = 0; i < n; ++i) lots[i] = "";
  lots[n] = NULL;
  r = raw_execve("/bin/hello", lots, envp);
  CHECK(r == -1 && errno == E2BIG, "a million empty strings: %ld errno %d", r, errno);
}

/* --- exec of broken files. */
static void write_file(const char* path, const void* data, size_t size) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (fd < 0) { printf("hostile: %s: cannot create %s\n", current, path); return; }
  if (size) write(fd, data, size);
  close(fd);
}
static char* slurp(const char* path, size_t* size) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  fstat(fd, &st);
  char* data = malloc(st.st_size);
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, data + got, st.st_size - got);
    if (n <= 0) break;
    got += n;
  }
  close(fd);
  *size = got;
  return data;
}
static const char* exec_path;
static void exec_it(void) {
  char* argv[] = {(char*)exec_path, NULL};
  char* envp[] = {NULL};
  execve(exec_path, argv, envp);
  _exit(100 + (errno & 0x7f) % 100);
}
/* Runs the file; returns the wait status (exit 100+errno when execve failed). */
static int try_exec(const char* path) {
  exec_path = path;
  return in_child(exec_it, 5);
}
/* Runs a copy of `file` with `width` bytes at `offset` replaced by `value`'s. */
static int run_mutated(const char* file, size_t size, size_t offset, const void* value,
                       size_t width) {
  char* copy = malloc(size);
  memcpy(copy, file, size);
  memcpy(copy + offset, value, width);
  write_file("/tmp/mut", copy, size);
  free(copy);
  return try_exec("/tmp/mut");
}
static void scenario_bad_elf(void) {
  size_t size;
  char* hello = slurp("/bin/hello", &size);
  static const size_t cuts[] = {0, 1, 4, 16, 63, 64, 65, 100, 120, 200, 1000, 4096, 5000};
  char name[64];
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; ++i) {
    size_t cut = cuts[i] < size ? cuts[i] : size / 2;
    write_file("/tmp/cut", hello, cut);
    int status = try_exec("/tmp/cut");
    /* Linux: ENOEXEC (8) or EIO, or past the point of no return a signal. */
    CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && status != -1,
          "cut at %zu: %s", cut, describe(status));
    snprintf(name, sizeof name, "cut %zu", cut);
    printf("hostile: bad_elf: %s: %s\n", name, describe(status));
  }
  write_file("/tmp/cut", hello, size / 2);
  int status = try_exec("/tmp/cut");
  printf("hostile: bad_elf: half: %s\n", describe(status));
  /* Header fields made hostile, one at a time. */
  struct mutation { size_t offset, width; uint64_t value; const char* what; } mutations[] = {
      {0x20, 8, 0xffffffffffffff00ull, "e_phoff huge"},
      {0x20, 8, 0x00000000fffffff0ull, "e_phoff past the file"},
      {0x38, 2, 0xffff, "e_phnum 65535"},
      {0x36, 2, 0x10, "e_phentsize 16"},
      {0x36, 2, 0xffff, "e_phentsize 65535"},
      {0x18, 8, 0xffffffff80000000ull, "e_entry kernel"},
      {0x18, 8, 0x0000800000000000ull, "e_entry non-canonical"},
      {0x18, 8, 0, "e_entry 0"},
      {0x10, 2, 1, "e_type ET_REL"},
      {0x12, 2, 3, "e_machine 386"},
      {0x04, 1, 1, "ELFCLASS32"},
  };
  for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; ++i) {
    status = run_mutated(hello, size, mutations[i].offset, &mutations[i].value, mutations[i].width);
    printf("hostile: bad_elf: %s: %s\n", mutations[i].what, describe(status));
    CHECK(status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0), "%s: %s",
          mutations[i].what, describe(status));
  }
  /* Program-header fields of the first PT_LOAD made hostile. */
  uint64_t phoff;
  memcpy(&phoff, hello + 0x20, 8);
  uint16_t phnum;
  memcpy(&phnum, hello + 0x38, 2);
  size_t load = 0;
  for (size_t i = 0; i < phnum; ++i) {
    uint32_t type;
    memcpy(&type, hello + phoff + i * 56, 4);
    if (type == 1) { load = phoff + i * 56; break; }
  }
  struct mutation ph[] = {
      {8, 8, 0xfffffffffffff000ull, "p_offset huge"},
      {16, 8, 0xffff800000000000ull, "p_vaddr kernel"},
      {16, 8, 0x00007ffffffff000ull, "p_vaddr top of user space"},
      {16, 8, 0, "p_vaddr 0"},
      {32, 8, 0xffffffffffff0000ull, "p_filesz huge"},
      {40, 8, 0xffffffffffff0000ull, "p_memsz huge"},
      {40, 8, 0x0000100000000000ull, "p_memsz 16 TiB"},
      {40, 8, 1, "p_memsz < p_filesz"},
      {48, 8, 3, "p_align 3"},
      {4, 4, 0, "p_flags none"},
  };
  for (size_t i = 0; i < sizeof ph / sizeof ph[0]; ++i) {
    status = run_mutated(hello, size, load + ph[i].offset, &ph[i].value, ph[i].width);
    printf("hostile: bad_elf: %s: %s\n", ph[i].what, describe(status));
  }
  /* Directories, devices and empty files. */
  status = try_exec("/tmp");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 100 + EACCES, "exec of a directory: %s",
        describe(status));
  status = try_exec("/dev/zero");
  printf("hostile: bad_elf: /dev/zero: %s\n", describe(status));
  status = try_exec("/dev/console");
  printf("hostile: bad_elf: /dev/console: %s\n", describe(status));
  write_file("/tmp/empty", "", 0);
  status = try_exec("/tmp/empty");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 100 + ENOEXEC, "empty file: %s",
        describe(status));
  unlink("/tmp/cut");
  unlink("/tmp/mut");
  unlink("/tmp/empty");
  free(hello);
}

/* --- #! scripts that loop, and odd ones. */
static void scenario_shebang(void) {
  write_file("/tmp/loop", "#!/tmp/loop\n", 12);
  write_file("/tmp/a", "#!/tmp/b\n", 9);
  write_file("/tmp/b", "#!/tmp/a\n", 9);
  static const struct { const char* text; const char* run; int error; const char* what; } cases[] = {
      {NULL, "/tmp/loop", ELOOP, "#! to itself"},
      {NULL, "/tmp/a", ELOOP, "#! a->b->a"},
      {"#!\n", "/tmp/e", ENOEXEC, "#! alone"},
      {"#!", "/tmp/e", ENOEXEC, "#! without newline"},
      {"#!/nonexistent\n", "/tmp/e", ENOENT, "#! missing"},
  };
  int status;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    if (cases[i].text) write_file("/tmp/e", cases[i].text, strlen(cases[i].text));
    status = try_exec(cases[i].run);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 100 + cases[i].error, "%s: %s",
          cases[i].what, describe(status));
  }
  char line[400] = "#!/";
  memset(line + 3, 'a', 300);
  line[303] = '\n';
  write_file("/tmp/e", line, 304);
  status = try_exec("/tmp/e");
  printf("hostile: shebang: 300-byte interpreter: %s\n", describe(status));
  memset(line + 2, ' ', 300);
  write_file("/tmp/e", line, 304);
  status = try_exec("/tmp/e");
  printf("hostile: shebang: 300 spaces: %s\n", describe(status));
  write_file("/tmp/e", "#!/tmp\n", 7);
  status = try_exec("/tmp/e");
  printf("hostile: shebang: a directory: %s\n", describe(status));
  /* A chain of 6 distinct scripts: Linux allows 4 levels of interpreters (ELOOP beyond). */
  for (int i = 0; i < 6; ++i) {
    char path[32], text[32];
    snprintf(path, sizeof path, "/tmp/c%d", i);
    int len = snprintf(text, sizeof text, "#!/tmp/c%d\n", i + 1);
    write_file(path, text, len);
  }
  write_file("/tmp/c6", "#!/bin/hello\n", 13);
  status = try_exec("/tmp/c0");
  printf("hostile: shebang: chain of 7: %s\n", describe(status));
  status = try_exec("/tmp/c4");
  printf("hostile: shebang: chain of 3: %s\n", describe(status));
  unlink("/tmp/loop"), unlink("/tmp/a"), unlink("/tmp/b"), unlink("/tmp/e");
  for (int i = 0; i <= 6; ++i) {
    char path[32];
    snprintf(path, sizeof path, "/tmp/c%d", i);
    unlink(path);
  }
}

/* --- many writers on a full pipe; the reader dies; every writer must hear EPIPE. */
static void scenario_pipe_writers(void) {
  int fds[2];
  pipe(fds);
  pid_t reader = fork();
  if (reader == 0) {
    close(fds[1]);
    char c;
    read(fds[0], &c, 1);
    pause();
    _exit(0);
  }
  close(fds[0]);
  enum { kWriters = 8 };
  pid_t writers[kWriters];
  for (int i = 0; i < kWriters; ++i) {
    writers[i] = fork();
    if (writers[i] == 0) {
      alarm(10);
      signal(SIGPIPE, i % 2 ? SIG_IGN : SIG_DFL);
      static char block[70000];
      for (;;) {
        ssize_t n = write(fds[1], block, sizeof block);
        if (n < 0) _exit(errno == EPIPE ? 9 : 10);
      }
    }
  }
  close(fds[1]);
  usleep(300 * 1000);
  kill(reader, SIGKILL);
  waitpid(reader, NULL, 0);
  for (int i = 0; i < kWriters; ++i) {
    int status = 0;
    waitpid(writers[i], &status, 0);
    if (i % 2)
      CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 9, "writer %d: %s", i, describe(status));
    else
      CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE, "writer %d: %s", i,
            describe(status));
  }
}

/* --- FIFOs opened and abandoned. */
static void fifo_writer(void) {
  int fd = open("/tmp/fifo", O_WRONLY);
  _exit(fd >= 0 ? 0 : 1);
}
static void scenario_fifo(void) {
  unlink("/tmp/fifo");
  CHECK(mkfifo("/tmp/fifo", 0644) == 0, "mkfifo: %s", strerror(errno));
  errno = 0;
  int fd = open("/tmp/fifo", O_WRONLY | O_NONBLOCK);
  CHECK(fd == -1 && errno == ENXIO, "O_WRONLY|O_NONBLOCK without reader: %d %s", fd,
        strerror(errno));
  int r = open("/tmp/fifo", O_RDONLY | O_NONBLOCK);
  CHECK(r >= 0, "O_RDONLY|O_NONBLOCK: %s", strerror(errno));
  char c;
  ssize_t n = read(r, &c, 1);
  CHECK(n == 0 || (n == -1 && errno == EAGAIN), "read of writerless FIFO: %zd %s", n,
        strerror(errno));
  close(r);
  /* A writer waits in open; it is killed; then nothing is left behind. */
  pid_t pid = fork();
  if (pid == 0) fifo_writer();
  usleep(100 * 1000);
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status), "writer in open: %s", describe(status));
  /* A writer waits in open; a reader opens and closes at once; the writer goes on. */
  pid = fork();
  if (pid == 0) {
    alarm(5);
    int w = open("/tmp/fifo", O_WRONLY);
    if (w < 0) _exit(1);
    signal(SIGPIPE, SIG_IGN);
    usleep(100 * 1000);
    ssize_t k = write(w, "x", 1);
    _exit(k == -1 && errno == EPIPE ? 0 : 2);
  }
  usleep(100 * 1000);
  r = open("/tmp/fifo", O_RDONLY);
  close(r);
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer after reader left: %s",
        describe(status));
  /* O_RDWR on a FIFO (Linux allows it). */
  int rw = open("/tmp/fifo", O_RDWR);
  CHECK(rw >= 0, "O_RDWR: %s", strerror(errno));
  if (rw >= 0) {
    CHECK(write(rw, "ab", 2) == 2, "write on O_RDWR fifo");
    char b[2];
    CHECK(read(rw, b, 2) == 2, "read on O_RDWR fifo");
    close(rw);
  }
  unlink("/tmp/fifo");
}

/* --- descriptors: dup2 far away, the table full, poll on many. */
static void scenario_fds(void) {
  errno = 0;
  int r = dup2(1, 1 << 20);
  CHECK(r == -1 && errno == EBADF, "dup2 to 1<<20: %d %s", r, strerror(errno));
  r = dup2(1, INT_MAX);
  CHECK(r == -1 && errno == EBADF, "dup2 to INT_MAX: %d %s", r, strerror(errno));
  r = dup2(1, -1);
  CHECK(r == -1 && errno == EBADF, "dup2 to -1: %d %s", r, strerror(errno));
  r = fcntl(1, F_DUPFD, 1 << 20);
  CHECK(r == -1 && errno == EINVAL, "F_DUPFD 1<<20: %d %s", r, strerror(errno));
  struct rlimit lim;
  getrlimit(RLIMIT_NOFILE, &lim);
  int opened = 0, last = -1;
  for (;;) {
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) {
      CHECK(errno == EMFILE, "open until full: %s", strerror(errno));
      break;
    }
    last = fd;
    ++opened;
    if (opened > 100000) break;
  }
  int p[2] = {-1, -1};
  r = pipe(p);
  CHECK(r == -1 && errno == EMFILE && p[0] == -1, "pipe with a full table: %d %s", r,
        strerror(errno));
  close(last);
  r = pipe(p);
  CHECK(r == -1 && errno == EMFILE, "pipe with one free slot: %d %s", r, strerror(errno));
  close(last - 1);
  r = pipe(p);
  CHECK(r == 0, "pipe with two free slots: %d %s", r, strerror(errno));
  printf("hostile: fds: %d opened (limit %lu)\n", opened, (unsigned long)lim.rlim_cur);
  /* poll on every descriptor, plus some closed and negative ones. */
  int count = (int)lim.rlim_cur;
  struct pollfd* set = calloc(count, sizeof *set);
  for (int i = 0; i < count; ++i) set[i] = (struct pollfd){.fd = i % 17 == 5 ? -1 : i, .events = POLLIN | POLLOUT};
  r = poll(set, count, 10);
  CHECK(r > 0, "poll on %d: %d %s", count, r, strerror(errno));
  r = poll(set, 1u << 30, 0);
  CHECK(r == -1 && errno == EINVAL, "poll on 1<<30: %d %s", r, strerror(errno));
  r = poll(set, lim.rlim_cur + 1, 0);
  CHECK(r == -1 && (errno == EINVAL || errno == EFAULT), "poll past the limit: %d %s", r, strerror(errno));
  free(set);
  for (int fd = 3; fd < opened + 8; ++fd) close(fd);
}

/* --- a signal storm at a process whose handler forks. */
static volatile sig_atomic_t handled;
static void forking_handler(int s) {
  (void)s;
  ++handled;
  pid_t pid = fork();
  if (pid == 0) _exit(0);
}
static void storm_target(void) {
  struct sigaction sa = {.sa_handler = forking_handler, .sa_flags = SA_RESTART};
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGCHLD, SIG_IGN);  /* children reaped by the kernel */
  for (;;) pause();
}
static void scenario_signal_storm(void) {
  pid_t target = fork();
  if (target == 0) storm_target();
  usleep(50 * 1000);
  for (int i = 0; i < 3000; ++i) kill(target, SIGUSR1);
  kill(target, SIGKILL);
  int status;
  waitpid(target, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "target: %s", describe(status));
}

/* --- rt_sigreturn with a forged frame. */
static void forge_privileges(int s, siginfo_t* info, void* raw) {
  (void)s, (void)info;
  ucontext_t* uc = raw;
  uc->uc_mcontext.gregs[REG_EFL] |= (3 << 12) | (1 << 14) | (1 << 17) | (1 << 19) | (1 << 20);
  uc->uc_mcontext.gregs[REG_CSGSFS] = 0x0008 | (0x10ull << 48);  /* kernel CS, SS */
}
static void forged_flags(void) {
  struct sigaction sa = {.sa_sigaction = forge_privileges, .sa_flags = SA_SIGINFO};
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  unsigned long flags;
  __asm__ volatile("pushfq; popq %0" : "=r"(flags));
  if (flags & ((3 << 12) | (1 << 17) | (1 << 19) | (1 << 20))) _exit(20);
  unsigned short cs;
  __asm__ volatile("movw %%cs, %0" : "=r"(cs));
  if ((cs & 3) != 3) _exit(21);
  /* With IOPL 0, cli is refused (#GP: SIGSEGV). */
  __asm__ volatile("cli");
  _exit(22);
}
static void forge_rip(int s, siginfo_t* info, void* raw) {
  (void)s, (void)info;
  ucontext_t* uc = raw;
  uc->uc_mcontext.gregs[REG_RIP] = 0x0000800000000000ll;
}
static void forge_rip_kernel(int s, siginfo_t* info, void* raw) {
  (void)s, (void)info;
  ucontext_t* uc = raw;
  uc->uc_mcontext.gregs[REG_RIP] = (long long)0xffffffff80100000ull;
}
static void forge_rsp(int s, siginfo_t* info, void* raw) {
  (void)s, (void)info;
  ucontext_t* uc = raw;
  uc->uc_mcontext.gregs[REG_RSP] = (long long)0xffff800000001000ull;
}
static void forge_fpu(int s, siginfo_t* info, void* raw) {
  (void)s, (void)info;
  ucontext_t* uc = raw;
  char* fp = (char*)uc->uc_mcontext.fpregs;
  memset(fp, 0xff, 512);            /* MXCSR reserved bits, everything */
  memset(fp + 512, 0xff, 64);       /* the XSAVE header too */
}
static void forge_fpu_pointer(int s, siginfo_t* info, void* raw) {
  (void)s, (void)info;
  ucontext_t* uc = raw;
  uc->uc_mcontext.fpregs = (void*)0xffff800000000000ull;
}
static void (*forger)(int, siginfo_t*, void*);
static void forged(void) {
  struct sigaction sa = {.sa_sigaction = forger, .sa_flags = SA_SIGINFO};
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  _exit(30);
}
static void forged_sigreturn_direct(void) {
  /* rt_sigreturn with the stack pointing at garbage and at nothing. */
  char junk[2048];
  memset(junk, 0xa5, sizeof junk);
  __asm__ volatile("movq %0, %%rsp\n\tmovl $15, %%eax\n\tsyscall" : : "r"(junk + 1024) : "memory");
  _exit(31);
}
static void forged_sigreturn_unmapped(void) {
  __asm__ volatile("movq $0x1000, %%rsp\n\tmovl $15, %%eax\n\tsyscall" : : : "memory");
  _exit(32);
}
static void scenario_sigreturn(void) {
  int status = in_child(forged_flags, 5);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "IOPL/VM/VIF/VIP/CS: %s (20: flags kept, 21: ring 0, 22: cli ran)",
        describe(status));
  struct { void (*fn)(int, siginfo_t*, void*); const char* what; } cases[] = {
      {forge_rip, "non-canonical rip"}, {forge_rip_kernel, "kernel rip"},
      {forge_rsp, "kernel rsp"}, {forge_fpu, "garbage FPU image"},
      {forge_fpu_pointer, "FPU image in the kernel"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    forger = cases[i].fn;
    status = in_child(forged, 5);
    printf("hostile: sigreturn: %s: %s\n", cases[i].what, describe(status));
    CHECK(status != -1 && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM), "%s: %s",
          cases[i].what, describe(status));
  }
  status = in_child(forged_sigreturn_direct, 5);
  printf("hostile: sigreturn: garbage frame: %s\n", describe(status));
  status = in_child(forged_sigreturn_unmapped, 5);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "unmapped frame: %s", describe(status));
}

static void ignore_signal(int s) { (void)s; }

/* --- addresses the kernel loads into the return frame itself: a signal handler and a clone
 * stack that are not canonical (iretq with a non-canonical RIP raises #GP in ring 0). */
struct kernel_sigaction { uint64_t handler, flags, restorer, mask; };
static void restorer(void) { syscall(SYS_rt_sigreturn); }
static uint64_t bad_handler;
static void handler_at(void) {
  struct kernel_sigaction sa = {bad_handler, 0x04000000 /* SA_RESTORER */, (uint64_t)restorer, 0};
  long r = syscall(SYS_rt_sigaction, SIGUSR1, &sa, NULL, 8);
  if (r != 0) _exit(60);  /* refused: fine too */
  raise(SIGUSR1);
  _exit(61);
}
static void clone_stack_at(void) {
  long pid = syscall(SYS_clone, SIGCHLD, bad_handler, 0, 0, 0);
  if (pid == 0) _exit(62);  /* the child with that stack: only a return from the call */
  if (pid < 0) _exit(63);
  int status;
  waitpid(pid, &status, 0);
  _exit(WIFSIGNALED(status) ? 64 : 65);
}
static uint64_t alt_base, alt_size;
static void altstack_at(void) {
  struct { uint64_t sp; int32_t flags, pad; uint64_t size; } ss = {alt_base, 0, 0, alt_size};
  if (syscall(SYS_sigaltstack, &ss, NULL) != 0) _exit(66);  /* refused: fine too */
  struct sigaction sa = {.sa_handler = ignore_signal, .sa_flags = SA_ONSTACK};
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  _exit(67);
}
static void scenario_frame_addresses(void) {
  static const uint64_t stacks[][2] = {
      {0xffff800000000000ull, 0x10000}, {0xfffffffffffff000ull, 0x2000},
      {0x0000800000000000ull - 0x1000, 0x10000}, {0x1000, 0x1000}};
  for (size_t i = 0; i < sizeof stacks / sizeof stacks[0]; ++i) {
    alt_base = stacks[i][0], alt_size = stacks[i][1];
    int status = in_child(altstack_at, 5);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) ||
              (WIFEXITED(status) && WEXITSTATUS(status) == 66),
          "sigaltstack at %#llx size %#llx: %s", (unsigned long long)alt_base,
          (unsigned long long)alt_size, describe(status));
  }
  static const uint64_t addresses[] = {0x0000800000000000ull, 0xffff7fffffffffffull,
                                       0xffffffff80100000ull, 0x00007ffffffff000ull};
  for (size_t i = 0; i < sizeof addresses / sizeof addresses[0]; ++i) {
    bad_handler = addresses[i];
    int status = in_child(handler_at, 5);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) ||
              (WIFEXITED(status) && WEXITSTATUS(status) == 60),
          "handler at %#llx: %s", (unsigned long long)addresses[i], describe(status));
    status = in_child(clone_stack_at, 5);
    CHECK(WIFEXITED(status) && (WEXITSTATUS(status) == 64 || WEXITSTATUS(status) == 63),
          "clone stack at %#llx: %s", (unsigned long long)addresses[i], describe(status));
  }
}

/* --- user-mode instructions that must trap, not reach the kernel. */
static void do_int3(void) { __asm__ volatile("int3"); }
static void do_int80(void) { __asm__ volatile("int $0x80"); }
static void do_int2(void) { __asm__ volatile("int $2"); }
static void do_int8(void) { __asm__ volatile("int $8"); }
static void do_int14(void) { __asm__ volatile("int $14"); }
static void do_hlt(void) { __asm__ volatile("hlt"); }
static void do_ud2(void) { __asm__ volatile("ud2"); }
static void do_in(void) { __asm__ volatile("inb $0x60, %%al" : : : "rax"); }
static void do_lgdt(void) { char b[10] = {0}; __asm__ volatile("lgdt %0" : : "m"(b)); }
static void do_div0(void) { __asm__ volatile("xorl %%ecx, %%ecx; movl $1, %%eax; cltd; idivl %%ecx" : : : "rax", "rcx", "rdx"); }
static void do_trap_flag(void) {
  __asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; nop; nop" : : : "cc");
}
static void do_bad_ss(void) { __asm__ volatile("movw $0x10, %%ax; movw %%ax, %%ss" : : : "rax"); }
static void do_bad_ds(void) { __asm__ volatile("movw $0x8, %%ax; movw %%ax, %%ds" : : : "rax"); }
static void do_far_jump(void) {
  struct { uint32_t off; uint16_t sel; } __attribute__((packed)) target = {0, 0x08};
  __asm__ volatile("ljmp *%0" : : "m"(target));
}
static void do_iret_bad(void) {
  /* iretq to ring 0 CS: #GP */
  __asm__ volatile(
      "movq %%rsp, %%rax\n\t"
      "pushq $0x10\n\t"
      "pushq %%rax\n\t"
      "pushfq\n\t"
      "pushq $0x08\n\t"
      "leaq 1f(%%rip), %%rax\n\t"
      "pushq %%rax\n\t"
      "iretq\n\t"
      "1:"
      : : : "rax", "memory");
}
static void do_noncanonical_jump(void) {
  void (*f)(void) = (void (*)(void))0x0000800000000000ull;
  f();
}
static void do_kernel_jump(void) {
  void (*f)(void) = (void (*)(void))0xffffffff80100000ull;
  f();
}
static void ignore_usr1(int s) { (void)s; }
static void do_syscall_stack(void) {
  signal(SIGUSR1, ignore_usr1);
  /* A system call with RSP in the kernel half, then a signal's frame must go there. */
  __asm__ volatile("movq $0xffff800000001000, %%rsp\n\tmovl $39, %%eax\n\tsyscall\n\t"
                   "movl %%eax, %%edi\n\tmovl $62, %%eax\n\tmovl $10, %%esi\n\tsyscall\n\tud2"
                   : : : "memory");
}
static void scenario_traps(void) {
  struct { void (*fn)(void); int signal; const char* what; } cases[] = {
      /* Linux gives int3 SIGTRAP; ferrite's #BP gate has DPL 0 (arch/x86_64/idt.h), so it is
       * the #GP of any `int N` from ring 3. */
      {do_int3, SIGSEGV, "int3"}, {do_int80, SIGSEGV, "int 0x80"}, {do_int2, SIGSEGV, "int 2"},
      {do_int8, SIGSEGV, "int 8"}, {do_int14, SIGSEGV, "int 14"}, {do_hlt, SIGSEGV, "hlt"},
      {do_ud2, SIGILL, "ud2"}, {do_in, SIGSEGV, "in"}, {do_lgdt, SIGSEGV, "lgdt"},
      {do_div0, SIGFPE, "divide by 0"}, {do_trap_flag, SIGTRAP, "TF"},
      {do_bad_ss, SIGSEGV, "kernel SS"}, {do_bad_ds, SIGSEGV, "code selector in DS"},
      {do_far_jump, SIGSEGV, "far jump to ring 0"}, {do_iret_bad, SIGSEGV, "iretq to ring 0"},
      {do_noncanonical_jump, SIGSEGV, "jump non-canonical"},
      {do_kernel_jump, SIGSEGV, "jump into the kernel"},
      {do_syscall_stack, SIGSEGV, "syscall with a kernel RSP, then a signal"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    int status = in_child(cases[i].fn, 5);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == cases[i].signal, "%s: %s (want signal %d)",
          cases[i].what, describe(status), cases[i].signal);
  }
}

/* --- odd memory calls. */
static void scenario_memory(void) {
  void* p = mmap(NULL, 1ull << 46, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(p == MAP_FAILED || munmap(p, 1ull << 46) == 0, "64 TiB mmap");
  p = mmap((void*)0x00007ffffffff000ull, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  CHECK(p == MAP_FAILED && errno == ENOMEM, "MAP_FIXED across the top: %p %s", p, strerror(errno));
  p = mmap((void*)0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("hostile: memory: MAP_FIXED at 0: %p %s\n", p, p == MAP_FAILED ? strerror(errno) : "");
  if (p != MAP_FAILED) munmap(p, 4096);
  errno = 0;
  void* b = sbrk(0);
  CHECK(brk((char*)0xffff800000000000ull) == -1, "brk into the kernel");
  CHECK(sbrk(0) == b, "brk moved after a refused brk");
  CHECK(brk((char*)0x00007ffffffff000ull) == -1, "brk to the top");
  CHECK(munmap((void*)0x1000, 0x00007fffffffe000ull) == 0 || errno == EINVAL, "munmap of everything");
}
static void unmap_everything(void) {
  /* munmap the whole user half, the stack and text included: the next instruction faults. */
  syscall(SYS_munmap, 0x10000, 0x00007ffffffff000ull - 0x10000);
  _exit(50);
}
static void scenario_unmap_all(void) {
  int status = in_child(unmap_everything, 5);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "munmap of all: %s", describe(status));
}

/* --- nested fork bomb: every child forks too, until the table is full. */
static void nested_bomb(void) {
  for (int i = 0; i < 64; ++i) {
    pid_t pid = fork();
    if (pid < 0) { usleep(1000); continue; }
  }
  sleep(1);
  _exit(0);
}
static void scenario_bomb(void) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    alarm(10);
    nested_bomb();
  }
  setpgid(pid, pid);
  sleep(2);
  kill(-pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  printf("hostile: bomb: %s\n", describe(status));
}

/* --- hold: takes every frame it can get and keeps it (not in `all`: it ends only when killed),
 * so that what runs meanwhile meets a machine out of memory. A touch that finds no frame is a
 * SIGSEGV, caught here: the pages touched so far stay. */
#include <setjmp.h>
static sigjmp_buf hold_jump;
static void hold_full(int s) { (void)s; siglongjmp(hold_jump, 1); }
static void scenario_hold(void) {
  static char alt[65536];
  memset(alt, 1, sizeof alt);  /* its frames now: the handler must not need one */
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
  sigaltstack(&ss, NULL);
  struct sigaction sa = {.sa_handler = hold_full, .sa_flags = SA_ONSTACK | SA_NODEFER};
  sigaction(SIGSEGV, &sa, NULL);
  static volatile size_t touched;
  char* p = mmap(NULL, 1ull << 36, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) { printf("hostile: hold: mmap: %s\n", strerror(errno)); return; }
  if (sigsetjmp(hold_jump, 1) == 0) {
    for (;;) {
      p[touched] = 1;
      touched += 4096;
    }
  }
  printf("hostile: hold: holding %zu MiB\n", touched >> 20);
  for (;;) pause();
}

/* --- pipehog: every process it can fork makes pipes until it cannot (each pipe is a 64 KiB
 * buffer of the kernel's heap), then all wait to be killed (not in `all`). */
static void scenario_pipehog(void) {
  int report[2];
  pipe(report);
  int children = 0;
  for (; children < 64; ++children) {
    pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) {
      int made = 0, fds[2], error = 0;
      for (;;) {
        if (pipe(fds) != 0) { error = errno; break; }
        ++made;
      }
      char line[64];
      int n = snprintf(line, sizeof line, "%d %d\n", made, error);
      write(report[1], line, n);
      for (;;) pause();
    }
  }
  int total = 0, errors[200] = {0};
  FILE* in = fdopen(report[0], "r");
  for (int i = 0; i < children; ++i) {
    int made = 0, error = 0;
    if (fscanf(in, "%d %d", &made, &error) != 2) break;
    total += made;
    if (error > 0 && error < 200) ++errors[error];
  }
  printf("hostile: pipehog: %d processes, %d pipes (%d MiB of buffers);", children + 1, total,
         total / 16);
  for (int e = 0; e < 200; ++e) if (errors[e]) printf(" %d x %s;", errors[e], strerror(e));
  int fds[2];
  errno = 0;
  int r = pipe(fds);
  printf(" then pipe(): %d %s;", r, strerror(errno));
  errno = 0;
  r = open("/tmp/pipehog", O_CREAT | O_WRONLY, 0644);
  printf(" open(O_CREAT): %d %s;", r, strerror(errno));
  printf(" holding\n");
  for (;;) pause();
}

/* --- two readers of the terminal at once, in raw mode, while a third process makes the screen
 * answer cursor-position requests into the terminal's input as fast as it can. */
#include <termios.h>
static void tty_reader(void) {
  static char buffer[4096];
  for (unsigned i = 0;; ++i) (void)read(0, buffer, i % 2 ? sizeof buffer : 1 + i % 64);
}
static void scenario_tty_readers(void) {
  struct termios saved, raw;
  if (tcgetattr(0, &saved) != 0) { printf("hostile: tty_readers: no terminal\n"); return; }
  raw = saved;
  raw.c_lflag &= ~(ICANON | ECHO);
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  tcsetattr(0, TCSANOW, &raw);
  pid_t readers[4];
  for (int i = 0; i < 4; ++i) {
    readers[i] = fork();
    if (readers[i] == 0) tty_reader();
  }
  pid_t asker = fork();
  if (asker == 0) {
    static char many[4 * 256];
    for (int i = 0; i < 256; ++i) memcpy(many + 4 * i, "\033[6n", 4);
    for (;;) (void)write(1, many, sizeof many);
  }
  const char* seconds = getenv("HOSTILE_SECONDS");
  sleep(seconds ? atoi(seconds) : 8);
  kill(asker, SIGKILL);
  for (int i = 0; i < 4; ++i) kill(readers[i], SIGKILL);
  for (int i = 0; i < 5; ++i) wait(NULL);
  tcsetattr(0, TCSANOW, &saved);
  tcflush(0, TCIFLUSH);
  printf("\nhostile: tty_readers: done\n");
}

struct scenario { const char* name; void (*fn)(void); };
static const struct scenario scenarios[] = {
    {"nt_flag", scenario_nt_flag},       {"stack", scenario_stack},
    {"execve_args", scenario_execve_args}, {"bad_elf", scenario_bad_elf},
    {"shebang", scenario_shebang},       {"pipe_writers", scenario_pipe_writers},
    {"fifo", scenario_fifo},             {"fds", scenario_fds},
    {"signal_storm", scenario_signal_storm}, {"sigreturn", scenario_sigreturn},
    {"traps", scenario_traps},           {"memory", scenario_memory},
    {"unmap_all", scenario_unmap_all},   {"oom", scenario_oom},
    {"bomb", scenario_bomb},             {"frame_addresses", scenario_frame_addresses},
};
static const struct scenario hold = {"hold", scenario_hold};

static int processes(void) {
  struct sysinfo info;
  sysinfo(&info);
  return info.procs;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) {
    printf("usage: hostile all | NAME...\n");
    return 2;
  }
  struct sysinfo before;
  sysinfo(&before);
  for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; ++i) {
    int wanted = 0;
    if (i == 0 && argc == 2 && strcmp(argv[1], "hold") == 0) {
      current = "hold";
      hold.fn();
      return 1;
    }
    if (i == 0 && argc == 2 && strcmp(argv[1], "ignint") == 0) {
      /* Deaf to Ctrl+C (SIGINT ignored), and then busy for ever: not in `all`. */
      signal(SIGINT, SIG_IGN);
      printf("hostile: ignint: SIGINT ignored\n");
      for (;;) pause();
    }
    if (i == 0 && argc == 2 && strcmp(argv[1], "tty_readers") == 0) {
      scenario_tty_readers();
      return 0;
    }
    if (i == 0 && argc == 2 && strcmp(argv[1], "vforkpause") == 0) {
      /* A vfork child that never execs nor exits: its parent waits (not in `all`). */
      printf("hostile: vforkpause: vfork\n");
      if (vfork() == 0) for (;;) pause();
      return 0;
    }
    if (i == 0 && argc == 2 && strcmp(argv[1], "pipehog") == 0) {
      current = "pipehog";
      scenario_pipehog();
      return 1;
    }
    for (int a = 1; a < argc; ++a) {
      if (strcmp(argv[a], "all") == 0 || strcmp(argv[a], scenarios[i].name) == 0) wanted = 1;
    }
    if (!wanted) continue;
    current = scenarios[i].name;
    ok = 1;
    scenarios[i].fn();
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    printf("hostile: %s: %s\n", current, ok ? "ok" : "FAIL");
    if (!ok) ++failures;
  }
  usleep(200 * 1000);
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  struct sysinfo after;
  sysinfo(&after);
  printf("hostile: free memory %lu KiB before, %lu KiB after; %d processes before, %d after\n",
         (unsigned long)before.freeram / 1024, (unsigned long)after.freeram / 1024, before.procs,
         after.procs);
  printf("hostile: %d failed\n", failures);
  (void)processes;
  return failures != 0;
}
