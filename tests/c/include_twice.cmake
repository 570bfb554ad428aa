# cmake -DC_COMPILER=.. -DCXX_COMPILER=.. -DINCLUDE_DIR=.. -DSOURCE_DIR=.. -P include_twice.cmake
# Compiles (syntax only) translation units that include the headers more than
# once; fails listing the compiler's errors.
set(failed "")
foreach(pair "C_COMPILER;-std=c99;twice.c" "CXX_COMPILER;-std=c++17;h_then_hpp.cpp")
  list(GET pair 0 compiler_var)
  list(GET pair 1 std)
  list(GET pair 2 source)
  execute_process(
    COMMAND ${${compiler_var}} ${std} -Wall -Wextra -Werror -pedantic -fsyntax-only -I${INCLUDE_DIR}
            ${SOURCE_DIR}/include_twice/${source}
    RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
  if(rc EQUAL 0)
    message(STATUS "${source}: ok")
  else()
    message("${source}: does not compile\n${err}")
    list(APPEND failed ${source})
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "including the headers twice fails: ${failed}")
endif()
