/*
 * jamey_sched.h — kernel-private: where the calling thread may run.
 */
#ifndef JAMEY_SCHED_H
#define JAMEY_SCHED_H

#ifdef __cplusplus
extern "C" {
#endif

/** How many processors the calling thread's affinity mask allows (a cpuset, `taskset` or
 *  sched_setaffinity may narrow it below the online processors); 0 when it cannot be read. */
int jamey_processors_allowed(void);

#ifdef __cplusplus
}
#endif

#endif
