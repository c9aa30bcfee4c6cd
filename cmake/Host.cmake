# Host builds of the portable kernel code: GoogleTest under AddressSanitizer + UBSan.
find_package(GTest REQUIRED)
find_package(Threads REQUIRED)

add_library(ferrite_sanitize INTERFACE)
if(FERRITE_SANITIZE)
  target_compile_options(ferrite_sanitize INTERFACE -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(ferrite_sanitize INTERFACE -fsanitize=address,undefined)
endif()

# ferrite_host_test(<name> <sources...>): one GoogleTest program, one CTest entry "host.<name>".
function(ferrite_host_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE ferrite_portable_host GTest::gtest_main Threads::Threads ferrite_sanitize)
  target_compile_options(${name} PRIVATE -Wall -Wextra)
  add_test(NAME host.${name} COMMAND ${name} --gtest_brief=1)
  set_tests_properties(host.${name} PROPERTIES LABELS host TIMEOUT 300)
endfunction()
