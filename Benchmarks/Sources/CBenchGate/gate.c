#include "jamey_bench_gate.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define JAMEY_GATE_CALLGRIND 1
#endif
#endif

#ifdef JAMEY_GATE_CALLGRIND

int jamey_gate_under_valgrind(void) { return RUNNING_ON_VALGRIND ? 1 : 0; }

void jamey_gate_zero(void) { CALLGRIND_ZERO_STATS; }

/* Collection is a per-thread state in callgrind; the client request flips it. */
static _Thread_local int collecting;

void jamey_gate_collect(int on) {
    if ((on != 0) != collecting) {
        CALLGRIND_TOGGLE_COLLECT;
        collecting = on != 0;
    }
}

void jamey_gate_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }

#else

int jamey_gate_under_valgrind(void) { return 0; }
void jamey_gate_zero(void) {}
void jamey_gate_collect(int on) { (void)on; }
void jamey_gate_dump(const char *name) { (void)name; }

#endif
