/* agtrace.h included twice in one translation unit. */
#include <agtrace.h>
#include <agtrace.h>
int main(void) { return agtrace_str_n("", 0).len == 0 ? 0 : 1; }
