# cmake -DLIBRARY=<libagtrace.so> -DPROGRAM=<a program linked through find_package(agtrace)> -P sdk_soname.cmake
# The shared library must carry a SONAME. Without one, a program linked
# through the CMake package (which passes the library's full path) records
# that absolute path as DT_NEEDED, so it breaks when the SDK is moved or
# installed elsewhere, and the ABI has no versioned name (libagtrace.so.0).
find_program(READELF readelf REQUIRED)
execute_process(COMMAND ${READELF} -d ${LIBRARY} OUTPUT_VARIABLE lib_dynamic RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf -d ${LIBRARY} failed")
endif()
execute_process(COMMAND ${READELF} -d ${PROGRAM} OUTPUT_VARIABLE program_dynamic)
string(REGEX MATCH "\\(SONAME\\)[^\n]*" soname "${lib_dynamic}")
string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*agtrace[^\n]*" needed "${program_dynamic}")
message(STATUS "library: ${soname}")
message(STATUS "program: ${needed}")
set(problems "")
if(NOT soname)
  list(APPEND problems "${LIBRARY} has no SONAME")
endif()
if(needed MATCHES "\\[/")
  list(APPEND problems "${PROGRAM} needs libagtrace by absolute path: ${needed}")
endif()
if(problems)
  string(JOIN "\n" text ${problems})
  message(FATAL_ERROR "${text}")
endif()
