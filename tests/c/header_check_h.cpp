// agtrace.h as C++17 with -Wall -Wextra -Werror -pedantic.
#include <agtrace.h>

#include <type_traits>

static_assert(std::is_standard_layout_v<agtrace_value_t> && std::is_trivially_copyable_v<agtrace_value_t>);
static_assert(AGTRACE_OK == 0);

agtrace_str_t header_check_h_cxx(const char* p, size_t n);
agtrace_str_t header_check_h_cxx(const char* p, size_t n) { return agtrace_str_n(p, n); }
