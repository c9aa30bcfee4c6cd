/* The checks of the test programs (cputime.c, itimer.c): each prints "<name>: ok" or
 * "<name>: FAIL (<details>)" on a line of its own, flushed at once (a program that then hangs or
 * is killed still shows how far it got), and counts the failures in `failed`. */
#pragma once

#include <stdio.h>

static int failed;

#define CHECK(name, condition, ...) \
  do {                              \
    if (condition) {                \
      printf("%s: ok\n", name);     \
    } else {                        \
      ++failed;                     \
      printf("%s: FAIL (", name);   \
      printf(__VA_ARGS__);          \
      printf(")\n");                \
    }                               \
    fflush(stdout);                 \
  } while (0)
