/* Pipes and descriptors in one process (chapter 15): pipe2, dup2 of stdout into a pipe, fcntl's
 * flags, O_NONBLOCK's EAGAIN on an empty and on a full pipe, FIONREAD, fstat's S_IFIFO, end of
 * file after the last writer, EPIPE after the last reader; poll and select on pipes and
 * /dev/null, with a timeout. Prints each failed check and, at the
 * end, "pipes: N checks, F failed". The same program gives the same output on Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static int checks, failed;

static void check(int ok, const char *what) {
  ++checks;
  if (!ok) {
    ++failed;
    printf("FAILED: %s (errno %d %s)\n", what, errno, strerror(errno));
  }
}

int main(void) {
  int p[2];
  char buffer[70000];
  check(pipe2(p, O_CLOEXEC) == 0, "pipe2(O_CLOEXEC)");
  check(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC, "FD_CLOEXEC set");
  check((fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY, "read end O_RDONLY");
  check((fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY, "write end O_WRONLY");
  struct stat st;
  check(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "fstat: S_IFIFO");
  check(lseek(p[0], 0, SEEK_SET) == -1 && errno == ESPIPE, "lseek: ESPIPE");

  /* stdout into the pipe and back */
  int saved = dup(1);
  check(saved > 2, "dup(1)");
  check(dup2(p[1], 1) == 1, "dup2(write end, 1)");
  check(fcntl(1, F_GETFD) == 0, "dup2 clears FD_CLOEXEC");
  check(write(1, "through the pipe", 16) == 16, "write to fd 1");
  check(dup2(saved, 1) == 1, "dup2(saved, 1)");
  int queued = -1;
  check(ioctl(p[0], FIONREAD, &queued) == 0 && queued == 16, "FIONREAD 16");
  memset(buffer, 0, sizeof buffer);
  check(read(p[0], buffer, sizeof buffer) == 16 && strcmp(buffer, "through the pipe") == 0,
        "read returns what is there");

  /* O_NONBLOCK through fcntl: empty is EAGAIN, full is EAGAIN after 64 KiB */
  check(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0 && (fcntl(p[0], F_GETFL) & O_NONBLOCK), "F_SETFL");
  check(read(p[0], buffer, 1) == -1 && errno == EAGAIN, "empty + O_NONBLOCK: EAGAIN");
  check(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0, "F_SETFL write end");
  long total = 0;
  memset(buffer, 'x', sizeof buffer);
  for (;;) {
    ssize_t put = write(p[1], buffer, 1000);
    if (put < 0) break;
    total += put;
  }
  check(errno == EAGAIN, "full + O_NONBLOCK: EAGAIN");
  /* 64 KiB less what a whole 1000-byte write no longer fits in (Linux counts in pages) */
  check(total > 60000 && total <= 65536, "a full pipe holds 64 KiB");
  ssize_t big = write(p[1], buffer, 5000); /* > PIPE_BUF: may take part */
  check(big > 0 || errno == EAGAIN, "a big write takes what fits");
  long drained = 0;
  for (ssize_t got; (got = read(p[0], buffer, sizeof buffer)) > 0;) drained += got;
  check(errno == EAGAIN && drained == total + (big > 0 ? big : 0), "read back every byte");

  /* poll and select: an empty pipe times out, data makes it readable */
  struct timespec t0, t1;
  struct pollfd pf[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {99, POLLIN, 0}};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  check(poll(pf, 1, 50) == 0 && pf[0].revents == 0, "poll: empty pipe times out");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  check(waited_ms >= 45 && waited_ms < 1000, "poll: waited about 50 ms");
  check(poll(pf, 3, -1) == 2 && pf[0].revents == 0 && pf[1].revents == POLLOUT &&
            pf[2].revents == POLLNVAL, "poll: write end POLLOUT, bad fd POLLNVAL");
  check(write(p[1], "q", 1) == 1 && poll(pf, 1, 0) == 1 && pf[0].revents == POLLIN, "poll: POLLIN");
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(p[0], &readable);
  struct timeval tv = {1, 0};
  check(select(p[0] + 1, &readable, NULL, NULL, &tv) == 1 && FD_ISSET(p[0], &readable),
        "select: readable");
  check(read(p[0], buffer, 10) == 1, "read it");
  FD_SET(p[0], &readable);
  tv.tv_sec = 0;
  tv.tv_usec = 20000;
  check(select(p[0] + 1, &readable, NULL, NULL, &tv) == 0 && !FD_ISSET(p[0], &readable),
        "select: times out");
  int null_fd = open("/dev/null", O_RDWR);
  struct pollfd nf = {null_fd, POLLIN | POLLOUT, 0};
  check(poll(&nf, 1, 0) == 1 && nf.revents == (POLLIN | POLLOUT), "poll: /dev/null always ready");
  close(null_fd);

  /* dup3 and F_DUPFD_CLOEXEC */
  check(dup3(p[1], p[1], 0) == -1 && errno == EINVAL, "dup3(fd, fd): EINVAL");
  int copy = fcntl(p[1], F_DUPFD_CLOEXEC, 20);
  check(copy >= 20 && fcntl(copy, F_GETFD) == FD_CLOEXEC, "F_DUPFD_CLOEXEC");

  /* end of file when the last writer closes (the copy is a writer too) */
  check(close(p[1]) == 0, "close write end");
  check(read(p[0], buffer, 1) == -1 && errno == EAGAIN, "a writer is left: EAGAIN");
  check(write(copy, "z", 1) == 1 && close(copy) == 0, "last writer writes and closes");
  struct pollfd hup = {p[0], POLLIN, 0};
  check(poll(&hup, 1, 0) == 1 && hup.revents == (POLLIN | POLLHUP), "poll: data and POLLHUP");
  check(read(p[0], buffer, 10) == 1 && read(p[0], buffer, 10) == 0, "data, then end of file");
  check(close(p[0]) == 0, "close read end");

  /* EPIPE (and SIGPIPE, ignored here) when no reader is left */
  signal(SIGPIPE, SIG_IGN);
  check(pipe(p) == 0 && close(p[0]) == 0, "pipe");
  check(write(p[1], "lost", 4) == -1 && errno == EPIPE, "no reader: EPIPE");
  close(p[1]);
  check(close(p[1]) == -1 && errno == EBADF, "closed twice: EBADF");

  printf("pipes: %d checks, %d failed\n", checks, failed);
  return failed != 0;
}
