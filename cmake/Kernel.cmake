# Flags and helpers for freestanding kernel code (chapter 1: a freestanding binary).
# The kernel is built with the host compiler (GCC 12 or clang) and these flags: no hosted
# runtime, no exceptions/RTTI, no red zone (interrupts would clobber it), no x87, MMX or SSE
# (interrupt entry saves only the general registers, and nobody initialises the FPU: a stray
# `double` would compute with garbage; GCC now refuses it), and the "kernel" code model for the
# top 2 GiB. tools/check_no_fpu.py (CTest kernel.no_fpu_instructions) checks the linked images.

set(FERRITE_KERNEL_COMPILE_OPTIONS
  -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-stack-protector
  -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone -mno-sse -mno-sse2 -mno-mmx -mno-80387
  -fno-asynchronous-unwind-tables -fno-omit-frame-pointer -fno-strict-aliasing
  -ffile-prefix-map=${PROJECT_SOURCE_DIR}/=
  -Wall -Wextra -Wno-unused-parameter)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC may otherwise replace loops in memcpy/memset with calls to themselves.
  list(APPEND FERRITE_KERNEL_COMPILE_OPTIONS -fno-tree-loop-distribute-patterns)
endif()

set(FERRITE_KERNEL_LINKER_SCRIPT ${PROJECT_SOURCE_DIR}/kernel/linker.ld)
set(FERRITE_KERNEL_LINK_OPTIONS
  -nostdlib -static -no-pie -Wl,--no-dynamic-linker -Wl,-z,max-page-size=0x1000
  -Wl,--build-id=none -Wl,-z,noexecstack -Wl,-T,${FERRITE_KERNEL_LINKER_SCRIPT})

# Applies the kernel flags to a target (an object library or an image).
function(ferrite_kernel_flags target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${FERRITE_KERNEL_COMPILE_OPTIONS}>)
  target_compile_definitions(${target} PRIVATE FERRITE_KERNEL=1)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/kernel)
endfunction()

# ferrite_kernel_image(<name> SOURCES <files...>)
# Links one bootable ELF: all kernel objects plus the image's own sources (its kernel_main,
# and for test images the tests it runs). Produces <name>.elf in the build tree.
function(ferrite_kernel_image name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES} $<TARGET_OBJECTS:ferrite_kernel_core>)
  ferrite_kernel_flags(${name})
  target_link_options(${name} PRIVATE ${FERRITE_KERNEL_LINK_OPTIONS})
  set_target_properties(${name} PROPERTIES SUFFIX ".elf" LINK_DEPENDS ${FERRITE_KERNEL_LINKER_SCRIPT})
  add_dependencies(${name} ferrite_kernel_core)
endfunction()
