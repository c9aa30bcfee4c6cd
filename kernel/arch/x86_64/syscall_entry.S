/* kernel/arch/x86_64/syscall_entry.S: the two crossings between ring 3 and the kernel that are
 * not interrupts (chapter 14).
 *
 * syscall_entry — where `syscall` lands (IA32_LSTAR). The CPU has put the user's RIP in RCX and
 * RFLAGS in R11, loaded the kernel CS/SS from IA32_STAR and cleared the RFLAGS bits in IA32_FMASK
 * (IF among them) — and nothing else: RSP is still the user's stack and GS the user's GS (Intel
 * SDM Vol. 2B SYSCALL). So, with interrupts still off:
 *   1. swapgs: GS now reaches this CPU's block (sched::PerCpu; offsets in cpu_local.h);
 *   2. park the user RSP in the block, load the running thread's kernel stack from it;
 *   3. push a frame with exactly the layout of InterruptFrame (SS, RSP, RFLAGS, CS, RIP as an
 *      interrupt from ring 3 would have them, error code 0, vector FERRITE_SYSCALL_FRAME_VECTOR,
 *      then the general registers), so the fault paths and the debugger read one shape;
 *   3b. add the TSC to the running thread's user-time sum (user_time.inc: chapter 15's CPU time;
 *      the matching subtraction is just before sysretq, and in interrupt_return);
 *   4. interrupts on, call the process layer's handler through ferrite_syscall_handler (never
 *      null: no test), interrupts off, call syscall_return_to_user(frame) — the return-to-user
 *      check (prepare_return_to_user: a program asked to end ends there), one flag test when
 *      there is nothing to do;
 *   5. back with sysretq (RIP from RCX, RFLAGS from R11) — unless the frame's RCX/R11 differ
 *      from its RIP/RFLAGS (after rt_sigreturn: the interrupted program's own, which only iretq
 *      gives back), or the return address is not a canonical lower-half address: on Intel CPUs sysret would then raise #GP in ring 0 with the
 *      user's RSP already loaded, so that case leaves through iretq (SDM Vol. 2B SYSRET).
 * Every other register comes back from the frame (a handler may have changed it: execve, and
 * signal delivery later). RCX and R11 come back holding RIP and RFLAGS: the Linux ABI lets
 * `syscall` clobber them. This is the path `make bench` measures (getpid): keep it short.
 *
 * user_mode_enter(rip, rsp) — the first entry into a program: an iretq frame for ring 3.
 */
#include "arch/x86_64/cpu_local.h"
#include "arch/x86_64/segment_selectors.h"
#include "arch/x86_64/register_frame.inc"
#include "arch/x86_64/user_time.inc"

/* Byte offsets in InterruptFrame (interrupt_frame.h asserts the same numbers). */
#define FRAME_RIP (17 * 8)
#define FRAME_RFLAGS (19 * 8)
#define FRAME_RCX (12 * 8)
#define FRAME_R11 (4 * 8)

        .text
        .code64

        .balign 16
        .global syscall_entry
        .type syscall_entry, @function
syscall_entry:
        swapgs
        movq %rsp, %gs:FERRITE_CPU_LOCAL_USER_RSP
        movq %gs:FERRITE_CPU_LOCAL_KERNEL_STACK, %rsp
        pushq $FERRITE_USER_DATA_SELECTOR               /* ss */
        pushq %gs:FERRITE_CPU_LOCAL_USER_RSP            /* rsp */
        pushq %r11                                      /* rflags */
        pushq $FERRITE_USER_CODE_SELECTOR               /* cs */
        pushq %rcx                                      /* rip */
        pushq $0                                        /* error code */
        pushq $FERRITE_SYSCALL_FRAME_VECTOR             /* vector */
        push_registers
        user_time_entered                               /* the user's time ends here */
        /* The kernel stack top is 16-byte aligned and 22 words were pushed: aligned for the call. */
        movq %rsp, %rdi
        sti
        call *ferrite_syscall_handler(%rip)
        cli
        movq %rsp, %rdi
        call syscall_return_to_user
        /* Canonical lower half: bits 63..47 of the return RIP all zero. */
        movq FRAME_RIP(%rsp), %rcx
        movq %rcx, %r11
        shrq $47, %r11
        jnz interrupt_return                            /* pops, swapgs, iretq */
        cmpq FRAME_RCX(%rsp), %rcx                      /* sysret would lose RCX/R11 */
        jne interrupt_return
        movq FRAME_RFLAGS(%rsp), %r11
        cmpq FRAME_R11(%rsp), %r11
        jne interrupt_return
        user_time_returning                             /* RAX, RDX come from the frame below */
        popq %r15
        popq %r14
        popq %r13
        popq %r12
        popq %r11
        popq %r10
        popq %r9
        popq %r8
        popq %rbp
        popq %rdi
        popq %rsi
        popq %rdx
        /* RCX already holds the return RIP: its slot is skipped, not popped. */
        movq 8(%rsp), %rbx
        movq 16(%rsp), %rax
        movq 56(%rsp), %r11                             /* rflags */
        movq 64(%rsp), %rsp                             /* the user's stack */
        swapgs
        sysretq
        .size syscall_entry, . - syscall_entry

/* void user_mode_enter(std::uint64_t rip, std::uint64_t rsp): never returns. */
        .balign 16
        .global user_mode_enter
        .type user_mode_enter, @function
user_mode_enter:
        cli                                             /* no interrupt between swapgs and iretq */
        pushq $FERRITE_USER_DATA_SELECTOR               /* ss */
        pushq %rsi                                      /* rsp */
        pushq $0x202                                    /* rflags: IF, and bit 1 (always 1) */
        pushq $FERRITE_USER_CODE_SELECTOR               /* cs */
        pushq %rdi                                      /* rip */
        user_time_returning                             /* the program's first user time starts */
        xorl %eax, %eax
        xorl %ebx, %ebx
        xorl %ecx, %ecx
        xorl %edx, %edx
        xorl %esi, %esi
        xorl %edi, %edi
        xorl %ebp, %ebp
        xorl %r8d, %r8d
        xorl %r9d, %r9d
        xorl %r10d, %r10d
        xorl %r11d, %r11d
        xorl %r12d, %r12d
        xorl %r13d, %r13d
        xorl %r14d, %r14d
        xorl %r15d, %r15d
        swapgs                                          /* GS: the user's (0) */
        iretq
        .size user_mode_enter, . - user_mode_enter

/* void user_mode_resume(const InterruptFrame* frame, std::uint64_t kernel_stack_top): never
 * returns. Chapter 15, a forked child's first way to ring 3: the frame (a copy of its parent's
 * system-call frame) goes to the top of this thread's kernel stack — where an entry from ring 3
 * would have put it — passes the return-to-user check (signals) and leaves through
 * interrupt_return (pops, swapgs, iretq). */
        .balign 16
        .global user_mode_resume
        .type user_mode_resume, @function
user_mode_resume:
        cli
        movq %rsi, %rsp
        subq $(22 * 8), %rsp
        movq %rdi, %rsi
        movq %rsp, %rdi
        movl $22, %ecx
        cld
        rep movsq
        /* Like every other way back to ring 3, through the return-to-user check: a signal sent
         * to the child before it first ran is delivered now, not at its next system call. The
         * frame is 22 words below a 16-byte aligned top: RSP is aligned for the call. */
        movq %rsp, %rdi
        call syscall_return_to_user
        jmp interrupt_return
        .size user_mode_resume, . - user_mode_resume

        .section .note.GNU-stack, "", @progbits
