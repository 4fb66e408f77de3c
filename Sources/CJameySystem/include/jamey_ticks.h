/*
 * jamey_ticks.h — kernel-private: a cycle counter for timing many short calls in a row.
 *
 * A bus worker times each handler call of a batch. clock_gettime(CLOCK_MONOTONIC) costs about
 * 70 ns in this project's VMs (a vDSO call reading the TSC and scaling it); the TSC read alone
 * costs well under half of that. The worker reads ticks between the calls and the monotonic
 * clock at the batch's two ends, and scales each call's ticks by the batch's nanoseconds per
 * tick: no calibration, no frequency to trust.
 */
#ifndef JAMEY_TICKS_H
#define JAMEY_TICKS_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

/** A counter that only grows, at a fixed but unstated rate: the TSC on x86, the virtual counter
 *  on AArch64, and CLOCK_MONOTONIC nanoseconds elsewhere. Compare two readings of one thread. */
static inline uint64_t jamey_ticks(void) {
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#elif defined(__aarch64__)
    uint64_t value;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(value));
    return value;
#else
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
#endif
}

#endif
