// A static-PIE program (ET_DYN, no PT_INTERP), built with Debian's glibc `gcc -static-pie`:
// glibc relocates itself at start-up, so it runs only if the kernel loaded it as Linux does
// (chapter 14). It checks where its text landed and that its relocated pointers work.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

// Where ferrite (kernel/exec/elf.h kPieBase) puts an ET_DYN program. Linux puts a static PIE
// elsewhere (with the mmap region, or randomised), so there this line only informs.
#define PIE_BASE 0x555555554000UL

// The linker's name for the ELF header, i.e. the first byte of the loaded image.
extern const char __ehdr_start[];

static int add(int a, int b) { return a + b; }
static int mul(int a, int b) { return a * b; }
static int sub(int a, int b) { return a - b; }

// Each entry holds absolute addresses: in a PIE they are R_X86_64_RELATIVE relocations that
// glibc's _dl_relocate_static_pie must add the load address to before main runs.
struct operation {
  const char* name;
  int (*apply)(int, int);
};
static const struct operation operations[] = {{"add", add}, {"mul", mul}, {"sub", sub}};
static const char* const words[] = {"relocated", "data", "works"};

int main(int argc, char** argv) {
  const uintptr_t base = (uintptr_t)__ehdr_start;
  const uintptr_t text = (uintptr_t)&main;
  printf("pie_hello: loaded at %#lx (%s ferrite's PIE base), main at %#lx (base + %#lx)\n",
         (unsigned long)base, base == PIE_BASE ? "at" : "not at", (unsigned long)text,
         (unsigned long)(text - base));
  printf("pie_hello: %d argument(s):", argc - 1);
  for (int i = 1; i < argc; ++i) printf(" %s", argv[i]);
  printf("\n");

  int failures = 0;
  const int expected[] = {9, 18, 3};
  for (size_t i = 0; i < sizeof operations / sizeof operations[0]; ++i) {
    const int result = operations[i].apply(6, 3);
    printf("pie_hello: %s(6, 3) = %d\n", operations[i].name, result);
    failures += result != expected[i];
  }
  char sentence[64] = "";
  for (size_t i = 0; i < sizeof words / sizeof words[0]; ++i) {
    if (i != 0) strcat(sentence, " ");
    strcat(sentence, words[i]);
  }
  printf("pie_hello: %s\n", sentence);
  failures += strcmp(sentence, "relocated data works") != 0;
  printf("pie_hello: %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
