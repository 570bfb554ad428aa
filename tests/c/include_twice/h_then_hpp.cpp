// agtrace.h, then agtrace.hpp (which includes agtrace.h again).
#include <agtrace.h>
#include <agtrace.hpp>
int main() { return agtrace::version().empty() ? 1 : 0; }
