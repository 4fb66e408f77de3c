#include "jamey_tls.h"

__thread void *jamey_thread_route = 0;
__thread uint64_t *jamey_thread_counters = 0;
