/* kernel/arch/x86_64/user_copy.S: the only instructions in the kernel that read or write user
 * memory (chapter 14; user_copy.cpp checks the ranges and wraps these for mm/user_copy.h).
 *
 * A user pointer may point at nothing, or at a page that is not there yet. Each instruction here
 * that touches user memory is listed in user_access_fixups with the address to continue at if
 * it faults: the page-fault handler (fix_up_user_access in user_mode.cpp) first asks whether
 * the page can be mapped now (demand paging: then the instruction is simply retried), and
 * otherwise moves RIP to the fix-up, which reports the failure to the caller. Linux calls the
 * same idea the exception table (arch/x86/mm/extable.c).
 *
 * With SMAP on (CR4.SMAP), ring 0 may touch user pages only while RFLAGS.AC is set: stac opens,
 * clac closes (Intel SDM Vol. 3A 5.6.1; Vol. 2B STAC/CLAC). Both raise #UD on a CPU without
 * SMAP, hence the test of ferrite_smap_enabled around them.
 */

.macro open_user_memory
        testb $1, ferrite_smap_enabled(%rip)
        jz 8f
        stac
8:
.endm
.macro close_user_memory
        testb $1, ferrite_smap_enabled(%rip)
        jz 9f
        clac
9:
.endm

        .data
        .global ferrite_smap_enabled
ferrite_smap_enabled:
        .byte 0

        .text
        .code64

/* std::uint64_t user_copy_bytes(void* to, const void* from, std::size_t bytes)
 * Copies with rep movsb, which keeps its place in RCX/RSI/RDI, so a demand-paged fault in the
 * middle resumes exactly where it stopped. Returns the bytes NOT copied: 0 is success. */
        .global user_copy_bytes
        .type user_copy_bytes, @function
user_copy_bytes:
        movq %rdx, %rcx
        open_user_memory
1:      rep movsb
2:      close_user_memory
        movq %rcx, %rax
        ret
        .size user_copy_bytes, . - user_copy_bytes

/* std::int64_t user_copy_string(char* to, const char* from, std::size_t capacity)
 * Copies up to and including the NUL. Returns the length without the NUL; -1 if `from` faulted;
 * -2 if no NUL came within `capacity` bytes. */
        .global user_copy_string
        .type user_copy_string, @function
user_copy_string:
        xorl %eax, %eax
        open_user_memory
3:      cmpq %rdx, %rax
        jae 5f
4:      movb (%rsi,%rax), %cl
        movb %cl, (%rdi,%rax)
        testb %cl, %cl
        jz 6f
        incq %rax
        jmp 3b
5:      close_user_memory                               /* no NUL in time */
        movq $-2, %rax
        ret
6:      close_user_memory                               /* done: RAX is the length */
        ret
7:      close_user_memory                               /* the fix-up: a bad pointer */
        movq $-1, %rax
        ret
        .size user_copy_string, . - user_copy_string

/* (faulting instruction, continue here) — read by user_mode.cpp. */
        .section .rodata
        .balign 8
        .global user_access_fixups
        .global user_access_fixups_end
user_access_fixups:
        .quad 1b, 2b
        .quad 4b, 7b
user_access_fixups_end:

        .section .note.GNU-stack, "", @progbits
