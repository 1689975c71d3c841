# SPDX-License-Identifier: Apache-2.0
# One CTest test per GoogleTest test suite of a test program, for programs of many short tests:
# a test process costs ~0.3 s of CPU to start under the sanitizers, more than most unit tests
# take. Each suite's tests still report one by one in its output.
#
# In a CMakeLists.txt: dialtone_gtest_suites(TARGET LABEL) — after each build of TARGET, its
# suites are listed (--gtest_list_tests) into a file that CTest includes, as gtest_discover_tests
# does for single tests; each suite is the test "LABEL.Suite" with the label LABEL.
# Run as a script (cmake -P) by that build step: EXE, OUT and LABEL given with -D.
if(CMAKE_SCRIPT_MODE_FILE)
  execute_process(COMMAND ${EXE} --gtest_list_tests OUTPUT_VARIABLE listing
    RESULT_VARIABLE status TIMEOUT 60)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${EXE} --gtest_list_tests failed (${status}):\n${listing}")
  endif()
  string(REPLACE "\n" ";" lines "${listing}")
  set(tests "")
  foreach(line IN LISTS lines)
    # A suite is a line "Suite." (typed and parameterized ones: "Prefix/Suite/0.  # ...");
    # its tests follow, indented.
    if(line MATCHES "^([^ ]+)\\.( .*)?$")
      set(name "${LABEL}.${CMAKE_MATCH_1}")
      string(APPEND tests "add_test([==[${name}]==] [==[${EXE}]==] [==[--gtest_filter=${CMAKE_MATCH_1}.*]==])\n"
        "set_tests_properties([==[${name}]==] PROPERTIES LABELS ${LABEL})\n")
    endif()
  endforeach()
  if(tests STREQUAL "")
    message(FATAL_ERROR "${EXE} lists no test suite:\n${listing}")
  endif()
  file(WRITE "${OUT}" "${tests}")
  return()
endif()

function(dialtone_gtest_suites target label)
  set(listed ${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:${target}> -DOUT=${listed} -DLABEL=${label}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
    BYPRODUCTS ${listed} VERBATIM)
  # Until the program is built, one test that says so (as gtest_discover_tests does).
  set(include ${CMAKE_CURRENT_BINARY_DIR}/${target}_suites_include.cmake)
  file(WRITE ${include} "if(EXISTS [==[${listed}]==])\n  include([==[${listed}]==])\n"
    "else()\n  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include})
endfunction()
