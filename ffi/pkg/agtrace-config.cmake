# find_package(agtrace) support: the imported target agtrace::agtrace links
# libagtrace (shared) with the header directory; agtrace::agtrace_static links
# the static library. Paths are relative to this file, so the package can be
# moved or installed anywhere.
get_filename_component(_agtrace_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET agtrace::agtrace)
  add_library(agtrace::agtrace SHARED IMPORTED)
  set_target_properties(agtrace::agtrace PROPERTIES
    IMPORTED_LOCATION "${_agtrace_prefix}/lib/libagtrace.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_agtrace_prefix}/include")
endif()

if(NOT TARGET agtrace::agtrace_static)
  add_library(agtrace::agtrace_static STATIC IMPORTED)
  set_target_properties(agtrace::agtrace_static PROPERTIES
    IMPORTED_LOCATION "${_agtrace_prefix}/lib/libagtrace.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_agtrace_prefix}/include"
    INTERFACE_LINK_LIBRARIES "pthread;dl;m")
endif()

set(agtrace_FOUND TRUE)
unset(_agtrace_prefix)
