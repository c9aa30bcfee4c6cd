/* kernel/arch/x86_64/switch.S: switching from one kernel thread to another (chapter 13).
 *
 * void context_switch(std::uint64_t* save_rsp, std::uint64_t next_rsp)
 *
 * A call to this function is, for the compiler, an ordinary call: the System V ABI lets it
 * clobber RAX, RCX, RDX, RSI, RDI, R8-R11 and the flags, so the caller has saved whatever it
 * needs of those already. What a function must preserve — RBX, RBP, R12-R15 and RSP (System V
 * AMD64 ABI 3.2.1, figure 3.4) — is all a thread's context is: push them on the old stack, store
 * the old RSP, load the new one, pop the new thread's registers, and `ret` pops the new thread's
 * return address. RIP needs no saving: it is that return address. (xv6's swtch.S does the same.)
 * Interrupts are off across the switch (the scheduler's rule), so nothing sees a half-switched
 * CPU; the new thread restores its own interrupt flag on its way out of the scheduler.
 */
        .text
        .code64
        .global context_switch
        .type context_switch, @function
context_switch:
        pushq %rbp
        pushq %rbx
        pushq %r12
        pushq %r13
        pushq %r14
        pushq %r15
        movq %rsp, (%rdi)               /* *save_rsp = the old thread's stack */
        movq %rsi, %rsp                 /* from here on we are on the new thread's stack */
        popq %r15
        popq %r14
        popq %r13
        popq %r12
        popq %rbx
        popq %rbp
        ret
        .size context_switch, . - context_switch

/* The first "return address" of a new thread (see prepare_thread_stack in context.h): its
 * initial R12 holds the entry function, R13 the argument; thread_start never returns. */
        .global thread_trampoline
        .type thread_trampoline, @function
thread_trampoline:
        movq %r12, %rdi
        movq %r13, %rsi
        call thread_start
        ud2
        .size thread_trampoline, . - thread_trampoline

        .section .note.GNU-stack, "", @progbits
