#include "jamey_histogram.h"

#include <stdatomic.h>
#include <stdlib.h>

struct jamey_histogram {
    int64_t bounds[JAMEY_HISTOGRAM_MAX_BOUNDS];
    uint32_t bound_count;
    _Atomic uint64_t counts[JAMEY_HISTOGRAM_MAX_BOUNDS + 1];
    _Atomic uint64_t count;
    _Atomic uint64_t sum;
};

jamey_histogram *jamey_histogram_create(const int64_t *bounds, uint32_t count) {
    if (count > JAMEY_HISTOGRAM_MAX_BOUNDS) return NULL;
    jamey_histogram *h = calloc(1, sizeof *h);
    if (h == NULL) return NULL;
    for (uint32_t i = 0; i < count; i++) h->bounds[i] = bounds[i];
    h->bound_count = count;
    return h;
}

void jamey_histogram_destroy(jamey_histogram *h) { free(h); }

void jamey_histogram_record(jamey_histogram *h, int64_t nanoseconds) {
    if (nanoseconds < 0) nanoseconds = 0;
    uint32_t bucket = 0;
    while (bucket < h->bound_count && nanoseconds > h->bounds[bucket]) bucket++;
    atomic_fetch_add_explicit(&h->counts[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, (uint64_t)nanoseconds, memory_order_relaxed);
}

void jamey_histogram_record_many(jamey_histogram *h, const int64_t *nanoseconds, uint32_t n) {
    uint64_t counts[JAMEY_HISTOGRAM_MAX_BOUNDS + 1] = {0};
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t value = nanoseconds[i] < 0 ? 0 : nanoseconds[i];
        uint32_t bucket = 0;
        while (bucket < h->bound_count && value > h->bounds[bucket]) bucket++;
        counts[bucket]++;
        sum += (uint64_t)value;
    }
    for (uint32_t b = 0; b <= h->bound_count; b++) {
        if (counts[b] != 0) atomic_fetch_add_explicit(&h->counts[b], counts[b], memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&h->count, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, sum, memory_order_relaxed);
}

uint64_t jamey_histogram_bucket(const jamey_histogram *h, uint32_t index) {
    if (index > h->bound_count) return 0;
    return atomic_load_explicit(&((jamey_histogram *)h)->counts[index], memory_order_relaxed);
}

uint64_t jamey_histogram_count(const jamey_histogram *h) {
    return atomic_load_explicit(&((jamey_histogram *)h)->count, memory_order_relaxed);
}

uint64_t jamey_histogram_sum(const jamey_histogram *h) {
    return atomic_load_explicit(&((jamey_histogram *)h)->sum, memory_order_relaxed);
}
