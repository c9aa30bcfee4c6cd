/* kernel/boot/entry.S: from the bootloader's 32-bit protected mode to kernel_entry() in long mode.
 *
 * Two ways in, one way on:
 *   multiboot2_entry  GRUB (BIOS or UEFI) via the Multiboot2 header below; eax = 0x36d76289,
 *                     ebx = physical address of the Multiboot2 information (Multiboot2 spec 3.3).
 *   pvh_entry         `qemu -kernel` via the XEN_ELFNOTE_PHYS32_ENTRY note; ebx = physical address
 *                     of struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h).
 * Both arrive in 32-bit protected mode with paging off and interrupts disabled. We build page
 * tables, enable PAE + long mode + paging (Intel SDM Vol. 3A 10.8.5 "Initializing IA-32e Mode"),
 * far-jump into 64-bit code and continue in the higher half.
 */

#define KERNEL_VIRTUAL_OFFSET 0xFFFFFFFF80000000
#define MULTIBOOT2_HEADER_MAGIC 0xE85250D6
#define BOOT_PROTOCOL_PVH 0x1   /* passed to kernel_entry instead of the Multiboot2 magic */

#define PAGE_PRESENT_WRITABLE 0x003
#define PAGE_HUGE_PRESENT_WRITABLE 0x083   /* 2 MiB page: PS bit 7 (SDM Vol. 3A table 4-17) */

/* ---- Multiboot2 header (Multiboot2 spec 3.1) -------------------------------------------- */
        .section .multiboot2, "a"
        .balign 8
multiboot2_header:
        .long MULTIBOOT2_HEADER_MAGIC
        .long 0                                         /* architecture: i386 protected mode */
        .long multiboot2_header_end - multiboot2_header
        .long -(MULTIBOOT2_HEADER_MAGIC + (multiboot2_header_end - multiboot2_header))

        /* Entry address tag (3.1.6): our ELF entry is a higher-half address GRUB cannot jump to. */
        .balign 8
        .short 3, 0
        .long 12
        .long multiboot2_entry

        /* Console flags tag (3.1.8): we can drive an EGA text console (BIOS keeps VGA text mode). */
        .balign 8
        .short 4, 0
        .long 12
        .long 2

        /* Framebuffer tag (3.1.9), optional: under UEFI there is no text mode, take what GOP has. */
        .balign 8
        .short 5, 1
        .long 20
        .long 0, 0, 32

        .balign 8
        .short 0, 0                                     /* end tag */
        .long 8
multiboot2_header_end:

/* ---- PVH entry note (Xen public/elfnote.h: XEN_ELFNOTE_PHYS32_ENTRY = 18) ---------------- */
        .section .note.Xen, "a", @note
        .balign 4
        .long 4                                         /* name size: "Xen\0" */
        .long 4                                         /* descriptor size */
        .long 18                                        /* type */
        .asciz "Xen"
        .balign 4
        .long pvh_entry

/* ---- 32-bit entry --------------------------------------------------------------------- */
        .section .boot.text, "ax"
        .code32
        .global multiboot2_entry
multiboot2_entry:
        cli
        cld
        movl %eax, %ebp                                 /* kernel_entry(magic, info): */
        movl %ebx, %esi                                 /* kept in ebp/esi until the call */
        jmp common_entry32

        .global pvh_entry
pvh_entry:
        cli
        cld
        movl $BOOT_PROTOCOL_PVH, %ebp
        movl %ebx, %esi

common_entry32:
        movl $boot32_stack_top, %esp

        /* Long mode supported? CPUID 0x80000001 EDX bit 29 (SDM Vol. 2A, CPUID). */
        movl $0x80000000, %eax
        cpuid
        cmpl $0x80000001, %eax
        jb no_long_mode
        movl $0x80000001, %eax
        cpuid
        testl $(1 << 29), %edx
        jz no_long_mode

        /* Boot page tables (their final form is built later by mm/):
         *   PML4[0]   -> low PDPT: identity map of 0..4 GiB (the code we are running, boot info)
         *   PML4[256] -> the same PDPT: physical memory at 0xFFFF800000000000 + phys
         *   PML4[511] -> high PDPT: 0xFFFFFFFF80000000 -> phys 0..2 GiB (the kernel image)
         * all with 2 MiB pages. */
        movl $boot_page_tables_start, %edi
        movl $((boot_page_tables_end - boot_page_tables_start) / 4), %ecx
        xorl %eax, %eax
        rep stosl

        movl $(boot_pdpt_low + PAGE_PRESENT_WRITABLE), boot_pml4
        movl $(boot_pdpt_low + PAGE_PRESENT_WRITABLE), boot_pml4 + 256 * 8
        movl $(boot_pdpt_high + PAGE_PRESENT_WRITABLE), boot_pml4 + 511 * 8

        movl $(boot_pd + PAGE_PRESENT_WRITABLE), %eax   /* low PDPT entries 0..3 -> PDs 0..3 */
        movl $boot_pdpt_low, %ebx
        movl $4, %ecx
1:      movl %eax, (%ebx)
        addl $4096, %eax
        addl $8, %ebx
        loop 1b
        movl $(boot_pd + PAGE_PRESENT_WRITABLE), boot_pdpt_high + 510 * 8
        movl $(boot_pd + 4096 + PAGE_PRESENT_WRITABLE), boot_pdpt_high + 511 * 8

        movl $boot_pd, %ebx                             /* 2048 PD entries = 4 GiB in 2 MiB pages */
        xorl %ecx, %ecx
1:      movl %ecx, %eax
        shll $21, %eax
        orl $PAGE_HUGE_PRESENT_WRITABLE, %eax
        movl %eax, (%ebx, %ecx, 8)
        movl %ecx, %eax                                 /* high half of the address: ecx >> 11 */
        shrl $11, %eax
        movl %eax, 4(%ebx, %ecx, 8)
        incl %ecx
        cmpl $2048, %ecx
        jb 1b

        /* CR4.PAE, CR3, EFER.LME, CR0.PG (SDM Vol. 3A 10.8.5). */
        movl %cr4, %eax
        orl $(1 << 5), %eax
        movl %eax, %cr4
        movl $boot_pml4, %eax
        movl %eax, %cr3
        movl $0xC0000080, %ecx
        rdmsr
        orl $(1 << 8), %eax
        wrmsr
        movl %cr0, %eax
        orl $((1 << 31) | (1 << 0)), %eax
        movl %eax, %cr0

        lgdt boot_gdt_pointer
        ljmp $0x08, $long_mode_entry

no_long_mode:
        /* Say so on COM1 (where test logs and `make run`'s log read it; a headless machine has
         * nothing else) and on the VGA text screen (if there is one), then stop. COM1 as in
         * platform/pc/serial.cpp: 115200 baud 8N1, FIFOs on (16550 data sheet, registers
         * 0-7 at 0x3F8). A missing UART reads 0xFF: the transmitter looks ready, nothing hangs. */
        movw $0x3F9, %dx                                /* interrupt enable: none */
        xorb %al, %al
        outb %al, %dx
        movw $0x3FB, %dx                                /* line control: DLAB for the divisor */
        movb $0x80, %al
        outb %al, %dx
        movw $0x3F8, %dx                                /* divisor 1 = 115200 baud */
        movb $1, %al
        outb %al, %dx
        movw $0x3F9, %dx
        xorb %al, %al
        outb %al, %dx
        movw $0x3FB, %dx                                /* 8 data bits, no parity, 1 stop bit */
        movb $0x03, %al
        outb %al, %dx
        movw $0x3FA, %dx                                /* FIFO on, cleared, 14-byte trigger */
        movb $0xC7, %al
        outb %al, %dx
        movl $no_long_mode_message, %esi
1:      movb (%esi), %cl
        testb %cl, %cl
        jz 3f
        movw $0x3FD, %dx                                /* line status: bit 5 = THR empty */
2:      inb %dx, %al
        testb $0x20, %al
        jz 2b
        movw $0x3F8, %dx
        movb %cl, %al
        outb %al, %dx
        incl %esi
        jmp 1b
3:
        movl $0xB8000, %ebx
        movl $no_long_mode_message, %esi
1:      movb (%esi), %al
        cmpb $0x20, %al                                 /* up to the line end (\r\n, NUL) */
        jb 2f
        movb %al, (%ebx)
        movb $0x4F, 1(%ebx)                             /* white on red */
        addl $2, %ebx
        incl %esi
        jmp 1b
2:      hlt
        jmp 2b

        .code64
long_mode_entry:
        movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        xorw %ax, %ax
        movw %ax, %fs
        movw %ax, %gs
        movabsq $higher_half_entry, %rax
        jmp *%rax

        .section .boot.rodata, "a"
no_long_mode_message:
        .asciz "ferrite: this CPU has no 64-bit long mode\r\n"

        .balign 8
boot_gdt:                                               /* flat segments for the mode switch */
        .quad 0
        .quad 0x00AF9A000000FFFF                        /* 0x08: 64-bit code (L=1), ring 0 */
        .quad 0x00CF92000000FFFF                        /* 0x10: data, ring 0 */
boot_gdt_end:
boot_gdt_pointer:
        .short boot_gdt_end - boot_gdt - 1
        .long boot_gdt

        .section .boot.bss, "aw", @nobits
        .balign 4096
boot_page_tables_start:
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4 * 4096
boot_page_tables_end:
        .skip 1024
boot32_stack_top:

/* ---- 64-bit, higher half ---------------------------------------------------------------- */
        .text
        .code64
higher_half_entry:
        movabsq $boot_stack_top, %rsp
        movl %ebp, %edi                                 /* magic or PVH marker; esi = info */
        xorl %ebp, %ebp                                 /* ends frame-pointer backtraces */
        call kernel_entry
1:      cli
        hlt
        jmp 1b

/* The boot CPU's kernel stack, with one guard page below it. mm/ unmaps the guard page so an
 * overflow faults (and reaches the double-fault handler on its own IST stack). */
        .section .bss.stack, "aw", @nobits
        .balign 4096
        .global boot_stack_guard, boot_stack_bottom, boot_stack_top
boot_stack_guard:
        .skip 4096
boot_stack_bottom:
        .skip 64 * 1024
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
