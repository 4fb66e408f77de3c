/*
 * jamey_bench_gate.h — the measured sections of the deterministic gates (scripts/bench-gates.sh).
 *
 * The gate driver runs under `valgrind --tool=callgrind --collect-atstart=no`: nothing is counted
 * until a thread turns collection on. The driver's own thread turns it on around each measured
 * section (jamey_gate_collect), the bus workers only while inside Subscription.deliver (the
 * script's --toggle-collect), and every phase ends with a dump of the counters under its name
 * (jamey_gate_dump) after they were zeroed at its start (jamey_gate_zero). Outside valgrind
 * every call is a no-op, so the driver also runs (and checks its counts) on its own.
 */
#ifndef JAMEY_BENCH_GATE_H
#define JAMEY_BENCH_GATE_H

#ifdef __cplusplus
extern "C" {
#endif

/** 1 when running under valgrind, else 0. */
int jamey_gate_under_valgrind(void);
/** Zeroes callgrind's counters (every thread). */
void jamey_gate_zero(void);
/** Turns collection on (1) or off (0) for the calling thread; it must be off before it is turned on. */
void jamey_gate_collect(int on);
/** Dumps callgrind's counters as the part `name` and zeroes them. */
void jamey_gate_dump(const char *name);

#ifdef __cplusplus
}
#endif

#endif
