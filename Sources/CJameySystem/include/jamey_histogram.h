/*
 * jamey_histogram.h — kernel-private: a fixed-bucket latency histogram whose record is a few
 * relaxed atomic additions, for the one metric the bus records per delivered message
 * (jamey_bus_handler_duration_seconds). swift-prometheus's histogram takes a lock and compares
 * every bucket bound as a Duration on each record: about 600 instructions, 13 % of a message's
 * whole cost across the ABI (scripts/bench-gates.sh, publish_swift_to_c).
 */
#ifndef JAMEY_HISTOGRAM_H
#define JAMEY_HISTOGRAM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most bucket bounds a histogram has (the +Inf bucket is extra). */
#define JAMEY_HISTOGRAM_MAX_BOUNDS 16

/** A histogram of values in nanoseconds over fixed upper bounds. */
typedef struct jamey_histogram jamey_histogram;

/** Creates a histogram with `count` (at most JAMEY_HISTOGRAM_MAX_BOUNDS) ascending upper bounds
 *  in nanoseconds; NULL when `count` is too large or memory runs out. */
jamey_histogram *jamey_histogram_create(const int64_t *bounds, uint32_t count);

/** Frees a histogram nothing records into any more. */
void jamey_histogram_destroy(jamey_histogram *h);

/** Records one value in nanoseconds (negative values count as 0). Thread-safe, lock-free. */
void jamey_histogram_record(jamey_histogram *h, int64_t nanoseconds);

/** Records `n` values at once: as many jamey_histogram_record calls, with one atomic add per
 *  bucket touched instead of three per value (a bus worker's batch). */
void jamey_histogram_record_many(jamey_histogram *h, const int64_t *nanoseconds, uint32_t n);

/** The values recorded in bucket `index`: (bounds[index-1], bounds[index]], not cumulative;
 *  index `count` is the bucket above the last bound. */
uint64_t jamey_histogram_bucket(const jamey_histogram *h, uint32_t index);

/** The number of values recorded. */
uint64_t jamey_histogram_count(const jamey_histogram *h);

/** The sum of the values recorded, in nanoseconds. */
uint64_t jamey_histogram_sum(const jamey_histogram *h);

#ifdef __cplusplus
}
#endif
#endif
