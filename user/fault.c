/* fault: misbehaves on purpose, to show that a user program's fault ends only that program.
 *   fault null     reads address 0                      -> SIGSEGV
 *   fault stack    executes code on its stack (NX)      -> SIGSEGV
 *   fault text     writes to its own code (read-only)   -> SIGSEGV
 *   fault kernel   passes a kernel address to write(2)  -> write returns -1, errno EFAULT
 *   fault ud2      executes an invalid instruction      -> SIGILL
 *   fault divide   divides by zero                      -> SIGFPE
 *   fault syscall  calls a system call ferrite lacks    -> -1, errno ENOSYS */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "null") == 0) {
    volatile int* p = 0;
    return *p;
  }
  if (strcmp(what, "stack") == 0) {
    unsigned char code[16] = {0xc3}; /* ret */
    ((void (*)(void))code)();
    return 0;
  }
  if (strcmp(what, "text") == 0) {
    *(volatile unsigned char*)(void*)&main = 0xcc;
    return 0;
  }
  if (strcmp(what, "kernel") == 0) {
    long r = write(1, (const void*)0xffffffff80000000ul, 16);
    printf("write(kernel address) = %ld, errno %d (%s)\n", r, errno, strerror(errno));
    return r == -1 && errno == EFAULT ? 0 : 1;
  }
  if (strcmp(what, "ud2") == 0) {
    __asm__ volatile("ud2");
    return 0;
  }
  if (strcmp(what, "divide") == 0) {
    /* Both operands unknown to the compiler: GCC turns 1 / x into a comparison without any
     * division, so `1 / zero` exited 0 even on Linux. */
    volatile int zero = 0, one = 1;
    return one / zero;
  }
  if (strcmp(what, "syscall") == 0) {
    long r = syscall(SYS_tuxcall);
    printf("tuxcall = %ld, errno %d (%s)\n", r, errno, strerror(errno));
    return r == -1 && errno == ENOSYS ? 0 : 1;
  }
  fprintf(stderr, "usage: fault null|stack|text|kernel|ud2|divide|syscall\n");
  return 2;
}
