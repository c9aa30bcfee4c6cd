# Booting kernel images for tests (chapter 4, "Testing") and packing them into GRUB ISOs
# (chapter 2: the same ELF boots via QEMU -kernel/PVH, GRUB under SeaBIOS, and GRUB under OVMF).
#
# ferrite_qemu_test(NAME <name> KERNEL <image target> [ISO <iso target>] [FIRMWARE bios|uefi]
#                   [APPEND <cmdline>] [EXPECT_EXIT success|failure|shutdown|any]
#                   [EXPECT_SERIAL <regex>...] [ORDERED] [FORBID_SERIAL <regex>...]
#                   [KEYS_AFTER <marker> KEYS <spec>]
#                   [SCREEN_AFTER <marker> SCREEN_EXPECT <regex>...]
#                   [ICOUNT] [TIMEOUT <seconds>] [EXTRA <ktest.py arguments>...])
#   Adds the CTest test "kernel.<name>" (label "kernel"): tools/ktest.py boots the image once in
#   QEMU and checks its isa-debug-exit status and serial output. Without ISO the ELF is booted
#   with -kernel (PVH) and APPEND is its command line; with ISO the ISO is booted under FIRMWARE
#   (default bios) and the command line is the one baked into the ISO. See `tools/ktest.py
#   --help` for the key spec syntax and what each check means. A regex cannot contain ';'
#   (CMake's list separator): write "\\x3b" instead (Python's regex escape for it). The whole
#   serial output is kept in <build dir>/<name>.serial.log.
#
# ferrite_iso(<iso target> KERNEL <image target> [CMDLINE <cmdline>] [OUTPUT <path>]
#             [EXCLUDE_FROM_ALL])
#   Builds a bootable CD image with grub-mkrescue: GRUB loads the kernel with Multiboot2, at once
#   (timeout 0). BIOS keeps the VGA text mode; UEFI gives the kernel a framebuffer instead.
#   The file is OUTPUT, by default the target's name without a trailing "_iso" in the top build
#   directory: ferrite_iso(ferrite_iso ...) builds build/ferrite.iso.

find_package(Python3 REQUIRED COMPONENTS Interpreter)
find_program(FERRITE_GRUB_MKRESCUE grub-mkrescue)
set(FERRITE_KTEST ${CMAKE_CURRENT_LIST_DIR}/../tools/ktest.py)
cmake_path(NORMAL_PATH FERRITE_KTEST)

function(ferrite_qemu_test)
  cmake_parse_arguments(PARSE_ARGV 0 ARG "ORDERED;ICOUNT"
    "NAME;KERNEL;ISO;FIRMWARE;APPEND;EXPECT_EXIT;KEYS_AFTER;KEYS;SCREEN_AFTER;TIMEOUT"
    "EXPECT_SERIAL;FORBID_SERIAL;SCREEN_EXPECT;EXTRA")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ferrite_qemu_test: unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_NAME OR NOT (ARG_KERNEL OR ARG_ISO))
    message(FATAL_ERROR "ferrite_qemu_test needs NAME and KERNEL (or ISO)")
  endif()
  set(test_name kernel.${ARG_NAME})

  # Every option is passed as --option=value, so a value starting with '-' is never taken
  # for an option by ktest.py's argument parser.
  set(args --name=${test_name} --serial-log=${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}.serial.log)
  if(ARG_ISO)
    if(DEFINED ARG_APPEND)
      message(FATAL_ERROR "ferrite_qemu_test(${ARG_NAME}): APPEND only applies to -kernel boots; "
                          "an ISO's command line is set with ferrite_iso(... CMDLINE ...)")
    endif()
    if(NOT ARG_FIRMWARE)
      set(ARG_FIRMWARE bios)
    endif()
    list(APPEND args --iso=$<TARGET_PROPERTY:${ARG_ISO},FERRITE_ISO_FILE>
                     --firmware=${ARG_FIRMWARE})
  else()
    if(ARG_FIRMWARE)
      message(FATAL_ERROR "ferrite_qemu_test(${ARG_NAME}): FIRMWARE needs ISO "
                          "(-kernel boots need no firmware choice)")
    endif()
    list(APPEND args --kernel=$<TARGET_FILE:${ARG_KERNEL}>)
    if(DEFINED ARG_APPEND)
      list(APPEND args --append=${ARG_APPEND})
    endif()
  endif()

  # OVMF alone needs ~4 s to reach GRUB under TCG; give UEFI boots more room.
  if(NOT ARG_TIMEOUT)
    if(ARG_FIRMWARE STREQUAL "uefi")
      set(ARG_TIMEOUT 60)
    else()
      set(ARG_TIMEOUT 30)
    endif()
  endif()
  list(APPEND args --timeout=${ARG_TIMEOUT})

  if(ARG_EXPECT_EXIT)
    list(APPEND args --expect-exit=${ARG_EXPECT_EXIT})
  endif()
  foreach(regex IN LISTS ARG_EXPECT_SERIAL)
    list(APPEND args --expect-serial=${regex})
  endforeach()
  if(ARG_ORDERED)
    list(APPEND args --ordered)
  endif()
  foreach(regex IN LISTS ARG_FORBID_SERIAL)
    list(APPEND args --forbid-serial=${regex})
  endforeach()
  if(DEFINED ARG_KEYS_AFTER OR DEFINED ARG_KEYS)
    if(NOT (DEFINED ARG_KEYS_AFTER AND DEFINED ARG_KEYS))
      message(FATAL_ERROR "ferrite_qemu_test(${ARG_NAME}): KEYS_AFTER and KEYS go together")
    endif()
    list(APPEND args --keys-after=${ARG_KEYS_AFTER} --keys=${ARG_KEYS})
  endif()
  if(DEFINED ARG_SCREEN_AFTER)
    list(APPEND args --screen-after=${ARG_SCREEN_AFTER})
  endif()
  foreach(regex IN LISTS ARG_SCREEN_EXPECT)
    list(APPEND args --screen-expect=${regex})
  endforeach()
  if(ARG_ICOUNT)
    list(APPEND args --icount)
  endif()

  add_test(NAME ${test_name} COMMAND ${Python3_EXECUTABLE} ${FERRITE_KTEST} ${args} ${ARG_EXTRA})
  # CTest's own limit is a backstop only: ktest.py stops the run and names it first.
  math(EXPR ctest_timeout "${ARG_TIMEOUT} + 30")
  set_tests_properties(${test_name} PROPERTIES LABELS kernel TIMEOUT ${ctest_timeout})
endfunction()

function(ferrite_iso iso_target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "EXCLUDE_FROM_ALL" "KERNEL;CMDLINE;OUTPUT;INITRD" "")
  if(NOT ARG_KERNEL)
    message(FATAL_ERROR "ferrite_iso(${iso_target}) needs KERNEL <image target>")
  endif()
  if(ARG_OUTPUT)
    set(iso ${ARG_OUTPUT})
  else()
    string(REGEX REPLACE "_iso$" "" iso_stem ${iso_target})
    set(iso ${CMAKE_BINARY_DIR}/${iso_stem}.iso)
  endif()
  set(staging ${CMAKE_CURRENT_BINARY_DIR}/${iso_target}.isodir)  # the ISO's file tree
  set(grub_cfg ${staging}/boot/grub/grub.cfg)

  # Written at configure time, and only when its text changes (so the ISO is not rebuilt).
  set(cmdline "${ARG_CMDLINE}")
  # The initramfs travels as the first Multiboot2 module (chapter 14), the file Linux would take.
  set(module_line "")
  set(copy_initrd)
  if(ARG_INITRD)
    set(module_line "module2 /boot/initramfs.cpio initramfs")
    set(copy_initrd COMMAND ${CMAKE_COMMAND} -E copy_if_different ${ARG_INITRD}
                    ${staging}/boot/initramfs.cpio)
  endif()
  file(CONFIGURE OUTPUT ${grub_cfg} @ONLY CONTENT [[
# Generated by ferrite_iso() in cmake/KernelTest.cmake: boot ferrite at once via Multiboot2.
set timeout=0
set default=0
menuentry "ferrite" {
  # BIOS: keep the VGA text mode the kernel writes to (chapter 3). UEFI has no text mode; the
  # kernel gets the framebuffer its Multiboot2 header asks for.
  multiboot2 /boot/ferrite.elf @cmdline@
  @module_line@
  # Only after `multiboot2`: set before it, GRUB 2.06 still picks a graphics mode.
  # UEFI: GRUB's console there is the firmware's text output, so no video driver is loaded
  # unless we load the GOP one; without it GRUB says "no suitable video mode found" and passes
  # no framebuffer. (gfxpayload=keep would not help: with no video mode set, it keeps text.)
  if [ "$grub_platform" = pc ]; then set gfxpayload=text; else insmod efi_gop; fi
  boot
}
]])

  if(FERRITE_GRUB_MKRESCUE)
    # `-- -report_about SORRY` silences xorriso's progress report.
    set(make_iso ${FERRITE_GRUB_MKRESCUE} -o ${iso} ${staging} -- -report_about SORRY)
  else()
    set(make_iso ${CMAKE_COMMAND} -E echo
        "grub-mkrescue not found: run tools/setup.sh (it installs grub-common, grub-pc-bin, "
        "grub-efi-amd64-bin, xorriso, mtools)"
      COMMAND ${CMAKE_COMMAND} -E false)
  endif()
  add_custom_command(OUTPUT ${iso}
    COMMAND ${CMAKE_COMMAND} -E copy_if_different $<TARGET_FILE:${ARG_KERNEL}>
            ${staging}/boot/ferrite.elf
    ${copy_initrd}
    COMMAND ${make_iso}
    DEPENDS ${ARG_KERNEL} ${grub_cfg} ${ARG_INITRD}
    COMMENT "Building ${iso} (GRUB, Multiboot2) from ${ARG_KERNEL}"
    VERBATIM)
  if(ARG_EXCLUDE_FROM_ALL)
    add_custom_target(${iso_target} DEPENDS ${iso})
  else()
    add_custom_target(${iso_target} ALL DEPENDS ${iso})
  endif()
  set_target_properties(${iso_target} PROPERTIES FERRITE_ISO_FILE ${iso})
endfunction()
