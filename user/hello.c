/* The first program: prints a greeting through write(2) on standard output and exits 0.
 * Built by Debian's musl-gcc -static, exactly as it would be for Linux. */
#include <stdio.h>

int main(int argc, char** argv) {
  printf("Hello from user mode! I am %s, with %d argument(s).\n", argv[0], argc - 1);
  return 0;
}
