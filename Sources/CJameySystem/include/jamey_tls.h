/*
 * jamey_tls.h — kernel-private: thread-local slots Swift reaches without pthread_getspecific.
 *
 * Swift has no thread-local globals; a pthread key costs a call per read. A publisher reads its
 * thread's cached route on every publish, so the slot is a C `__thread` variable read through an
 * inline function (a pthread key with a destructor still releases what it holds when the thread
 * exits: see ThreadRouteCache).
 */
#ifndef JAMEY_TLS_H
#define JAMEY_TLS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The calling thread's cached compact route (a retained object, or NULL). */
extern __thread void *_Nullable jamey_thread_route;

static inline void *_Nullable *_Nonnull jamey_thread_route_slot(void) { return &jamey_thread_route; }

/** Slots per thread for counters that only their thread adds to (ThreadCounters). */
#define JAMEY_THREAD_COUNTER_SLOTS 256

/** The calling thread's counter slots (JAMEY_THREAD_COUNTER_SLOTS of them), or NULL before its
 *  first count. */
extern __thread uint64_t *_Nullable jamey_thread_counters;

static inline uint64_t *_Nullable jamey_thread_counter_block(void) { return jamey_thread_counters; }

static inline void jamey_thread_counter_set_block(uint64_t *_Nullable block) { jamey_thread_counters = block; }

/** Adds to a slot of the calling thread's block: a load and a store, no locked instruction
 *  (only this thread writes it; readers load it relaxed). */
static inline void jamey_counter_add(uint64_t *_Nonnull slot, uint64_t amount) {
    __atomic_store_n(slot, __atomic_load_n(slot, __ATOMIC_RELAXED) + amount, __ATOMIC_RELAXED);
}

static inline uint64_t jamey_counter_load(const uint64_t *_Nonnull slot) {
    return __atomic_load_n(slot, __ATOMIC_RELAXED);
}

static inline void jamey_counter_store(uint64_t *_Nonnull slot, uint64_t value) {
    __atomic_store_n(slot, value, __ATOMIC_RELAXED);
}

#ifdef __cplusplus
}
#endif

#endif
