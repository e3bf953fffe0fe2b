# Project-wide build helpers: compiler cache, warnings for our own code, sanitizers, test registration.

find_program(CITYHUB_CCACHE ccache)
if(CITYHUB_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER ${CITYHUB_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CITYHUB_CCACHE})
endif()

if(CITYHUB_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(CITYHUB_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT CITYHUB_SANITIZE STREQUAL "")
  message(FATAL_ERROR "CITYHUB_SANITIZE must be empty, 'address' or 'thread', not '${CITYHUB_SANITIZE}'")
endif()

# Our own code compiles without warnings; generated and third-party code is exempt.
function(cityhub_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-unused-parameter)
endfunction()

# cityhub_library(name SOURCES ... DEPS ...): a static library of our own code.
function(cityhub_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  cityhub_warnings(${name})
endfunction()

# cityhub_binary(name SOURCES ... DEPS ...): an executable of our own code.
function(cityhub_binary name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  cityhub_warnings(${name})
endfunction()

# cityhub_test(name SOURCES ... DEPS ... LABELS ... [TIMEOUT s]): a GoogleTest program registered
# with CTest under the given labels (unit, redis, e2e, slow).
function(cityhub_test name)
  if(NOT CITYHUB_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  cityhub_binary(${name} SOURCES ${ARG_SOURCES} DEPS ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name} --gtest_color=no)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "CITYHUB_BUILD_DIR=${PROJECT_BINARY_DIR};CITYHUB_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# cityhub_fuzzer(name SOURCES ... DEPS ...): a libFuzzer target (CITYHUB_BUILD_FUZZERS=ON, clang;
# infra/scripts/fuzz builds them). Each is also a CTest test labelled `fuzz`: a short run from
# its seed corpus tests/fuzz/corpus/<name>/ (with <name>.dict when there is one); new inputs go
# to build-dir/fuzz-work/<name>/, never into the repo.
function(cityhub_fuzzer name)
  if(NOT CITYHUB_BUILD_FUZZERS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  cityhub_binary(${name} SOURCES ${ARG_SOURCES} DEPS ${ARG_DEPS})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  set(corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name})
  set(work ${PROJECT_BINARY_DIR}/fuzz-work/${name})
  file(MAKE_DIRECTORY ${work})
  set(args -runs=20000 -max_len=4096)
  if(EXISTS ${corpus}.dict)
    list(APPEND args -dict=${corpus}.dict)
  endif()
  add_test(NAME ${name} COMMAND ${name} ${args} ${work} ${corpus})
  set_tests_properties(${name} PROPERTIES LABELS "fuzz" TIMEOUT 300)
endfunction()

# cityhub_benchmark(name SOURCES ... DEPS ...): a Google Benchmark program (not run by ctest).
function(cityhub_benchmark name)
  if(NOT CITYHUB_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  cityhub_binary(${name} SOURCES ${ARG_SOURCES} DEPS ${ARG_DEPS} benchmark::benchmark)
endfunction()
