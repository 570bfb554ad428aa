/* agtrace.h as C99 with -Wall -Wextra -Werror -pedantic (an object library:
 * the build fails if the header does not compile cleanly). */
#include <agtrace.h>

/* The convenience helpers compile and have the expected types. */
agtrace_str_t header_check_literal(void);
agtrace_str_t header_check_literal(void) { return AGTRACE_STR("literal"); }

size_t header_check_sizes(void);
size_t header_check_sizes(void) {
  agtrace_span_options_t options = {0};
  agtrace_str_t s = agtrace_str_n("abc", 3);
  options.name = s;
  return sizeof(agtrace_value_t) + sizeof(agtrace_stats_t) + options.name.len + (size_t)AGTRACE_ERR_PANIC;
}
