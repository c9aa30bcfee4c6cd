/* auxv: checks what the kernel put on the initial stack (System V x86-64 ABI 3.4.1) and prints
 * it: argc/argv, envp, and the auxiliary vector. Exits 0 only if everything is as the ABI says. */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

extern char** environ;

int main(int argc, char** argv) {
  int bad = 0;
  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; ++i) printf("argv[%d]=%s\n", i, argv[i]);
  if (argv[argc] != NULL) { printf("BAD: argv not NULL-terminated\n"); bad = 1; }
  for (char** e = environ; *e; ++e) printf("env %s\n", *e);
  struct { unsigned long type; const char* name; } wanted[] = {
      {AT_PHDR, "AT_PHDR"}, {AT_PHENT, "AT_PHENT"}, {AT_PHNUM, "AT_PHNUM"},
      {AT_PAGESZ, "AT_PAGESZ"}, {AT_ENTRY, "AT_ENTRY"}, {AT_RANDOM, "AT_RANDOM"},
      {AT_HWCAP, "AT_HWCAP"}, {AT_PLATFORM, "AT_PLATFORM"}, {AT_CLKTCK, "AT_CLKTCK"},
      {AT_EXECFN, "AT_EXECFN"}};
  for (unsigned i = 0; i < sizeof wanted / sizeof wanted[0]; ++i) {
    unsigned long v = getauxval(wanted[i].type);
    if (v == 0 && wanted[i].type != AT_HWCAP) { printf("BAD: %s missing\n", wanted[i].name); bad = 1; }
  }
  if (getauxval(AT_PAGESZ) != 4096) { printf("BAD: AT_PAGESZ\n"); bad = 1; }
  if (getauxval(AT_PHENT) != sizeof(Elf64_Phdr)) { printf("BAD: AT_PHENT\n"); bad = 1; }
  const Elf64_Phdr* ph = (const Elf64_Phdr*)getauxval(AT_PHDR);
  int found_load = 0;
  for (unsigned long i = 0; ph && i < getauxval(AT_PHNUM); ++i) found_load |= ph[i].p_type == PT_LOAD;
  if (!found_load) { printf("BAD: AT_PHDR does not point at the program headers\n"); bad = 1; }
  printf("platform=%s execfn=%s clktck=%lu uid=%lu secure=%lu\n",
         (const char*)getauxval(AT_PLATFORM), (const char*)getauxval(AT_EXECFN),
         getauxval(AT_CLKTCK), getauxval(AT_UID), getauxval(AT_SECURE));
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  printf("stack near %#lx\n", (unsigned long)sp);
  printf(bad ? "auxv: BAD\n" : "auxv: ok\n");
  return bad;
}
