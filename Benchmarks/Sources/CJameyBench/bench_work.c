/*
 * The work the benchmarks measure. This file and bench_mix.S are compiled into every image that needs them:
 * the benchmark executables and the Swift driver (as the SwiftPM target CJameyBench) and the C
 * sink plugin (by Plugins/CPlugins/Makefile). Separate translation unit, so callers can never
 * inline it.
 */
#include "jamey_bench.h"

#include <string.h>

void jamey_bench_consume(void *into, const void *payload, size_t len, uint64_t *counter) {
    if (len > JAMEY_BENCH_PAYLOAD_SIZE) len = JAMEY_BENCH_PAYLOAD_SIZE;
    if (payload != NULL && len > 0) memcpy(into, payload, len);
    __atomic_fetch_add(counter, 1, __ATOMIC_RELEASE);
}

#if !defined(__x86_64__) && !defined(__aarch64__)
/* x86-64 and arm64 take jamey_bench_mix from bench_mix.S (identical code in every image). */
uint64_t jamey_bench_mix(void *context, uint64_t x) {
    (void)context;
    return x * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
}
#endif
